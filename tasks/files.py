"""Files that appear whole or not at all: write to a temporary file beside the target, rename.

Every output, checkpoint and settings file of form3 is written this way, so a process killed
at any moment leaves the previous version or the new one, never a torn file. Used by the flow
process (outputs) and by the workers (checkpoints, downloads) alike, so it lives with the
tasks, which import nothing of Prefect.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; results are meant to be shared like any file the user writes.
SHARED_FILE_MODE = 0o666 & ~_umask()


def temp_beside(target: Path, mode: int = SHARED_FILE_MODE) -> Path:
    """A new empty hidden file in ``target``'s directory (same file system: rename is atomic)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, mode)
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(target: Path, mode: int = SHARED_FILE_MODE) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, else it is removed."""
    tmp = temp_beside(target, mode)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic_text(target: Path, text: str, mode: int = SHARED_FILE_MODE) -> None:
    with atomic_path(target, mode) as tmp:
        tmp.write_text(text, encoding="utf-8")
