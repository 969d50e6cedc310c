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

from prefect.deployments.runner import EntrypointType

from flows.settings import RunSettings, ServeSettings


def serve(serving: ServeSettings, defaults: RunSettings) -> None:
    """Serve ``extract-form3`` until interrupted (Ctrl-C pauses nothing: no schedules).

    ``defaults`` (resolved from ``form3 serve``'s flags and environment, paths absolute: served
    runs start in this process's directory) are the run settings the UI's custom-run form
    starts from.
    """
    from flows.flow import extract_form3

    extract_form3.serve(
        name=serving.name,
        parameters={"settings": defaults.model_dump(mode="json")},
        description="SEC Form 3 filings to research tables. One parameter, settings: the "
        "manifest (CSV of paths or URLs), results_dir, cluster (local|slurm), profile "
        "(deployments/profiles.yaml), batch_size, store_dir; for URLs user_agent (required "
        "for sec.gov), mirror, max_requests_per_second, max_filing_bytes and the fetch "
        "settings. See the README's settings table.",
        tags=["form3"],
        # Runs of one results directory must not overlap (outputs and checkpoint index are
        # single-writer); more than one at a time only with distinct results dirs.
        limit=serving.limit,
        # Importable by module, not by file path: the runs work whatever the cwd.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
