"""The Prefect task around the pure parser: one task run per *batch* of filings.

A task run costs ~50-65 ms on Dask and a filing ~0.1 ms to parse, so the unit of orchestration
is a batch. Its result, persisted by Prefect under a key made of what the filings ARE (their
sha256s) and the parser version, is the checkpoint: one file per batch, never one per filing.
The cached value holds only what the bytes determine; the flow attaches sources afterwards.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger, task
from prefect.context import TaskRunContext
from prefect.results import get_result_store
from prefect.serializers import CompressedSerializer

from tasks.errors import FilingError
from tasks.extract import parse_filing, sha256_of
from tasks.fetch import Fetcher, FetchPlan, is_url
from tasks.serialize import PreparedRecord, prepare_record
from tasks.reading import inject_fault, read_filing
from tasks.version import PARSER_VERSION


# Pickle, zlib-compressed: Prefect's CompressedSerializer defaults to lzma, which made
# writing and loading checkpoints cost more than parsing (measured: 10,000 filings 45 s).
CHECKPOINT_SERIALIZER = CompressedSerializer(serializer="pickle", compressionlib="zlib")


# Every checkpoint key starts so; a new parser version makes all older ones unreachable.
KEY_PREFIX = f"form3-v{PARSER_VERSION}-"

# The Prefect global concurrency limit that paces HTTP requests: one for all form3 runs on a
# Prefect API (the SEC counts per client, not per run), every worker of every run, local or
# Slurm, acquires from it through the API they already report to.
RATE_LIMIT_NAME = "form3-http-requests"


def slots_per_grant(per_second: float) -> int:
    """Slots a worker takes at once: a second's worth, so one API call paces ~1 s of requests."""
    return max(1, int(per_second))


def ensure_rate_limit(per_second: float, name: str = RATE_LIMIT_NAME) -> None:
    """Create or update the rate limit: ``slots_per_grant`` slots decaying at ``per_second``.

    Workers take all the slots at once (see :class:`PacedSlots`), so a grant needs the limit
    to have decayed to empty: grants are at least a second apart for all workers together.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    limit = slots_per_grant(per_second)
    with get_client(sync_client=True) as client:
        try:
            current = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(
                    name=name, limit=limit, slot_decay_per_second=per_second, active=True,
                ))
                return
            except ObjectAlreadyExists:  # another run created it meanwhile
                current = client.read_global_concurrency_limit_by_name(name)
        if (current.limit, current.slot_decay_per_second, current.active) != (limit, per_second, True):
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(
                limit=limit, slot_decay_per_second=per_second, active=True,
            ))


class PacedSlots:
    """The throttle of one fetcher: take a grant of ``k`` slots of the shared limit, then send
    its requests no faster than ``per_second``, each inside the grant's window.

    Why not one slot per request: Prefect's server decays ``floor(rate * seconds since the
    limit last changed)`` slots, and a denied acquisition is a change that applies no decay,
    so waiting workers keep restarting it; measured (benchmarks/rate_bench.py, rate 10, 2 and
    4 processes), one slot per request reached 58% of the rate, a grant of a second's worth
    65-75%, with a tenth of the API calls. Grants of two or four seconds' worth did no better.

    Why this still holds the rate across workers: a grant of all ``k`` slots needs the limit
    empty, i.e. ``k / per_second`` seconds after the previous grant, and a grant's requests are
    spaced ``1 / per_second`` apart from its start and never sent after its window ends
    (unused slots are forfeited), so the windows of grants do not overlap.
    """

    def __init__(self, name: str, per_second: float) -> None:
        self.name, self.per_second = name, per_second
        self.k = slots_per_grant(per_second)
        self.start = 0.0
        self.used = self.k  # no grant yet
        # The flow process fetches from several threads with one fetcher: one grant at a time.
        self._lock = threading.Lock()

    def __call__(self) -> None:
        from prefect.concurrency.sync import rate_limit

        with self._lock:
            now = time.monotonic()
            if self.used >= self.k or now >= self.start + self.k / self.per_second:
                # strict: a missing limit is an error, never an unthrottled request
                rate_limit(self.name, occupy=self.k, strict=True)
                self.start, self.used = time.monotonic(), 0
                now = self.start
            due = self.start + self.used / self.per_second
            if due > now:
                time.sleep(due - now)
            self.used += 1


def url_fetcher(plan: FetchPlan) -> Fetcher:
    """A fetcher whose requests are paced by the run's shared rate limit."""
    if not plan.rate_limit:
        return Fetcher(plan.settings)
    return Fetcher(plan.settings, PacedSlots(plan.rate_limit, plan.requests_per_second))


@dataclass(slots=True, frozen=True)
class Batch:
    """Filings to parse: (identity, location) pairs, unique by identity. The identity is the
    sha256 of a file's bytes, or ``accession:…`` for a URL that names an EDGAR accession
    (immutable: it is known without fetching, so a rerun skips the filing without a request)."""

    label: str
    items: tuple[tuple[str, str], ...]
    fetch: FetchPlan | None = None  # how to get URL items (plain settings; not in the key)

    @property
    def cache_key(self) -> str:
        digest = hashlib.sha256("\n".join(sorted(s for s, _ in self.items)).encode()).hexdigest()
        return KEY_PREFIX + digest[:40]

    @property
    def records_key(self) -> str:
        return self.cache_key + "-records"


@dataclass(slots=True)
class FailedFiling:
    kind: str
    message: str


@dataclass(slots=True)
class BatchResult:
    """The records a batch computed, by sha256: what the flow aggregates from the store."""

    outcomes: dict[str, PreparedRecord | FailedFiling] = field(default_factory=dict)
    parser_version: str = PARSER_VERSION


@dataclass(slots=True)
class BatchSummary:
    """What the task returns (and Prefect persists under the cache key): small on purpose.

    Prefect sends a task's whole return value back to the flow process through Dask; the
    records (MBs per batch) go to the result store under ``records_key`` instead, and the
    flow reads them once, when it writes the outputs.
    """

    records_key: str
    filings: int
    # I/O errors that outlived every retry: not facts about the bytes, so the flow does not
    # checkpoint these filings and the next run tries them again.
    io_errors: dict[str, str]
    hostname: str
    slurm_job_id: str | None
    seconds: float


def batch_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    # Only content and parser version: not the run id, the paths, or this task's source code.
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
    # Prefect's in-memory result cache is not thread-safe (KeyError in results.py on a
    # 20,000-task cached rerun), and the flow reads results from the store anyway.
    cache_result_in_memory=False,
    result_serializer=CHECKPOINT_SERIALIZER,
    retries=3,
    retry_delay_seconds=[1, 4, 10],
    retry_condition_fn=is_infrastructure_error,
)
def extract_batch(batch: Batch) -> BatchSummary:
    started = time.perf_counter()
    result = BatchResult()
    io_errors: dict[str, str] = {}
    fetcher: Fetcher | None = None
    for key, location in batch.items:
        try:
            inject_fault(location)
            if is_url(location):  # named by its accession: from the mirror/cache, or fetched
                if batch.fetch is None:
                    raise ValueError(f"batch {batch.label} has URLs but no fetch plan")
                fetcher = fetcher or url_fetcher(batch.fetch)
                data = fetcher.read(location, batch.fetch.target(location))
                sha256 = None  # the record gets its bytes' own sha256
            else:
                data = read_filing(location)
                sha256 = sha256_of(data)
                if sha256 != key:
                    raise FilingError(f"file changed during the run (sha256 {sha256[:12]}…)", location)
            result.outcomes[key] = prepare_record(parse_filing(data, sha256))
        except FilingError as exc:
            result.outcomes[key] = FailedFiling(exc.kind, exc.message)
        except (OSError, TimeoutError) as exc:
            io_errors[key] = f"{type(exc).__name__}: {exc}"
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
    # Same store and serializer as this task's own result (the flow's result_storage).
    get_result_store().write(obj=result, key=batch.records_key)
    return BatchSummary(
        records_key=batch.records_key,
        filings=len(batch.items),
        io_errors=io_errors,
        hostname=socket.gethostname(),
        slurm_job_id=os.environ.get("SLURM_JOB_ID"),
        seconds=time.perf_counter() - started,
    )
