"""Publishing in chunks: outputs do not depend on how many filings are published per step."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import flows.publishing as publishing
from flows.outputs import OUTPUT_NAMES, output_names
from flows.publishing import publish_files
from tests.conftest import REPO
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


def _check_documents(results: Path, summary: dict, copy: Path) -> None:
    """README.md and SHA256SUMS as published with the outputs: the checksums pass on a copy
    of the directory (as on a laptop), the README names this run's counts, files and command."""
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns(".checkpoints", "logs"))
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=copy, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = [line.split("  ", 1)[1] for line in (copy / "SHA256SUMS").read_text().splitlines()]
    assert sorted(listed) == sorted(OUTPUT_NAMES + ("run_summary.json", "README.md"))
    readme = (results / "README.md").read_text()
    assert f"| succeeded | {summary['succeeded']:,} |" in readme
    assert f"| `failures.csv` | {summary['failed']:,} |" in readme
    assert f"| `parsed_form3.json` | {summary['succeeded']:,} |" in readme
    assert f"{sys.prefix}/bin/form3 run {summary['manifest']} --results {results} --batch-size 4\n" in readme
    assert f"rsync -av --exclude /.checkpoints --exclude /logs {summary['host']}:{results}/ ./results/" in readme
    assert "Slurm jobs: 41, 42" in readme and summary["slurm_job_ids"] == ["41", "42"]
    form3 = summary["forms"]["3"]  # by form type: every success is a Form 3 here
    assert form3["succeeded"] == summary["succeeded"]
    assert f"| 3 | {form3['filings']:,} | {summary['succeeded']:,} | {form3['failed']:,} |" in readme


def test_plan_then_publish_without_prefect_indexes_what_finished(tmp_path: Path) -> None:
    """The flow's steps as the workers run them: the plan's files, a finished batch, a cache
    hit and a lost batch; publishing indexes the two finished ones, reports the lost one's
    filings as not processed, and a lost index is rebuilt from the batch files."""
    import csv
    import logging

    from flows.checkpoints import CheckpointStore
    from flows.execution import Extracted
    from flows.planning import plan_run, read_rows
    from flows.publishing import publish_outputs
    from flows.settings import RunSettings
    from tasks.batch import extract_items
    from tests.conftest import REPO

    log = logging.getLogger("test")
    settings = RunSettings(manifest=REPO / "data" / "form_3_10.csv", results_dir=tmp_path / "results", batch_size=4)
    plan = plan_run(settings, 2, log)
    assert (plan.filings, plan.done, plan.pending, [b.count for b in plan.batches]) == (10, 0, 10, [4, 4, 2])
    rows = read_rows(Path(plan.rows_path))
    assert [p.ref.row for p in rows.planned] == list(range(2, 12)) and rows.done == {}
    assert sorted(rows.batch_of.values()) == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    for batch in (plan.batches[0], plan.batches[2]):
        records, io_errors = extract_items(batch)
        assert io_errors == {}
        records.write(batch.records_path)
    first, _, last = plan.batches
    extracted = Extracted(
        finished={0: first.records_path.name, 2: last.records_path.name},
        parsed={0}, cache_hits={2}, failed={1: "lost 3 times; last: worker lost"},
    )
    run = {"profile": "local", "flow_run_id": "f00", "flow_run_url": None, "slurm_job_ids": ["41", "42"],
           "host": "login7", "phase_seconds": {"plan": 1.0, "extract": 2.0}, "seconds": 3.0}
    summary = publish_outputs(settings, plan, extracted, run, log)
    assert (summary["parsed"], summary["cached"], summary["cache_hits_in_run"]) == (4, 2, 2)
    assert (summary["succeeded"], summary["not_processed"]) == (6, 4)
    assert json.loads((settings.results_dir / "run_summary.json").read_text()) == summary
    _check_documents(settings.results_dir, summary, tmp_path / "copy")
    with open(settings.results_dir / "failures.csv", newline="") as fh:
        failures = list(csv.DictReader(fh))
    assert [(f["row"], f["error"], f["message"]) for f in failures] == [
        (str(r), "not_processed", "lost 3 times; last: worker lost") for r in range(6, 10)
    ]
    store = CheckpointStore(settings.checkpoint_dir)
    indexed = store.index_path.read_text().splitlines()
    assert len(indexed) == 2
    done = store.load_index()
    assert sorted(set(done.values())) == sorted([first.records_path.name, last.records_path.name])
    assert len(done) == 6

    # A lost (or never written) index: the batch files are the truth, indexed once on load.
    store.index_path.unlink()
    assert store.load_index() == done
    assert len(store.index_path.read_text().splitlines()) == 2
    plan.remove_files()
    again = plan_run(settings, 2, log)
    assert (again.done, again.pending, len(again.batches)) == (6, 4, 1)
    assert again.batches[0].cache_key == plan.batches[1].cache_key  # the same filings, the same key


# main before Forms 4 and 5 were read (parser version 2, checkpoint format 1).
MAIN_BEFORE_FORMS_4_5 = "86bc71042fb8020fce380218bdcf28804b8c0384"


def _checkout(commit: str, where: Path) -> Path:
    """The repository's code at ``commit`` (``git archive``: a plain copy, not a worktree)."""
    import subprocess

    from tests.conftest import REPO

    where.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where


def _publish_files_at_main(where: Path, results: Path, paths: list[Path], batch_size: int) -> dict:
    """``publish_files`` run by main's own code (MAIN_BEFORE_FORMS_4_5, in ``where``)."""
    import json
    import subprocess
    import sys

    old_code = _checkout(MAIN_BEFORE_FORMS_4_5, where)
    script = (
        "import json, sys\nfrom pathlib import Path\nimport flows.publishing as p\n"
        "assert p.__file__.startswith(sys.argv[1]), p.__file__\n"
        "paths = [Path(x) for x in json.loads(sys.argv[3])]\n"
        "print(json.dumps(p.publish_files(Path(sys.argv[2]), paths, batch_size=int(sys.argv[4]))))\n"
    )
    old = subprocess.run(
        [sys.executable, "-c", script, str(old_code), str(results), json.dumps([str(p) for p in paths]),
         str(batch_size)],
        cwd=old_code, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(old_code)},
    )
    assert old.returncode == 0, old.stderr[-3000:]
    return json.loads(old.stdout)


def test_a_store_of_the_form3_parser_is_reused_after_upgrading(tmp_path: Path) -> None:
    """A checkpoint store written by main before Forms 4 and 5 (p2-c1) serves its Form 3
    records and its other errors without a re-parse; its Forms 4 and 5 (``not_form3`` then)
    are parsed; the outputs equal a cold run's."""
    import csv
    import json

    from flows.checkpoints import CheckpointStore, LEGACY_KEY_PREFIXES
    from tasks.batch import KEY_PREFIX

    manifest = load_generator().make(tmp_path / "filings", tmp_path / "manifest.csv", 60, seed=8, mix="edgar")
    with open(manifest, newline="") as fh:
        forms = [r["form_type"] for r in csv.DictReader(fh)]
    paths = sorted((tmp_path / "filings").glob("*.txt"))
    broken = tmp_path / "filings" / "broken.txt"
    broken.write_text("<SEC-DOCUMENT>no XML in here</SEC-DOCUMENT>\n")
    paths.insert(5, broken)
    form45 = sum(1 for f in forms if f[0] in "45")
    assert 40 < form45 < 60 and {"3", "3/A", "4", "4/A", "5", "5/A"} <= set(forms)

    upgraded = tmp_path / "upgraded"
    before = _publish_files_at_main(tmp_path / "main", upgraded, paths, 9)
    assert before["error_types"] == {"not_form3": form45, "malformed_xml": 1}
    store = CheckpointStore(upgraded / ".checkpoints")
    legacy = sorted(p.name for p in store.batches_dir.iterdir())
    assert len(legacy) == 7 and all(n.startswith(LEGACY_KEY_PREFIXES) for n in legacy)

    after = publish_files(upgraded, paths, batch_size=9)
    batches = sorted(p.name for p in store.batches_dir.iterdir())
    new = [n for n in batches if n.startswith(KEY_PREFIX)]
    assert sorted(set(batches) - set(new)) == legacy  # nothing old was rewritten
    parsed = sum(len(json.loads(line)["ids"]) for line in store.index_path.read_text().splitlines()
                 if json.loads(line)["key"] in new)
    assert parsed == form45  # the Form 3s and the broken filing came from the old store
    assert after["error_types"] == {"malformed_xml": 1}
    assert (after["succeeded"], after["json_file"]) == (len(forms), "parsed_form345.json")

    cold = publish_files(tmp_path / "cold", paths, batch_size=9)
    assert after == cold | {"results_dir": str(upgraded), "checkpoint_dir": str(upgraded / ".checkpoints")}
    assert not (upgraded / "parsed_form3.json").exists()  # main's JSON left with its set
    for name in output_names(tmp_path / "cold"):
        a, b = upgraded / name, tmp_path / "cold" / name
        if name.endswith(".parquet"):
            assert pq.read_table(a).equals(pq.read_table(b)), name
        else:
            assert a.read_bytes() == b.read_bytes(), name
    # And again: the legacy batches are indexed once (a marked line), not re-read.
    assert publish_files(upgraded, paths, batch_size=9) == after
    assert sum('"legacy":true' in line for line in store.index_path.read_text().splitlines()) == 7


def test_the_json_is_named_for_its_forms() -> None:
    from flows.outputs import json_name

    assert json_name([]) == json_name(["3", "3/A"]) == "parsed_form3.json"
    assert json_name(["4/A", "4"]) == "parsed_form4.json"
    assert json_name(["5", "3/A", "4"]) == json_name(["3", "4", "5", "5/A", "4/A"]) == "parsed_form345.json"
    assert json_name(["5/A", "4"]) == "parsed_form45.json"


def test_a_failure_carries_the_form_its_bytes_name(tmp_path: Path) -> None:
    """failures.csv's form_type: the SEC header's CONFORMED SUBMISSION TYPE or the XML's
    documentType of a filing that could not be parsed; empty when neither is there."""
    import csv

    from tasks.submission import filed_form_type

    real = (REPO / "data" / "sample" / "0006100243-17-014876.txt").read_bytes()
    cut = real[: real.index(b"</ownershipDocument>")] + b"</XML>\n"
    files = {
        "header.txt": cut.replace(b"CONFORMED SUBMISSION TYPE:\t3", b"CONFORMED SUBMISSION TYPE:\t4/A"),
        "bare.xml": b"<?xml version='1.0'?>\n<ownershipDocument><documentType>5</documentType><issuer>",
        "nothing.txt": b"no submission here",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert [filed_form_type(d) for d in files.values()] == ["4/A", "5", None]
    summary = publish_files(tmp_path / "results", [tmp_path / n for n in files])
    with open(tmp_path / "results" / "failures.csv", newline="") as fh:
        failures = [(r["source"].rsplit("/", 1)[-1], r["error"], r["form_type"]) for r in csv.DictReader(fh)]
    assert failures == [("header.txt", "malformed_xml", "4/A"), ("bare.xml", "malformed_xml", "5"),
                        ("nothing.txt", "no_ownership_xml", "")]
    assert summary["forms"] == {
        "4/A": {"filings": 1, "succeeded": 0, "failed": 1},
        "5": {"filings": 1, "succeeded": 0, "failed": 1},
        "unknown": {"filings": 1, "succeeded": 0, "failed": 1},
    }


def test_a_form3_run_writes_what_main_wrote(tmp_path: Path, corpus: Path) -> None:
    """Form 3s alone, through main's code (86bc710) and through today's: parsed_form3.json the
    same bytes, every Form 3 table the same rows (submissions: main's columns; three Form 4/5
    flag columns added, null), the transaction tables there and empty."""
    from tasks.output_digest import form3_files

    paths = sorted((REPO / "data" / "sample").glob("*.txt")) + form3_files(corpus)
    assert _publish_files_at_main(tmp_path / "main", tmp_path / "old", paths, 40)["succeeded"] == len(paths)
    summary = publish_files(tmp_path / "new", paths, batch_size=40)
    assert (summary["succeeded"], summary["json_file"]) == (len(paths), "parsed_form3.json")
    old_json, new_json = (tmp_path / d / "parsed_form3.json" for d in ("old", "new"))
    assert new_json.read_bytes() == old_json.read_bytes()
    for name in ("submissions", "reporting_owners", "nonderiv_holdings", "deriv_holdings", "footnotes",
                 "owner_signatures"):
        before = pq.read_table(tmp_path / "old" / f"{name}.parquet")
        after = pq.read_table(tmp_path / "new" / f"{name}.parquet")
        assert after.select(before.column_names).equals(before), name
        for added in set(after.column_names) - set(before.column_names):
            assert after.column(added).null_count == after.num_rows, (name, added)
    for name in ("nonderiv_trans", "deriv_trans"):
        assert pq.read_table(tmp_path / "new" / f"{name}.parquet").num_rows == 0
