"""Shared fixtures: the real EDGAR corpus (required, never skipped) and the repo's paths."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Every test belongs to a tier (docs/testing.md says how to run each); one without is refused.
TIERS = ("fast", "slow", "slurm", "cluster", "ui")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if unmarked:
        raise pytest.UsageError(
            f"tests without a tier marker ({', '.join(TIERS)}): " + ", ".join(unmarked)
        )


def corpus_dir() -> Path:
    return Path(os.environ.get("FORM3_CORPUS", REPO.parent / "shared" / "form3-corpus")).resolve()


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not (path / "MANIFEST.csv").is_file():
        # A missing corpus must fail the suite, not skip it: CI has it.
        pytest.fail(f"EDGAR corpus not found at {path} (set FORM3_CORPUS)")
    return path


@pytest.fixture(scope="session")
def corpus_manifest(corpus: Path) -> list[dict[str, str]]:
    with open(corpus / "MANIFEST.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def form345_corpus_dir() -> Path:
    return Path(os.environ.get("FORM345_CORPUS", REPO.parent / "shared" / "form345-corpus")).resolve()


@pytest.fixture(scope="session")
def form345_corpus() -> Path:
    """The real Forms 4/5 corpus (465 filings and MANIFEST.csv of expected counts)."""
    path = form345_corpus_dir()
    if not (path / "MANIFEST.csv").is_file():
        pytest.fail(f"Form 4/5 corpus not found at {path} (set FORM345_CORPUS)")
    return path


@pytest.fixture(scope="session")
def form345_manifest(form345_corpus: Path) -> list[dict[str, str]]:
    with open(form345_corpus / "MANIFEST.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def filing(corpus: Path):
    """Parse one corpus file by name."""
    from tasks.extract import parse_file

    return lambda name: parse_file(str(corpus / "filings" / name))


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory) -> str:
    """A real Prefect server for the session, with its own home and SQLite database."""
    from flows.local_api import loopback_server

    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    # Never the developer's own `form3 server` (FORM3_HOME/server.env) from a test.
    os.environ["FORM3_HOME"] = str(tmp_path_factory.mktemp("form3-home"))
    with loopback_server(home / "server.log") as url:
        yield url


def cli_env(prefect_api: str, **extra: str) -> dict[str, str]:
    """The environment a ``form3`` subprocess of the tests runs with; ``extra`` wins."""
    env = dict(os.environ, PREFECT_API_URL=prefect_api, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.update(extra)
    return env


@pytest.fixture
def form3(prefect_api: str, tmp_path: Path):
    """Run the real ``form3`` CLI in a subprocess against the session's Prefect API."""
    import json
    import subprocess
    import sys

    def run(*args: str, env: dict[str, str] | None = None, check: bool | None = True):
        proc = subprocess.run(
            [sys.executable, "-m", "flows.cli", *args],
            capture_output=True, text=True, env=cli_env(prefect_api, **(env or {})), cwd=REPO,
            timeout=900,
        )
        if check is True:
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
        return proc

    def summary(results: Path) -> dict:
        return json.loads((results / "run_summary.json").read_text())

    run.summary = summary
    return run


def load_generator():
    """The repo's synthetic-filing generator (a script under data/), imported by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_sample", REPO / "data" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.modules.setdefault("make_sample", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def synthetic_3000(tmp_path_factory) -> Path:
    """3,000 synthetic filings and their manifest (made once per session)."""
    out = tmp_path_factory.mktemp("synthetic")
    return load_generator().make(out / "filings", out / "manifest.csv", 3000, seed=11)


def require_slurm() -> None:
    """Skip (fail in CI) unless the single-node Slurm cluster of `make slurm-up` is up."""
    import subprocess

    status = subprocess.run(
        ["bash", str(REPO / "deployments" / "local-slurm" / "status.sh")],
        capture_output=True, text=True,
    )
    if status.returncode != 0:
        message = "the local Slurm cluster is not up (make slurm-up, as root)\n" + status.stdout
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def stop_group(proc) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it started:
    SIGTERM to its group (not SIGINT: a shell starting the suite in the background, as CI
    does, makes its children ignore SIGINT), SIGKILL after 30 s."""
    import signal
    import subprocess

    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def finished_batches(results: Path) -> int:
    """Batches a run has finished so far: their records files (a worker writes each atomically;
    the index lists them only once publishing, or the next plan, gets to them)."""
    batches = results / ".checkpoints" / "batches"
    return sum(1 for p in batches.glob("form3-*.parquet")) if batches.is_dir() else 0
