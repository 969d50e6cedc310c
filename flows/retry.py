"""``form3 retry FLOW_RUN_ID``: run a finished flow run again; only what failed is recomputed.

A retry is the *same* flow run, set back to ``AwaitingRetry`` exactly as the UI's Retry
button does. Every batch that finished is in the checkpoint index, so the retried run plans
only the filings that failed on infrastructure errors (its run summary says ``parsed`` = that
number). A run of a deployment goes back to whatever serves it (``form3 serve``); a run
started by ``form3 run`` has no deployment, so it is executed here, in this process, as
``prefect flow-run retry --entrypoint`` would.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from prefect import get_client
from prefect.client.schemas.objects import StateType
from prefect.states import AwaitingRetry

from flows.outputs import SUMMARY_NAME
from flows.settings import RunSettings

POLL_SECONDS = 2.0


class RetryError(RuntimeError):
    """The flow run cannot be retried (unknown id, still running, refused by the API)."""


async def _read(flow_run_id: uuid.UUID) -> Any:
    async with get_client() as client:
        return await client.read_flow_run(flow_run_id)


async def schedule_retry(flow_run_id: uuid.UUID, message: str) -> Any:
    """Set a finished run to AwaitingRetry (forced, as the UI does); return the flow run."""
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            run = await client.read_flow_run(flow_run_id)
        except ObjectNotFound:
            raise RetryError(f"no flow run {flow_run_id} in this Prefect API") from None
        if run.state is None or not run.state.is_final():
            state = run.state.name if run.state else "no state"
            raise RetryError(f"flow run {flow_run_id} is {state}: only finished runs are retried")
        result = await client.set_flow_run_state(
            flow_run_id, AwaitingRetry(message=message), force=True
        )
        if result.status != SetStateStatus.ACCEPT:
            raise RetryError(f"the API refused the retry: {result.details}")
        return run


def wait_for(flow_run_id: uuid.UUID, timeout: float | None = None) -> Any:
    """Poll until the run is final again, printing each state it passes through."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last = None
    while True:
        run = asyncio.run(_read(flow_run_id))
        name = run.state.name if run.state else "?"
        if name != last:
            print(f"form3 retry: {flow_run_id} {name}", file=sys.stderr, flush=True)
            last = name
        if run.state and run.state.is_final():
            return run
        if deadline is not None and time.monotonic() > deadline:
            raise RetryError(f"flow run {flow_run_id} still {name} after {timeout:.0f}s")
        time.sleep(POLL_SECONDS)


def _run_here(run: Any) -> Any:
    """Execute a deployment-less flow run in this process with its recorded parameters."""
    from prefect.flow_engine import run_flow

    from flows.flow import extract_form3

    run_flow(flow=extract_form3, flow_run=run, parameters=dict(run.parameters), return_type="state")
    return asyncio.run(_read(run.id))


def retry(flow_run_id: str, wait: bool = True, timeout: float | None = None) -> int:
    try:
        run_id = uuid.UUID(flow_run_id)
    except ValueError:
        print(f"form3 retry: {flow_run_id!r} is not a flow run id (a UUID)", file=sys.stderr)
        return 2
    try:
        run = asyncio.run(schedule_retry(run_id, "Retried with form3 retry"))
        if run.deployment_id is None:
            print("form3 retry: run has no deployment: executing it here", file=sys.stderr)
            final = _run_here(run)
        elif not wait:
            print(f"form3 retry: {run_id} is AwaitingRetry; `form3 serve` picks it up",
                  file=sys.stderr)
            return 0
        else:
            print("form3 retry: waiting for `form3 serve` to run it", file=sys.stderr)
            final = wait_for(run_id, timeout)
    except RetryError as exc:
        print(f"form3 retry: {exc}", file=sys.stderr)
        return 2
    settings = RunSettings.model_validate(final.parameters.get("settings") or {})
    summary_path = settings.results_dir / SUMMARY_NAME
    try:
        summary = json.loads(summary_path.read_text())
        if summary.get("flow_run_id") == str(run_id):
            print(json.dumps(summary, indent=2))
    except (OSError, ValueError):
        pass
    state = final.state
    print(f"form3 retry: {run_id} {state.name}: {state.message or ''}".rstrip(": "),
          file=sys.stderr)
    return 0 if state.type == StateType.COMPLETED else 1
