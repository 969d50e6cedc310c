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
import contextlib
import time
from collections.abc import Iterator
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.states import Failed

from flows.execution import execute
from flows.local_api import configured_api_url
from flows.outputs import ResultsWriter
from flows.planning import plan_run
from flows.publishing import publish_outputs, run_summary
from flows.report import publish_run_summary
from flows.settings import RunSettings


@contextlib.contextmanager
def _phase(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    timings[name] = time.monotonic() - started


@flow(name="extract-form3", persist_result=False, log_prints=True)
def extract_form3(settings: RunSettings = RunSettings()) -> dict[str, Any]:
    """Parse every Form 3 in the manifest into the results directory; reruns reuse checkpoints.

    ``settings`` are resolved by the process that starts the run (``form3 run``, or ``form3
    serve`` for the UI's defaults); the flow only reads them.
    """
    started = time.monotonic()
    logger = get_run_logger()
    timings: dict[str, float] = {}
    with _phase(timings, "plan"):
        plan = plan_run(settings, configured_api_url(), logger)
    with _phase(timings, "extract"):
        extracted = execute(plan, logger)
    with _phase(timings, "publish"):
        outputs = publish_outputs(settings, plan, extracted, logger)
    summary = run_summary(settings, plan, extracted, outputs, timings, {
        "flow_run_id": str(get_run_context().flow_run.id),
        "seconds": round(time.monotonic() - started, 3),
    })
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
