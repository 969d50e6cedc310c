"""The ``update-form3`` flow: new ownership filings from EDGAR's daily indexes, then the
extraction flow over the cumulative manifest. ``form3 update`` runs it; ``form3 serve --cron``
serves it on a schedule.

1. Read the daily indexes of the weekdays not read yet since ``--since``, and of the last
   ``--recheck-days`` again (late filings, today's index once published); a day without an
   index is normal (``tasks.daily_index``).
2. Append the accessions not seen before to ``results/update-manifest.csv`` and commit the
   days read (``tasks.update_state``): killed anywhere, the next update redoes only this.
3. Run ``extract-form3`` over the whole cumulative manifest as a subflow: its checkpoints make
   that parse only the new filings (and any a killed update left), and publish the results.

The indexes are read here, in the flow process, like ``form3 manifest`` reads its index files:
a few hundred KB a day, bounded by ``INDEX_MAX_BYTES``, paced by the run's shared request rate.
The flow process reads no filing, no manifest row and no checkpoint.
"""

# No `from __future__ import annotations`: Prefect builds the flow's parameter model from the
# signature at run time (served runs), and a string annotation there fails to resolve.
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Failed

from flows.flow import extract_form3
from flows.outputs import QUARTERLY, run_layout
from flows.settings import RunSettings, UpdateSettings
from tasks.daily_index import edgar_today, read_daily_index, weekdays
from tasks.edgar_names import is_url
from tasks.rate_limit import RATE_LIMIT_NAME, PacedSlots, ensure_rate_limit
from tasks.update_state import UpdateState, append_manifest

UPDATE_FLOW_NAME = "update-form3"


@flow(name=UPDATE_FLOW_NAME, persist_result=False, log_prints=True)
def update_form3(update: UpdateSettings, settings: RunSettings = RunSettings()) -> dict[str, Any]:
    """Bring the results directory up to ``update.today`` (default: today in New York)."""
    logger = get_run_logger()
    today = update.today or edgar_today()
    results = settings.results_dir
    state = UpdateState.load(results)
    days = state.days_to_read(list(weekdays(update.since, today)), today, update.recheck_days)
    throttle = None
    if is_url(update.archive):
        ensure_rate_limit(settings.max_requests_per_second)
        throttle = PacedSlots(RATE_LIMIT_NAME, settings.max_requests_per_second)
    known = state.known_accessions()
    new, indexed, absent = [], [], []
    for day in days:
        index = read_daily_index(update.archive, day, settings.user_agent, throttle,
                                 timeout=settings.fetch_timeout)
        (indexed if index is not None else absent).append(day.isoformat())
        new += state.record(day, index, known)
    state.forget_old_accessions(today, update.recheck_days)
    manifest = append_manifest(results, state, new, update.archive)
    state.save(results)
    report = {
        "today": today.isoformat(), "days_read": len(days), "days_indexed": indexed,
        "days_without_index": absent, "new_filings": len(new),
        "manifest_filings": state.manifest_rows, "manifest": str(manifest),
    }
    logger.info("update to %s: %d day(s) read (%d without an index), %d new filing(s), %d in %s",
                today, len(days), len(absent), len(new), state.manifest_rows, manifest)
    if state.manifest_rows == 0:
        return {"update": report}
    layout = run_layout(settings, new=QUARTERLY)  # an update rewrites only what changed
    run = extract_form3(settings=settings.model_copy(update={"manifest": manifest, "layout": layout}),
                        return_state=True)
    summary = run.result(raise_on_failure=False)
    if not isinstance(summary, dict):  # the flow crashed or failed before its summary
        return Failed(message=f"extract-form3: {run.name}: {run.message}", data={"update": report})
    summary = summary | {"update": report}
    if not run.is_completed():
        return Failed(message=run.message, data=summary)
    return summary
