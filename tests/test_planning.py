"""Planning without reading filings, bounded reads, batching, and the manifest: no servers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from flows.cluster import _seconds, get_profile, lifetime_args
from flows.manifest import ManifestError, read_manifest
from flows.planning import (
    identify, identify_all, make_batches, pending_work, preflight,
)
from flows.settings import RunSettings, auto_batch_size
from tasks.errors import TooLargeError, UnreadableFilingError
from tasks.reading import read_filing
from tests.conftest import REPO

pytestmark = pytest.mark.fast
SAMPLE_DIR = REPO / "data" / "sample"
NAME = "0006178782-19-009282.txt"


def _manifest(tmp_path: Path, rows: list[str], column: str = "path") -> Path:
    path = tmp_path / "m.csv"
    path.write_text(f"id,{column}\n" + "".join(f"{i},{r}\n" for i, r in enumerate(rows)))
    return path


def test_column_flag_reaches_the_manifest(tmp_path: Path) -> None:
    """The bug of issue 14: `--column where` was dropped between the CLI and the flow."""
    manifest = _manifest(tmp_path, [str(SAMPLE_DIR / NAME)], column="where")
    settings = RunSettings(manifest=manifest, column="where")
    assert preflight(settings, None).name == "local"
    man = read_manifest(manifest, "where")
    assert (man.column, [f.source for f in man.filings]) == ("where", [str(SAMPLE_DIR / NAME)])
    with pytest.raises(ManifestError, match="no filing column"):
        read_manifest(manifest)
    with pytest.raises(ManifestError, match="no filing column"):
        preflight(RunSettings(manifest=manifest), None)


def test_manifest_rows_relative_resolved_and_deduplicated(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE_DIR, tmp_path / "s")
    manifest = _manifest(tmp_path, [f"s/{NAME}", f"s/{NAME}", "https://example.org/x.txt"])
    man = read_manifest(manifest)
    assert [(f.row, f.location) for f in man.filings] == [
        (2, str(tmp_path / "s" / NAME)), (4, "https://example.org/x.txt")
    ]
    assert man.duplicates_dropped == 1


def test_identity_without_reading(tmp_path: Path) -> None:
    man = read_manifest(_manifest(tmp_path, [str(SAMPLE_DIR / NAME)]))
    copy = tmp_path / "elsewhere" / NAME
    copy.parent.mkdir()
    shutil.copy(SAMPLE_DIR / NAME, copy)
    plain = tmp_path / "renamed.txt"
    shutil.copy(SAMPLE_DIR / NAME, plain)
    refs = read_manifest(_manifest(tmp_path, [str(SAMPLE_DIR / NAME), str(copy), str(plain)])).filings
    planned = identify_all(refs, 10**6)
    # An EDGAR-named file is its accession, wherever it lies: a copied corpus is done work.
    assert planned[0].identity == planned[1].identity == "accession:0006178782-19-009282"
    st = plain.stat()
    assert planned[2].identity == f"file:{plain}:{st.st_size}:{st.st_mtime_ns}"
    assert identify(man.filings[0], 10**6).error is None
    # A URL naming no accession is identified by the URL: the login node fetches nothing.
    url = read_manifest(_manifest(tmp_path, ["https://example.org/f.txt"])).filings[0]
    assert identify(url, 10).identity == "url:https://example.org/f.txt"


def test_devices_fifos_and_big_files_are_refused_at_planning(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(2000)
    refs = read_manifest(_manifest(tmp_path, ["/dev/zero", str(fifo), str(big), str(tmp_path / "gone.txt")])).filings
    planned = identify_all(refs, 1000)
    kinds = [(p.identity, p.error.kind, p.error.message) for p in planned]
    assert kinds == [
        (None, "unreadable", "not a regular file (a device)"),
        (None, "unreadable", "not a regular file (a FIFO)"),
        (None, "too_large", "2,000 bytes over the cap of 1,000"),
        (None, "unreadable", "cannot read file: No such file or directory"),
    ]


def test_reads_are_bounded_even_for_what_stat_cannot_see(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFilingError, match="a device"):
        read_filing("/dev/zero", 1000)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFilingError, match="a FIFO"):
        read_filing(str(fifo), 1000)  # opened non-blocking: no writer, no hang
    ok = tmp_path / "ok.txt"
    ok.write_bytes(b"x" * 1000)
    data, st = read_filing(str(ok), 1000)
    assert (len(data), st.st_size) == (1000, 1000)
    with pytest.raises(TooLargeError, match="999"):
        read_filing(str(ok), 999)


def test_batches_and_their_labels(tmp_path: Path) -> None:
    pending = [(f"id{i}", f"/f/{i}") for i in range(5)]
    rows = {f"id{i}": i + 2 for i in range(5)}
    batches = make_batches(pending, 2, tmp_path / "items.parquet", "/store/batches", 100, rows)
    assert [b.label for b in batches] == ["rows 2-3 (2 filings)", "rows 4-5 (2 filings)", "row 6 (1 filing)"]
    assert [(b.index, b.count) for b in batches] == [(0, 2), (1, 2), (2, 1)]
    # Each worker reads its own batch's items from the one items file.
    assert [b.read_items() for b in batches] == [pending[0:2], pending[2:4], pending[4:5]]
    # The key is the identities (any order) and the versions, nothing else.
    again = make_batches(list(reversed(pending[:2])), 2, tmp_path / "other.parquet", "/elsewhere", 7)[0]
    assert again.cache_key == batches[0].cache_key and again.cache_key.startswith("form3-p")
    assert batches[0].records_path == Path("/store/batches") / (batches[0].cache_key + ".parquet")
    assert [auto_batch_size(n, w) for n, w in [(10, 2), (10_000, 2), (10**6, 2), (100_000, 40)]] == [25, 1250, 2000, 625]


def test_pending_work_skips_done_and_repeats(tmp_path: Path) -> None:
    refs = read_manifest(_manifest(tmp_path, [str(SAMPLE_DIR / n) for n in sorted(os.listdir(SAMPLE_DIR))[:3]])).filings
    planned = identify_all(refs, 10**6)
    done = {planned[1].identity: "batch.parquet"}
    pending, first_row = pending_work(planned + planned, done)
    assert [i for i, _ in pending] == [planned[0].identity, planned[2].identity]
    assert first_row == {planned[0].identity: 2, planned[2].identity: 4}


def test_profiles_and_walltime_arithmetic(monkeypatch, tmp_path: Path) -> None:
    assert [_seconds(w) for w in ("30", "10:00", "02:00:00", "1-00", "1-2:30", "1-02:00:30")] == [
        1800, 600, 7200, 86400, 95400, 93630,
    ]
    assert lifetime_args("02:00:00") == ["--lifetime", "6120s", "--lifetime-stagger", "360s"]
    assert lifetime_args("00:05:00") == ["--lifetime", "210s", "--lifetime-stagger", "30s"]
    slurm = get_profile("slurm")
    assert (slurm.kind, slurm.same_host, slurm.workers) == ("slurm", False, 40)
    extra = tmp_path / "mine.yaml"
    extra.write_text("slurm:\n  kind: slurm\n  cluster: {processes: 2}\n  adapt: {maximum_jobs: 3}\n")
    monkeypatch.setenv("FORM3_PROFILES", str(extra))
    assert get_profile("slurm").workers == 6  # the user's file wins on a name clash
    with pytest.raises(ValueError, match="is a slurm profile, not local"):
        get_profile("slurm", "local")


@pytest.mark.parametrize("threads_above", [0.0, 1.0])  # every row "slow" (threads), none
def test_identify_all_keeps_manifest_order_across_slices(tmp_path: Path, monkeypatch, threads_above: float) -> None:
    """Rows are identified in slices, on threads when a stat is slow; the result is still one
    Planned per row, in order."""
    import flows.planning as planning

    monkeypatch.setattr(planning, "STAT_SLICE", 3)
    monkeypatch.setattr(planning, "THREADS_ABOVE_SECONDS", threads_above)
    paths = []
    for i in range(10):
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(b"x" * (i + 1))
        paths.append(str(path))
    paths.append(str(tmp_path / "missing.txt"))
    refs = read_manifest(_manifest(tmp_path, paths)).filings
    planned = identify_all(refs, 10**6)
    assert [p.ref for p in planned] == refs
    assert [p.identity for p in planned] == [identify(r, 10**6).identity for r in refs]
    assert planned[-1].identity is None and planned[-1].error is not None
    assert identify_all([], 10**6) == []


def test_manifest_paths_resolve_as_path_resolve_does(tmp_path: Path) -> None:
    """Relative rows are resolved one directory at a time: the same paths as ``Path.resolve``
    per row, through linked directories, linked files, ``..`` and files not there."""
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (real / "a.txt").write_text("a")
    (real / "target.txt").write_text("t")
    (real / "link.txt").symlink_to(real / "target.txt")
    (tmp_path / "dirlink").symlink_to(real)
    rows = ["real/a.txt", "dirlink/a.txt", "dirlink/link.txt", "real/sub/../a.txt", "./real//a.txt",
            "dirlink/missing.txt", "real/sub/..", str(real / "link.txt"), "real/sub/"]
    filings = read_manifest(_manifest(tmp_path, rows)).filings
    expected = [str(Path(r)) if Path(r).is_absolute() else str((tmp_path / r).resolve()) for r in rows]
    assert [f.location for f in filings] == expected
    assert filings[2].location == str(real / "target.txt")


def test_the_pre_check_reads_the_first_rows_and_the_planner_all(tmp_path: Path) -> None:
    """Where a run starts (on a cluster: the login node) only the header and the first
    ``CHECK_ROWS`` rows are read; the planner, on a worker, checks every row the same way."""
    import psutil

    from flows.manifest import CHECK_ROWS, check_manifest, check_url_sources

    rows = [f"/data/{i:07d}.txt" for i in range(200_000)] + ["https://www.sec.gov/Archives/x.txt"]
    manifest = _manifest(tmp_path, rows)
    me = psutil.Process()
    before = me.io_counters().read_chars
    check_manifest(manifest, None, None, 5.0)  # the sec.gov row is past the first rows
    read = me.io_counters().read_chars - before
    assert read < manifest.stat().st_size / 4, (read, manifest.stat().st_size)
    with pytest.raises(ManifestError, match=r"row 200002 \(https://www.sec.gov/Archives/x.txt\)"):
        check_url_sources(read_manifest(manifest), None, 5.0)
    early = _manifest(tmp_path, rows[:CHECK_ROWS - 1] + rows[-1:])
    with pytest.raises(ManifestError, match=f"row {CHECK_ROWS + 1} "):  # the last row checked
        check_manifest(early, None, None, 5.0)
    with pytest.raises(ManifestError, match="no column 'where'"):
        check_manifest(early, "where", None, 5.0)


def test_the_manifest_form_column_reaches_the_plan(tmp_path: Path) -> None:
    """A manifest's form type column (form_type, form or document_type) is read with the filing
    column, kept per row in the plan's rows file, and what failures.csv gets for a filing that
    failed before its form was read."""
    from flows.planning import read_rows, write_rows

    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "form_type,path,company\n"
        f"4,{SAMPLE_DIR / NAME},A\n"
        f" 5/A ,{tmp_path / 'missing.txt'},B\n"
        f",{SAMPLE_DIR / '0006100243-17-014876.txt'},C\n"
    )
    man = read_manifest(manifest)
    assert [(f.row, f.form) for f in man.filings] == [(2, "4"), (3, "5/A"), (4, None)]
    other = tmp_path / "other.csv"
    other.write_text(f"document_type,filing\n3/A,{SAMPLE_DIR / NAME}\n")
    assert [f.form for f in read_manifest(other).filings] == ["3/A"]
    plain = tmp_path / "plain.csv"
    plain.write_text(f"path\n{SAMPLE_DIR / NAME}\n")
    assert [f.form for f in read_manifest(plain).filings] == [None]

    planned = identify_all(man.filings, 10**6)
    assert planned[1].error is not None and planned[1].error.kind == UnreadableFilingError.kind
    write_rows(tmp_path / "rows.parquet", planned, {}, {})
    assert [p.ref.form for p in read_rows(tmp_path / "rows.parquet").planned] == ["4", "5/A", None]
