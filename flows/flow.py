"""The ``extract-form3`` flow: plan, run the batches, publish. Orchestration only.

The flow process starts the profile's Dask cluster (local or Slurm workers) and runs every
step on it (``flows.steps``); it never reads the manifest, a filing or a checkpoint.

1. Plan (``flows.planning``, on a worker): read the manifest, identify every filing without
   reading it, drop what the checkpoint index says is done, batch the rest.
2. Run (``flows.execution``): map ``extract_batch`` over the batches.
3. Publish (``flows.publishing``, on a worker): index the finished batches; every row's
   outcome, in manifest order, into ``results/`` as one set with ``run_summary.json``,
   ``README.md`` and ``SHA256SUMS``. The flow process passes what only it knows (the flow
   run, the Slurm jobs, this host's name); the summary then goes to the UI.
"""

# No `from __future__ import annotations`: Prefect builds the flow's parameter model from the
# signature at run time (served runs, retries), and a string annotation there fails to resolve.
import contextlib
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.states import Failed
from prefect.utilities.urls import url_for

from flows.cluster import task_runner_for
from flows.cluster_watch import ClusterWatch, watch_cluster
from flows.execution import execute
from flows.local_api import configured_api_url, drain_workers
from flows.planning import preflight
from flows.report import publish_run_summary
from flows.settings import RunSettings
from flows.steps import plan_step, publish_step, run_step


@contextlib.contextmanager
def _phase(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    timings[name] = time.monotonic() - started


def _slurm_job_ids(watch: ClusterWatch | None) -> list[str]:
    """This run's Slurm jobs: the allocation it runs in (``form3 submit``), its worker jobs."""
    own = os.environ.get("SLURM_JOB_ID")
    return ([own] if own else []) + (watch.job_ids() if watch else [])


@flow(name="extract-form3", persist_result=False, log_prints=True)
def extract_form3(settings: RunSettings = RunSettings()) -> dict[str, Any]:
    """Parse every Form 3 in the manifest into the results directory; reruns reuse checkpoints.

    ``settings`` are resolved by the process that starts the run (``form3 run``, or ``form3
    serve`` for the UI's defaults); the flow only reads them.
    """
    started = time.monotonic()
    logger = get_run_logger()
    timings: dict[str, float] = {}
    profile = preflight(settings, configured_api_url())
    store_dir = settings.checkpoint_dir
    store_dir.mkdir(parents=True, exist_ok=True)
    with task_runner_for(profile, store_dir) as runner, \
            watch_cluster(runner, profile, logger) as watch:
        check = watch and watch.check
        with _phase(timings, "plan"):
            plan = run_step(runner, plan_step, {"settings": settings, "workers": profile.workers}, check)
        with _phase(timings, "extract"):
            extracted = execute(runner, plan, store_dir, check, logger)
        flow_run_id = get_run_context().flow_run.id
        run = {
            "profile": profile.name,
            "flow_run_id": str(flow_run_id),
            "flow_run_url": url_for("flow-run", obj_id=flow_run_id),
            "slurm_job_ids": _slurm_job_ids(watch),
            "host": socket.gethostname(),  # where the results are copied from
            "phase_seconds": timings,
            "seconds": time.monotonic() - started,
        }
        summary = run_step(
            runner, publish_step,
            {"settings": settings, "plan": plan, "extracted": extracted, "run": run}, check,
        )
        # Slurm workers are scancelled when the cluster closes: send their buffered
        # task-run events and logs to the API first, or the UI never shows those runs.
        drain_workers(runner.client, logger)
    plan.remove_files()
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
