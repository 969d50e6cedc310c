"""Cost of the SEC-layout TSV export (tasks/sec_tsv.py) next to parsing and writing the rest.

Generates N synthetic filings (data/make_sample.py), parses them in one process, writes every
output with the flow's publishing code, then times the export again alone on the final Parquet
tables. Prints figures; asserts nothing. Compare the export's seconds with a cold
``form3 run`` of the same N (benchmarks/flow_bench.py).

``--filings-dir DIR`` uses filings made beforehand (another generator, e.g. one with EDGAR's mix
of Forms 3, 4 and 5: ``python make_sample.py --mix edgar --count N --out DIR``) instead.

``--baseline TREE`` (a checkout of another revision, e.g. ``git worktree add /tmp/base main``
or ``git archive main | tar -x -C /tmp/base``) also times that tree's export on the same
Parquet tables, alternating with this tree's, each in a fresh process, ``--rounds`` times:
before/after figures of one run on one machine, whose ratio holds when the machine is busy.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tasks.sec_tsv import export_results  # noqa: E402
from flows.publishing import publish_files  # noqa: E402
from benchmarks.flow_bench import _generator  # noqa: E402

# Run in a fresh process with the tree's own code: prints the export's seconds.
_TIMED_EXPORT = (
    "import sys, time; from pathlib import Path; from tasks.sec_tsv import export_results; "
    "t = time.perf_counter(); export_results(Path(sys.argv[1]), Path(sys.argv[2])); "
    "print(time.perf_counter() - t)"
)


def timed_export(tree: Path, results: Path, out: Path) -> float:
    """Seconds of ``tree``'s export of ``results`` into ``out`` (imports not counted)."""
    proc = subprocess.run(
        [sys.executable, "-c", _TIMED_EXPORT, str(results), str(out)],
        cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True,
    )
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filings", type=int, default=100_000)
    ap.add_argument("--filings-dir", type=Path, help="filings made beforehand (all .txt files in it)")
    ap.add_argument("--baseline", type=Path, help="another checkout whose export to time on the same tables")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        filings = args.filings_dir or root / "filings"
        if not args.filings_dir:
            t = time.perf_counter()
            _generator().make(filings, root / "manifest.csv", args.filings, seed=11)
            print(f"generated {args.filings} filings in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        publish_files(root / "results", sorted(filings.glob("*.txt")))
        total = time.perf_counter() - t
        t = time.perf_counter()
        counts = export_results(root / "results", root / "again")
        export = time.perf_counter() - t
        print(f"parse + all outputs (incl. export): {total:.1f} s; export alone: {export:.1f} s "
              f"({export / total:.0%} of parse + write); rows: {counts}")
        if args.baseline:
            ours, base = [], []
            for _ in range(args.rounds):
                base.append(timed_export(args.baseline.resolve(), root / "results", root / "base"))
                ours.append(timed_export(REPO, root / "results", root / "ours"))
            b, o = statistics.median(base), statistics.median(ours)
            print(f"export, median of {args.rounds} alternating rounds: baseline {b:.2f} s, this tree {o:.2f} s, "
                  f"ratio {o / b:.2f}x (baseline {', '.join(f'{x:.2f}' for x in base)}; "
                  f"this tree {', '.join(f'{x:.2f}' for x in ours)})")


if __name__ == "__main__":
    main()
