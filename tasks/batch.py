"""A batch of filings and its extraction into records: the task's work, without Prefect.

A batch is a tuple of (identity, location) pairs. Extracting it reads each filing (bounded by
the size cap; URLs through a fetcher), computes the sha256 of the bytes, parses, and collects
records and per-filing errors into :class:`tasks.checkpoint_format.BatchRecords`; I/O errors
are returned apart, since a retry or a rerun may not see them. ``tasks.prefect_tasks`` wraps
this as the Prefect task; tests and benchmarks call it directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tasks.checkpoint_format import CHECKPOINT_FORMAT, SUFFIX, BatchRecords
from tasks.edgar_names import is_url
from tasks.errors import FilingError
from tasks.extract import parse_filing, sha256_of
from tasks.fetch import Fetcher, FetchPlan
from tasks.reading import inject_fault, read_filing
from tasks.version import PARSER_VERSION

# Every checkpoint key starts so; a new parser version or checkpoint format makes all older
# ones unreachable.
KEY_PREFIX = f"form3-p{PARSER_VERSION}-c{CHECKPOINT_FORMAT}-"
FILE_IDENTITY = "file:"  # file:<path>:<size>:<mtime_ns>, for a local file EDGAR did not name


def file_identity(path: str, size: int, mtime_ns: int) -> str:
    """What a local file without an accession in its name IS, as make and rsync decide."""
    return f"{FILE_IDENTITY}{path}:{size}:{mtime_ns}"


class FileChangedError(OSError):
    """The file is not the one planned (size or mtime differ): a rerun plans it anew."""


@dataclass(slots=True, frozen=True)
class Batch:
    """Filings to parse: (identity, location) pairs, unique by identity."""

    label: str
    items: tuple[tuple[str, str], ...]
    records_dir: str  # where the worker writes the batch's Parquet file (shared storage)
    max_bytes: int  # the size cap of one filing
    fetch: FetchPlan | None = None  # how to get URL items (plain settings; not in the key)

    @property
    def cache_key(self) -> str:
        digest = hashlib.sha256("\n".join(sorted(i for i, _ in self.items)).encode()).hexdigest()
        return KEY_PREFIX + digest[:40]

    @property
    def records_path(self) -> Path:
        return Path(self.records_dir) / (self.cache_key + SUFFIX)


def _read(identity: str, location: str, batch: Batch, fetcher: Fetcher | None) -> bytes:
    if is_url(location):  # from the mirror/cache, or fetched
        if batch.fetch is None or fetcher is None:
            raise ValueError(f"batch {batch.label} has URLs but no fetch plan")
        return fetcher.read(location, batch.fetch.target(location))
    data, st = read_filing(location, batch.max_bytes)
    if identity.startswith(FILE_IDENTITY) and identity != file_identity(location, st.st_size, st.st_mtime_ns):
        raise FileChangedError(f"{location} changed since the run was planned")
    return data


def extract_items(batch: Batch, fetcher: Fetcher | None = None) -> tuple[BatchRecords, dict[str, str]]:
    """Every filing of the batch as a record or a data error, and the I/O errors apart."""
    records = BatchRecords.empty()
    io_errors: dict[str, str] = {}
    for identity, location in batch.items:
        sha256 = None
        try:
            inject_fault(location)
            data = _read(identity, location, batch, fetcher)
            sha256 = sha256_of(data)
            records.add_record(identity, parse_filing(data, sha256))
        except FilingError as exc:
            records.add_error(identity, sha256, exc.kind, exc.message)
        except (OSError, TimeoutError) as exc:
            io_errors[identity] = f"{type(exc).__name__}: {exc}"
    return records, io_errors
