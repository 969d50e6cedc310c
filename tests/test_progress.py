"""Progress where a user watches: the UI's progress artifact, the terminal's bar, the log lines.

Against a real ``form3 server`` (auth on) with ``form3 serve`` (the ``team`` fixture of
test_ui), real Dask workers and the repo's synthetic filings.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.progress import ARTIFACT_INTERVAL, ARTIFACT_KEY, LOG_STEP, Progress
from tests.conftest import REPO, load_generator
from tests.test_flow import SAMPLE
from tests.test_ui import Team, team  # noqa: F401 - the module's own form3 server and serve

BIG_RUN = 20_000


def _progress_artifacts(team: Team, after: float) -> list[dict]:
    """The form3-progress artifacts created after ``after`` (epoch seconds), newest first."""
    from tests.test_ui import _epoch

    with team.client() as c:
        r = c.post("/artifacts/filter", json={
            "artifacts": {"key": {"any_": [ARTIFACT_KEY]}}, "sort": "CREATED_DESC",
        })
        r.raise_for_status()
    return [a for a in r.json() if _epoch(a["created"]) >= after]


@pytest.mark.slow
def test_a_20000_filing_run_shows_a_progress_artifact_that_rises_to_100(
    team: Team, tmp_path: Path
) -> None:
    """``form3 run`` under a pipe against the team server: the run's progress artifact, read
    through the REST API while the run goes, rises and ends at 100%; stderr has log lines."""
    manifest = load_generator().make(tmp_path / "filings", tmp_path / "manifest.csv", BIG_RUN, seed=23)
    results = tmp_path / "results"
    started = time.time() - 1  # the server's clock is this machine's
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(manifest), "--results", str(results),
         "--batch-size", "500"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "stderr.log", "wb"), env=team.env(),
        cwd=REPO,
    )
    seen: list[float] = []  # the artifact's value at each read while the run was going
    try:
        deadline = time.monotonic() + 600
        while proc.poll() is None:
            assert time.monotonic() < deadline, "form3 run did not finish in 600 s"
            artifacts = _progress_artifacts(team, started)
            if artifacts and proc.poll() is None:
                seen.append(float(artifacts[0]["data"]))
            time.sleep(0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    stderr = (tmp_path / "stderr.log").read_text()
    assert proc.returncode == 0, stderr[-4000:]
    (artifact,) = _progress_artifacts(team, started)
    assert artifact["type"] == "progress"
    assert float(artifact["data"]) == 100.0
    summary_run = artifact["flow_run_id"]
    assert summary_run and summary_run in (results / "run_summary.json").read_text()
    # Read at least twice while going, never falling, and seen rising before the end.
    assert len(seen) >= 2, seen
    assert seen == sorted(seen), seen
    running = [v for v in seen if v < 100.0]
    assert len(set(running)) >= 2 or (running and running[0] < seen[-1]), seen
    # Not a terminal: the periodic log lines, no bar.
    assert f"progress: {BIG_RUN}/{BIG_RUN} filings parsed (100%)" in stderr
    assert "━" not in stderr
    steps = stderr.count("progress: ")
    assert 1 / LOG_STEP - 2 <= steps <= 1 / LOG_STEP + 1, steps


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a pty")
def test_form3_run_on_a_terminal_draws_a_progress_bar(team: Team, tmp_path: Path) -> None:
    """Under ``script`` (a pty) ``form3 run`` draws rich's bar with rate and ETA instead of
    the progress log lines."""
    results = tmp_path / "results"
    command = shlex.join([sys.executable, "-m", "flows.cli", "run", str(SAMPLE), "--results",
                          str(results)])
    proc = subprocess.run(
        ["script", "-qec", command, "/dev/null"], capture_output=True, text=True,
        env=team.env(COLUMNS="120", TERM="xterm"), cwd=REPO, timeout=600,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    assert "━" in out and "10/10" in out and "filings/s" in out and "ETA" in out, out[-3000:]
    assert "progress: 10/10 filings parsed" not in out


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.slow
def test_artifact_updates_are_throttled(team: Team) -> None:
    """40 batches finishing over 4 s of (simulated) time: a handful of artifact updates, not
    40; the log gets one line per LOG_STEP; the artifact ends at 100."""
    from prefect import flow
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    clock = [0.0]
    handler = _Lines()
    logger = logging.getLogger("form3-test-progress")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    @flow(name="progress-throttle", persist_result=False)
    def batches() -> tuple[int, str]:
        progress = Progress(BIG_RUN, logger, terminal=False, clock=lambda: clock[0])
        for _ in range(40):
            clock[0] += 0.1
            progress.advance(BIG_RUN // 40)
        return progress.artifact_updates, str(progress.artifact_id)

    os.environ.pop("PREFECT_API_URL", None)
    with temporary_settings({PREFECT_API_URL: team.api_url, PREFECT_API_AUTH_STRING: team.auth}):
        updates, artifact_id = batches()
    expected = 1 + int(4.0 / ARTIFACT_INTERVAL) + 1  # creation, once a second, the end
    assert 2 <= updates <= expected, updates
    with team.client() as c:
        assert c.get(f"/artifacts/{artifact_id}").json()["data"] == 100
    assert sum(line.startswith("progress: ") for line in handler.lines) == int(1 / LOG_STEP)
