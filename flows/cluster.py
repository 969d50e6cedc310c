"""Cluster profiles (``deployments/profiles.yaml``) to a configured DaskTaskRunner.

A profile's keys are declared once, in :class:`ClusterProfile` (type, default, help): loading
validates against it (an unknown key or a wrong type is one line naming the key and the file),
and ``form3 profile show`` and the profile reference in the docs are made from it.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from prefect_dask import DaskTaskRunner
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from flows.settings import REPO_ROOT

PROFILES_FILE = REPO_ROOT / "deployments" / "profiles.yaml"
# How long a Slurm cluster may go with no worker connected (jobs pending, starting, or dying)
# before the run stops it and fails, quoting the jobs' logs. Profile key ``worker_start_timeout``.
DEFAULT_WORKER_START_TIMEOUT = 120.0
# Slurm profiles: the scheduler speaks TLS with temporary credentials (``security: true``,
# made in memory by the flow process; the workers' copies go to TLS_DIR_NAME under the
# checkpoint store, a 0700 directory on the shared file system); its dashboard listens on the
# login node's loopback only (reach it through an SSH tunnel). A profile may override both.
SLURM_CLUSTER_DEFAULTS: dict[str, Any] = {"security": True}
SLURM_SCHEDULER_DEFAULTS: dict[str, Any] = {"dashboard_address": "127.0.0.1:0"}
TLS_DIR_NAME = "dask-tls"
# Dask settings for the workers, unless the user set them (``DASK_*`` variables): LocalCluster's
# workers get them through this process's Dask config, Slurm jobs through the environment
# (sbatch's default --export=ALL). Dask's statistical profiler samples a
# worker's task thread every 10 ms; measured, it made planning's stat of 1,000,000 rows three
# times slower in a worker (32 s against 11 s: every stat releases the GIL to the sampler),
# for a dashboard page this tool does not use.
WORKER_DASK_CONFIG = {"distributed.worker.profile.enabled": False}


class ProfileError(ValueError):
    pass


class UnreachableApiError(RuntimeError):
    """Slurm workers on other nodes could not report to this API."""


_LOOPBACK = re.compile(r"^https?://(localhost|127\.[0-9.]+|\[::1\])(:|/|$)")


def check_api_reachable(profile: "ClusterProfile", api_url: str | None) -> None:
    """Refuse a loopback or ephemeral API when workers run on other hosts."""
    if profile.kind != "slurm" or profile.same_host:
        return
    if api_url and not _LOOPBACK.match(api_url):
        return
    where = api_url or "Prefect's ephemeral per-process API (PREFECT_API_URL is not set)"
    raise UnreachableApiError(
        f"profile {profile.name!r} runs workers on other hosts, which cannot reach {where}.\n"
        "Start a Prefect server the compute nodes can reach, on the login node (in tmux):\n"
        "  form3 server --host <the login node's address on the cluster network>\n"
        "form3 commands on that host then find it (~/.form3/server.env). "
        "If the whole cluster is this one host, set `same_host: true` in the profile."
    )


def _seconds(walltime: str) -> int:
    """Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S."""
    days, dash, clock = walltime.partition("-") if "-" in walltime else ("0", "", walltime)
    parts = [int(p) for p in clock.split(":")]
    if dash:  # after "D-": hours first
        h, m, sec = (parts + [0, 0])[:3]
    elif len(parts) == 3:
        h, m, sec = parts
    else:  # M or M:S
        h, (m, sec) = 0, (parts + [0])[:2]
    return int(days) * 86400 + h * 3600 + m * 60 + sec


def lifetime_args(walltime: str) -> list[str]:
    """Workers retire before Slurm kills them, staggered so they do not all leave at once.

    Dask moves a retiring worker's queued work elsewhere and the adaptive cluster submits a
    replacement job; a batch killed mid-way is resubmitted by the flow.
    """
    total = _seconds(walltime)
    margin = max(60, total // 10)
    stagger = max(30, total // 20)
    lifetime = max(60, total - margin - stagger)
    return ["--lifetime", f"{lifetime}s", "--lifetime-stagger", f"{stagger}s"]


class ClusterProfile(BaseModel):
    """One cluster profile: every key a profile may have, declared once."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    kind: Literal["local", "slurm"] = Field(
        "local", description="where the batches run: a Dask LocalCluster on this machine, or "
        "Slurm jobs (dask_jobqueue.SLURMCluster)",
    )
    cluster: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments of the cluster class, passed as "
        "they are (null drops one); a key the class does not accept is refused before any work",
    )
    adapt: dict[str, Any] | None = Field(
        None, description="Slurm: bounds of the adaptive cluster, e.g. {minimum_jobs: 0, "
        "maximum_jobs: 10}", json_schema_extra={"default_help": "{minimum_jobs: 0, maximum_jobs: 1}"},
    )
    same_host: bool | None = Field(
        None, description="the workers run on this host (then a loopback Prefect API is fine)",
        json_schema_extra={"default_help": "true for local, false for slurm"},
    )
    slurm_conf: str | None = Field(
        None, description="the Slurm cluster's slurm.conf when it is not the system's default "
        "(SLURM_CONF for sbatch, squeue, scancel)",
    )
    worker_start_timeout: float = Field(
        DEFAULT_WORKER_START_TIMEOUT, gt=0, description="seconds a Slurm cluster may go with no "
        "worker connected (jobs pending, starting or dying) before the run stops it and fails "
        "quoting the job's log",
    )
    _name: str = PrivateAttr("")

    @model_validator(mode="after")
    def _same_host_default(self) -> "ClusterProfile":
        if self.same_host is None:
            self.same_host = self.kind == "local"
        return self

    @property
    def name(self) -> str:
        return self._name

    @classmethod
    def named(cls, name: str, raw: Any, source: Path) -> "ClusterProfile":
        """The profile ``name`` from its YAML mapping in ``source``; a bad key is one line."""
        if not isinstance(raw, dict):
            raise ProfileError(f"profile {name!r} in {source}: a profile is a mapping of keys, not {raw!r}")
        try:
            profile = cls.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            key = ".".join(str(part) for part in error["loc"]) or "?"
            if error["type"] == "extra_forbidden":
                raise ProfileError(
                    f"profile {name!r} in {source}: unknown key {key!r}; a profile has "
                    f"{', '.join(cls.model_fields)} (Dask's settings go under `cluster:`)"
                ) from None
            raise ProfileError(
                f"profile {name!r} in {source}: {key}: {error['msg']} (got {error.get('input')!r})"
            ) from None
        profile._name = name
        return profile

    def apply_environment(self) -> None:
        """Point this process's Slurm commands (and dask-jobqueue's) at the profile's cluster."""
        if self.slurm_conf:
            os.environ["SLURM_CONF"] = self.slurm_conf

    @property
    def workers(self) -> int:
        """Worker processes at full size, to size batches."""
        if self.kind == "local":
            return int(self.cluster.get("n_workers") or os.cpu_count() or 1)
        jobs = (self.adapt or {}).get("maximum_jobs") or 1
        return int(jobs) * int(self.cluster.get("processes") or 1)


def load_profiles() -> dict[str, tuple[Any, Path]]:
    """Every profile's raw mapping and the file it comes from (FORM3_PROFILES wins on a name)."""
    files = [PROFILES_FILE]
    if os.environ.get("FORM3_PROFILES"):
        files.append(Path(os.environ["FORM3_PROFILES"]))
    profiles: dict[str, tuple[Any, Path]] = {}
    for path in files:
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ProfileError(f"cluster profiles {path}: {str(exc).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise ProfileError(f"cluster profiles {path}: a mapping of profile names is expected")
        profiles.update((name, (raw, path)) for name, raw in loaded.items())
    return profiles


def get_profile(name: str, expected_kind: str | None = None) -> ClusterProfile:
    """The named profile; with ``expected_kind`` (an explicit ``--cluster``), it must match."""
    profiles = load_profiles()
    if name not in profiles:
        raise ProfileError(f"no cluster profile {name!r}; known: {', '.join(sorted(profiles))}")
    profile = ClusterProfile.named(name, *profiles[name])
    if expected_kind and expected_kind != profile.kind:
        raise ProfileError(f"profile {name!r} is a {profile.kind} profile, not {expected_kind}")
    check_cluster_keys(profile)
    return profile


def accepted_cluster_keys(kind: str) -> set[str]:
    """Every keyword the profile's cluster class passes somewhere: for Slurm, SLURMCluster
    and the job class it hands the rest to; for local, LocalCluster and its workers."""
    if kind == "slurm":
        from dask_jobqueue.core import Job, JobQueueCluster
        from dask_jobqueue.slurm import SLURMCluster, SLURMJob

        classes: tuple[type, ...] = (SLURMCluster, JobQueueCluster, SLURMJob, Job)
    else:
        from distributed import LocalCluster, Nanny, Worker

        classes = (LocalCluster, Nanny, Worker)
    keys: set[str] = set()
    for cls in classes:
        for param in inspect.signature(cls.__init__).parameters.values():
            if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                keys.add(param.name)
    return keys - {"self", "scheduler", "loop", "asynchronous"}


def check_cluster_keys(profile: ClusterProfile) -> None:
    """A typo under ``cluster:`` fails here, naming the key, not late inside Dask."""
    unknown = sorted(set(profile.cluster) - accepted_cluster_keys(profile.kind))
    if unknown:
        cls = "dask_jobqueue.SLURMCluster" if profile.kind == "slurm" else "distributed.LocalCluster"
        raise ProfileError(
            f"profile {profile.name!r}: {cls} does not accept cluster key(s) "
            f"{', '.join(repr(k) for k in unknown)}"
        )


def private_directory(path: Path) -> Path:
    """``path`` as a directory only its owner can enter (0700), made if missing; refused if
    another user owns it (credentials go there)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_uid != os.getuid():
        raise ProfileError(f"{path} belongs to another user: it cannot hold this run's TLS credentials")
    path.chmod(0o700)
    return path


def cluster_kwargs(profile: ClusterProfile, shared_dir: Path | None = None) -> dict[str, Any]:
    """What the cluster class is called with: the profile's keys, nulls dropped; for Slurm
    also the workers' staggered lifetime, TLS with temporary credentials (their files under
    ``shared_dir``/TLS_DIR_NAME, 0700; ``shared_dir`` is the checkpoint store, which every
    worker reaches at the same path) and a dashboard on loopback."""
    kwargs = {k: v for k, v in profile.cluster.items() if v is not None}
    if profile.kind == "local":
        kwargs.setdefault("n_workers", os.cpu_count() or 1)
        return kwargs
    if "walltime" in kwargs and "worker_extra_args" not in kwargs:
        kwargs["worker_extra_args"] = lifetime_args(str(kwargs["walltime"]))
    kwargs = SLURM_CLUSTER_DEFAULTS | kwargs
    if kwargs["security"] is False:  # `security: false`: plain TCP, as dask-jobqueue's default
        del kwargs["security"]
    kwargs["scheduler_options"] = SLURM_SCHEDULER_DEFAULTS | (kwargs.get("scheduler_options") or {})
    if kwargs.get("security") is True:
        tls_dir = kwargs.get("shared_temp_directory") or (shared_dir and shared_dir / TLS_DIR_NAME)
        if tls_dir:
            kwargs["shared_temp_directory"] = str(private_directory(Path(str(tls_dir)).expanduser()))
    return kwargs


def task_runner_for(profile: ClusterProfile, shared_dir: Path | None = None) -> DaskTaskRunner:
    import dask

    for key, value in WORKER_DASK_CONFIG.items():
        variable = "DASK_" + key.upper().replace(".", "__").replace("-", "_")
        if variable not in os.environ:  # else Dask read the user's value at import
            os.environ[variable] = str(value)
            dask.config.set({key: value})
    kwargs = cluster_kwargs(profile, shared_dir)
    if profile.kind == "local":
        return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=kwargs)
    from flows.allocation import connected_task_runner

    connected = connected_task_runner()  # inside a `form3 submit` job: its own scheduler
    if connected is not None:
        return connected
    profile.apply_environment()
    return DaskTaskRunner(
        cluster_class="dask_jobqueue.SLURMCluster",
        cluster_kwargs=kwargs,
        adapt_kwargs=profile.adapt or {"minimum_jobs": 0, "maximum_jobs": 1},
    )
