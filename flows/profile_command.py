"""``form3 profile show NAME``: the resolved profile and the sbatch script it submits, so a
user can read what will run on the compute nodes before anything is submitted."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from flows.cluster import ClusterProfile, ProfileError, cluster_kwargs, get_profile


def resolved(profile: ClusterProfile) -> dict[str, Any]:
    """The profile as the run uses it: every declared key, defaults filled in, and the cluster
    class's keywords as the run passes them."""
    return {"name": profile.name} | profile.model_dump() | {"cluster": cluster_kwargs(profile)}


def described(profile: ClusterProfile) -> str:
    """``resolved`` as YAML, each key under a comment with its declared help."""
    values = resolved(profile)
    lines = [yaml.safe_dump({"name": values.pop("name")}, sort_keys=False)]
    for key, value in values.items():
        lines.append(f"# {ClusterProfile.model_fields[key].description}\n")
        lines.append(yaml.safe_dump({key: value}, sort_keys=False))
    return "".join(lines)


def job_script(profile: ClusterProfile) -> str:
    """The sbatch script of one worker job. Starts the scheduler (its address is in the
    script) and closes it again; submits nothing. The TLS credentials' files it names live in
    a throw-away directory here; a run puts them under its checkpoint store."""
    from dask_jobqueue import SLURMCluster

    profile.apply_environment()
    with tempfile.TemporaryDirectory(prefix="form3-profile-") as tmp:
        with SLURMCluster(**cluster_kwargs(profile, Path(tmp))) as cluster:
            script = cluster.job_script()
        # dask-jobqueue keeps each credential file open (``_job_<key>``) and deletes it on
        # close: close them before their directory goes.
        for key in ("ca_file", "cert", "key"):
            handle = getattr(cluster, f"_job_{key}", None)
            if handle is not None:
                handle.close()
        return script


def show_profile(name: str) -> int:
    try:
        profile = get_profile(name)
    except ProfileError as exc:
        print(f"form3 profile: {exc}", file=sys.stderr)
        return 2
    print(described(profile), end="")
    if profile.kind == "slurm":
        try:
            script = job_script(profile)
        except (ValueError, OSError, RuntimeError) as exc:  # e.g. no such interface here
            print(f"form3 profile: {name}: the scheduler cannot start on this host ({exc}); "
                  "check scheduler_options (interface or host) in the profile", file=sys.stderr)
            return 2
        print("# job script (sbatch), one per Dask worker job:")
        print(script, end="")
    return 0
