"""The batch runner: portfolio fan-out over one pool, one outcome per entity."""

from emmi_async.batch._gate import Gate
from emmi_async.batch._journal import JournalMismatchError
from emmi_async.batch._outcome import (
    BatchAbortedError,
    BatchDeadlineError,
    BatchEvent,
    BatchReport,
    BatchStats,
    EventKind,
    Outcome,
)
from emmi_async.batch._runner import BatchRunner, OutcomeStream

__all__ = [
    "BatchAbortedError",
    "BatchDeadlineError",
    "BatchEvent",
    "BatchReport",
    "BatchRunner",
    "BatchStats",
    "EventKind",
    "Gate",
    "JournalMismatchError",
    "Outcome",
    "OutcomeStream",
]
