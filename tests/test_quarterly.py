"""The quarterly layout: outputs partitioned by filing quarter, rewritten only where they changed.

Real filings of both corpora, dated by the test across two quarters and none (``undated``),
with failures in each, published by the real publishing code (``publish_files``: the same
batches, checkpoints and writers as a run, without Prefect). What an update must guarantee:
- only the partitions whose rows changed are written: the others keep their files (same
  inode, same mtime) and their recorded checksums;
- the set after any sequence of publications equals one cold publication of the same rows,
  byte for byte (Parquet files included), and its checksums pass;
- each table reads back whole, with pandas and with DuckDB, as the single layout's table;
- a partition no longer made, or the other layout's files, leave with the set;
- killed among its renames, a publication is finished by ``recover``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import flows.outputs as outputs
from flows.outputs import (
    FAILURES_NAME, JOURNAL_NAME, SUMMARY_NAME, SUMS_NAME, quarter_of, recover, run_layout,
)
from flows.publishing import publish_files
from flows.report import summary_markdown
from flows.results_readme import render
from flows.settings import RunSettings
from tests.conftest import corpus_dir, form345_corpus_dir

pytestmark = pytest.mark.fast


def _filings() -> tuple[list[Path], list[str | None]]:
    """62 rows: 30 real Form 3s filed in 2024 Q2, 30 real Forms 4/5 and a missing file in Q3,
    a malformed Form 4 without a date; each quarter holds a failure."""
    form3 = sorted((corpus_dir() / "filings").glob("*.txt"))[:30]
    form45 = sorted((form345_corpus_dir() / "filings").glob("*.txt"))[:30]
    with open(form345_corpus_dir() / "MANIFEST.csv", newline="") as fh:
        malformed = next(r["file"] for r in csv.DictReader(fh) if r["parse_error"].startswith("ParseError"))
    paths = form3 + [Path("/nonexistent/0000000000-24-000001.txt")] + form45 + [form345_corpus_dir() / malformed]
    dates = [f"2024-06-{i % 28 + 1:02d}" for i in range(31)] + [f"2024{7 + i % 3:02d}{i % 28 + 1:02d}" for i in range(30)]
    return paths, dates + [""]


def _files(results: Path) -> dict[str, Path]:
    return {p.relative_to(results).as_posix(): p for p in results.rglob("*")
            if p.is_file() and ".checkpoints" not in p.parts}


def _stamps(results: Path, quarter: str) -> dict[str, tuple[int, int]]:
    return {n: (p.stat().st_ino, p.stat().st_mtime_ns) for n, p in _files(results).items() if quarter in n}


def test_quarter_of_names_a_filing_date_as_the_sec_names_its_data_sets() -> None:
    assert [quarter_of(d) for d in ("2024-07-05", "20241231", "2024-01-01", "2025-04-30")] == [
        "2024q3", "2024q4", "2024q1", "2025q2"]
    assert {quarter_of(d) for d in (None, "", "2024-13-01", "July 5, 2024", "2024-7-5")} == {"undated"}


def test_an_update_rewrites_only_its_quarters_and_equals_a_cold_run(tmp_path: Path) -> None:
    paths, dates = _filings()
    results = tmp_path / "results"
    first = publish_files(results, paths[:40], batch_size=7, layout="quarterly", dates=dates[:40])
    assert first["partitions_written"] == ["2024q2", "2024q3"]
    assert (first["succeeded"], first["failed"]) == (39, 1)
    q2 = _stamps(results, "2024q2")
    assert len(q2) == 1 + 8 + 9  # its JSON, 8 tables, 8 SEC files and our extension file

    update = publish_files(results, paths, batch_size=7, layout="quarterly", dates=dates)
    assert update["partitions_written"] == ["2024q3", "undated"]
    assert _stamps(results, "2024q2") == q2  # not rewritten: the same files
    assert (update["succeeded"], update["failed"], update["error_types"]) == (
        60, 2, {"unreadable": 1, "malformed_xml": 1})
    assert update["partitions"]["2024q2"]["failed"] == 1 and update["partitions"]["undated"]["failed"] == 1
    failures = pd.read_csv(results / FAILURES_NAME)
    assert failures["row"].tolist() == [32, 63]  # the kept quarter's row, then the new one
    assert failures["error"].tolist() == ["unreadable", "malformed_xml"]

    cold = publish_files(tmp_path / "cold", paths, batch_size=7, layout="quarterly", dates=dates)
    assert cold["partitions_written"] == ["2024q2", "2024q3", "undated"]
    mine, theirs = _files(results), _files(tmp_path / "cold")
    assert sorted(mine) == sorted(theirs)
    different = [n for n in mine if mine[n].read_bytes() != theirs[n].read_bytes()]
    assert sorted(different) == [SUMS_NAME, SUMMARY_NAME]  # the summary names its directory
    sums = subprocess.run(["sha256sum", "--quiet", "-c", SUMS_NAME], cwd=results, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    summary = json.loads((results / SUMMARY_NAME).read_text())
    assert summary["rows_by_file"]["json/2024q2.json"] == 30
    assert summary["rows_by_file"]["submissions/quarter=2024q3/part-0.parquet"] == 30

    single = publish_files(tmp_path / "single", paths, batch_size=7, dates=dates)
    for table in ("submissions", "reporting_owners", "nonderiv_trans", "deriv_trans", "footnotes"):
        whole = pd.read_parquet(tmp_path / "single" / f"{table}.parquet")
        read = pd.read_parquet(results / table)
        assert read["quarter"].astype(str).value_counts().to_dict().keys() <= {"2024q2", "2024q3"}
        pd.testing.assert_frame_equal(read.drop(columns="quarter"), whole)
        query = f"SELECT count(*), count(DISTINCT accession_number) FROM read_parquet('{results / table}/*/*.parquet', hive_partitioning = true)"
        assert duckdb.connect().execute(query).fetchall() == [(len(whole), whole["accession_number"].nunique())]
    records = [r for q in ("2024q2", "2024q3") for r in json.loads((results / "json" / f"{q}.json").read_text())]
    assert records == json.loads((tmp_path / "single" / single["json_file"]).read_text())
    assert json.loads((results / "json" / "undated.json").read_text()) == []

    again = publish_files(results, paths, batch_size=7, layout="quarterly", dates=dates)
    assert again["partitions_written"] == []


def test_partitions_no_longer_made_and_the_other_layout_leave_with_the_set(tmp_path: Path) -> None:
    paths, dates = _filings()
    results = tmp_path / "results"
    publish_files(results, paths[:10], batch_size=7, dates=dates[:10])
    assert (results / "submissions.parquet").exists()
    publish_files(results, paths[:40], batch_size=7, layout="quarterly", dates=dates[:40])
    assert not (results / "submissions.parquet").exists() and not list(results.glob("parsed_form*.json"))
    assert (results / "submissions" / "quarter=2024q2" / "part-0.parquet").exists()

    summary = publish_files(results, paths[31:40], batch_size=7, layout="quarterly", dates=dates[31:40])
    assert summary["partitions_written"] == ["2024q3"]  # its rows are numbered anew
    names = set(_files(results))
    assert not any("2024q2" in n for n in names) and not (results / "submissions" / "quarter=2024q2").exists()
    listed = {line.split("  ", 1)[1] for line in (results / SUMS_NAME).read_text().splitlines()}
    assert listed == names - {SUMS_NAME}

    single = publish_files(results, paths[:5], batch_size=7, dates=dates[:5])
    assert not (results / "json").exists() and not (results / "submissions").exists()
    assert (results / single["json_file"]).exists() and (results / "submissions.parquet").exists()


def test_a_publication_killed_among_its_renames_is_finished_by_recover(tmp_path: Path, monkeypatch) -> None:
    paths, dates = _filings()
    results = tmp_path / "results"
    publish_files(results, paths[:40], batch_size=7, layout="quarterly", dates=dates[:40])
    before = {n: p.read_bytes() for n, p in _files(results).items()}

    renames = []
    real_replace = os.replace

    def killed_after_three(src, dst):
        if (results / JOURNAL_NAME).exists():  # the set's renames, not the checkpoints' or the journal's
            if len(renames) == 3:
                raise KeyboardInterrupt("killed")  # as a kill (or Ctrl-C) between two renames
            renames.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", killed_after_three)
    with pytest.raises(KeyboardInterrupt):
        publish_files(results, paths, batch_size=7, layout="quarterly", dates=dates)
    monkeypatch.setattr(outputs.os, "replace", real_replace)
    assert (results / JOURNAL_NAME).exists() and len(renames) == 3
    assert _files(results) != before  # torn between the two sets, until recovered

    assert recover(results)
    sums = subprocess.run(["sha256sum", "--quiet", "-c", SUMS_NAME], cwd=results, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert json.loads((results / SUMMARY_NAME).read_text())["succeeded"] == 60
    assert not [n for n in _files(results) if n.endswith(".tmp")]


def test_a_kept_quarter_whose_failures_are_lost_is_written_again(tmp_path: Path) -> None:
    """failures.csv is one file for all quarters, kept by row: if a kept quarter's rows are not
    all in it (edited by hand), that quarter is written again rather than published without them."""
    paths, dates = _filings()
    results = tmp_path / "results"
    publish_files(results, paths[:40], batch_size=7, layout="quarterly", dates=dates[:40])
    lines = (results / FAILURES_NAME).read_text().splitlines(keepends=True)
    assert [line.split(",", 1)[0] for line in lines] == ["row", "32"]  # Q2's missing file
    (results / FAILURES_NAME).write_text(lines[0])

    again = publish_files(results, paths[:40], batch_size=7, layout="quarterly", dates=dates[:40])
    assert again["partitions_written"] == ["2024q2"]
    assert (results / FAILURES_NAME).read_text().splitlines(keepends=True) == lines


def test_the_readme_and_the_ui_summary_say_which_quarters_a_run_wrote(tmp_path: Path) -> None:
    paths, dates = _filings()
    results = tmp_path / "results"
    publish_files(results, paths[:40], batch_size=7, layout="quarterly", dates=dates[:40])
    facts = publish_files(results, paths, batch_size=7, layout="quarterly", dates=dates)
    summary = json.loads((results / SUMMARY_NAME).read_text()) | {
        "parsed": 22, "cached": 40, "manifest": "m.csv", "parser_version": 3, "profile": "local",
        "batches": 4, "batch_size": 7, "seconds": 1.0, "flow_run_id": "f", "flow_run_url": None,
        "slurm_job_ids": [], "settings": {"layout": "quarterly"},
    }
    assert summary["partitions_written"] == facts["partitions_written"] == ["2024q3", "undated"]
    readme = render(summary, "login1")
    assert "(2024q2, 2024q3, undated); this run wrote 2024q3, undated and kept the others" in readme
    assert "| `json/*.json` | 60 |" in readme and "| `submissions/quarter=*/part-0.parquet` | 60 |" in readme
    assert "| `sec/*/DERIV_TRANS.tsv` |" in readme and "| `failures.csv` | 2 |" in readme
    assert "--layout quarterly" in readme  # the rerun command keeps the layout
    assert "- quarterly layout: 3 quarters; written in this run: 2024q3, undated" in summary_markdown(summary)


def test_a_run_keeps_the_layout_it_finds_unless_told(tmp_path: Path) -> None:
    """``form3 run`` over an update's results keeps them quarterly; ``form3 update`` starts
    quarterly; a set from before the layouts (no ``layout`` in its summary) is single."""
    results = tmp_path / "results"
    settings = RunSettings(results_dir=results)
    assert (run_layout(settings), run_layout(settings, new="quarterly")) == ("single", "quarterly")
    paths, dates = _filings()
    publish_files(results, paths[:3], batch_size=7, layout="quarterly", dates=dates[:3])
    assert run_layout(settings) == run_layout(settings, new="single") == "quarterly"
    assert run_layout(RunSettings(results_dir=results, layout="single")) == "single"
    summary = json.loads((results / SUMMARY_NAME).read_text())
    del summary["layout"]
    (results / SUMMARY_NAME).write_text(json.dumps(summary))
    assert run_layout(settings, new="quarterly") == "single"
