"""The ``extract-form3`` flow: plan, map batches over Dask, aggregate. Orchestration only.

1. Read the manifest and hash every filing (sha256 of its bytes: what the filing IS); a URL
   that names an EDGAR accession is identified by it (EDGAR never changes a filing).
2. Drop what the checkpoint index says is done (this parser version), and identical bytes
   seen twice; group the rest into batches.
3. Map ``extract_batch`` over the batches on a DaskTaskRunner (local or Slurm workers).
   Each batch's records are stored under its content key (Prefect persists the task's small
   summary there, the task writes the records beside it); the flow indexes the batch as soon
   as it completes, so a crash loses at most the batches in flight.
4. Stream every filing's record, in manifest order, into ``results/`` and finish atomically.
"""

from __future__ import annotations

import hashlib
import os
import queue
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.futures import PrefectFuture
from prefect.states import Failed

from flows.checkpoints import CheckpointStore
from flows.cluster import ClusterProfile, check_api_reachable, get_profile, task_runner_for
from flows.local_api import configured_api_url, drain_to_api
from flows.manifest import FilingRef, check_url_sources, read_manifest
from flows.outputs import ResultsWriter, output_sizes, reusable_outputs
from flows.progress import Progress
from flows.report import publish_run_summary
from flows.settings import DEFAULT_MANIFEST, RunSettings, auto_batch_size
from tasks.errors import FilingError
from tasks.extract import sha256_of
from tasks.fetch import Fetcher, FetchPlan, edgar_name, is_url
from tasks.prefect_tasks import (
    RATE_LIMIT_NAME, Batch, BatchSummary, FailedFiling, ensure_rate_limit, extract_batch,
    url_fetcher,
)
from tasks.reading import read_filing
from tasks.serialize import finish_record
from tasks.version import PARSER_VERSION

HASH_THREADS = 8
# Dask itself re-runs a task whose worker died (distributed's allowed-failures, default 3);
# past that, the flow submits the batch again this many times in all.
SUBMIT_ROUNDS = 3


@dataclass(slots=True)
class Hashed:
    ref: FilingRef
    # The filing's identity (checkpoint index, batch keys): the sha256 of its bytes, or
    # "accession:…" for a URL that names an EDGAR accession (see tasks.prefect_tasks.Batch).
    sha256: str | None = None
    error: FilingError | None = None  # a data error found while reading
    infra: str | None = None  # an I/O error that a rerun may not see
    stat: tuple[int, int] | None = None  # size, mtime_ns when hashed
    location: str | None = None  # what a worker reads: the path, the URL, or a URL's download


@dataclass(slots=True)
class UrlFilings:
    """The flow process's side of URL filings: the run's fetch plan and a fetcher."""

    plan: FetchPlan
    fetcher: Fetcher

    def locate(self, url: str) -> tuple[str | None, str]:
        """``(identity, url)`` for a URL that names an accession: known without a request.
        Otherwise ``(None, path)`` of its download, fetched now (rate-limited like the
        workers) unless an earlier run did, so that its content can be hashed."""
        name = edgar_name(url)
        if name is not None:
            return name.identity, url
        return None, str(self.fetcher.ensure(url, self.plan.target(url)))


def _hash_one(ref: FilingRef, known: dict[str, list], urls: UrlFilings | None = None) -> Hashed:
    location = ref.location
    try:
        if is_url(location) and urls is not None:
            identity, location = urls.locate(location)
            if identity is not None:
                return Hashed(ref, sha256=identity, location=location)
        try:
            st = os.stat(location)
            stat = (st.st_size, st.st_mtime_ns)
        except OSError:
            stat = None  # reading it below says what is wrong, as a data or an I/O error
        hint = known.get(location)
        if stat is not None and hint is not None and (hint[0], hint[1]) == stat:
            return Hashed(ref, sha256=hint[2], stat=stat, location=location)
        return Hashed(ref, sha256=sha256_of(read_filing(location)), stat=stat, location=location)
    except FilingError as exc:
        return Hashed(ref, error=exc.with_source(ref.source))
    except OSError as exc:
        return Hashed(ref, infra=f"{type(exc).__name__}: {exc}")


def hash_filings(
    refs: list[FilingRef], store: CheckpointStore, urls: UrlFilings | None = None
) -> list[Hashed]:
    """sha256 of every filing. A file whose size and mtime match the last run's is not read
    again (as make and rsync decide); its recorded hash is used to look up its checkpoint.
    A URL that names an accession is identified by it, unread; any other URL by the sha256
    of its download."""
    known = store.load_hashes()
    # I/O bound (hashlib releases the GIL on large buffers): threads in the flow process.
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        hashed = list(pool.map(lambda r: _hash_one(r, known, urls), refs, chunksize=64))
    fresh = {
        h.location: [h.stat[0], h.stat[1], h.sha256]
        for h in hashed if h.sha256 and h.stat is not None and h.location
    }
    if any(known.get(loc) != entry for loc, entry in fresh.items()):
        store.save_hashes(known | fresh)
    return hashed


def make_batches(
    pending: list[tuple[str, str]],
    size: int,
    rows: dict[str, int] | None = None,
    fetch: FetchPlan | None = None,
) -> list[Batch]:
    """Consecutive groups of ``size``. A batch is labelled by the manifest rows it spans (its
    task run's name in the UI), so a user can tell which filings a failed task run held."""
    rows = rows or {}
    batches = []
    for start in range(0, len(pending), size):
        items = tuple(pending[start : start + size])
        first, last = rows.get(items[0][0]), rows.get(items[-1][0])
        span = (
            f"row {first}" if first is not None and first == last
            else f"rows {first}-{last}" if first is not None and last is not None
            else f"filings {start + 1}-{start + len(items)}"
        )
        count = f"{len(items)} filing" + ("s" if len(items) != 1 else "")
        batches.append(Batch(label=f"{span} ({count})", items=items, fetch=fetch))
    return batches


def _in_completion_order(
    submitted: list[tuple[PrefectFuture, Batch]],
) -> Iterator[tuple[PrefectFuture, Batch]]:
    """Yield each future as it finishes and forget it at once.

    ``prefect.futures.as_completed`` keeps every future (and the result it carries) until the
    loop ends; here only unfinished futures are referenced.
    """
    finished: queue.SimpleQueue = queue.SimpleQueue()
    pending = {future.task_run_id: (future, batch) for future, batch in submitted}
    submitted.clear()
    for future, _ in pending.values():
        future.add_done_callback(lambda f: finished.put(f.task_run_id))
    while pending:
        item = pending.pop(finished.get())
        yield item
        del item


def _batch_result(future: PrefectFuture) -> BatchSummary | None:
    """The batch's result, or None when its worker died before handing it over (Dask raises
    KilledWorker even with raise_on_failure=False)."""
    try:
        result = future.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - distributed.KilledWorker, CancelledError, comm errors
        return None
    return result if isinstance(result, BatchSummary) else None


@dataclass(slots=True)
class Extracted:
    """What mapping the batches did, for the summary and the aggregation."""

    parsed: set[str] = field(default_factory=set)  # sha256s computed in this run
    cache_hits: set[str] = field(default_factory=set)  # Prefect cache hits on submitted batches
    lost: dict[str, str] = field(default_factory=dict)  # sha256 → why it was not processed
    workers: Counter[str] = field(default_factory=Counter)  # batches per Slurm job id or host
    resubmitted: list[str] = field(default_factory=list)  # batches whose worker was lost


def run_batches(
    batches: list[Batch],
    profile: ClusterProfile,
    store: CheckpointStore,
    done: dict[str, str],
    logger: Any,
) -> Extracted:
    """Map ``extract_batch`` over the batches; index each finished batch as it completes."""
    out = Extracted()
    if not batches:
        return out
    progress = Progress(sum(len(b.items) for b in batches), logger)
    # A Path, not a block: Prefect takes a plain string as the name of a saved block.
    task = extract_batch.with_options(result_storage=store.directory)
    with task_runner_for(profile) as runner:
        todo = batches
        for round_ in range(1, SUBMIT_ROUNDS + 1):
            submitted = [(runner.submit(task, {"batch": b}), b) for b in todo]
            todo = []
            for future, batch in _in_completion_order(submitted):
                shas = [s for s, _ in batch.items]
                future.wait()  # the final state from Dask, not from the (lagging) API
                state = future.state
                result = _batch_result(future) if state.is_completed() else None
                if result is not None:
                    gave_up = result.io_errors
                    finished = [s for s in shas if s not in gave_up]
                    store.record(result.records_key, finished)
                    for s in finished:
                        done[s] = result.records_key
                    out.lost.update(gave_up)
                    if state.name == "Cached":
                        out.cache_hits.update(finished)
                    else:
                        out.parsed.update(finished)
                        out.workers[result.slurm_job_id or result.hostname] += 1
                    del result
                    progress.advance(len(shas))
                elif (not state.is_final() or state.is_completed()) and round_ < SUBMIT_ROUNDS:
                    # Its worker died (scancel, node failure, walltime) more often than
                    # Dask's allowed-failures: submit the batch again in a new task run.
                    logger.warning(
                        "batch %s lost with its worker (%s); resubmitting", batch.label,
                        state.name,
                    )
                    todo.append(batch)
                    out.resubmitted.append(batch.label)
                else:
                    reason = (
                        f"{state.name}: {state.message}" if state.is_final()
                        else f"worker lost {SUBMIT_ROUNDS} times (task run left {state.name})"
                    )
                    logger.error("batch %s failed: %s", batch.label, reason)
                    for s in shas:
                        out.lost[s] = reason
                    progress.advance(len(shas))
            if not todo:
                break
        # Slurm workers are scancelled when the cluster closes: send their buffered task-run
        # events and logs to the API first, or the UI never shows those task runs.
        runner.client.run(drain_to_api)
    return out


@flow(name="extract-form3", persist_result=False, log_prints=True)
def extract_form3(
    manifest: str = str(DEFAULT_MANIFEST),
    results_dir: str = "results",
    cluster: str | None = None,
    profile: str | None = None,
    batch_size: int | None = None,
    store_dir: str | None = None,
    user_agent: str | None = None,
    mirror: str | None = None,
    max_requests_per_second: float | None = None,
    max_filing_bytes: int | None = None,
) -> dict[str, Any]:
    """Parse every Form 3 in ``manifest`` into ``results_dir``; reruns reuse checkpoints.

    Manifest rows may be ``http(s)://`` URLs: fetched with ``user_agent`` (sec.gov requires
    one with a contact), at most ``max_requests_per_second`` for all workers together, kept
    in ``mirror`` (EDGAR's layout) or else in the checkpoint directory's download cache.
    """
    started = time.monotonic()
    logger = get_run_logger()
    settings = RunSettings.resolve(
        manifest, results_dir, store_dir, cluster, profile, batch_size,
        user_agent=user_agent, mirror=mirror, max_rps=max_requests_per_second,
        max_filing_bytes=max_filing_bytes,
    )
    cluster_profile = get_profile(
        settings.profile_name, settings.cluster if settings.cluster_explicit else None
    )
    check_api_reachable(cluster_profile, configured_api_url())
    man = read_manifest(settings.manifest, settings.column)
    check_url_sources(man, settings.user_agent, settings.max_rps)
    if man.duplicates_dropped:
        logger.warning("manifest: %d duplicate rows ignored", man.duplicates_dropped)
    logger.info("manifest %s: %d filings", man.path, len(man.filings))

    timings: dict[str, float] = {}
    mark = time.monotonic()
    store = CheckpointStore(settings.checkpoint_dir)
    plan = None
    if any(is_url(f.location) for f in man.filings):
        ensure_rate_limit(settings.max_rps)
        plan = settings.fetch_plan(RATE_LIMIT_NAME)
        logger.info(
            "URL filings: at most %g requests/s for all workers; kept in %s",
            settings.max_rps, plan.filings_dir,
        )
    hashed = hash_filings(man.filings, store, UrlFilings(plan, url_fetcher(plan)) if plan else None)
    timings["hash"] = time.monotonic() - mark
    done = store.load_index()
    pending: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for h in hashed:
        if h.sha256 and h.sha256 not in done:
            pending.setdefault(h.sha256, h.location or h.ref.location)
            first_row.setdefault(h.sha256, h.ref.row)
    size = settings.batch_size or auto_batch_size(len(pending), cluster_profile.workers)
    batches = make_batches(list(pending.items()), size, first_row, plan)
    logger.info(
        "%d filings already checkpointed, %d to parse in %d batches of up to %d (profile %s)",
        sum(1 for h in hashed if h.sha256 in done), len(pending), len(batches), size,
        cluster_profile.name,
    )

    mark = time.monotonic()
    extracted = run_batches(batches, cluster_profile, store, done, logger)
    timings["extract"] = time.monotonic() - mark
    mark = time.monotonic()
    fingerprint = outputs_fingerprint(hashed, done, extracted.lost)
    outputs = reusable_outputs(settings.results_dir, fingerprint)
    if outputs is None:
        outputs = _aggregate(settings, hashed, done, store, extracted.lost)
    else:
        logger.info("outputs in %s are up to date: not rewritten", settings.results_dir)
    timings["aggregate"] = time.monotonic() - mark
    parsed = sum(1 for h in hashed if h.sha256 in extracted.parsed)
    summary = {
        "filings": len(hashed),
        "parsed": parsed,
        "cached": sum(1 for h in hashed if h.sha256 in done) - parsed,
    } | outputs | {
        "outputs_fingerprint": fingerprint,
        "output_bytes": output_sizes(settings.results_dir),
        "manifest": str(man.path),
        "cache_hits_in_run": len(extracted.cache_hits),
        "batches_by_worker": dict(extracted.workers),
        "batches_resubmitted": extracted.resubmitted,
        "phase_seconds": {k: round(v, 3) for k, v in timings.items()},
        "batches": len(batches),
        "batch_size": size,
        "profile": cluster_profile.name,
        "parser_version": PARSER_VERSION,
        "flow_run_id": str(get_run_context().flow_run.id),
        "seconds": round(time.monotonic() - started, 3),
    }
    ResultsWriter.write_summary(settings.results_dir, summary)
    publish_run_summary(summary)
    logger.info(
        "done: %d filings, %d parsed, %d cached, %d failed -> %s",
        summary["filings"], summary["parsed"], summary["cached"], summary["failed"],
        settings.results_dir,
    )
    if summary["not_processed"]:
        return Failed(
            message=f"{summary['not_processed']} filings were not processed (infrastructure "
            f"errors after retries; see failures.csv); all other results are written. "
            f"Rerun to process only those.",
            data=summary,
        )
    return summary


def outputs_fingerprint(hashed: list[Hashed], done: dict[str, str], lost: dict[str, str]) -> str:
    """A digest of everything the output files are made from: if it matches the last run's,
    the files would come out byte-identical, so they need not be written again."""
    digest = hashlib.sha256(f"parser {PARSER_VERSION}\n".encode())
    for h in hashed:
        error = f"{h.error.kind}:{h.error.message}" if h.error else ""
        why = h.infra or lost.get(h.sha256 or "", "")
        line = f"{h.ref.row}\t{h.ref.source}\t{h.sha256}\t{done.get(h.sha256 or '')}\t{error}\t{why}\n"
        digest.update(line.encode())
    return digest.hexdigest()


def _aggregate(
    settings: RunSettings,
    hashed: list[Hashed],
    done: dict[str, str],
    store: CheckpointStore,
    lost: dict[str, str],
) -> dict[str, Any]:
    """Stream every filing's outcome, in manifest order, into the results files; return the
    facts about them that go into the run summary."""
    writer = ResultsWriter(settings.results_dir)
    errors: Counter[str] = Counter()
    not_processed = 0
    try:
        for h in hashed:
            ref = h.ref
            if h.error is not None:
                writer.add_failure(ref.row, ref.source, h.error.kind, h.error.message)
                errors[h.error.kind] += 1
                continue
            key = done.get(h.sha256) if h.sha256 else None
            if key is None:
                why = h.infra or lost.get(h.sha256 or "", "not processed")
                writer.add_failure(ref.row, ref.source, "not_processed", why)
                not_processed += 1
                continue
            outcome = store.load(key).outcomes[h.sha256]
            if isinstance(outcome, FailedFiling):
                writer.add_failure(ref.row, ref.source, outcome.kind, outcome.message)
                errors[outcome.kind] += 1
                continue
            writer.add_record(*finish_record(outcome, ref.source))
        summary = {
            "filings": len(hashed),
            "succeeded": writer.records,
            "failed": writer.failures,
            "data_errors": sum(errors.values()),
            "not_processed": not_processed,
            "error_types": dict(errors.most_common()),
            "results_dir": str(settings.results_dir),
            "checkpoint_dir": str(settings.checkpoint_dir),
        }
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return summary
