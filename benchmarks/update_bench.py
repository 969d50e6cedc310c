"""Where a daily update's time goes: ``form3 run`` cold on a store of N filings, then the run
``form3 update`` makes after appending ADD new filings to the cumulative manifest (the same
flow over N + ADD rows, N of them checkpointed), phases printed, in one run.

Reading the day's index is not measured here (one request a day, milliseconds); what an
update costs is the flow over the cumulative manifest: planning every row, parsing the new
ones, and publishing, which today rewrites every output. Issue 19's target is update <= 0.1x
cold at N = 1,000,000, ADD = 2,000.

Synthetic filings (data/make_sample.py) are generated once per size under ``--data-dir``
(outside the repository, reused by later runs). Prints figures; asserts nothing. Last line:
``update_vs_cold=… publish_share_of_update=…``
"""

from __future__ import annotations

import argparse
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


def first_rows(manifest: Path, n: int, out: Path) -> Path:
    """The manifest's header and first ``n`` rows: the store before the update."""
    with open(manifest) as src, open(out, "w") as dst:
        for i, line in enumerate(src):
            if i > n:
                break
            dst.write(line)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filings", type=int, default=20_000, help="filings in the store (N)")
    ap.add_argument("--add", type=int, default=2_000, help="new filings of the update (ADD)")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = ap.parse_args()
    n, add = args.filings, args.add
    args.data_dir.mkdir(parents=True, exist_ok=True)
    full = ensure_set(args.data_dir, n + add)
    with tempfile.TemporaryDirectory(prefix="form3-update-bench-") as tmp:
        # Beside the set's manifest: its rows name filings relative to the manifest's directory.
        base = first_rows(full, n, full.parent / f"first-{n}.csv")
        results = Path(tmp) / "results"
        home = Path(tmp) / "prefect-home"
        os.environ["PREFECT_HOME"] = str(home)  # the server's own database, not the user's
        with loopback_server(Path(tmp) / "server.log") as api:
            env = dict(os.environ, PREFECT_API_URL=api, PREFECT_SERVER_ANALYTICS_ENABLED="false")
            print(f"[{n}+{add}] start: {_load()}", flush=True)
            cold = timed_run(base, results, env)
            print(f"[{n}] cold   {cold.seconds:7.2f} s | phases {cold.phases} | parsed "
                  f"{cold.summary['parsed']} | {_load()}", flush=True)
            update = timed_run(full, results, env)
            print(f"[{n}+{add}] update {update.seconds:7.2f} s | phases {update.phases} | parsed "
                  f"{update.summary['parsed']} cached {update.summary['cached']} | {_load()}",
                  flush=True)
        shutil.rmtree(results, ignore_errors=True)
    phases = update.summary.get("phase_seconds", {})
    share = phases.get("publish", 0.0) / update.seconds
    print(f"update_vs_cold={update.seconds / cold.seconds:.4g} publish_share_of_update={share:.3g}")


if __name__ == "__main__":
    main()
