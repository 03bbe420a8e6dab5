"""``python -m emmi_async.testing``: run the reference server on 127.0.0.1 until Ctrl-C.

The same launcher, with the same flags, as ``emmi serve`` (see ``_cli``): it prints the
base URL and the (fake, test-only) keys, then serves.
"""

from __future__ import annotations

import sys

from emmi_async.testing._cli import build_server, main, parse_args

__all__ = ["build_server", "main", "parse_args"]

if __name__ == "__main__":
    sys.exit(main())
