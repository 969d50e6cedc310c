"""Getting a filing's bytes, and telling data errors from infrastructure errors.

A missing or unreadable file will be missing on every retry: that is a data error and goes to
``failures.csv``. Any other ``OSError`` (EIO, a stale NFS handle, a timeout) may pass, so it is
raised for the orchestrator to retry.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from tasks.errors import UnreadableFilingError

# errnos that no retry can fix
_PERMANENT = {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG}
# Fault injection for tests of the retry path: FORM3_FAULT_DIR/<file name>.ioerror holds how
# many more reads of that file raise EIO. Real files, real workers, a real OSError.
FAULT_DIR_ENV = "FORM3_FAULT_DIR"


def inject_fault(location: str) -> None:
    """Raise an injected EIO for this file if a test asked for one (see FAULT_DIR_ENV)."""
    fault_dir = os.environ.get(FAULT_DIR_ENV)
    if not fault_dir:
        return
    marker = Path(fault_dir) / (Path(location).name + ".ioerror")
    try:
        remaining = int(marker.read_text().strip() or "0")
    except (OSError, ValueError):
        return
    if remaining > 0:
        marker.write_text(str(remaining - 1))
        raise OSError(errno.EIO, f"injected I/O error reading {location}")


def read_filing(location: str) -> bytes:
    """Read a local filing; permanent failures become :class:`UnreadableFilingError`."""
    try:
        with open(location, "rb") as fh:
            return fh.read()
    except OSError as exc:
        if exc.errno in _PERMANENT:
            raise UnreadableFilingError(f"cannot read file: {exc.strerror}", location) from None
        raise
