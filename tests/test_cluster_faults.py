"""Faults across hosts on the multi-node cluster of `make cluster-up`: a node's processes
killed, a node's link down for 60 s, a worker job scancelled, and Dask's allowed-failures at 0
so that the flow's own resubmission runs. Each test first asserts the effect of its fault, so
that it fails if the fault did not happen: the worker job gone while the run goes on (a worker
lost), the node seen not responding by Slurm, the batches the flow resubmitted. Then the run
must still hold every filing exactly once, with outputs equal to a clean run's; a run that
ends Failed with filings not processed is finished by one rerun that parses only those.

Every node or link a test takes down is restored in a ``finally`` (the cluster is shared).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from flows.cluster import PROFILES_FILE
from tests.conftest import REPO, finished_batches, load_generator, stop_group
from tests.test_cluster import MULTI, cluster, form3, server, slurm_env, wait_no_jobs  # noqa: F401
from tests.test_flow import assert_same_outputs

pytestmark = pytest.mark.cluster

FILINGS = 3000
BATCH = 25
RUN_TIMEOUT = 600  # seconds a faulty run may take before the test fails
LINK_DOWN_SECONDS = 60


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("faults")
    return load_generator().make(out / "filings", out / "manifest.csv", FILINGS, seed=31)


@pytest.fixture(scope="module")
def clean(server, manifest: Path, tmp_path_factory) -> Path:  # noqa: F811
    """The outputs of a clean local run of the same manifest."""
    results = tmp_path_factory.mktemp("clean") / "results"
    proc = form3(server, "run", str(manifest), "--results", str(results), "--batch-size", str(BATCH))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return results


@pytest.fixture(scope="module")
def env(server, tmp_path_factory) -> dict[str, str]:  # noqa: F811
    """The server's client environment plus a profile ``faults``: the ``multi-node`` profile
    whose worker jobs carry a name of their own, so a test touches only its own jobs."""
    profile = yaml.safe_load(PROFILES_FILE.read_text())["multi-node"]
    profile["cluster"]["job_name"] = f"f3-faults-{os.getpid()}"
    path = tmp_path_factory.mktemp("profiles") / "profiles.yaml"
    path.write_text(yaml.safe_dump({"faults": profile}))
    return server | {"FORM3_PROFILES": str(path)}


def job_name(env: dict[str, str]) -> str:
    return yaml.safe_load(Path(env["FORM3_PROFILES"]).read_text())["faults"]["cluster"]["job_name"]


def our_jobs(name: str) -> list[tuple[str, str, str]]:
    """(job id, node, state) of the run's worker jobs."""
    out = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i %N %T"], capture_output=True,
                         text=True, env=slurm_env()).stdout
    return [tuple(line.split()) for line in out.splitlines() if len(line.split()) == 3]  # type: ignore[misc]


def start_run(env: dict[str, str], manifest: Path, results: Path) -> tuple[subprocess.Popen, list[str]]:
    args = ["run", str(manifest), "--results", str(results), "--cluster", "slurm",
            "--profile", "faults", "--batch-size", str(BATCH)]
    results.mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env,
        stdout=open(results.parent / "run.out", "w"), stderr=open(results.parent / "run.err", "w"),
        start_new_session=True,
    )
    return proc, args


def wait_mid_run(proc: subprocess.Popen, results: Path, name: str, nodes: int = 1,
                 batches: int = 3) -> list[tuple[str, str, str]]:
    """Once ``batches`` batches are finished and worker jobs run on ``nodes`` nodes: the
    running jobs. Fails if the run ends first."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        running = [j for j in our_jobs(name) if j[2] == "RUNNING"]
        if len({j[1] for j in running}) >= nodes and finished_batches(results) >= batches:
            return running
        time.sleep(0.2)
    pytest.fail(f"the run ended (exit {proc.poll()}) or stalled before the fault could be injected")


def finish(proc: subprocess.Popen, env: dict[str, str], args: list[str], results: Path) -> dict:
    """Wait for the run; if it ended Failed with filings not processed, one rerun must parse
    exactly those. The final summary."""
    try:
        code = proc.wait(timeout=RUN_TIMEOUT)
    finally:
        stop_group(proc)
    err = (results.parent / "run.err").read_text()
    summary = json.loads((results / "run_summary.json").read_text())
    if code != 0:
        assert "not processed" in err, err[-3000:]
        assert summary["not_processed"] > 0, summary
        rerun = form3(env, *args, timeout=RUN_TIMEOUT)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        again = json.loads((results / "run_summary.json").read_text())
        assert again["parsed"] == summary["not_processed"], (again, summary)
        summary["rerun"] = again
    return summary


def assert_like_clean(results: Path, clean: Path) -> None:
    records = json.loads((results / "parsed_form3.json").read_text())
    accessions = [r["accession_number"] for r in records]
    assert len(accessions) == len(set(accessions)) == FILINGS
    assert_same_outputs(results, clean)
    summary = json.loads((results / "run_summary.json").read_text())
    assert (summary["filings"], summary["failed"], summary["not_processed"]) == (FILINGS, 0, 0)


def job_running(job_id: str) -> bool:
    out = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True,
                         env=slurm_env()).stdout.split()
    return bool(out) and out[0] in ("RUNNING", "COMPLETING")


def node_state(node: str) -> str:
    """Slurm's state of the node as sinfo prints it: a '*' suffix means not responding."""
    return subprocess.run(["sinfo", "-h", "-N", "-n", node, "-o", "%T"], capture_output=True,
                          text=True, env=slurm_env()).stdout.strip()


def watch(seconds: float, probe: Callable[[], str]) -> list[str]:
    """Every distinct value ``probe`` gave, polled once a second for ``seconds``."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if not seen or seen[-1] != value:
            seen.append(value)
        time.sleep(1.0)
    return seen


def not_responding(states: list[str]) -> bool:
    return any(s.endswith("*") or s.startswith(("down", "drain", "fail")) for s in states)


def assert_worker_lost(proc: subprocess.Popen, job_id: str, results: Path) -> int:
    """The worker job left Slurm's queue while batches remained to be done: the run lost a
    worker (at the run's end the cluster cancels every job: that does not count). The number
    of batches finished when it left."""
    total = -(-FILINGS // BATCH)
    while proc.poll() is None:
        done = finished_batches(results)
        if not job_running(job_id):
            assert done < total, (f"worker job {job_id} ended only with the run ({done} of "
                                  f"{total} batches done): the fault did not take the worker")
            return done
        time.sleep(0.5)
    pytest.fail(f"the run ended (exit {proc.poll()}) with worker job {job_id} still queued")


def restore_node(node: str) -> None:
    """Restart what is missing (up.sh is idempotent: slurmd, network) and resume the node."""
    subprocess.run(["scontrol", "update", f"NodeName={node}", "State=RESUME"],
                   capture_output=True, env=slurm_env())
    # A node whose link was down for a minute is heard from again at slurmctld's next ping
    # (SlurmdTimeout 30 s): give up.sh's wait more than that.
    up = subprocess.run(["bash", str(MULTI / "up.sh")], capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, FORM3_SLURM_START_TIMEOUT="120"))
    assert up.returncode == 0, up.stderr[:2000] + "\n…\n" + up.stderr[-2000:]


def node_veth(node: str) -> str:
    """The login side of the node's link on the bridge (deployments/multi-node/lib.sh)."""
    return "f3-" + node


def run_with_fault(env: dict[str, str], manifest: Path, clean: Path, tmp_path: Path,
                   inject: Callable[[subprocess.Popen, list[tuple[str, str, str]]], None], nodes: int = 2,
                   extra_env: dict[str, str] | None = None) -> dict:
    results = tmp_path / "results"
    proc, args = start_run(env | (extra_env or {}), manifest, results)
    try:
        running = wait_mid_run(proc, results, job_name(env), nodes=nodes)
        inject(proc, running)
        summary = finish(proc, env | (extra_env or {}), args, results)
    finally:
        stop_group(proc)
    assert_like_clean(results, clean)
    assert wait_no_jobs(60) == []
    return summary


def test_all_processes_of_a_node_killed(env, manifest: Path, clean: Path, tmp_path: Path) -> None:
    killed: list[str] = []
    effects: dict[str, object] = {}

    def kill_node(proc: subprocess.Popen, running: list[tuple[str, str, str]]) -> None:
        job, node, _ = running[0]
        killed.append(node)
        pids = subprocess.run(["ip", "netns", "pids", node], capture_output=True, text=True,
                              check=True).stdout.split()
        assert pids, f"no process in {node}"
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        # slurmd died with the rest: Slurm marks the node not responding after SlurmdTimeout
        # (30 s), then ends its job (NODE_FAIL). Slurm learns it after the run may be done, so
        # the check is the node's state, not the job's.
        effects["node states"] = watch(75, lambda: node_state(node))
        effects["job"] = job

    try:
        summary = run_with_fault(env, manifest, clean, tmp_path, kill_node)
    finally:
        for node in killed:
            restore_node(node)
    print(f"node {killed} killed: {effects}, resubmitted {summary['batches_resubmitted']}, "
          f"{summary['seconds']}s")
    assert not_responding(effects["node states"]), effects  # the node drained
    assert effects["job"] in summary["slurm_job_ids"], (effects, summary["slurm_job_ids"])


def test_a_node_link_down_for_60s(env, manifest: Path, clean: Path, tmp_path: Path) -> None:
    downed: list[str] = []
    effects: dict[str, list[str]] = {}

    def link_down(proc: subprocess.Popen, running: list[tuple[str, str, str]]) -> None:
        node = running[0][1]
        downed.append(node)
        subprocess.run(["ip", "link", "set", node_veth(node), "down"], check=True)
        try:  # what Slurm makes of the node meanwhile (SlurmdTimeout 30 s)
            effects["node states"] = watch(LINK_DOWN_SECONDS, lambda: node_state(node))
        finally:
            subprocess.run(["ip", "link", "set", node_veth(node), "up"], check=True)

    try:
        summary = run_with_fault(env, manifest, clean, tmp_path, link_down)
    finally:
        for node in downed:
            subprocess.run(["ip", "link", "set", node_veth(node), "up"], check=True)
            restore_node(node)
    print(f"link of {downed} down {LINK_DOWN_SECONDS}s: node states {effects['node states']}, "
          f"resubmitted {summary['batches_resubmitted']}, {summary['seconds']}s")
    # The link really was down: the login node's slurmctld lost the node.
    assert not_responding(effects["node states"]), effects


def cancel_a_worker(lost: dict[str, object], results: Path) -> Callable[[subprocess.Popen, list[tuple[str, str, str]]], None]:
    """The fault: scancel the first running worker job; ``lost`` records it and how many
    batches were done when it left the queue."""
    def cancel(proc: subprocess.Popen, running: list[tuple[str, str, str]]) -> None:
        job = running[0][0]
        subprocess.run(["scancel", "--signal=KILL", "--full", job], check=True, env=slurm_env())
        lost["job"], lost["batches done"] = job, assert_worker_lost(proc, job, results)
    return cancel


def test_a_worker_job_scancelled(env, manifest: Path, clean: Path, tmp_path: Path) -> None:
    lost: dict[str, object] = {}
    summary = run_with_fault(env, manifest, clean, tmp_path, cancel_a_worker(lost, tmp_path / "results"))
    print(f"job {lost} scancelled: jobs {summary['slurm_job_ids']}, batches by worker "
          f"{summary['batches_by_worker']}, resubmitted {summary['batches_resubmitted']}, "
          f"{summary['seconds']}s")
    assert lost["job"] in summary["slurm_job_ids"], (lost, summary["slurm_job_ids"])  # the run's worker


def test_allowed_failures_zero_makes_the_flow_resubmit(env, manifest: Path, clean: Path,
                                                       tmp_path: Path) -> None:
    """The scheduler runs in the flow process: its allowed-failures comes from that process's
    environment. At 0, a batch on a killed worker is a KilledWorker at once, and the flow's
    own resubmission (flows/execution.py) must pick it up."""
    lost: dict[str, object] = {}
    summary = run_with_fault(env, manifest, clean, tmp_path, cancel_a_worker(lost, tmp_path / "results"),
                             extra_env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    print(f"allowed-failures 0, job {lost} scancelled: resubmitted {summary['batches_resubmitted']}")
    assert lost["job"] in summary["slurm_job_ids"], (lost, summary["slurm_job_ids"])
    assert summary["batches_resubmitted"], summary  # the flow's own resubmission ran
