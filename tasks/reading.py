"""Getting a filing's bytes, bounded, and telling data errors from infrastructure errors.

A missing or unreadable file will be missing on every retry: that is a data error and goes to
``failures.csv``. So is anything that is not a regular file (a device such as ``/dev/zero``, a
FIFO, a directory) and a file over the size cap: checked with ``fstat`` before reading and
enforced while reading, so a file growing under us cannot run away with the worker's memory.
Any other ``OSError`` (EIO, a stale NFS handle, a timeout) may pass, so it is raised for the
orchestrator to retry.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tasks.errors import TooLargeError, UnreadableFilingError

# errnos that no retry can fix
_PERMANENT = {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG, errno.ENXIO}
CHUNK = 1 << 20
DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # Form 3 submissions are KBs; a cap against mistakes
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


def check_stat(st: os.stat_result, location: str, max_bytes: int) -> None:
    """Refuse what is not a regular file or is over the cap, from its metadata alone."""
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file"
        )
        raise UnreadableFilingError(f"not a regular file ({kind})", location)
    if st.st_size > max_bytes:
        raise TooLargeError(f"{st.st_size:,} bytes over the cap of {max_bytes:,}", location)


def read_filing(location: str, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """A local filing's bytes (at most ``max_bytes``) and its ``fstat`` at open; permanent
    failures become :class:`UnreadableFilingError` or :class:`TooLargeError`."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang the worker.
        fd = os.open(location, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno in _PERMANENT:
            raise UnreadableFilingError(f"cannot read file: {exc.strerror}", location) from None
        raise
    with os.fdopen(fd, "rb", buffering=0) as fh:
        st = os.fstat(fd)
        check_stat(st, location, max_bytes)
        chunks, total = [], 0
        while True:
            chunk = fh.read(min(CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # grew while we read
                raise TooLargeError(f"more than the cap of {max_bytes:,} bytes", location)
    return b"".join(chunks), st
