"""The Prefect task around the pure parser: one task run per *batch* of filings.

A task run costs ~50-65 ms on Dask and a filing ~0.1 ms to parse, so the unit of orchestration
is a batch. Its cache key is what the filings ARE (their identities: an EDGAR accession, or a
path with its size and mtime, or a URL) plus the parser and checkpoint versions; the records
go to one Parquet file per batch (``tasks.checkpoint_format``), written by the worker, and
the task returns (and Prefect persists, as plain JSON any Prefect client can read) a small
summary that names that file. The work itself is ``tasks.batch.extract_items``: the worker
is the only process that reads a filing's bytes.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from prefect import get_run_logger, task
from prefect.context import TaskRunContext

from tasks.batch import Batch, extract_items
from tasks.rate_limit import url_fetcher


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
    fetcher = url_fetcher(batch.fetch) if batch.fetch is not None else None
    records, io_errors = extract_items(batch, fetcher)
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
        "filings": batch.count,
        # I/O errors that outlived every retry: not facts about the bytes, so the flow does
        # not checkpoint these filings and the next run tries them again.
        "io_errors": io_errors,
        "hostname": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "seconds": round(time.perf_counter() - started, 4),
    }
