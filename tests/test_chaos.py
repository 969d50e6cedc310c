"""Random SIGKILLs across planning, extraction and publishing, then one full run: nothing lost,
nothing duplicated, outputs byte-identical to an uninterrupted run (issue 10's 20-kill test,
on a smaller set so it fits the slow tier). After each kill, before any rerun, the results
directory holds no set yet or one whole set: outputs, run_summary.json, README.md and a
SHA256SUMS that ``sha256sum -c`` passes on a copy (issue 20)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.outputs import DOCUMENT_NAMES, JOURNAL_NAME, OUTPUT_NAMES, recover
from tests.conftest import REPO, cli_env
from tests.test_flow import OUTPUTS, _digests

pytestmark = pytest.mark.slow  # a real Prefect server and Dask workers

KILLS = 12
SEED = int(os.environ.get("FORM3_CHAOS_SEED", "20261130"))


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    children = [int(p) for p in out.split()]
    return children + [d for c in children for d in _descendants(c)]


def _publishing(results: Path, since: float) -> bool:
    """This run made a temporary output file: it is writing or renaming its outputs."""
    try:
        return any(p.name.endswith(".tmp") and p.stat().st_mtime >= since for p in results.iterdir())
    except OSError:  # no results dir yet, or a file renamed away while we looked
        return False


def _one_whole_set(results: Path, scratch: Path) -> str:
    """What a kill left in ``results``, checked before any rerun: nothing published yet, or
    every output with its summary, README and checksums, agreeing. A kill inside the renames
    (a few milliseconds; the journal is there) is finished first, as any next run does."""
    note = ""
    if (results / JOURNAL_NAME).exists():
        assert recover(results)
        note = ", renames finished from the journal"
    names = OUTPUT_NAMES + DOCUMENT_NAMES
    present = [n for n in names if (results / n).exists()]
    if not present:
        return "no set yet"
    assert present == list(names), f"a partial set: {present}"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(results, scratch, ignore=shutil.ignore_patterns(".checkpoints", "logs", ".*.tmp"))
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=scratch, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    summary = json.loads((results / "run_summary.json").read_text())
    assert summary["output_bytes"] == {n: (results / n).stat().st_size for n in OUTPUT_NAMES}
    assert f"`{summary['flow_run_id']}`" in (results / "README.md").read_text()
    return f"the whole set of run {summary['flow_run_id'][:8]}{note}"


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_random_kills_then_one_full_run(form3, prefect_api: str, synthetic_3000: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    results = tmp_path / "results"
    args = [sys.executable, "-m", "flows.cli", "run", str(synthetic_3000), "--results", str(results),
            "--batch-size", "60"]
    # A set is published first (the first 1,000 rows), so that every kill meets one and must
    # leave it or the new one whole.
    with open(synthetic_3000, encoding="utf-8") as fh:
        head = [next(fh) for _ in range(1001)]
    first = synthetic_3000.with_name(f"first-1000-{tmp_path.name}.csv")  # beside it: relative paths
    first.write_text("".join(head), encoding="utf-8")
    form3("run", str(first), "--results", str(results), "--batch-size", "60")
    log = [f"before the kills: {_one_whole_set(results, tmp_path / 'copy')}"]
    for attempt in range(KILLS):
        kind = rng.choice(("group", "worker", "publish", "publish"))
        delay = rng.uniform(0.5, 9.0)
        proc = subprocess.Popen(args, cwd=REPO, env=cli_env(prefect_api), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        started, since = time.monotonic(), time.time()
        what = ""
        while proc.poll() is None and time.monotonic() - started < 120:
            elapsed = time.monotonic() - started
            if kind == "publish" and _publishing(results, since):  # writing, documenting or renaming
                kind, delay = "publishing", elapsed + rng.uniform(0.0, 1.0)
            if kind in ("group", "publishing") and elapsed >= delay:
                os.killpg(proc.pid, signal.SIGKILL)
                what += f"group at {elapsed:.1f}s" + (" while publishing" if kind == "publishing" else "")
                break
            if kind == "worker" and elapsed >= delay:
                workers = [p for p in _descendants(proc.pid) if _is_worker(p)]
                if workers:  # the run goes on without it; end the run later
                    os.kill(rng.choice(workers), signal.SIGKILL)
                    what += f"one worker at {elapsed:.1f}s, then "
                    kind, delay = "group", elapsed + rng.uniform(1.0, 6.0)
            time.sleep(0.02)
        else:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                what += "group at the 120 s limit"
        proc.wait()
        left = _one_whole_set(results, tmp_path / "copy")
        log.append(f"kill {attempt}: {what or 'the run finished first'} (rc {proc.returncode}): {left}")
    print("\n".join(log))  # shown with -s and with any failure below
    assert any("while publishing" in line for line in log), log  # the fault this test is for
    assert "no set yet" not in "\n".join(log), log

    form3("run", str(synthetic_3000), "--results", str(results), "--batch-size", "60")
    summary = form3.summary(results)
    assert (summary["filings"], summary["succeeded"], summary["failed"]) == (3000, 3000, 0), log
    records = json.loads((results / "parsed_form3.json").read_text())
    accessions = [r["accession_number"] for r in records]
    assert len(accessions) == len(set(accessions)) == 3000  # nothing lost, nothing twice
    assert not [p.name for p in results.iterdir() if p.name.endswith(".tmp") or p.name == ".publish.json"]

    clean = tmp_path / "clean"
    form3("run", str(synthetic_3000), "--results", str(clean), "--batch-size", "60")
    assert _digests(results) == _digests(clean), log
    assert all((results / n).is_file() for n in OUTPUTS)
