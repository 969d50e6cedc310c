"""Cluster profiles (``deployments/profiles.yaml``) to a configured DaskTaskRunner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prefect_dask import DaskTaskRunner

from flows.settings import REPO_ROOT

PROFILES_FILE = REPO_ROOT / "deployments" / "profiles.yaml"


class ProfileError(ValueError):
    pass


@dataclass(slots=True)
class ClusterProfile:
    name: str
    kind: str  # "local" or "slurm"
    cluster: dict[str, Any]
    adapt: dict[str, Any] | None
    same_host: bool

    @property
    def workers(self) -> int:
        """Worker processes at full size, to size batches."""
        if self.kind == "local":
            return int(self.cluster.get("n_workers") or os.cpu_count() or 1)
        jobs = (self.adapt or {}).get("maximum_jobs") or 1
        return int(jobs) * int(self.cluster.get("processes") or 1)


def load_profiles() -> dict[str, dict[str, Any]]:
    profiles = yaml.safe_load(PROFILES_FILE.read_text()) or {}
    extra = os.environ.get("FORM3_PROFILES")
    if extra:
        profiles.update(yaml.safe_load(Path(extra).read_text()) or {})
    return profiles


def get_profile(name: str) -> ClusterProfile:
    profiles = load_profiles()
    if name not in profiles:
        raise ProfileError(f"no cluster profile {name!r}; known: {', '.join(sorted(profiles))}")
    raw = profiles[name]
    kind = raw.get("kind", "local")
    if kind not in ("local", "slurm"):
        raise ProfileError(f"profile {name!r}: kind must be local or slurm, not {kind!r}")
    return ClusterProfile(
        name=name,
        kind=kind,
        cluster={k: v for k, v in (raw.get("cluster") or {}).items()},
        adapt=raw.get("adapt"),
        same_host=bool(raw.get("same_host", kind == "local")),
    )


def task_runner_for(profile: ClusterProfile) -> DaskTaskRunner:
    kwargs = {k: v for k, v in profile.cluster.items() if v is not None}
    if profile.kind == "local":
        kwargs.setdefault("n_workers", os.cpu_count() or 1)
        return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=kwargs)
    return DaskTaskRunner(
        cluster_class="dask_jobqueue.SLURMCluster",
        cluster_kwargs=kwargs,
        adapt_kwargs=profile.adapt or {"minimum_jobs": 0, "maximum_jobs": 1},
    )
