"""Shared fixtures: the real EDGAR corpus (required, never skipped) and the repo's paths."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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


@pytest.fixture
def filing(corpus: Path):
    """Parse one corpus file by name."""
    from tasks.extract import parse_file

    return lambda name: parse_file(str(corpus / "filings" / name))
