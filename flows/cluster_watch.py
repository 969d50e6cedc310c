"""Watch a Slurm cluster's worker jobs so that a misconfigured profile fails fast, never hangs.

dask-jobqueue submits worker jobs and waits for workers to connect; when every job dies
before its worker connects (a bad interface, a wrong ``python``, a failing prologue, an
unreachable scheduler), it submits no more and the flow would wait forever with no message.
``ClusterWatch`` polls, in a thread, the scheduler's connected workers and the jobs' states
(``squeue``); when no worker is connected and a job has ended, or no worker has connected
for ``worker_start_timeout`` seconds, it records a ``ClusterStartError`` quoting the tail of
the job's Slurm log and naming the setting to check. The flow's wait loop calls ``check()``,
which raises it; leaving the task runner's context then closes the cluster.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.cluster import ClusterProfile

POLL_SECONDS = 2.0  # how often the thread looks at the workers and the jobs
LOG_TAIL_LINES = 15  # lines of each job log quoted in the error
SLURM_COMMAND_TIMEOUT = 10.0
# Slurm job states in which the job may still start a worker.
ACTIVE_STATES = frozenset({
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING",
    "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT",
})
# (pattern in the job's log, the setting to check)
HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"not a valid network interface|interface .* not found", re.I),
     "`interface` under `cluster:` is passed to the workers too, and the compute node has "
     "no such interface: remove it, and bind the scheduler with `scheduler_options: "
     "{interface: <login node's interface>}` (or `{host: <address>}`)"),
    (re.compile(r"Timed out trying to connect|Timed out starting worker|Failed to connect|"
                r"Connection refused|Timed out during handshake", re.I),
     "`scheduler_options` (`interface` / `host`): the scheduler must listen on an address "
     "the compute nodes can reach, not the login node's loopback"),
    (re.compile(r"No module named|ModuleNotFoundError|ImportError", re.I),
     "`python` / `job_script_prologue`: the project must be importable on the compute node "
     "(the same virtualenv on the shared file system)"),
    (re.compile(r"\bpython\S*: (No such file or directory|not found)|"
                r"/python\S*: (No such file|Permission denied)", re.I),
     "`python` under `cluster:` (the interpreter the job runs; it must exist on the compute "
     "nodes at that path)"),
    (re.compile(r"command not found|No such file or directory|Permission denied", re.I),
     "`job_script_prologue` (a command it runs failed on the compute node)"),
)
DEFAULT_HINT = ("the profile's `cluster:` settings (`python`, `job_script_prologue`, "
                "`interface`, `scheduler_options`); `form3 profile show NAME` prints the job script")


class ClusterStartError(RuntimeError):
    """No Dask worker could start or connect on the Slurm cluster."""


def _slurm(*args: str) -> str:
    """A Slurm command's stdout ('' when it fails or is missing)."""
    try:
        proc = subprocess.run(
            list(args), capture_output=True, text=True, timeout=SLURM_COMMAND_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout if proc.returncode == 0 else ""


def job_states(job_ids: list[str]) -> dict[str, str]:
    """Slurm state of each listed job that squeue still shows (finished jobs vanish)."""
    if not job_ids:
        return {}
    out = _slurm("squeue", "-h", "-o", "%i %T", "-u", str(os.getuid()))
    wanted = set(job_ids)
    states = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in wanted:
            states[parts[0]] = parts[1]
    return states


def job_accounting(job_id: str) -> str:
    """'STATE exit X:Y on NODE' from sacct (slurmdbd, else the job completion file)."""
    for extra in ((), ("-c",)):
        out = _slurm("sacct", *extra, "-X", "-n", "-P", "-o", "State,ExitCode,NodeList",
                     "-j", job_id)
        lines = [line for line in out.splitlines() if line.strip()]
        if lines:
            state, _, rest = lines[-1].partition("|")
            code, _, node = rest.partition("|")
            return f"{state} (exit {code}) on {node or '?'}"
    return "no accounting record yet (still pending or running)"


def job_log_paths(job_script: str, job_id: str, cwd: Path) -> list[Path]:
    """The job's stderr and stdout files, from the script's ``#SBATCH -e/-o`` lines."""
    paths = []
    for flag in ("-e", "-o"):
        match = re.search(rf"^#SBATCH {flag} (\S+)", job_script, re.M)
        if match:
            name = match.group(1).replace("%J", job_id).replace("%j", job_id)
            paths.append(cwd / name)
    return paths


_ERROR_LINE = re.compile(r"^\w*(Error|Exception)\b|: error:|command not found|No such file", re.I)


def read_log(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"


def excerpt(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """The log's error lines (an exception's last line is often far above the tail of a
    traceback chain), then its last ``lines`` lines."""
    all_lines = text.rstrip().splitlines()
    last = all_lines[-lines:]
    errors = [line for line in all_lines[:-lines] if _ERROR_LINE.search(line.strip())]
    quoted = errors[-5:] + (["[...]"] if errors else []) + last
    return "\n".join(quoted) or "(empty)"


SCHEDULER_HINT = HINTS[1][1]
_LOOPBACK_ADDRESS = re.compile(r"^\w+://(127\.|localhost|\[::1\])")


def hint_for(log_text: str, scheduler_address: str = "", same_host: bool = False) -> str:
    """The setting to check: from the job's log, else from a scheduler that listens where
    other hosts cannot reach it."""
    for pattern, hint in HINTS:
        if pattern.search(log_text):
            return hint
    if not same_host and _LOOPBACK_ADDRESS.match(scheduler_address):
        return SCHEDULER_HINT
    return DEFAULT_HINT


@dataclass
class ClusterWatch:
    """Polls a SLURMCluster from a thread; ``check()`` raises what it found."""

    runner: Any  # prefect_dask.DaskTaskRunner, entered
    profile: ClusterProfile
    logger: Any
    timeout: float
    cwd: Path = field(default_factory=Path.cwd)  # where sbatch ran: relative log paths
    error: ClusterStartError | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _jobs: dict[str, str] = field(default_factory=dict)  # job id -> job (worker) name
    _ended: dict[str, str] = field(default_factory=dict)  # job id -> last state seen
    _connected_names: set[str] = field(default_factory=set)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="form3-cluster-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(SLURM_COMMAND_TIMEOUT + POLL_SECONDS)

    def check(self) -> None:
        """Raise the cluster's failure, if one was found (called by the flow's wait loop)."""
        if self.error is not None:
            raise self.error

    def job_ids(self) -> list[str]:
        """The worker jobs submitted so far, in order (the run summary names them)."""
        jobs = dict.fromkeys(self._jobs)
        for job in list(getattr(self._cluster(), "workers", {}).values()):
            if getattr(job, "job_id", None):
                jobs.setdefault(str(job.job_id))
        return list(jobs)

    def _cluster(self) -> Any:
        # DaskTaskRunner creates its cluster with its client, at the first submit.
        return getattr(self.runner, "_cluster", None)

    def _run(self) -> None:
        started = last_connected = time.monotonic()
        while not self._stop.wait(POLL_SECONDS):
            cluster = self._cluster()
            if cluster is None:
                started = last_connected = time.monotonic()
                continue
            try:
                failure = self._poll(cluster, started, last_connected)
            except Exception as exc:  # noqa: BLE001 - the watch must never break a run
                self.logger.debug("cluster watch: %s", exc)
                continue
            if failure is True:
                last_connected = time.monotonic()
            elif failure:
                self.error = ClusterStartError(failure)
                self.logger.error("%s", failure)
                return

    def _poll(self, cluster: Any, started: float, last_connected: float) -> str | bool | None:
        """True when a worker is connected; a failure message; None to keep waiting."""
        workers = (getattr(cluster, "scheduler_info", None) or {}).get("workers", {})
        names = {str(w.get("name")) for w in workers.values()}
        self._connected_names |= names
        for name, job in list(getattr(cluster, "workers", {}).items()):
            job_id = getattr(job, "job_id", None)
            if job_id:
                self._jobs.setdefault(str(job_id), str(name))
        if names:
            return True
        waiting = [j for j in self._jobs if j not in self._ended]
        states = job_states(waiting)
        for job_id in waiting:
            state = states.get(job_id)
            if state is None or state not in ACTIVE_STATES:
                self._ended[job_id] = state or "ended"
        never = [j for j in self._ended if not self._ever_connected(self._jobs[j])]
        if never:
            return self._message(never[-1], f"worker job {never[-1]} ended before its "
                                 "worker connected to the scheduler")
        waited = time.monotonic() - max(started, last_connected)
        if waited > self.timeout:
            job = next(iter(reversed(self._jobs)), None)
            state = states.get(job, "?") if job else None
            what = (f"no Dask worker connected within {self.timeout:.0f}s "
                    f"(worker_start_timeout); job {job} is {state}" if job else
                    f"no worker job was submitted within {self.timeout:.0f}s")
            return self._message(job, what)
        return None

    def _ever_connected(self, job_name: str) -> bool:
        return any(n == job_name or n.startswith(job_name + "-") for n in self._connected_names)

    def _message(self, job_id: str | None, what: str) -> str:
        address = str(getattr(self._cluster(), "scheduler_address", "") or "")
        lines = [f"profile {self.profile.name!r}: {what}; the cluster was stopped "
                 f"(scheduler at {address or '?'})."]
        logs = ""
        if job_id is not None:
            lines.append(f"job {job_id}: {job_accounting(job_id)}")
            try:
                script = self._cluster().job_script()
            except Exception:  # noqa: BLE001
                script = ""
            for path in job_log_paths(script, job_id, self.cwd):
                text = read_log(path)
                logs += text + "\n"
                lines.append(f"--- {path} ---\n{excerpt(text)}")
        lines.append(f"Check {hint_for(logs, address, self.profile.same_host)}.")
        return "\n".join(lines)


@contextlib.contextmanager
def watch_cluster(runner: Any, profile: ClusterProfile, logger: Any) -> Iterator[ClusterWatch | None]:
    """A running ``ClusterWatch`` for Slurm profiles (None for local ones) while the block runs."""
    if profile.kind != "slurm":
        yield None
        return
    watch = ClusterWatch(runner, profile, logger, profile.worker_start_timeout)
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()
