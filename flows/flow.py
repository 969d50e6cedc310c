"""The ``extract-form3`` flow: plan, run the batches, publish. Orchestration only.

1. Plan (``flows.planning``): read the manifest, identify every filing without reading it,
   drop what the checkpoint index says is done, batch the rest.
2. Run (``flows.execution``): map ``extract_batch`` over the batches on a DaskTaskRunner
   (local or Slurm workers); index each batch as soon as it finishes.
3. Publish (``flows.publishing``): every row's outcome, in manifest order, into ``results/``
   as one set; the run summary to ``run_summary.json`` and the UI.
"""

# No `from __future__ import annotations`: Prefect builds the flow's parameter model from the
# signature at run time (served runs, retries), and a string annotation there fails to resolve.
import time
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.states import Failed

from flows.checkpoints import CheckpointStore
from flows.cluster import task_runner_for
from flows.cluster_watch import watch_cluster
from flows.execution import Extracted, prefect_submitter, run_batches
from flows.local_api import configured_api_url, drain_to_api
from flows.outputs import ResultsWriter, output_sizes, recover, reusable_outputs
from flows.planning import auto_batch_size, identify_all, make_batches, pending_work, preflight
from flows.progress import Progress
from flows.publishing import outputs_fingerprint, publish
from flows.report import publish_run_summary
from flows.settings import RunSettings
from tasks.edgar_names import is_url
from tasks.rate_limit import RATE_LIMIT_NAME, ensure_rate_limit
from tasks.version import PARSER_VERSION


@flow(name="extract-form3", persist_result=False, log_prints=True)
def extract_form3(settings: RunSettings = RunSettings()) -> dict[str, Any]:
    """Parse every Form 3 in the manifest into the results directory; reruns reuse checkpoints.

    ``settings`` are resolved by the process that starts the run (``form3 run``, or ``form3
    serve`` for the UI's defaults); the flow only reads them.
    """
    started = time.monotonic()
    logger = get_run_logger()
    timings: dict[str, float] = {}
    mark = time.monotonic()
    manifest, profile = preflight(settings, configured_api_url())
    if manifest.duplicates_dropped:
        logger.warning("manifest: %d duplicate rows ignored", manifest.duplicates_dropped)
    logger.info("manifest %s: %d filings", manifest.path, len(manifest.filings))
    if recover(settings.results_dir):
        logger.warning("finished publishing the outputs a killed run left half-renamed")
    store = CheckpointStore(settings.checkpoint_dir)
    fetch = None
    if any(is_url(f.location) for f in manifest.filings):
        ensure_rate_limit(settings.max_requests_per_second)
        fetch = settings.fetch_plan(RATE_LIMIT_NAME)
        logger.info(
            "URL filings: at most %g requests/s for all workers; kept in %s",
            settings.max_requests_per_second, fetch.filings_dir,
        )
    planned = identify_all(manifest.filings, settings.max_filing_bytes)
    done = store.load_index()
    pending, first_row = pending_work(planned, done)
    size = settings.batch_size or auto_batch_size(len(pending), profile.workers)
    batches = make_batches(
        pending, size, str(store.batches_dir), settings.max_filing_bytes, first_row, fetch
    )
    logger.info(
        "%d filings already checkpointed, %d to parse in %d batches of up to %d (profile %s)",
        sum(1 for p in planned if p.identity in done), len(pending), len(batches), size,
        profile.name,
    )
    timings["plan"] = time.monotonic() - mark

    mark = time.monotonic()

    def on_finished(key: str, identities: list[str]) -> None:
        store.record(key, identities)
        for identity in identities:
            done[identity] = key

    with Progress(len(pending), logger) as progress:
        extracted = Extracted()
        if batches:
            runner_for = task_runner_for(profile, store.directory)
            with runner_for as runner, watch_cluster(runner, profile, logger) as watch:
                submitter = prefect_submitter(runner, store.directory, watch and watch.check)
                extracted = run_batches(batches, submitter, on_finished, logger, progress.advance)
                # Slurm workers are scancelled when the cluster closes: send their buffered
                # task-run events and logs to the API first, or the UI never shows those runs.
                runner.client.run(drain_to_api)
    timings["extract"] = time.monotonic() - mark

    mark = time.monotonic()
    fingerprint = outputs_fingerprint(planned, done, extracted.lost)
    outputs = reusable_outputs(settings.results_dir, fingerprint)
    if outputs is None:
        outputs = publish(settings.results_dir, planned, done, store, extracted.lost)
    else:
        logger.info("outputs in %s are up to date: not rewritten", settings.results_dir)
    timings["publish"] = time.monotonic() - mark
    parsed = sum(1 for p in planned if p.identity in extracted.parsed)
    summary = {
        "filings": len(planned),
        "parsed": parsed,
        "cached": sum(1 for p in planned if p.identity in done) - parsed,
    } | outputs | {
        "outputs_fingerprint": fingerprint,
        "output_bytes": output_sizes(settings.results_dir),
        "manifest": str(manifest.path),
        "cache_hits_in_run": len(extracted.cache_hits),
        "batches_by_worker": dict(extracted.workers),
        "batches_resubmitted": extracted.resubmitted,
        "phase_seconds": {k: round(v, 3) for k, v in timings.items()},
        "batches": len(batches),
        "batch_size": size,
        "profile": profile.name,
        "parser_version": PARSER_VERSION,
        "settings": settings.model_dump(mode="json"),
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
