"""The flow end to end: real Prefect server, real Dask workers, real files."""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows.outputs import OUTPUT_NAMES, output_names
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # a real Prefect server and Dask workers

SAMPLE = REPO / "data" / "form_3_10.csv"
# Every output file, SEC TSVs included: one list, the one publishing writes.
OUTPUTS = OUTPUT_NAMES


def _digests(results: Path) -> dict[str, str]:
    return {n: hashlib.sha256((results / n).read_bytes()).hexdigest() for n in output_names(results)}


def assert_same_outputs(results: Path, reference: Path, layout: str = "single") -> None:
    """Every output equal: byte for byte, Parquet tables by content (their row groups follow
    the order batches finished in). The same files: the JSON's name says which forms it holds."""
    assert output_names(results, layout) == output_names(reference, layout)
    for name in output_names(results, layout):
        if name.endswith(".parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(results / name), pd.read_parquet(reference / name))
        else:
            assert (results / name).read_bytes() == (reference / name).read_bytes(), name


def _table(results: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(results / f"{name}.parquet")


def _manifest_sum(path: Path, column: str, kinds=("3", "3/A")) -> int:
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("document_type", r.get("form_type")) in kinds]
    return sum(int(r[column]) for r in rows)


def test_sample_run_then_rerun_is_all_cached_and_identical(form3, tmp_path: Path) -> None:
    results = tmp_path / "results"
    form3("run", str(SAMPLE), "--results", str(results))
    first = form3.summary(results)
    assert (first["filings"], first["parsed"], first["cached"], first["failed"]) == (10, 10, 0, 0)
    assert len(_table(results, "submissions")) == 10
    for table, column in [
        ("reporting_owners", "n_reporting_owners"),
        ("nonderiv_holdings", "n_nonderivative_holdings"),
        ("deriv_holdings", "n_derivative_holdings"),
        ("footnotes", "n_footnotes"),
    ]:
        assert len(_table(results, table)) == _manifest_sum(SAMPLE, column), table
    records = json.loads((results / "parsed_form3.json").read_text())
    with open(SAMPLE, newline="") as fh:
        expected = [r["accession_number"] for r in csv.DictReader(fh)]
    assert [r["accession_number"] for r in records] == expected  # manifest order
    assert all(r["source"].startswith("sample/") for r in records)
    digests = _digests(results)

    mtimes = {n: (results / n).stat().st_mtime_ns for n in OUTPUTS}

    form3("run", str(SAMPLE), "--results", str(results))
    again = form3.summary(results)
    assert (again["parsed"], again["cached"], again["batches"]) == (0, 10, 0)
    assert again["flow_run_id"] != first["flow_run_id"]
    assert _digests(results) == digests
    # Nothing they are made from changed: the outputs were not even rewritten.
    assert {n: (results / n).stat().st_mtime_ns for n in OUTPUTS} == mtimes
    assert again["outputs_fingerprint"] == first["outputs_fingerprint"]
    assert (again["succeeded"], again["failed"]) == (10, 0)

    (results / "parsed_form3.json").unlink()  # a missing output is written again
    form3("run", str(SAMPLE), "--results", str(results))
    assert form3.summary(results)["parsed"] == 0
    assert _digests(results) == digests


def test_changed_file_is_parsed_again_and_a_copied_corpus_is_done(form3, tmp_path: Path) -> None:
    """Files are identified without reading them: by the accession an EDGAR name carries,
    else by path, size and mtime. A changed file is parsed again; a copy of an EDGAR-named
    corpus in another folder is work already done."""
    data = tmp_path / "data"
    names = sorted(p.name for p in (REPO / "data" / "sample").iterdir())
    (data / "plain").mkdir(parents=True)
    for i, name in enumerate(names):  # names without an accession in them
        shutil.copy(REPO / "data" / "sample" / name, data / "plain" / f"filing{i}.txt")
    manifest = data / "m.csv"
    manifest.write_text("path\n" + "".join(f"plain/filing{i}.txt\n" for i in range(len(names))))
    results = tmp_path / "results"
    form3("run", str(manifest), "--results", str(results))
    assert form3.summary(results)["parsed"] == 10
    # Same path, other content (another filing's bytes): size and mtime change with it.
    first, second = data / "plain" / "filing0.txt", data / "plain" / "filing1.txt"
    first.write_bytes(second.read_bytes())
    os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 1_000_000))
    form3("run", str(manifest), "--results", str(results))
    summary = form3.summary(results)
    assert (summary["parsed"], summary["cached"]) == (1, 9)
    records = json.loads((results / "parsed_form3.json").read_text())
    assert records[0]["accession_number"] == records[1]["accession_number"]
    assert records[0]["provenance"]["sha256"] == records[1]["provenance"]["sha256"]
    assert records[0]["source"] != records[1]["source"]

    # The EDGAR-named sample, copied to another folder: recognised as done by accession.
    form3("run", str(SAMPLE), "--results", str(results))
    copy = tmp_path / "copy"
    shutil.copytree(REPO / "data" / "sample", copy / "sample")
    shutil.copy(SAMPLE, copy / "m.csv")
    form3("run", str(copy / "m.csv"), "--results", str(results))
    summary = form3.summary(results)
    assert (summary["parsed"], summary["cached"], summary["batches"]) == (0, 10, 0)


def test_column_flag_names_the_filing_column(form3, tmp_path: Path) -> None:
    """`form3 run m.csv --column where` (issue 14's bug: the flow lost the flag)."""
    manifest = tmp_path / "m.csv"
    rows = [r["path"] for r in csv.DictReader(open(SAMPLE, newline=""))]
    manifest.write_text("id,where\n" + "".join(f"{i},{REPO / 'data' / p}\n" for i, p in enumerate(rows)))
    results = tmp_path / "results"
    form3("run", str(manifest), "--column", "where", "--results", str(results))
    summary = form3.summary(results)
    assert (summary["filings"], summary["succeeded"], summary["settings"]["column"]) == (10, 10, "where")


def test_corpus_run_tables_match_manifest(form3, corpus: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    form3("run", str(corpus / "MANIFEST.csv"), "--results", str(results), "--batch-size", "20")
    summary = form3.summary(results)
    assert summary["filings"] == 113 and summary["parsed"] == 113
    # Its 9 Forms 4/5 are records since parser version 3 (before: not_form3 errors).
    assert summary["failed"] == summary["data_errors"] == 0
    assert summary["error_types"] == {}
    manifest = corpus / "MANIFEST.csv"
    every = ("3", "3/A", "4", "4/A", "5", "5/A")
    assert len(_table(results, "submissions")) == 113
    assert len(_table(results, "reporting_owners")) == _manifest_sum(manifest, "n_reporting_owners", every)
    assert len(_table(results, "nonderiv_holdings")) == _manifest_sum(manifest, "n_nonderivative_holdings", every)
    assert len(_table(results, "deriv_holdings")) == _manifest_sum(manifest, "n_derivative_holdings", every)
    assert len(_table(results, "footnotes")) == _manifest_sum(manifest, "n_footnotes", every)
    subs = _table(results, "submissions").set_index("accession_number")
    assert subs.loc["0000100493-20-000092", "issuername"] == "TYSON FOODS, INC."
    assert subs.loc["0000100493-20-000092", "filing_date"] == datetime.date(2020, 5, 26)  # a date, typed
    failures = pd.read_csv(results / "failures.csv")
    assert failures.empty


def test_new_filings_in_manifest_are_the_only_ones_parsed(form3, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(REPO / "data" / "sample", data / "sample")
    rows = list(csv.DictReader(open(SAMPLE, newline="")))
    half, full = data / "half.csv", data / "full.csv"
    for path, subset in ((half, rows[:4]), (full, rows)):
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=rows[0].keys())
            writer.writeheader()
            writer.writerows(subset)
    results = tmp_path / "results"
    form3("run", str(half), "--results", str(results))
    assert form3.summary(results)["parsed"] == 4
    form3("run", str(full), "--results", str(results))
    summary = form3.summary(results)
    assert (summary["parsed"], summary["cached"], summary["filings"]) == (6, 4, 10)
    assert len(_table(results, "submissions")) == 10


def test_bad_filings_fail_alone_with_their_error_type(form3, corpus: Path, tmp_path: Path) -> None:
    from tests.test_bad_input import BILLION_LAUGHS, XXE

    good = sorted((REPO / "data" / "sample").glob("*.txt"))[:3]
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    real = (corpus / "filings" / "0000100493-20-000092.txt").read_bytes()
    files = {
        "malformed.txt": real[: real.index(b"</ownershipDocument>")] + b"</XML>\n</TEXT>\n",
        "lol.xml": BILLION_LAUGHS,
        "xxe.xml": XXE,
        "empty.txt": b"",
        "garbage.bin": bytes(range(1, 256)) * 10,
        # A real Form 4 with a documentType outside the six ownership forms.
        "other.xml": (corpus / "filings" / "0001062993-23-012371.xml").read_bytes().replace(
            b"<documentType>4<", b"<documentType>10-K<"
        ),
    }
    for name, data in files.items():
        (bad_dir / name).write_bytes(data)
    manifest = tmp_path / "mixed.csv"
    sources = [str(p) for p in good] + [str(bad_dir / n) for n in files] + [str(bad_dir / "missing.txt")]
    manifest.write_text("path\n" + "\n".join(sources) + "\n")
    results = tmp_path / "results"
    proc = form3("run", str(manifest), "--results", str(results))
    assert "Completed" in proc.stderr
    summary = form3.summary(results)
    assert (summary["filings"], summary["succeeded"], summary["failed"]) == (10, 3, 7)
    failures = {Path(r["source"]).name: r["error"] for r in csv.DictReader(open(results / "failures.csv"))}
    assert failures == {
        "malformed.txt": "malformed_xml",
        "lol.xml": "hostile_xml",
        "xxe.xml": "hostile_xml",
        "empty.txt": "unreadable",
        "garbage.bin": "no_ownership_xml",
        "other.xml": "not_ownership_form",
        "missing.txt": "unreadable",
    }
    assert len(_table(results, "submissions")) == 3


def test_transient_io_error_is_retried(form3, tmp_path: Path) -> None:
    faults = tmp_path / "faults"
    faults.mkdir()
    victim = sorted((REPO / "data" / "sample").glob("*.txt"))[2]
    marker = faults / f"{victim.name}.ioerror"
    marker.write_text("1")  # the first read fails with EIO, the retry succeeds
    results = tmp_path / "results"
    form3("run", str(SAMPLE), "--results", str(results), env={"FORM3_FAULT_DIR": str(faults)})
    summary = form3.summary(results)
    assert marker.read_text() == "0"
    assert (summary["parsed"], summary["failed"]) == (10, 0)


def test_persistent_io_error_fails_run_keeps_others_and_rerun_fixes_it(form3, tmp_path: Path) -> None:
    faults = tmp_path / "faults"
    faults.mkdir()
    victim = sorted((REPO / "data" / "sample").glob("*.txt"))[5]
    marker = faults / f"{victim.name}.ioerror"
    marker.write_text("100")
    results = tmp_path / "results"
    proc = form3(
        "run", str(SAMPLE), "--results", str(results), env={"FORM3_FAULT_DIR": str(faults)},
        check=False,
    )
    assert proc.returncode == 1
    assert "1 filings were not processed" in proc.stderr
    summary = form3.summary(results)
    assert (summary["succeeded"], summary["not_processed"]) == (9, 1)
    assert int(marker.read_text()) == 100 - 4  # first try + 3 retries, then it gave up
    failures = list(csv.DictReader(open(results / "failures.csv")))
    assert [(Path(f["source"]).name, f["error"]) for f in failures] == [(victim.name, "not_processed")]
    assert "injected I/O error" in failures[0]["message"]

    marker.write_text("0")
    form3("run", str(SAMPLE), "--results", str(results))
    summary = form3.summary(results)
    assert (summary["parsed"], summary["cached"], summary["failed"]) == (1, 9, 0)
    assert len(_table(results, "submissions")) == 10


def test_slurm_profile_refuses_a_loopback_api(form3, tmp_path: Path) -> None:
    proc = form3(
        "run", str(SAMPLE), "--results", str(tmp_path / "r"), "--cluster", "slurm",
        env={"PREFECT_API_URL": "http://127.0.0.1:4200/api"}, check=False,
    )
    assert proc.returncode == 2
    assert "cannot reach http://127.0.0.1:4200/api" in proc.stderr
    assert "form3 server --host <the login node's address on the cluster network>" in proc.stderr
    assert not (tmp_path / "r").exists()  # refused before any work


def test_profile_must_match_an_explicit_cluster_kind(form3, tmp_path: Path) -> None:
    proc = form3("run", str(SAMPLE), "--cluster", "local", "--profile", "single-node", check=False)
    assert proc.returncode == 2
    assert "'single-node' is a slurm profile, not local" in proc.stderr


def test_devices_fifos_and_huge_files_fail_alone(form3, tmp_path: Path) -> None:
    """/dev/zero once made the flow process read until the OOM killer ended it. Now the
    login node only stats, workers read at most the cap: three rows in failures.csv."""
    import os

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # 200 MB, sparse
    rows = [str(REPO / "data" / r["path"]) for r in csv.DictReader(open(SAMPLE, newline=""))]
    manifest = tmp_path / "m.csv"
    manifest.write_text("path\n" + "\n".join(rows[:3] + ["/dev/zero", str(fifo), str(huge)] + rows[3:]) + "\n")
    results = tmp_path / "results"
    form3("run", str(manifest), "--results", str(results))
    summary = form3.summary(results)
    assert (summary["filings"], summary["succeeded"], summary["failed"]) == (13, 10, 3)
    failures = list(csv.DictReader(open(results / "failures.csv")))
    assert [(f["row"], f["source"], f["error"], f["message"]) for f in failures] == [
        ("5", "/dev/zero", "unreadable", "not a regular file (a device)"),
        ("6", str(fifo), "unreadable", "not a regular file (a FIFO)"),
        ("7", str(huge), "too_large", "209,715,200 bytes over the cap of 52,428,800"),
    ]


def test_prefect_client_reads_our_task_runs(form3, prefect_api: str, tmp_path: Path) -> None:
    """What the task persists is plain JSON: Prefect's own client and CLI read the task runs
    and their results (the compressed pickle once broke read_task_runs)."""
    import asyncio
    import subprocess
    import sys
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from tests.conftest import cli_env

    results = tmp_path / "results"
    form3("run", str(SAMPLE), "--results", str(results), "--batch-size", "4")
    run_id = uuid.UUID(form3.summary(results)["flow_run_id"])

    async def read():
        async with get_client() as client:
            runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
            # plan and publish persist nothing: their results go straight to the flow.
            return [
                (r.name, r.state.name, await r.state.result(raise_on_failure=False) if r.name.startswith("extract") else None)
                for r in runs
            ]

    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_api}):
        task_runs = asyncio.run(read())
    # The plan and publish steps ran as task runs too (on a worker).
    assert sorted(name for name, _, _ in task_runs) == [
        "extract rows 10-11 (2 filings)", "extract rows 2-5 (4 filings)", "extract rows 6-9 (4 filings)",
        "plan", "publish",
    ]
    assert all(state == "Completed" for _, state, _ in task_runs)
    summaries = [r for name, _, r in task_runs if name.startswith("extract")]
    assert sorted(s["filings"] for s in summaries) == [2, 4, 4]
    assert all((results / ".checkpoints" / "batches" / s["records"]).is_file() for s in summaries)
    ls = subprocess.run([sys.executable, "-m", "prefect", "task-run", "ls"], capture_output=True,
                        text=True, env=cli_env(prefect_api), timeout=120)
    assert ls.returncode == 0 and "extract rows 2-5" in ls.stdout, ls.stderr[-2000:]


def test_workers_run_without_dasks_statistical_profiler(monkeypatch) -> None:
    """flows.cluster.WORKER_DASK_CONFIG reaches a real worker process (the profiler tripled
    planning's cost there); a user's own setting wins."""
    import dask
    from distributed import Client, LocalCluster

    from flows.cluster import get_profile, task_runner_for

    monkeypatch.delenv("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", raising=False)
    monkeypatch.setitem(dask.config.config["distributed"]["worker"]["profile"], "enabled", True)
    task_runner_for(get_profile("local"))
    assert os.environ["DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"] == "False"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        seen = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert list(seen.values()) == [False]
    monkeypatch.setenv("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "True")
    with dask.config.set({"distributed.worker.profile.enabled": True}):  # as Dask read it
        task_runner_for(get_profile("local"))
        assert os.environ["DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"] == "True"
        assert dask.config.get("distributed.worker.profile.enabled") is True


def test_mixed_run_names_its_json_for_its_forms_and_counts_by_form(form3, tmp_path: Path) -> None:
    """EDGAR's mix (Forms 3, 4, 5 and amendments): the JSON is parsed_form345.json, the run
    summary counts every form type as the manifest does, a failure carries the manifest's
    form type; a rerun over the Form 3s alone publishes parsed_form3.json instead, as one set."""
    from tests.conftest import load_generator

    manifest = load_generator().make(tmp_path / "filings", tmp_path / "mix.csv", 40, seed=21, mix="edgar")
    rows = list(csv.DictReader(open(manifest, newline="")))
    missing = {k: "0" if k.startswith("n_") else "" for k in rows[0]} | {"path": "filings/gone.txt", "form_type": "4/A"}
    with open(manifest, "a", newline="") as fh:
        csv.DictWriter(fh, fieldnames=rows[0].keys(), lineterminator="\n").writerow(missing)
    results = tmp_path / "results"
    form3("run", str(manifest), "--results", str(results), "--batch-size", "15")
    summary = form3.summary(results)
    by_form: dict[str, int] = {}
    for r in rows:
        by_form[r["form_type"]] = by_form.get(r["form_type"], 0) + 1
    assert set(by_form) == {"3", "3/A", "4", "4/A", "5", "5/A"}
    expected = {f: {"filings": n, "succeeded": n, "failed": 0} for f, n in by_form.items()}
    expected["4/A"] = {"filings": by_form["4/A"] + 1, "succeeded": by_form["4/A"], "failed": 1}
    assert summary["forms"] == expected
    assert list(summary["forms"])[0] == "4"  # most filings first
    assert (summary["filings"], summary["succeeded"], summary["failed"]) == (41, 40, 1)
    assert summary["json_file"] == "parsed_form345.json"
    assert sorted(p.name for p in results.glob("parsed_form*.json")) == ["parsed_form345.json"]
    records = json.loads((results / "parsed_form345.json").read_text())
    assert [r["accession_number"] for r in records] == [r["accession_number"] for r in rows]
    every = tuple(by_form)
    for table, column in [
        ("nonderiv_trans", "n_nonderivative_transactions"),
        ("deriv_trans", "n_derivative_transactions"),
        ("nonderiv_holdings", "n_nonderivative_holdings"),
        ("deriv_holdings", "n_derivative_holdings"),
        ("reporting_owners", "n_reporting_owners"),
        ("footnotes", "n_footnotes"),
    ]:
        assert len(_table(results, table)) == _manifest_sum(manifest, column, every), table
    assert _manifest_sum(manifest, "n_nonderivative_transactions", every) > 40
    failures = list(csv.DictReader(open(results / "failures.csv", newline="")))
    assert [(f["source"], f["error"], f["form_type"]) for f in failures] == [
        ("filings/gone.txt", "unreadable", "4/A")
    ]

    threes = tmp_path / "threes.csv"
    with open(threes, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=rows[0].keys(), lineterminator="\n")
        writer.writeheader()
        writer.writerows(r for r in rows if r["form_type"] in ("3", "3/A"))
    form3("run", str(threes), "--results", str(results))
    again = form3.summary(results)
    assert (again["parsed"], again["cached"], again["json_file"]) == (0, by_form["3"] + by_form["3/A"], "parsed_form3.json")
    assert sorted(p.name for p in results.glob("parsed_form*.json")) == ["parsed_form3.json"]
    assert not list(results.glob(".parsed_form*.tmp"))
    assert {r["document_type"] for r in json.loads((results / "parsed_form3.json").read_text())} == {"3", "3/A"}
    assert len(_table(results, "nonderiv_trans")) == 0  # written, empty
