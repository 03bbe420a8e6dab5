"""Exit codes and the error that ends a command with a message for the user."""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "CliError"]

EXIT_OK = 0
"""Every entity succeeded (or the command did what it was asked)."""
EXIT_FAILED = 1
"""The command ran, but some entities failed (or the service said no)."""
EXIT_USAGE = 2
"""Bad arguments, an unreadable or malformed input, missing credentials: nothing was sent.
Also refused credentials (401, 403): the run stopped at the first refusal."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (SIGINT) or SIGTERM: the summary was printed, the journal kept."""


class CliError(Exception):
    """Ends the command: ``message`` goes to stderr as ``emmi: error: ...``, then ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
