"""SIGKILL in the middle of a run: the rerun finishes, nothing lost, nothing done twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env, finished_batches
from tests.test_flow import OUTPUTS, _digests

pytestmark = pytest.mark.slow  # a real Prefect server and Dask workers


def test_kill_mid_run_then_rerun(form3, prefect_api: str, synthetic_3000: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    env = cli_env(prefect_api)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(synthetic_3000), "--results", str(results),
         "--batch-size", "40"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes its Dask workers too
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if finished_batches(results) >= 5:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = finished_batches(results)
    assert not (results / "run_summary.json").exists()  # no outputs from the killed run
    # The killed run never published, so it indexed nothing: the rerun's plan indexes the
    # batch files it left, from their identity column.
    assert not (results / ".checkpoints" / "index.jsonl").exists()

    form3("run", str(synthetic_3000), "--results", str(results), "--batch-size", "40")
    summary = form3.summary(results)
    assert summary["filings"] == 3000 and summary["failed"] == 0
    assert summary["cached"] >= finished_before * 40  # every batch finished before the kill
    assert summary["parsed"] + summary["cached"] == 3000 and summary["parsed"] < 3000
    records = json.loads((results / "parsed_form3.json").read_text())
    accessions = [r["accession_number"] for r in records]
    assert len(accessions) == len(set(accessions)) == 3000

    clean = tmp_path / "clean"
    form3("run", str(synthetic_3000), "--results", str(clean), "--batch-size", "40")
    assert _digests(results) == _digests(clean)
    assert all((results / n).is_file() for n in OUTPUTS)
