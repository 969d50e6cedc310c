"""A worker's per-filing cost against the bare loop, and the publishing cost, in one process.

For the first N filings of a synthetic set (``benchmarks/flow_bench.py`` keeps them under
``/var/tmp/form3-bench/<MIX>/<N>``, by default EDGAR's mix of Forms 3, 4 and 5), in one run:

- bare loop: read + ``tasks.extract.parse_filing`` per filing, writing nothing (as flow_bench);
- worker: ``tasks.batch.extract_items`` over batches of ``--batch-size`` and
  ``BatchRecords.write`` (the checkpoint Parquet file), as a Dask worker runs a batch;
- the worker's steps one at a time over the same filings (read, sha256, parse, the record:
  its JSON text and its table rows, the Arrow table, the Parquet write);
- publishing (``--publish``, off with 0): ``flows.publishing.publish_files`` on the first
  ``--publish`` filings (the same code as a run), with the time inside
  ``ResultsWriter.add_records``, the SEC TSV export (``write_sec_tsv``) and the rest of
  ``ResultsWriter.commit`` reported apart; then ``export_results`` again alone.

The heap is made like a Dask worker's first (``prefect`` and ``distributed`` imported, ~190,000
objects for the garbage collector; ``--bare-heap`` to skip): what the worker keeps alive per
filing then costs what it costs there. ``--profile`` prints the top of a cProfile of the worker path. Prints figures; asserts nothing.
Read the ratios (one run each): the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import hashlib
import json
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pyarrow.parquet as pq  # noqa: E402

from flows.manifest import read_manifest  # noqa: E402
from flows.planning import make_batches  # noqa: E402
from tasks import batch as batch_mod  # noqa: E402
from tasks import checkpoint_format as cf  # noqa: E402
from tasks.batch import Batch, extract_items  # noqa: E402
from tasks.errors import FilingError  # noqa: E402
from tasks.extract import parse_filing, sha256_of  # noqa: E402
from tasks.reading import DEFAULT_MAX_BYTES, read_filing  # noqa: E402

DEFAULT_SET = Path("/var/tmp/form3-bench/edgar/10000")  # flow_bench's EDGAR mix


def bare_loop(locations: list[str]) -> float:
    start = time.perf_counter()
    for location in locations:
        with open(location, "rb") as fh:
            data = fh.read()
        try:
            parse_filing(data)
        except FilingError:
            pass
    return time.perf_counter() - start


def _batches(locations: list[str], size: int, out: Path) -> list[Batch]:
    """The batches a plan makes (their items file written, as the planner does)."""
    out.mkdir(parents=True, exist_ok=True)
    pending = [(f"id:{loc}", loc) for loc in locations]
    return make_batches(pending, size, out / "items.parquet", str(out), DEFAULT_MAX_BYTES)


def worker_path(batches: list[Batch]) -> float:
    start = time.perf_counter()
    for batch in batches:
        records, _ = extract_items(batch)
        records.write(batch.records_path)
    return time.perf_counter() - start


def steps(batches: list[Batch], out: Path) -> dict[str, float]:
    """Each step of the worker path on its own, over the same filings, with the garbage
    collector off (holding a batch's parsed filings between steps would bill its full
    collections to whichever step ran into them); the worker's own figure includes it."""
    gc.disable()
    try:
        return _steps(batches, out)
    finally:
        gc.enable()


def _steps(batches: list[Batch], out: Path) -> dict[str, float]:
    t: dict[str, float] = defaultdict(float)
    clock = time.perf_counter
    for batch in batches:
        items = batch.read_items()
        s = clock()
        datas = [read_filing(loc, batch.max_bytes)[0] for _, loc in items]
        t["read"] += clock() - s
        s = clock()
        shas = [sha256_of(d) for d in datas]
        t["sha256"] += clock() - s
        s = clock()
        filings = []
        for d, h in zip(datas, shas):
            try:
                filings.append(parse_filing(d, h))
            except FilingError:
                pass
        t["parse"] += clock() - s
        # The record's parts as BatchRecords.add_record builds them (whatever it calls).
        for name, fn in _record_parts():
            s = clock()
            for f in filings:
                fn(f)
            t[f"  ({name})"] += clock() - s
        records = cf.BatchRecords.empty()
        s = clock()
        for (identity, _), f in zip(items, filings):
            records.add_record(identity, f)
        t["record (add_record)"] += clock() - s
        s = clock()
        table = records.to_table()
        t["arrow table"] += clock() - s
        s = clock()
        path = out / f"steps-{batch.label}.parquet"
        cf.write_table(table, path) if hasattr(cf, "write_table") else pq.write_table(table, path, compression="zstd")
        t["parquet write"] += clock() - s
    return dict(t)


def _record_parts() -> list[tuple[str, object]]:
    parts = []
    if hasattr(cf, "filing_to_dict"):
        parts.append(("dict", cf.filing_to_dict))
        parts.append(("dict + json", lambda f: json.dumps(cf.filing_to_dict(f), ensure_ascii=False)))
    if hasattr(cf, "json_tail"):
        parts.append(("json tail", cf.json_tail))
    if hasattr(cf, "table_rows"):
        parts.append(("table rows", cf.table_rows))
    return parts


def publishing(paths: list[Path], tmp: Path) -> None:
    from flows import outputs, publishing as pub
    from tasks.sec_tsv import export_results

    spent: dict[str, float] = defaultdict(float)

    def timed(name, fn):  # noqa: ANN001, ANN202
        @functools.wraps(fn)
        def wrapper(*a, **k):  # noqa: ANN002, ANN003, ANN202
            s = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.perf_counter() - s
        return wrapper

    patches = [
        (batch_mod, "extract_items"), (pub, "publish"), (outputs.ResultsWriter, "add_records"),
        (outputs.ResultsWriter, "add_failure"), (outputs.ResultsWriter, "commit"), (outputs, "write_sec_tsv"),
        (pub, "_records_of"), (pub, "_table_rows"),
    ]
    saved = [(obj, name, getattr(obj, name)) for obj, name in patches]
    for obj, name, fn in saved:
        setattr(obj, name, timed(name, fn))
    try:
        s = time.perf_counter()
        pub.publish_files(tmp / "results", paths)
        total = time.perf_counter() - s
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)
    s = time.perf_counter()
    export_results(tmp / "results", tmp / "again")
    export = time.perf_counter() - s
    n = len(paths)
    writer = spent["add_records"] + spent["add_failure"] + spent["commit"]
    print(f"publish_files {n} filings: {total:.2f} s (extract+checkpoints {spent['extract_items']:.2f} s, "
          f"publish {spent['publish']:.2f} s)")
    print(f"  publish: read checkpoints {spent['_records_of']:.2f} s | table rows {spent['_table_rows']:.2f} s | "
          f"ResultsWriter {writer:.2f} s = add_records {spent['add_records']:.2f} + commit {spent['commit']:.2f} "
          f"(of which SEC TSV {spent['write_sec_tsv']:.2f})")
    print(f"  export_results alone: {export:.2f} s ({export / n * 1e3:.4f} ms/filing)")
    for name in sorted(p.name for p in (tmp / "results").iterdir() if p.is_file()):
        digest = hashlib.sha256((tmp / "results" / name).read_bytes()).hexdigest()[:16]
        print(f"    {name} {digest}")
    for name in sorted(p.name for p in (tmp / "results" / "sec").iterdir()):
        digest = hashlib.sha256((tmp / "results" / "sec" / name).read_bytes()).hexdigest()[:16]
        print(f"    sec/{name} {digest}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--set", type=Path, default=DEFAULT_SET, help="a synthetic set's directory (manifest.csv)")
    ap.add_argument("--filings", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=2_000)
    ap.add_argument("--publish", type=int, default=10_000, help="filings to publish (0: skip)")
    ap.add_argument("--repeat", type=int, default=3, help="bare loop and worker path, alternated")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--bare-heap", action="store_true", help="do not import prefect and distributed first")
    args = ap.parse_args()
    if not args.bare_heap:
        import distributed  # noqa: F401
        import prefect  # noqa: F401
    every = [f.location for f in read_manifest(args.set / "manifest.csv").filings]
    locations = every[: args.filings]
    n = len(locations)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for location in locations:  # the page cache warm for both
            Path(location).read_bytes()
        bare_loop(locations[:500])  # and the imports
        loops, workers = [], []
        for r in range(args.repeat):  # alternated, the best of each: the machine is shared
            loops.append(bare_loop(locations))
            workers.append(worker_path(_batches(locations, args.batch_size, tmp / f"ck-{r}")))
        loop, worker = min(loops), min(workers)
        print(f"{n} filings, batches of {args.batch_size}, best of {args.repeat}")
        print(f"bare loop {loop / n * 1e3:.4f} ms/filing | worker {worker / n * 1e3:.4f} ms/filing | "
              f"worker/loop {worker / loop:.3f}")
        runs = [steps(_batches(locations, args.batch_size, tmp / f"st-{r}"), tmp) for r in range(args.repeat)]
        t = {k: min(r[k] for r in runs) for k in runs[0]}  # each step's best
        whole = sum(v for k, v in t.items() if not k.startswith(" "))
        print(f"steps, GC off, each its best of {args.repeat} (ms/filing, share of their sum, vs the bare loop):")
        for k, v in t.items():
            share = "" if k.startswith(" ") else f"{v / whole:6.1%}"
            print(f"  {k:24s} {v / n * 1e3:8.4f} {share:>7s} {v / loop:6.3f}x")
        print(f"  {'sum':24s} {whole / n * 1e3:8.4f}         {whole / loop:6.3f}x")
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            worker_path(_batches(locations, args.batch_size, tmp / "ck3"))
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        if args.publish:
            paths = [Path(p) for p in every[: args.publish]]
            publishing(paths, tmp)


if __name__ == "__main__":
    main()
