"""The flow across hosts on the multi-node cluster of `make cluster-up`: the login node on a
bridge (ib0, 10.213.7.1), Dask workers in Slurm jobs on node1..node3 (network namespaces
that reach only the bridge), a `form3 server` with an auth string on the login address.

`make test` as root (and .ci/run) starts the cluster. In CI a missing cluster fails these
tests; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, load_generator, stop_group
from tests.test_flow import assert_same_outputs

pytestmark = pytest.mark.cluster

MULTI = REPO / "deployments" / "multi-node"
SLURM_CONF = "/etc/form3-multi/slurm.conf"
LOGIN_ADDR = "10.213.7.1"
NODES = {"node1", "node2", "node3"}
BROKEN_PROFILES = REPO / "tests" / "cluster_profiles.yaml"


def require_cluster() -> None:
    """Skip (fail in CI) unless the multi-node cluster of `make cluster-up` is up."""
    status = subprocess.run(["bash", str(MULTI / "status.sh")], capture_output=True, text=True)
    if status.returncode != 0:
        message = "the multi-node Slurm cluster is not up (make cluster-up, as root)\n" + status.stdout
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module", autouse=True)
def cluster() -> None:
    require_cluster()


def slurm_env() -> dict[str, str]:
    return dict(os.environ, SLURM_CONF=SLURM_CONF)


def job_ids() -> set[str]:
    """Every job the cluster knows: queued or running, and finished (job completion file)."""
    queued = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True,
                            env=slurm_env(), check=True).stdout.split()
    done = subprocess.run(["sacct", "-c", "-X", "-n", "-P", "-o", "JobID"], capture_output=True,
                          text=True, env=slurm_env(), check=True).stdout.split()
    return set(queued) | set(done)


def job_nodes(ids: list[str]) -> dict[str, str]:
    out = subprocess.run(
        ["sacct", "-c", "-X", "-n", "-P", "-o", "JobID,NodeList", "-j", ",".join(ids)],
        capture_output=True, text=True, env=slurm_env(), check=True,
    ).stdout
    return dict(line.split("|", 1) for line in out.splitlines() if "|" in line)


def wait_no_jobs(timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True,
                              env=slurm_env()).stdout.split("\n")
        jobs = [j for j in jobs if j.strip()]
        if not jobs or time.monotonic() > deadline:
            return jobs
        time.sleep(0.5)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> dict[str, str]:
    """`form3 server --host <login address>` with auth, its own FORM3_HOME and database;
    yields the clients' environment from its server.env."""
    from flows.server_env import read_env_file

    home = tmp_path_factory.mktemp("form3-home")
    with socket.socket() as s:
        s.bind((LOGIN_ADDR, 0))
        port = s.getsockname()[1]
    env = dict(os.environ, FORM3_HOME=str(home), PREFECT_HOME=str(home / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    for name in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING"):
        env.pop(name, None)
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "server", "--host", LOGIN_ADDR, "--port", str(port),
         "--db", str(home / "db" / "prefect.db")],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    env_file = home / "server.env"
    try:
        deadline = time.monotonic() + 120
        while not env_file.exists():
            assert proc.poll() is None, (home / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "form3 server did not answer in 120 s"
            time.sleep(0.5)
        client = read_env_file(env_file)
        assert client["PREFECT_API_URL"] == f"http://{LOGIN_ADDR}:{port}/api"
        yield env | client
    finally:
        stop_group(proc)
        log.close()


def form3(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def api(env: dict[str, str], path: str, body: dict | None = None, auth: bool = True):
    request = urllib.request.Request(
        env["PREFECT_API_URL"] + path, data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"}, method="POST" if body is not None else "GET",
    )
    if auth:
        token = base64.b64encode(env["PREFECT_API_AUTH_STRING"].encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def synthetic_300(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    return load_generator().make(out / "filings", out / "manifest.csv", 300, seed=13)


def test_cross_host_run_equals_local_run(server, synthetic_300: Path, tmp_path: Path) -> None:
    on_nodes, local = tmp_path / "nodes", tmp_path / "local"
    started = time.monotonic()
    proc = form3(server, "run", str(synthetic_300), "--results", str(on_nodes),
                 "--cluster", "slurm", "--profile", "multi-node", "--batch-size", "25")
    cross_host_seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-5000:]
    proc = form3(server, "run", str(synthetic_300), "--results", str(local), "--batch-size", "25")
    assert proc.returncode == 0, proc.stderr[-5000:]

    assert_same_outputs(on_nodes, local)
    summary = json.loads((on_nodes / "run_summary.json").read_text())
    assert (summary["filings"], summary["parsed"], summary["failed"], summary["batches"]) == (300, 300, 0, 12)
    assert summary["profile"] == "multi-node"
    by_job = summary["batches_by_worker"]
    assert sum(by_job.values()) == 12 and all(k.isdigit() for k in by_job), by_job
    # Every batch ran in a Slurm job on a compute node, none on the login host.
    nodes = job_nodes(sorted(by_job))
    assert set(nodes) == set(by_job), nodes
    assert set(nodes.values()) <= NODES and socket.gethostname() not in nodes.values(), nodes
    # LLN: each worker job on a node of its own. (How many jobs adapt starts depends on the
    # timing: 12 short batches may all run on the job that planned; test_cluster_faults
    # waits for jobs on two nodes.)
    assert len(set(nodes.values())) == len(nodes), nodes

    # The flow run and every task run reached the server, through the auth string.
    flow_run = api(server, f"/flow_runs/{summary['flow_run_id']}")
    assert flow_run["state"]["type"] == "COMPLETED"
    deadline = time.monotonic() + 30
    while True:
        runs = api(server, "/task_runs/filter",
                   {"flow_runs": {"id": {"any_": [summary["flow_run_id"]]}}, "limit": 200})
        completed = [r for r in runs if r["state"] and r["state"]["type"] == "COMPLETED"]
        if len(completed) == 14 or time.monotonic() > deadline:
            break
        time.sleep(1)
    # 12 batches, and the plan and publish steps (which ran in worker jobs too).
    assert len(completed) == len(runs) == 14, [(r["name"], r["state"]) for r in runs]
    assert sorted(r["name"] for r in runs if not r["name"].startswith("extract rows")) == ["plan", "publish"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        api(server, f"/flow_runs/{summary['flow_run_id']}", auth=False)
    assert refused.value.code == 401
    assert wait_no_jobs() == []
    print(f"cross-host run of 300 filings: {cross_host_seconds:.1f}s on {sorted(set(nodes.values()))}")


def test_loopback_api_is_refused_before_any_job(server, synthetic_300: Path, tmp_path: Path) -> None:
    before = job_ids()
    env = server | {"PREFECT_API_URL": "http://127.0.0.1:4200/api"}
    proc = form3(env, "run", str(synthetic_300), "--results", str(tmp_path / "r"),
                 "--cluster", "slurm", "--profile", "multi-node")
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "runs workers on other hosts, which cannot reach http://127.0.0.1:4200/api" in proc.stderr
    assert job_ids() == before
    assert not (tmp_path / "r" / "run_summary.json").exists()


@pytest.mark.parametrize(
    ("profile", "cause", "setting", "bound"),
    [
        ("broken-interface", "ValueError: 'eth0' is not a valid network interface",
         "`interface` under `cluster:` is passed to the workers too", 60),
        ("broken-python", "/opt/form3-missing-venv/bin/python: No such file or directory",
         "Check `python` under `cluster:`", 60),
        ("broken-prologue", "module: command not found", "Check `job_script_prologue`", 60),
        ("broken-scheduler", "no Dask worker connected within 30s (worker_start_timeout)",
         "Check `scheduler_options`", 90),
    ],
)
def test_broken_profile_fails_fast_quoting_the_job_log(
    server, synthetic_300: Path, tmp_path: Path, profile: str, cause: str, setting: str, bound: float,
) -> None:
    env = server | {"FORM3_PROFILES": str(BROKEN_PROFILES)}
    started = time.monotonic()
    proc = form3(env, "run", str(synthetic_300), "--results", str(tmp_path / "r"),
                 "--cluster", "slurm", "--profile", profile, "--batch-size", "25", timeout=300)
    seconds = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr[-3000:]
    message = proc.stderr[proc.stderr.index("ClusterStartError"):]
    assert f"profile {profile!r}" in message and "the cluster was stopped" in message
    assert cause in message, message
    assert setting in message, message
    assert seconds < bound, f"{profile} took {seconds:.0f}s"
    assert wait_no_jobs() == []  # the cluster was closed: its jobs were cancelled


def test_profile_show_prints_the_job_script_without_submitting(server) -> None:
    before = job_ids()
    proc = form3(server, "profile", "show", "multi-node")
    assert proc.returncode == 0, proc.stderr[-3000:]
    head, _, script = proc.stdout.partition("# job script (sbatch), one per Dask worker job:\n")
    assert "slurm_conf: /etc/form3-multi/slurm.conf" in head
    # TLS with temporary credentials and a dashboard on loopback, by default.
    assert "  security: true\n" in head
    assert "scheduler_options:\n    dashboard_address: 127.0.0.1:0\n    interface: ib0" in head
    lines = script.splitlines()
    assert lines[:11] == [
        "#!/usr/bin/env bash",
        "",
        "#SBATCH -J dask-worker",
        "#SBATCH -e slurm/logs/dask-worker-%J.err",
        "#SBATCH -o slurm/logs/dask-worker-%J.out",
        "#SBATCH -p compute",
        "#SBATCH -n 1",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --mem=954M",
        "#SBATCH -t 00:30:00",
        "",
    ]
    command = lines[11].split()
    assert command[:3] == [sys.executable, "-m", "distributed.cli.dask_worker"]
    # The scheduler listens on the login node's ib0 address: what the nodes can reach.
    assert command[3].startswith(f"tls://{LOGIN_ADDR}:")
    assert "--interface" not in command  # nothing forces an interface name on the workers
    assert command[4:19] == [
        "--name", "dummy-name", "--nthreads", "1", "--memory-limit", "0.93GiB", "--nanny",
        "--death-timeout", "60", "--local-directory", "/tmp",
        "--lifetime", "1530s", "--lifetime-stagger", "90s",
    ]
    assert command[19:21] == ["--protocol", "tls://"]
    assert [command[i] for i in (21, 23, 25)] == ["--tls-ca-file", "--tls-cert", "--tls-key"]
    assert len(lines) == 12
    assert job_ids() == before


def test_unknown_cluster_key_is_refused_before_any_work(server, synthetic_300: Path, tmp_path: Path) -> None:
    before = job_ids()
    env = server | {"FORM3_PROFILES": str(BROKEN_PROFILES)}
    proc = form3(env, "run", str(synthetic_300), "--results", str(tmp_path / "r"),
                 "--cluster", "slurm", "--profile", "typo-key")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "form3 run: profile 'typo-key': dask_jobqueue.SLURMCluster does not accept cluster key(s) 'walltme'"
    )
    assert job_ids() == before


def test_doctor_passes_on_the_good_profile(server, tmp_path: Path) -> None:
    proc = form3(server, "doctor", "--profile", "multi-node", "--results", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    rows = {line[:20].strip(): line[20:] for line in proc.stdout.splitlines()}
    assert rows["probe job"].split()[0] == "ok" and rows["probe job"].split()[-1] in NODES
    assert f"{server['PREFECT_API_URL']} answered" in rows["Prefect API + auth"]
    assert f"tls://{LOGIN_ADDR}:" in rows["scheduler reachable"]
    assert proc.stdout.count("directory writable   ok") == 2
    assert "FAIL" not in proc.stdout


def test_doctor_fails_on_a_wrong_python(server, tmp_path: Path) -> None:
    env = server | {"FORM3_PROFILES": str(BROKEN_PROFILES)}
    proc = form3(env, "doctor", "--profile", "broken-python", "--results", str(tmp_path / "r"))
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    probe_row = next(line for line in proc.stdout.splitlines() if line.startswith("probe job"))
    assert "FAIL" in probe_row and "sbatch exit 127" in probe_row
    assert "/opt/form3-missing-venv/bin/python: No such file or directory" in probe_row


def listening(pid: int) -> set[str]:
    """The TCP addresses process ``pid`` listens on (ss, root namespace)."""
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    return {line.split()[3] for line in out.splitlines() if f"pid={pid}," in line}


NODE_CLIENT = """
import sys
from distributed import Client
from distributed.security import Security
address, creds = sys.argv[1], sys.argv[2:]
# The run's CA alone: a TLS client that trusts the scheduler but has no certificate of its own.
security = Security(tls_ca_file=creds[0], tls_client_cert=(creds[1:] or [None])[0],
                    tls_client_key=(creds[2:] or [None])[0], require_encryption=True) if creds else None
try:
    with Client(address, security=security, timeout=8) as client:
        print("CONNECTED", len(client.scheduler_info()["workers"]))
except Exception as exc:
    print("REFUSED", type(exc).__name__, str(exc)[:200])
"""


def test_scheduler_refuses_clients_without_the_run_credentials(server, synthetic_300: Path, tmp_path: Path) -> None:
    """A user on a compute node who reaches the scheduler's port cannot drive the workers:
    plain TCP and TLS without the run's credentials are refused; the dashboard is on the
    login node's loopback; the credential files are the owner's only."""
    results = tmp_path / "r"
    tls_dir = results / ".checkpoints" / "dask-tls"
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(synthetic_300), "--results", str(results),
         "--cluster", "slurm", "--profile", "multi-node", "--batch-size", "2"],
        cwd=REPO, env=server, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        script = ""
        while not script and time.monotonic() < deadline and proc.poll() is None:
            running = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i"], capture_output=True,
                                     text=True, env=slurm_env()).stdout.split()
            for job in running:
                out = subprocess.run(["scontrol", "write", "batch_script", job, "-"],
                                     capture_output=True, text=True, env=slurm_env()).stdout
                if str(tls_dir) in out:  # this run's worker job
                    script = out
            time.sleep(0.3)
        assert script, "no worker job of the run was seen running"
        command = script.strip().splitlines()[-1].split()
        address = command[3]
        assert address.startswith(f"tls://{LOGIN_ADDR}:"), command
        creds = [command[command.index(flag) + 1] for flag in ("--tls-ca-file", "--tls-cert", "--tls-key")]
        assert {Path(c).parent for c in creds} == {tls_dir}, creds
        assert tls_dir.stat().st_mode & 0o777 == 0o700
        for cred in creds:
            assert Path(cred).stat().st_mode & 0o777 == 0o600, cred
        # The scheduler listens on ib0, the dashboard only on loopback.
        host_port = address.removeprefix("tls://")
        addresses = listening(proc.pid)
        assert host_port in addresses, addresses
        assert all(a == host_port or a.startswith("127.") for a in addresses), addresses

        def from_node1(*args: str) -> subprocess.Popen:
            return subprocess.Popen(
                ["nsenter", "--net=/run/netns/node1", sys.executable, "-c", NODE_CLIENT, *args],
                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )

        probes = {
            "plain tcp": from_node1("tcp://" + host_port),
            "tls, no credentials": from_node1(address),
            "tls, the CA but no client certificate": from_node1(address, creds[0]),
            "tls, the run's credentials": from_node1(address, *creds),
        }
        answers = {name: p.communicate(timeout=60)[0].strip().splitlines()[-1] for name, p in probes.items()}
        assert answers["plain tcp"].startswith("REFUSED"), answers
        assert answers["tls, no credentials"].startswith("REFUSED"), answers
        assert answers["tls, the CA but no client certificate"].startswith("REFUSED"), answers
        # The same address and network with the credentials connects: the refusals above are
        # the credentials', not the network's.
        assert answers["tls, the run's credentials"].startswith("CONNECTED"), answers
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads((results / "run_summary.json").read_text())
    assert (summary["filings"], summary["parsed"], summary["failed"]) == (300, 300, 0)
    assert not any(tls_dir.iterdir())  # the credentials' files end with the run
    print("from node1:", answers)
