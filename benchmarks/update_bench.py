"""Where a daily update's time goes: ``form3 run`` cold on a store of N filings, then the run
``form3 update`` makes after appending ADD new filings to the cumulative manifest (the same
flow over N + ADD rows, N of them checkpointed), phases printed, in one run.

The set of N + ADD synthetic filings (data/make_sample.py, filed 2015-2024) is generated once
under ``--data-dir`` (outside the repository, reused by later runs) and sorted by filing date,
as EDGAR's indexes and ``form3 update``'s manifest are: the store is the first N rows, the
update's ADD filings the last days' (all in the last quarter), as a daily update's are.
Reading the day's index is not measured (one request a day, milliseconds); what an update
costs is the flow over the cumulative manifest: planning every row, parsing the new ones, and
publishing, which in the quarterly layout (``--layout``, the update's) rewrites only the
quarters that changed. Issue 19's target: update <= 0.1x cold at 1,000,000 filings + 2,000.

Prints figures; asserts nothing. Last line: ``update_vs_cold=… publish_share_of_update=…``
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.flow_bench import _load, ensure_set, timed_run  # noqa: E402
from flows.local_api import loopback_server  # noqa: E402

DEFAULT_DATA_DIR = Path("/var/tmp/form3-bench-update")


def by_date(manifest: Path, n: int, out_dir: Path) -> tuple[Path, Path]:
    """The manifest sorted by ``date_filed`` (stable), whole and its first ``n`` rows: the
    cumulative manifest after the update, and the store before it. Written beside the set's
    manifest: its rows name filings relative to the manifest's directory."""
    with open(manifest, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = sorted(reader, key=lambda r: r[header.index("date_filed")])
    paths = (out_dir / "by-date.csv", out_dir / f"by-date-first-{n}.csv")
    for path, part in zip(paths, (rows, rows[:n]), strict=True):
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(part)
    print(f"[{n}] store filed {rows[0][header.index('date_filed')]} to "
          f"{rows[n - 1][header.index('date_filed')]}; update filed "
          f"{rows[n][header.index('date_filed')]} to {rows[-1][header.index('date_filed')]}", flush=True)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filings", type=int, default=20_000, help="filings in the store (N)")
    ap.add_argument("--add", type=int, default=2_000, help="new filings of the update (ADD)")
    ap.add_argument("--layout", choices=("quarterly", "single"), default="quarterly")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="results directory to use and keep (to profile more updates on its store)")
    args = ap.parse_args()
    n, add = args.filings, args.add
    args.data_dir.mkdir(parents=True, exist_ok=True)
    manifest = ensure_set(args.data_dir, n + add)
    full, base = by_date(manifest, n, manifest.parent)
    flags = ("--layout", args.layout)
    with tempfile.TemporaryDirectory(prefix="form3-update-bench-") as tmp:
        results = args.keep or Path(tmp) / "results"
        home = Path(tmp) / "prefect-home"
        os.environ["PREFECT_HOME"] = str(home)  # the server's own database, not the user's
        with loopback_server(Path(tmp) / "server.log") as api:
            env = dict(os.environ, PREFECT_API_URL=api, PREFECT_SERVER_ANALYTICS_ENABLED="false")
            print(f"[{n}+{add}] layout {args.layout}; start: {_load()}", flush=True)
            cold = timed_run(base, results, env, *flags)
            print(f"[{n}] cold   {cold.seconds:7.2f} s | phases {cold.phases} | parsed "
                  f"{cold.summary['parsed']} | partitions {len(cold.summary.get('partitions', {})) or 1} "
                  f"| {_load()}", flush=True)
            update = timed_run(full, results, env, *flags)
            written = update.summary.get("partitions_written", ["(all)"])
            print(f"[{n}+{add}] update {update.seconds:7.2f} s | phases {update.phases} | parsed "
                  f"{update.summary['parsed']} cached {update.summary['cached']} | partitions written "
                  f"{written} | peak RSS {update.peak_rss_mb:.0f} MB | {_load()}", flush=True)
        if args.keep is None:
            shutil.rmtree(results, ignore_errors=True)
    phases = update.summary.get("phase_seconds", {})
    share = phases.get("publish", 0.0) / update.seconds
    print(f"update_vs_cold={update.seconds / cold.seconds:.4g} publish_share_of_update={share:.3g}")


if __name__ == "__main__":
    main()
