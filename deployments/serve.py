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

from pathlib import Path

from prefect.deployments.runner import EntrypointType

DEPLOYMENT_NAME = "form3"


def serve(
    name: str = DEPLOYMENT_NAME,
    results_dir: str = "results",
    limit: int = 1,
) -> None:
    """Serve ``extract-form3`` until interrupted (Ctrl-C pauses nothing: no schedules)."""
    from flows.flow import extract_form3
    from flows.settings import DEFAULT_MANIFEST

    extract_form3.serve(
        name=name,
        parameters={
            "manifest": str(DEFAULT_MANIFEST),
            # Served runs start in this process's directory; a relative default would move
            # with it, so the default results go where `form3 serve` was started, absolute.
            "results_dir": str(Path(results_dir).resolve()),
        },
        description="SEC Form 3 filings to research tables. Parameters: manifest (CSV of "
        "paths or URLs), results_dir, cluster (local|slurm), profile (deployments/"
        "profiles.yaml), batch_size, store_dir; for URLs: user_agent (required for sec.gov), "
        "mirror, max_requests_per_second, max_filing_bytes.",
        tags=["form3"],
        # Runs of one results directory must not overlap (outputs and checkpoint index are
        # single-writer); more than one at a time only with distinct results dirs.
        limit=limit,
        # Importable by module, not by file path: the runs work whatever the cwd.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
