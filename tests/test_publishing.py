"""Publishing in chunks: outputs do not depend on how many filings are published per step."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

import flows.publishing as publishing
from flows.outputs import OUTPUT_NAMES
from tests.conftest import load_generator

pytestmark = pytest.mark.fast


def test_chunk_size_does_not_change_the_outputs(tmp_path: Path, monkeypatch) -> None:
    """Chunks smaller than a batch, batches straddling chunks, failures between records: the
    same files as publishing everything in one step."""
    manifest = load_generator().make(tmp_path / "filings", tmp_path / "manifest.csv", 40, seed=5)
    assert manifest.exists()
    paths = sorted((tmp_path / "filings").glob("*.txt"))
    broken = tmp_path / "filings" / "not-a-filing.txt"
    broken.write_text("no submission here")
    paths.insert(17, broken)

    monkeypatch.setattr(publishing, "CHUNK_FILINGS", 10_000)
    whole = publishing.publish_files(tmp_path / "whole", paths, batch_size=7)
    monkeypatch.setattr(publishing, "CHUNK_FILINGS", 3)
    chunked = publishing.publish_files(tmp_path / "chunked", paths, batch_size=7)

    assert chunked == whole | {"results_dir": str(tmp_path / "chunked"),
                               "checkpoint_dir": str(tmp_path / "chunked" / ".checkpoints")}
    assert whole["failed"] == 1 and whole["succeeded"] == 40
    for name in OUTPUT_NAMES:
        a, b = tmp_path / "whole" / name, tmp_path / "chunked" / name
        if name.endswith(".parquet"):
            assert pq.read_table(a).equals(pq.read_table(b)), name
        else:
            assert a.read_bytes() == b.read_bytes(), name
