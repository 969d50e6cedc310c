"""Running the batches: map the extract task over Dask workers, resubmit what workers lost.

Dask itself re-runs a task whose worker died (distributed's ``allowed-failures``); past that,
and for a batch whose checkpoint file went missing, the flow submits the batch again, up to
``SUBMIT_ROUNDS`` rounds in all. A finished batch is its records file, written by the worker,
so a crash loses at most the batches in flight. The flow process deals in batch references
only (never a filing's identity or path). The Prefect/Dask side is behind :class:`Submitter`,
so the resubmission loop can be driven by a small fake in the fast tests.
"""

from __future__ import annotations

import queue
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from flows.cluster_watch import POLL_SECONDS
from flows.planning import Plan
from flows.progress import Progress
from tasks.batch import Batch

SUBMIT_ROUNDS = 3


@dataclass(slots=True)
class Outcome:
    """What became of one submitted batch."""

    batch: Batch
    summary: dict[str, Any] | None  # the task's return value, if it completed
    cached: bool = False  # Prefect found it in its cache instead of running it
    reason: str = ""  # why there is no summary
    final: bool = False  # the task run failed for good (not a lost worker)


class Submitter(Protocol):
    def __call__(self, batches: list[Batch], refresh: bool) -> Iterator[Outcome]:
        """Submit the batches; yield each outcome as it finishes."""


@dataclass(slots=True)
class Extracted:
    """What mapping the batches did, by batch index (``Batch.index``), for publishing."""

    finished: dict[int, str] = field(default_factory=dict)  # batch → its records file
    parsed: set[int] = field(default_factory=set)  # batches computed in this run
    cache_hits: set[int] = field(default_factory=set)  # Prefect cache hits on submitted batches
    failed: dict[int, str] = field(default_factory=dict)  # batch → why it was not processed
    io_errors: dict[str, str] = field(default_factory=dict)  # identity → I/O error after retries
    workers: Counter[str] = field(default_factory=Counter)  # batches per Slurm job id or host
    resubmitted: list[str] = field(default_factory=list)  # batches whose worker was lost


def run_batches(
    batches: list[Batch],
    submit: Submitter,
    logger: Any,
    on_progress: Callable[[int], None] = lambda n: None,
) -> Extracted:
    """Run every batch; what became of each is in the returned :class:`Extracted`."""
    out = Extracted()
    todo, refresh = batches, False
    for round_ in range(1, SUBMIT_ROUNDS + 1):
        retry: list[Batch] = []
        for outcome in submit(todo, refresh):
            batch, summary = outcome.batch, outcome.summary
            if summary is not None and batch.records_path.is_file():
                out.finished[batch.index] = summary["records"]
                out.io_errors.update(summary["io_errors"])
                if outcome.cached:
                    out.cache_hits.add(batch.index)
                else:
                    out.parsed.add(batch.index)
                    out.workers[summary["slurm_job_id"] or summary["hostname"]] += 1
                on_progress(batch.count)
                continue
            reason = outcome.reason or f"records file {batch.records_path.name} is missing"
            if not outcome.final and round_ < SUBMIT_ROUNDS:
                # Its worker died (scancel, node failure, walltime) more often than Dask's
                # allowed-failures, or its checkpoint file is gone: submit it again.
                logger.warning("batch %s lost (%s); resubmitting", batch.label, reason)
                retry.append(batch)
                out.resubmitted.append(batch.label)
                continue
            if not outcome.final:
                reason = f"lost {SUBMIT_ROUNDS} times; last: {reason}"
            logger.error("batch %s failed: %s", batch.label, reason)
            out.failed[batch.index] = reason
            on_progress(batch.count)
        if not retry:
            break
        # A cached summary whose records file is gone must be recomputed, not read again.
        todo, refresh = retry, True
    return out


def prefect_submitter(
    runner: Any, store_directory: Path, check: Callable[[], None] | None = None
) -> Submitter:
    """Submit ``extract_batch`` task runs to a started DaskTaskRunner. While waiting for
    them, ``check()`` (the cluster watch, ``flows.cluster_watch``) may raise to end the run."""
    from prefect.futures import PrefectFuture

    from tasks.prefect_tasks import extract_batch

    # A Path, not a block: Prefect takes a plain string as the name of a saved block.
    task = extract_batch.with_options(result_storage=store_directory)

    def submit(batches: list[Batch], refresh: bool) -> Iterator[Outcome]:
        run = task.with_options(refresh_cache=True) if refresh else task
        pending: dict[Any, tuple[PrefectFuture, Batch]] = {}
        finished: queue.SimpleQueue = queue.SimpleQueue()
        for batch in batches:
            future = runner.submit(run, {"batch": batch})
            pending[future.task_run_id] = (future, batch)
            future.add_done_callback(lambda f: finished.put(f.task_run_id))
        # Only unfinished futures stay referenced (prefect's as_completed keeps them all).
        while pending:
            try:
                task_run_id = finished.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if check is not None:
                    check()
                continue
            future, batch = pending.pop(task_run_id)
            future.wait()  # the final state from Dask, not from the (lagging) API
            yield _outcome(future, batch)
            del future

    return submit


def _outcome(future: Any, batch: Batch) -> Outcome:
    state = future.state
    if state.is_completed():
        try:
            summary = future.result(raise_on_failure=False)
        except Exception as exc:  # noqa: BLE001 - KilledWorker, CancelledError, comm errors
            return Outcome(batch, None, reason=f"{type(exc).__name__}: {exc}")
        if isinstance(summary, dict):
            return Outcome(batch, summary, cached=state.name == "Cached")
        return Outcome(batch, None, reason=f"unexpected result {type(summary).__name__}")
    if state.is_final():
        return Outcome(batch, None, reason=f"{state.name}: {state.message}", final=True)
    return Outcome(batch, None, reason=f"worker lost (task run left {state.name})")


def execute(runner: Any, plan: Plan, store_dir: Path, check: Callable[[], None] | None, logger: Any) -> Extracted:
    """Step 2 of the flow: the plan's batches on the started task runner, with progress in
    the UI and the terminal; ``check`` is the cluster watch's (see ``prefect_submitter``)."""
    with Progress(plan.pending, logger) as progress:
        if not plan.batches:
            return Extracted()
        submitter = prefect_submitter(runner, store_dir, check)
        return run_batches(list(plan.batches), submitter, logger, progress.advance)
