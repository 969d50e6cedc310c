"""A batch of filings and its extraction into records: the task's work, without Prefect.

A batch is a list of (identity, location) pairs. The planner writes every batch of a run
into one *items file* (Parquet, one row group per batch, ``write_items``) on shared storage;
the task is sent only a :class:`Batch` reference (its label, key, size and row group), so the
process that submits a million filings never holds or ships their paths, and each worker
reads its own batch's items (``read_items``). Extracting a batch reads each filing (bounded by
the size cap; URLs through a fetcher), computes the sha256 of the bytes, parses, and collects
records and per-filing errors into :class:`tasks.checkpoint_format.BatchRecords`; I/O errors
are returned apart, since a retry or a rerun may not see them. ``tasks.prefect_tasks`` wraps
this as the Prefect task; tests and benchmarks call it directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.checkpoint_format import CHECKPOINT_FORMAT, SUFFIX, BatchRecords
from tasks.edgar_names import is_url
from tasks.errors import FilingError
from tasks.extract import parse_filing, sha256_of
from tasks.fetch import Fetcher, FetchPlan
from tasks.files import atomic_path
from tasks.reading import inject_fault, read_filing
from tasks.submission import filed_form_type
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


ITEMS_SCHEMA = pa.schema([
    pa.field("identity", pa.string(), nullable=False),
    pa.field("location", pa.string(), nullable=False),
])
Item = tuple[str, str]  # (identity, location)


def batch_key(identities: Sequence[str]) -> str:
    """The checkpoint key of a batch: what its filings ARE (any order), and the versions."""
    digest = hashlib.sha256("\n".join(sorted(identities)).encode()).hexdigest()
    return KEY_PREFIX + digest[:40]


def write_items(path: Path, groups: Sequence[Sequence[Item]]) -> None:
    """Every batch's items into one Parquet file, batch ``n`` as row group ``n`` (written
    atomically)."""
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, ITEMS_SCHEMA, compression="zstd") as writer:
        for items in groups:
            ids, locations = zip(*items, strict=True)
            writer.write_table(
                pa.table([pa.array(ids, pa.string()), pa.array(locations, pa.string())], schema=ITEMS_SCHEMA),
                row_group_size=len(items),
            )


def read_items(path: str | Path, index: int) -> list[Item]:
    """The items of batch ``index`` of an items file."""
    table = pq.ParquetFile(path).read_row_group(index)
    return list(zip(table.column("identity").to_pylist(), table.column("location").to_pylist(), strict=True))


@dataclass(slots=True, frozen=True)
class Batch:
    """A reference to one batch of a run: row group ``index`` of the items file, and what the
    flow needs to know of it without reading it (its label, its key, how many filings)."""

    label: str
    cache_key: str  # ``batch_key`` of its identities
    count: int  # filings in it
    items_path: str  # the run's items file (shared storage)
    index: int  # its row group there
    records_dir: str  # where the worker writes the batch's Parquet file (shared storage)
    max_bytes: int  # the size cap of one filing
    fetch: FetchPlan | None = None  # how to get URL items (plain settings; not in the key)

    @property
    def records_path(self) -> Path:
        return Path(self.records_dir) / (self.cache_key + SUFFIX)

    def read_items(self) -> list[Item]:
        return read_items(self.items_path, self.index)


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
    for identity, location in batch.read_items():
        sha256, data = None, b""
        try:
            inject_fault(location)
            data = _read(identity, location, batch, fetcher)
            sha256 = sha256_of(data)
            records.add_record(identity, parse_filing(data, sha256))
        except FilingError as exc:
            records.add_error(identity, sha256, exc.kind, exc.message, filed_form_type(data))
        except (OSError, TimeoutError) as exc:
            io_errors[identity] = f"{type(exc).__name__}: {exc}"
    return records, io_errors
