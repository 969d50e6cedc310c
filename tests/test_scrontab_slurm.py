"""The generated ``scrontab`` entry, run on the local single-node Slurm cluster (``make
slurm-up``) as scrontab runs it: a batch job with the entry's ``#SCRON`` options, running the
entry's command, which submits the update's allocation (``form3 submit --update``).

Debian's Slurm packages ship no ``scrontab`` command, so the test submits the entry as
``scrontab`` would (``#SCRON`` options become the job's options; the command after the five
cron fields is its script). The allocation needs three tasks (scheduler, flow, a worker) on a
two-CPU node: the test's profile adds ``--overcommit``, which real sites do not need.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from tasks.daily_index import daily_index_location
from tests.conftest import REPO, cli_env, require_slurm
from tests.test_update import _index_text

pytestmark = pytest.mark.slurm
JOB_TIMEOUT = 600


def _wait_gone(job_id: str) -> None:
    deadline = time.monotonic() + JOB_TIMEOUT
    while subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True, text=True).stdout.strip():
        if time.monotonic() > deadline:
            subprocess.run(["scancel", job_id])
            pytest.fail(f"job {job_id} still queued or running after {JOB_TIMEOUT}s")
        time.sleep(1)


def test_generated_scrontab_entry_runs_the_update_through_form3_submit(
    prefect_api: str, corpus: Path, tmp_path: Path,
) -> None:
    require_slurm()
    # A local mirror of Archives/: two days, three real Form 3 filings.
    mirror, results = tmp_path / "mirror", tmp_path / "results"
    with open(corpus / "MANIFEST.csv", newline="") as fh:
        filings = [r for r in csv.DictReader(fh)
                   if r["kind"] == "full-submission-txt" and r["document_type"] == "3"][:3]
    for r in filings:
        target = mirror / f"edgar/data/{int(r['issuer_cik'])}/{r['accession_number']}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(corpus / r["file"], target)
    for day, rows in ((date(2024, 7, 1), filings[:2]), (date(2024, 7, 2), filings[2:])):
        index = Path(daily_index_location(str(mirror), day))
        index.parent.mkdir(parents=True, exist_ok=True)
        index.write_text(_index_text(day, [(r["document_type"], r["issuer_name"],
                                            int(r["issuer_cik"]), r["accession_number"])
                                           for r in rows]), encoding="latin-1")
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(
        "scron-test:\n  kind: slurm\n  same_host: true\n  worker_start_timeout: 240\n"
        "  cluster:\n    queue: debug\n    cores: 1\n    processes: 1\n    memory: 2GB\n"
        "    walltime: '00:20:00'\n    job_extra_directives: ['--overcommit']\n"
        f"    local_directory: /tmp\n    log_directory: {tmp_path / 'slurm-logs'}\n"
        "    interface: lo\n  adapt: {minimum_jobs: 0, maximum_jobs: 1}\n"
    )
    env = cli_env(prefect_api, FORM3_PROFILES=str(profiles))
    printed = subprocess.run(
        [sys.executable, "-m", "flows.cli", "scrontab", "--cron", "0 7 * * 1-5", "--since",
         "2024-07-01", "--archive", str(mirror), "--results", str(results), "--profile",
         "scron-test"],
        cwd=REPO, env=env, capture_output=True, text=True, check=True,
    ).stdout
    entry = printed.splitlines()
    options = [line.removeprefix("#SCRON ") for line in entry if line.startswith("#SCRON ")]
    (cron_line,) = [line for line in entry if line and not line.startswith("#")]
    fields = cron_line.split(None, 5)
    assert " ".join(fields[:5]) == "0 7 * * 1-5"
    script = tmp_path / "scron-entry.sh"
    script.write_text("#!/bin/bash\n" + "".join(f"#SBATCH {o}\n" for o in options) + fields[5] + "\n")

    scron = subprocess.run(["sbatch", "--parsable", str(script)], env=env, capture_output=True,
                           text=True, check=True).stdout.strip().split(";")[0]
    _wait_gone(scron)
    log = results / "logs" / f"form3-update-scron-{scron}.out"
    allocation = log.read_text().strip().splitlines()[0]  # `form3 submit` prints the job id
    assert allocation.isdigit(), log.read_text()
    _wait_gone(allocation)
    summary = json.loads((results / "run_summary.json").read_text())
    assert (summary["filings"], summary["parsed"], summary["failed"]) == (3, 3, 0)
    with open(results / "update-manifest.csv", newline="") as fh:
        assert [r["accession_number"] for r in csv.DictReader(fh)] == [
            r["accession_number"] for r in filings]
    state = json.loads((results / "update-state.json").read_text())
    assert state["days"]["2024-07-01"]["filings"] == 2 and state["days"]["2024-07-03"]["status"] == "absent"
