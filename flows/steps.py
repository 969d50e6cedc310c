"""The flow's plan and publish steps as Prefect tasks, so that they run on a Dask worker.

On a cluster the flow process lives on the login node, which everyone shares. What grows with
the manifest runs on a worker, like the batches do:

- reading the manifest, with a ``stat`` per filing;
- the checkpoint index;
- reading every checkpoint back and writing the outputs.

The flow process keeps the scheduler, the task runs and a :class:`flows.planning.Plan`
(counts and batch references). Each step is one task run in the UI.
Neither is cached: planning must look at the files as they are now, and publishing decides
for itself whether the outputs are up to date (``flows.outputs.reusable_outputs``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.cluster_watch import POLL_SECONDS
from flows.execution import Extracted
from flows.planning import Plan, plan_run
from flows.publishing import publish_outputs
from flows.settings import RunSettings


@task(name="plan", task_run_name="plan", cache_policy=NO_CACHE, persist_result=False)
def plan_step(settings: RunSettings, workers: int) -> Plan:
    """Identify every manifest row, drop what is checkpointed, batch the rest."""
    return plan_run(settings, workers, get_run_logger())


@task(name="publish", task_run_name="publish", cache_policy=NO_CACHE, persist_result=False)
def publish_step(settings: RunSettings, plan: Plan, extracted: Extracted, run: dict[str, Any]) -> dict[str, Any]:
    """Index the run's batches and write ``results/``; return the run summary."""
    return publish_outputs(settings, plan, extracted, run, get_run_logger())


def run_step(runner: Any, step: Any, parameters: dict[str, Any], check: Callable[[], None] | None) -> Any:
    """Run one step on the started task runner and return its result (raising its error).
    While waiting, ``check()`` (the cluster watch) may raise to end the run: on Slurm no
    worker may ever start."""
    future = runner.submit(step, parameters)
    while True:
        future.wait(timeout=POLL_SECONDS)
        if future.state.is_final():
            return future.result()
        if check is not None:
            check()
