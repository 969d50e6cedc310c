"""The flow on a real (single-node) Slurm cluster: workers are sbatch jobs from SLURMCluster.

`make slurm-up` (run by `make test` as root, and by .ci/run) starts the cluster. In CI a
missing cluster fails these tests; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env, finished_batches, require_slurm
from tests.test_flow import SAMPLE, _digests

pytestmark = pytest.mark.slurm
PROFILE = ("--profile", "single-node")


def _squeue() -> list[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i %j %T"], capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="session", autouse=True)
def slurm_cluster() -> None:
    require_slurm()


def _wait_for_no_jobs(timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while (jobs := _squeue()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return jobs


@pytest.mark.parametrize("which", ["sample", "corpus"])
def test_slurm_run_equals_local_run(form3, corpus: Path, tmp_path: Path, which: str) -> None:
    manifest = SAMPLE if which == "sample" else corpus / "MANIFEST.csv"
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    form3("run", str(manifest), "--results", str(on_slurm), *PROFILE, "--batch-size", "10")
    form3("run", str(manifest), "--results", str(local), "--batch-size", "10")
    assert _digests(on_slurm) == _digests(local)
    summary = form3.summary(on_slurm)
    assert summary["profile"] == "single-node" and summary["parsed"] == summary["filings"]
    job_ids = summary["batches_by_worker"]
    # Every batch ran inside a Slurm job: each one recorded its SLURM_JOB_ID.
    assert job_ids and all(k.isdigit() for k in job_ids), job_ids
    assert sum(job_ids.values()) == summary["batches"]
    assert _wait_for_no_jobs() == []  # the cluster closed: no worker job left behind


def test_scancel_a_worker_mid_run(form3, prefect_api: str, synthetic_3000: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    env = cli_env(prefect_api)
    args = ["run", str(synthetic_3000), "--results", str(results), *PROFILE, "--batch-size", "25"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    cancelled = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        running = [j.split()[0] for j in _squeue() if j.endswith("RUNNING")]
        if running and finished_batches(results) >= 3:
            cancelled = running[0]
            subprocess.run(["scancel", "--signal=KILL", "--full", cancelled], check=True)
            break
        time.sleep(0.1)
    assert cancelled, "no worker job could be cancelled before the run ended"
    finished_at_cancel = finished_batches(results)
    out, err = proc.communicate(timeout=600)

    if proc.returncode != 0:  # allowed: one rerun must then finish the job
        assert "not processed" in err, err[-3000:]
        form3(*args)
    summary = form3.summary(results)
    assert summary["filings"] == 3000 and summary["failed"] == 0
    records = json.loads((results / "parsed_form3.json").read_text())
    accessions = [r["accession_number"] for r in records]
    assert len(accessions) == len(set(accessions)) == 3000
    if proc.returncode != 0:
        assert summary["cached"] >= finished_at_cancel * 25  # finished work was not redone
    assert _wait_for_no_jobs() == []
