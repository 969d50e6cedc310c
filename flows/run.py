"""Running the flow in this process with resolved settings: ``form3 run``, and the flow's rank
of a ``form3 submit`` job. Checks first (before any server or cluster starts), prints the
summary on stdout, exits 1 unless the run completed."""

from __future__ import annotations

import json
import sys
from typing import Any

from flows.settings import RunSettings, UpdateSettings, logs_dir


def run_flow(settings: RunSettings, command: str) -> int:
    """The flow with resolved settings, in this process (``form3 run``, and the flow's rank
    of a ``form3 submit`` job): the summary on stdout, exit 1 unless it completed."""
    from flows.cluster import ProfileError, UnreachableApiError
    from flows.local_api import client_api, planned_api_url
    from flows.manifest import ManifestError
    from flows.planning import preflight

    try:  # fail fast, before any server or cluster starts
        profile = preflight(settings, planned_api_url())
    except (ManifestError, ProfileError, UnreachableApiError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2

    from flows.flow import extract_form3

    with client_api(logs_dir(settings.results_dir)) as api_url:
        print(f"{command}: Prefect API {api_url} (profile {profile.name})", file=sys.stderr)
        state = extract_form3(settings=settings, return_state=True)
    return report_state(state, command)


def update(update: UpdateSettings, settings: RunSettings, command: str = "form3 update") -> int:
    """``form3 update``: the update flow in this process (the cluster is checked by its
    subflow: the manifest it runs over does not exist before the update)."""
    from flows.local_api import client_api
    from flows.update import update_form3

    with client_api(logs_dir(settings.results_dir)) as api_url:
        print(f"{command}: Prefect API {api_url}", file=sys.stderr)
        state = update_form3(update=update, settings=settings, return_state=True)
    return report_state(state, command)


def report_state(state: Any, command: str) -> int:
    """A finished flow run's summary on stdout; exit 1 unless it completed."""
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, dict):
        print(json.dumps(summary, indent=2))
    if not state.is_completed():
        print(f"{command}: {state.name}: {state.message}", file=sys.stderr)
        return 1
    return 0
