"""``form3 submit``: the whole flow inside one Slurm allocation, with dask-jobqueue's SLURMRunner.

For clusters whose login nodes end long processes. The login side writes an sbatch script
(its own 0600 file in a 0700 directory under the checkpoint store: it carries the Prefect API
URL and auth string) and submits it. In the job, the batch step makes temporary TLS
credentials in a 0700 session directory on the shared file system, then one ``srun`` starts
every rank of ``python -m flows.submit rank``: rank 0 the Dask scheduler, rank 1 the flow
(which connects to that scheduler instead of starting a cluster), the others workers. The flow
reports to the same Prefect server and uses the same checkpoints as ``form3 run``, so a rerun
(``form3 run`` or ``form3 submit``) behaves the same.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from flows.allocation import CA_FILE, CERT_FILE, KEY_FILE, SCHEDULER_FILE, SESSION_ENV, security
from flows.cluster import (
    ClusterProfile, ProfileError, UnreachableApiError, check_api_reachable, cluster_kwargs,
    get_profile, private_directory,
)
from flows.settings import REPO_ROOT, RunSettings, UpdateSettings

# Set in the job: the session directory (scheduler file, TLS credentials) and the settings
# resolved by `form3 submit` on the login node (JSON); with `--update`, the update's settings
# too (the flow's rank then runs `form3 update`). Nobody sets them by hand.
SETTINGS_ENV = "FORM3_SUBMIT_SETTINGS"
UPDATE_ENV = "FORM3_SUBMIT_UPDATE"
SUBMIT_DIR_NAME = "submit"  # under the checkpoint store: scripts and per-job sessions
SERVICE_RANKS = 2  # rank 0: the scheduler; rank 1: the flow; the rest: workers
API_VARIABLES = ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "PREFECT_UI_URL")


def write_credentials(session: Path) -> None:
    """Temporary TLS credentials (one self-signed CA and certificate, as dask-jobqueue's
    ``security=True``) as files only the owner can read, in a 0700 directory."""
    from distributed.security import Security

    private_directory(session)
    temporary = Security.temporary()
    for name, pem in ((CA_FILE, temporary.tls_ca_file), (CERT_FILE, temporary.tls_client_cert),
                      (KEY_FILE, temporary.tls_client_key)):
        fd = os.open(session / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(pem)


def rank(session: Path) -> int:
    """One rank of the job's ``srun``: SLURMRunner makes it the scheduler, the flow or a worker."""
    from dask_jobqueue.slurm import SLURMRunner
    from distributed import Client

    from flows.run import run_flow, update

    settings = RunSettings.model_validate_json(os.environ[SETTINGS_ENV])
    profile = get_profile(settings.profile_name, "slurm")
    tls = security(session)
    scheduler_options = cluster_kwargs(profile)["scheduler_options"] | {"security": tls, "protocol": "tls"}
    worker_options = {"security": tls, "protocol": "tls", "nthreads": 1,
                      "local_directory": profile.cluster.get("local_directory")}
    with SLURMRunner(scheduler_file=str(session / SCHEDULER_FILE), scheduler_options=scheduler_options,
                     worker_options=worker_options) as runner:
        # Only the flow's rank gets here; the scheduler and workers exit when it is done.
        # SLURMRunner's own rpc, which terminates the scheduler on exit, carries no TLS
        # settings (dask-jobqueue 0.9): give it the session's.
        from distributed.core import rpc

        runner.scheduler_comm = rpc(runner.scheduler_address,
                                    connection_args=tls.get_connection_args("client"))
        with Client(runner.scheduler_address, security=tls) as client:
            client.wait_for_workers(runner.n_workers, timeout=profile.worker_start_timeout)
        if os.environ.get(UPDATE_ENV):
            return update(UpdateSettings.model_validate_json(os.environ[UPDATE_ENV]), settings,
                          "form3 submit --update")
        return run_flow(settings, "form3 submit")


def workers_per_node(profile: ClusterProfile) -> int:
    return int(profile.cluster.get("processes") or 1)


def mem_per_cpu(profile: ClusterProfile) -> str | None:
    from dask.utils import parse_bytes

    memory, cores = profile.cluster.get("memory"), int(profile.cluster.get("cores") or 1)
    return f"{parse_bytes(str(memory)) // cores // 2**20}M" if memory else None


def job_script(settings: RunSettings, profile: ClusterProfile, nodes: int,
               api: dict[str, str], submit_dir: Path, update: UpdateSettings | None = None) -> str:
    """The sbatch script; every value shell-quoted."""
    q = shlex.quote
    c = profile.cluster
    ntasks = SERVICE_RANKS + nodes * workers_per_node(profile)
    logs = Path(str(c.get("log_directory") or ".")).resolve()
    directives = ["-J form3-submit", f"-N {nodes}", f"-n {ntasks}", "--cpus-per-task=1",
                  f"-o {q(str(logs / 'form3-submit-%j.out'))}", f"-e {q(str(logs / 'form3-submit-%j.err'))}"]
    if c.get("queue"):
        directives.append(f"-p {q(str(c['queue']))}")
    if c.get("account"):
        directives.append(f"-A {q(str(c['account']))}")
    if c.get("walltime"):
        directives.append(f"-t {q(str(c['walltime']))}")
    if mem_per_cpu(profile):
        directives.append(f"--mem-per-cpu={q(mem_per_cpu(profile) or '')}")
    directives += [str(d) for d in c.get("job_extra_directives") or []]
    python = str(c.get("python") or sys.executable)
    lines = ["#!/usr/bin/env bash", *(f"#SBATCH {d}" for d in directives), "",
             "# Written by `form3 submit`: it carries the Prefect auth string; keep it private.",
             "umask 077", *[str(line) for line in c.get("job_script_prologue") or []]]
    lines += [f"export {name}={q(value)}" for name, value in api.items()]
    if profile.slurm_conf:
        lines.append(f"export SLURM_CONF={q(profile.slurm_conf)}")
    lines += [
        f"export {SETTINGS_ENV}={q(settings.model_dump_json())}",
        *([f"export {UPDATE_ENV}={q(update.model_dump_json())}"] if update else []),
        f"export {SESSION_ENV}={q(str(submit_dir))}/$SLURM_JOB_ID",
        f"cd {q(str(REPO_ROOT))}",
        f'trap \'rm -rf "${SESSION_ENV}"\' EXIT',
        f'{q(python)} -m flows.submit credentials "${SESSION_ENV}" || exit 1',
        f'srun --kill-on-bad-exit=1 {q(python)} -m flows.submit rank "${SESSION_ENV}"',
    ]
    return "\n".join(lines) + "\n"


def client_api_values() -> dict[str, str]:
    """The API the job reports to: this shell's, else the running `form3 server`'s."""
    from flows.local_api import team_server

    if os.environ.get("PREFECT_API_URL"):
        values = dict(os.environ)
    else:
        values = team_server() or {}
    return {name: values[name] for name in API_VARIABLES if values.get(name)}


def submit(settings: RunSettings, nodes: int, update: UpdateSettings | None = None) -> int:
    """Login side: check what can be checked here, write the script, sbatch it. With
    ``update``, the job runs ``form3 update`` (its manifest may not exist yet: not checked)."""
    from flows.manifest import ManifestError
    from flows.planning import preflight

    if nodes < 1:
        print("form3 submit: --nodes must be at least 1", file=sys.stderr)
        return 2
    api = client_api_values()
    try:
        profile = get_profile(settings.profile_name, "slurm")
        check_api_reachable(profile, api.get("PREFECT_API_URL"))
        if update is None:
            preflight(settings, api.get("PREFECT_API_URL"))
    except (ManifestError, ProfileError, UnreachableApiError) as exc:
        print(f"form3 submit: {exc}", file=sys.stderr)
        return 2
    submit_dir = private_directory(settings.checkpoint_dir / SUBMIT_DIR_NAME)
    script = submit_dir / f"form3-submit-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.sh"
    fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(job_script(settings, profile, nodes, api, submit_dir, update))
    Path(str(profile.cluster.get("log_directory") or ".")).mkdir(parents=True, exist_ok=True)
    profile.apply_environment()
    proc = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"form3 submit: sbatch failed: {proc.stderr.strip()}", file=sys.stderr)
        return 1
    job_id = proc.stdout.strip().split(";")[0]
    print(job_id)
    print(f"form3 submit: job {job_id} runs the flow on {nodes} node(s) (script {script}); "
          f"results in {settings.results_dir}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    command, session = argv[0], Path(argv[1])
    if command == "credentials":
        write_credentials(session)
        return 0
    if command == "rank":
        return rank(session)
    raise SystemExit(f"python -m flows.submit credentials|rank SESSION, not {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
