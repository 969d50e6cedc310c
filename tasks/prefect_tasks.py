"""The Prefect task around the pure parser: one task run per *batch* of filings.

A task run costs ~50-65 ms on Dask and a filing ~0.1 ms to parse, so the unit of orchestration
is a batch. Its cache key is what the filings ARE (their identities: an EDGAR accession, or a
path with its size and mtime, or a URL) plus the parser and checkpoint versions; the records
go to one Parquet file per batch (``tasks.checkpoint_format``), written by the worker, and
the task returns (and Prefect persists, as plain JSON any Prefect client can read) a small
summary that names that file. The worker is the only process that reads a filing's bytes:
it computes their sha256, bounded by the size cap.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.context import TaskRunContext

from tasks.checkpoint_format import CHECKPOINT_FORMAT, SUFFIX, BatchRecords
from tasks.edgar_names import is_url
from tasks.errors import FilingError
from tasks.extract import parse_filing, sha256_of
from tasks.fetch import Fetcher, FetchPlan
from tasks.rate_limit import url_fetcher
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


def batch_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    # Only identities and versions: not the run id, the task's source code or the settings.
    return parameters["batch"].cache_key


def is_infrastructure_error(task: Any, task_run: Any, state: Any) -> bool:
    """Retry I/O trouble and timeouts; a data error is a result and never reaches here."""
    try:
        state.result()
    except (OSError, TimeoutError):
        return True
    except Exception:
        return False
    return False


def _read(identity: str, location: str, batch: Batch, fetcher: Fetcher | None) -> bytes:
    if is_url(location):  # from the mirror/cache, or fetched
        if batch.fetch is None or fetcher is None:
            raise ValueError(f"batch {batch.label} has URLs but no fetch plan")
        return fetcher.read(location, batch.fetch.target(location))
    data, st = read_filing(location, batch.max_bytes)
    if identity.startswith(FILE_IDENTITY) and identity != file_identity(location, st.st_size, st.st_mtime_ns):
        raise FileChangedError(f"{location} changed since the run was planned")
    return data


@task(
    name="extract-batch",
    task_run_name="extract {batch.label}",
    cache_key_fn=batch_cache_key,
    persist_result=True,
    # A plain dict in JSON: any Prefect client (the UI, `prefect task-run ls`) reads it.
    result_serializer="json",
    # Prefect's in-memory result cache is not thread-safe (KeyError in results.py on a
    # 20,000-task cached rerun), and the flow reads the records file anyway.
    cache_result_in_memory=False,
    retries=3,
    retry_delay_seconds=[1, 4, 10],
    retry_condition_fn=is_infrastructure_error,
)
def extract_batch(batch: Batch) -> dict[str, Any]:
    """Parse the batch's filings into its records file; return what the flow needs to know."""
    started = time.perf_counter()
    records = BatchRecords.empty()
    io_errors: dict[str, str] = {}
    fetcher = url_fetcher(batch.fetch) if batch.fetch is not None else None
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
    if fetcher is not None and fetcher.requests:
        get_run_logger().info(
            "%s: %d HTTP requests in %.1fs", batch.label, fetcher.requests,
            time.perf_counter() - started,
        )
    if io_errors:
        context = TaskRunContext.get()
        if context is not None and context.task_run.run_count <= context.task.retries:
            # Let Prefect retry the batch with backoff; re-parsing its good filings is cheap.
            first = next(iter(io_errors.values()))
            raise OSError(f"{len(io_errors)} filing(s) hit I/O errors; first: {first}")
        # Final attempt: keep everything that worked; only these filings stay undone.
    records.write(batch.records_path)
    return {
        "records": batch.records_path.name,
        "filings": len(batch.items),
        # I/O errors that outlived every retry: not facts about the bytes, so the flow does
        # not checkpoint these filings and the next run tries them again.
        "io_errors": io_errors,
        "hostname": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "seconds": round(time.perf_counter() - started, 4),
    }
