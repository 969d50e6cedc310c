"""Cost of the SEC-layout TSV export (tasks/sec_tsv.py) next to parsing and writing the rest.

Generates N synthetic filings (data/make_sample.py), parses them in one process, writes every
output with the flow's publishing code, then times the export again alone on the final Parquet
tables. Prints figures; asserts nothing. Compare the export's seconds with a cold
``form3 run`` of the same N (benchmarks/flow_bench.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tasks.sec_tsv import export_results  # noqa: E402
from flows.publishing import publish_files  # noqa: E402
from benchmarks.flow_bench import _generator  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--filings", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        _generator().make(root / "filings", root / "manifest.csv", args.filings, seed=11)
        print(f"generated {args.filings} filings in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        publish_files(root / "results", sorted((root / "filings").iterdir()))
        total = time.perf_counter() - t
        t = time.perf_counter()
        counts = export_results(root / "results", root / "again")
        export = time.perf_counter() - t
        print(f"parse + all outputs (incl. export): {total:.1f} s; export alone: {export:.1f} s "
              f"({export / total:.0%} of parse + write); rows: {counts}")


if __name__ == "__main__":
    main()
