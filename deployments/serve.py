"""``form3 serve``: the flow as a deployment, served from the login node.

Why ``flow.serve`` and not ``prefect.yaml`` + a process work pool + a worker: both run flow
runs as subprocesses of a long-lived process on the login node, but serving is one process
and no work pool to create, no code storage to pull (the code is this installed package),
and the deployment's parameters come from the flow's signature. A work pool would only pay
off for runs on infrastructure other than this host, and here the heavy work already leaves
the host through the flow's own Slurm cluster (dask-jobqueue).

What a deployment gives a user: "Run" in the UI with editable parameters (manifest, results
dir, cluster profile, ...), and "Retry" on a failed run, which sends the *same* flow run back
to this process; the checkpoints make it redo only the failed filings.
"""

from __future__ import annotations

from typing import Any

from prefect.deployments.runner import EntrypointType

from flows.settings import RunSettings, ScheduleSettings, ServeSettings, UpdateSettings

DAILY_SUFFIX = "-daily"  # the update's deployment: update-form3/NAME-daily


def serve(serving: ServeSettings, defaults: RunSettings, schedule: ScheduleSettings | None = None,
          update: UpdateSettings | None = None) -> None:
    """Serve ``extract-form3`` (and, with a cron schedule, ``update-form3``) until interrupted.

    ``defaults`` (resolved from ``form3 serve``'s flags and environment, paths absolute: served
    runs start in this process's directory) are the run settings the UI's custom-run form
    starts from. Stopping the process pauses the update's schedule (Prefect's
    ``pause_on_shutdown``): no runs pile up while nobody serves them.
    """
    from prefect import serve as serve_all

    deployments = [extract_deployment(serving, defaults)]
    if schedule is not None and schedule.cron and update is not None:
        deployments.append(update_deployment(serving, defaults, schedule, update))
    # Runs of one results directory must not overlap (outputs and checkpoint index are
    # single-writer); more than one at a time only with distinct results dirs.
    serve_all(*deployments, limit=serving.limit)


def update_deployment(serving: ServeSettings, defaults: RunSettings, schedule: ScheduleSettings,
                      update: UpdateSettings) -> Any:
    """``update-form3/NAME-daily``: the update on a cron schedule read in a stated time zone;
    pausable in the UI (Deployments, the schedule's toggle), each run a normal flow run."""
    from prefect.schedules import Cron

    from flows.update import update_form3

    return update_form3.to_deployment(
        name=serving.name + DAILY_SUFFIX,
        schedule=Cron(schedule.cron, timezone=schedule.timezone),
        parameters={"update": update.model_dump(mode="json"),
                    "settings": defaults.model_dump(mode="json")},
        description="New SEC ownership filings from EDGAR's daily indexes (update: since, "
        "today, archive, recheck_days), appended to RESULTS/update-manifest.csv, then "
        "extract-form3 over it (settings: as the form3 deployment). See docs/daily-update.md.",
        tags=["form3", "update"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def extract_deployment(serving: ServeSettings, defaults: RunSettings) -> Any:
    """``extract-form3/NAME``: runs started from the UI, and retries."""
    from flows.flow import extract_form3

    return extract_form3.to_deployment(
        name=serving.name,
        parameters={"settings": defaults.model_dump(mode="json")},
        description="SEC Form 3 filings to research tables. One parameter, settings: the "
        "manifest (CSV of paths or URLs), results_dir, cluster (local|slurm), profile "
        "(deployments/profiles.yaml), batch_size, store_dir; for URLs user_agent (required "
        "for sec.gov), mirror, max_requests_per_second, max_filing_bytes and the fetch "
        "settings. See the README's settings table.",
        tags=["form3"],
        # Importable by module, not by file path: the runs work whatever the cwd.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
