"""``form3 update``: day by day from EDGAR's daily indexes, served over HTTP by the test.

A small EDGAR tree on the test's own loopback server (``tests/filing_server.py``): real Form 3
filings of the corpus (and a real Form 4) at their ``edgar/data/CIK/ACCESSION.txt`` paths, and
daily ``form.YYYYMMDD.idx`` files for Friday 2024-06-28 (the second quarter) and Monday
2024-07-01 to Tuesday 2024-07-09 with a weekend,
Independence Day (404), Tuesday 07-02's index gaining a late filing after it was first read,
and 07-09's index refused (403) until it is "published". Updates run with a simulated today
(``--today``); one is SIGKILLed in the middle of its flow and the next one completes it.
Every filing is parsed exactly once (each identity in exactly one checkpoint batch); the
outputs are in the quarterly layout, whose 2024 Q2 partition no update after the first rewrites;
and the final outputs equal a cold ``form3 run --layout quarterly`` over the cumulative manifest.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from tasks.checkpoint_format import read_identities
from tasks.daily_index import daily_index_location
from tests.conftest import REPO, cli_env, finished_batches
from tests.filing_server import FilingServer
from tests.test_flow import assert_same_outputs

pytestmark = pytest.mark.slow

UA = "form3-pipeline tests tests@example.org"
HEADER = ("Description:           Daily Index of EDGAR Dissemination Feed by Form Type\n"
          "Last Data Received:    {day:%b %d, %Y}\nComments:              webmaster@sec.gov\n"
          " \n \nForm Type   Company Name                                                  "
          "CIK         Date Filed  File Name\n" + "-" * 141 + "\n")
OTHER = [("10-K", "EXAMPLE CORP", 1900001, "0001900001-24-000009"),
         ("SC 13G/A", "EXAMPLE FUND LP", 1900002, "0001900002-24-000001")]


def _index_text(day: date, rows: list[tuple[str, str, int, str]]) -> str:
    lines = [f"{form:<17}{company[:60]:<62}{cik:<12}{day:%Y%m%d}    edgar/data/{cik}/{acc}.txt"
             for form, company, cik, acc in rows]
    return (HEADER.format(day=day) + "\r\n".join(lines) + "\r\n").replace("\n", "\r\n")


class Edgar:
    """The served tree: filings, and each day's index file (replaceable: a late filing)."""

    def __init__(self, server: FilingServer, corpus: Path, root: Path) -> None:
        self.server, self.root = server, root
        with open(corpus / "MANIFEST.csv", newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["kind"] == "full-submission-txt"]
        self.form3 = [r for r in rows if r["document_type"] == "3"]
        self.form4 = next(r for r in rows if r["document_type"] == "4")
        for r in self.form3 + [self.form4]:
            path = f"/Archives/edgar/data/{int(r['issuer_cik'])}/{r['accession_number']}.txt"
            server.serve(path, corpus / r["file"])

    @staticmethod
    def row(r: dict[str, str]) -> tuple[str, str, int, str]:
        return (r["document_type"], r["issuer_name"], int(r["issuer_cik"]), r["accession_number"])

    def publish(self, day: date, filings: list[dict[str, str]], owner_listing: bool = True) -> str:
        rows = [self.row(r) for r in filings] + OTHER
        if owner_listing:  # EDGAR lists a filing under each filer: the first again, as an owner
            rows.append(("3", "DOE JANE", 1812345, filings[0]["accession_number"]))
        path = "/" + daily_index_location("Archives", day)
        file = self.root / f"form.{day:%Y%m%d}.{len(rows)}.idx"
        file.write_bytes(_index_text(day, rows).encode("latin-1"))
        self.server.serve(path, file)
        return path

    @property
    def archive(self) -> str:
        return self.server.base + "/Archives/"


def _update(results: Path, archive: str, today: str, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "update", "--since", "2024-06-28", "--today", today,
         "--archive", archive, "--results", str(results), "--recheck-days", "3",
         "--batch-size", "2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return json.loads(proc.stdout)


def _partition_files(results: Path, quarter: str) -> dict[str, tuple[int, int]]:
    """Each file of a partition: (inode, mtime): a rewrite, even to the same bytes, changes both."""
    return {str(p.relative_to(results)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in results.rglob("*") if p.is_file() and quarter in str(p.relative_to(results))}


def _manifest_accessions(results: Path) -> list[str]:
    with open(results / "update-manifest.csv", newline="") as fh:
        return [r["accession_number"] for r in csv.DictReader(fh)]


def test_daily_updates_with_weekend_holiday_late_filing_and_a_kill(
    form3, prefect_api: str, corpus: Path, tmp_path: Path,
) -> None:
    results = tmp_path / "results"
    env = cli_env(prefect_api, FORM3_USER_AGENT=UA)
    with FilingServer() as server:
        edgar = Edgar(server, corpus, tmp_path)
        f3 = edgar.form3
        late = f3[4]
        edgar.publish(date(2024, 6, 28), f3[35:37])
        edgar.publish(date(2024, 7, 1), f3[0:2])
        tue = edgar.publish(date(2024, 7, 2), f3[2:4])
        edgar.publish(date(2024, 7, 3), f3[5:6])
        # 07-04: Independence Day, no index (404). 07-06/07: a weekend.
        edgar.publish(date(2024, 7, 5), f3[6:30] + [edgar.form4])
        edgar.publish(date(2024, 7, 8), f3[30:33])
        today_path = edgar.publish(date(2024, 7, 9), f3[33:35])
        server.always(today_path, 403)  # not yet published

        first = _update(results, edgar.archive, "2024-07-01", env)
        assert first["update"]["new_filings"] == 4 and first["parsed"] == 4
        assert (first["layout"], first["partitions_written"]) == ("quarterly", ["2024q2", "2024q3"])
        q2 = _partition_files(results, "2024q2")
        assert len(q2) == 18  # its JSON, 8 tables, 9 SEC files
        second = _update(results, edgar.archive, "2024-07-02", env)
        assert second["update"]["days_indexed"] == ["2024-07-01", "2024-07-02"]
        assert (second["parsed"], second["cached"], second["update"]["new_filings"]) == (2, 4, 0 + 2)
        assert second["partitions_written"] == ["2024q3"]

        # Downtime over 07-03 to 07-05; meanwhile 07-02's index gains a late filing.
        edgar.publish(date(2024, 7, 2), f3[2:5])
        batches_before = finished_batches(results)
        killed = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "update", "--since", "2024-06-28", "--today",
             "2024-07-05", "--archive", edgar.archive, "--results", str(results),
             "--recheck-days", "3", "--batch-size", "2"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the kill takes its Dask workers too
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and killed.poll() is None:
            if finished_batches(results) >= batches_before + 2:
                break
            time.sleep(0.05)
        assert killed.poll() is None, "the update finished before it could be killed"
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        assert finished_batches(results) < batches_before + 14  # 27 new filings, 2 a batch

        caught_up = _update(results, edgar.archive, "2024-07-05", env)
        report = caught_up["update"]
        # The killed update committed its days: this one re-reads the recent ones and adds none.
        assert report["new_filings"] == 0 and report["manifest_filings"] == 2 + 4 + 1 + 1 + 25
        assert report["days_without_index"] == ["2024-07-04"]
        assert caught_up["filings"] == 33 and caught_up["parsed"] + caught_up["cached"] == 33
        assert 0 < caught_up["parsed"] < 27  # what the killed run had not finished
        assert late["accession_number"] in _manifest_accessions(results)

        monday = _update(results, edgar.archive, "2024-07-09", env)
        assert monday["update"]["days_without_index"] == ["2024-07-09"]  # 403: not yet
        assert (monday["update"]["new_filings"], monday["parsed"]) == (3, 3)
        server.always(today_path, None)  # published later that day
        tuesday = _update(results, edgar.archive, "2024-07-09", env)
        assert (tuesday["update"]["new_filings"], tuesday["parsed"], tuesday["cached"]) == (2, 2, 36)
        assert tuesday["partitions_written"] == ["2024q3"]
        again = _update(results, edgar.archive, "2024-07-09", env)
        assert (again["update"]["new_filings"], again["parsed"], again["filings"]) == (0, 0, 38)
        assert again["partitions_written"] == []
        # Q2's files were written once, by the first update: never replaced since.
        assert _partition_files(results, "2024q2") == q2

        # Never asked for a weekend; the holiday was asked and quietly skipped.
        asked = {r.path.rsplit(".", 2)[-2] for r in server.seen() if "daily-index" in r.path}
        assert not asked & {"20240706", "20240707"} and "20240704" in asked
        assert {r.user_agent for r in server.seen()} == {UA}
        # Each filing fetched once (the cache and the mirror keep them), never a 10-K.
        filing_gets = [r.path for r in server.seen() if "/edgar/data/" in r.path]
        assert len(filing_gets) == len(set(filing_gets)) == 38
        assert not any("1900001" in p or "1900002" in p for p in filing_gets)

        cold = tmp_path / "cold"
        form3("run", str(results / "update-manifest.csv"), "--results", str(cold), "--layout", "quarterly",
              env={"FORM3_USER_AGENT": UA})
        cold_summary = form3.summary(cold)
        assert (cold_summary["parsed"], cold_summary["failed"]) == (38, 0)
        # The Form 4 is a record like the 35 Form 3s (parser version 3 reads every ownership form).
        assert cold_summary["forms"]["4"] == {"filings": 1, "succeeded": 1, "failed": 0}
        assert cold_summary["json_file"] == "json/" and list(cold_summary["partitions"]) == ["2024q2", "2024q3"]

    manifest = _manifest_accessions(results)
    assert len(manifest) == len(set(manifest)) == 38
    # Every filing parsed exactly once over all the updates, the killed one included.
    identities = [i for p in (results / ".checkpoints" / "batches").glob("form3-*.parquet")
                  for i in read_identities(p)]
    assert len(identities) == len(set(identities)) == 38
    assert_same_outputs(results, cold, "quarterly")
    readme = (results / "README.md").read_text()  # the last update's: it wrote no quarter
    assert "| `json/*.json` | 38 |" in readme and "| `sec/*/SUBMISSION.tsv` | 38 |" in readme
    assert "(2024q2, 2024q3); this run wrote none and kept the others" in readme
