"""``python -m emmi_async``: the ``emmi`` command line (see :mod:`emmi_async.cli`)."""

from __future__ import annotations

import sys

from emmi_async.cli import main

if __name__ == "__main__":
    sys.exit(main())
