"""The flow end to end into the SEC layout: ``form3 run`` on the rebuilt sample filings, then
``form3 compare-sec``. Slow tier: it starts a Prefect server and a Dask cluster (the fast tier's
tests in tests/test_sec_tsv.py check the same layout without servers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sec_samples import SEC_DATASETS, compare_sec, header_line, write_sample_filings
from tests.test_sec_tsv import SAMPLE_TABLES

pytestmark = pytest.mark.slow


def test_form3_run_writes_the_sec_tsvs(form3, tmp_path: Path) -> None:
    """The flow end to end: form3 run on the sample accessions' filings, then compare-sec."""
    manifest = write_sample_filings(tmp_path / "filings")
    results = tmp_path / "results"
    form3("run", str(manifest), "--results", str(results))
    assert form3.summary(results)["succeeded"] == 40
    for name in SAMPLE_TABLES:
        assert (results / "sec" / f"{name}.tsv").open("rb").readline() == header_line(name)
    proc = compare_sec(results, SEC_DATASETS)
    assert proc.returncode == 0, proc.stdout
    assert "OWNER_SIGNATURE: 44 rows paired (ours 44, SEC 44)" in proc.stdout
