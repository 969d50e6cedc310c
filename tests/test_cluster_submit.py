"""`form3 submit` on the multi-node cluster of `make cluster-up`: the whole flow inside one
Slurm allocation over two nodes (dask-jobqueue's SLURMRunner), reporting to the test's
`form3 server`, with results equal to a local run's and the auth string in no file others
can read.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_cluster import (  # noqa: F401 - fixtures
    api, cluster, form3, server, slurm_env, synthetic_300, wait_no_jobs,
)
from tests.test_flow import assert_same_outputs

pytestmark = pytest.mark.cluster
JOB_TIMEOUT = 300


def wait_job(job_id: str) -> str:
    """The job's final 'STATE|NodeList' (job completion log), once it has left the queue."""
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        queued = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True,
                                text=True, env=slurm_env()).stdout.strip()
        if not queued:
            break
        time.sleep(1)
    else:
        subprocess.run(["scancel", job_id], env=slurm_env())
        pytest.fail(f"job {job_id} still queued or running after {JOB_TIMEOUT}s")
    for _ in range(20):
        out = subprocess.run(["sacct", "-c", "-X", "-n", "-P", "-o", "State,NodeList", "-j", job_id],
                             capture_output=True, text=True, env=slurm_env()).stdout.strip()
        if out:
            return out.splitlines()[-1]
        time.sleep(0.5)
    return "?|?"


def test_submit_runs_the_flow_in_one_allocation_on_two_nodes(server, synthetic_300: Path, tmp_path: Path) -> None:  # noqa: F811
    results, local = tmp_path / "submitted", tmp_path / "local"
    args = [str(synthetic_300), "--results", str(results), "--profile", "multi-node", "--batch-size", "25"]
    started = time.monotonic()
    proc = form3(server, "submit", *args, "--nodes", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    job_id = proc.stdout.strip()
    assert job_id.isdigit(), proc.stdout

    # The script carries the auth string: the owner's only, in a directory of the owner's only.
    submit_dir = results / ".checkpoints" / "submit"
    scripts = list(submit_dir.glob("form3-submit-*.sh"))
    assert len(scripts) == 1
    assert submit_dir.stat().st_mode & 0o777 == 0o700
    assert scripts[0].stat().st_mode & 0o777 == 0o600
    assert server["PREFECT_API_AUTH_STRING"] in scripts[0].read_text()

    state, nodes = wait_job(job_id).split("|")
    seconds = time.monotonic() - started
    log = Path("slurm/logs") / f"form3-submit-{job_id}.err"
    log = (Path(__file__).resolve().parents[1] / log)
    assert state == "COMPLETED", (state, log.read_text()[-4000:] if log.exists() else "(no log)")
    assert nodes in ("node[1-2]", "node[1,3]", "node[2-3]"), nodes  # two compute nodes
    assert not (submit_dir / job_id).exists()  # the session's credentials are removed

    summary = json.loads((results / "run_summary.json").read_text())
    assert (summary["filings"], summary["parsed"], summary["failed"], summary["batches"]) == (300, 300, 0, 12)
    assert summary["batches_by_worker"] == {job_id: 12}  # every batch ran inside the allocation

    # The flow run and its task runs are on the login node's server.
    flow_run = api(server, f"/flow_runs/{summary['flow_run_id']}")
    assert flow_run["state"]["type"] == "COMPLETED"
    runs = api(server, "/task_runs/filter", {"flow_runs": {"id": {"any_": [summary["flow_run_id"]]}}, "limit": 200})
    assert sum(1 for r in runs if r["state"]["type"] == "COMPLETED") == 14  # 12 batches, plan, publish

    proc = form3(server, "run", str(synthetic_300), "--results", str(local), "--batch-size", "25")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_outputs(results, local)

    # A rerun through the same command finds everything checkpointed.
    proc = form3(server, "submit", *args, "--nodes", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    state, _ = wait_job(proc.stdout.strip()).split("|")
    assert state == "COMPLETED"
    again = json.loads((results / "run_summary.json").read_text())
    assert (again["parsed"], again["cached"]) == (0, 300), again
    assert wait_no_jobs() == []
    print(f"form3 submit, 300 filings on {nodes}: {seconds:.1f}s")
