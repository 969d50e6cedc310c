"""The flow against the floor, on one synthetic set, in one run: cold, rerun, and a bare loop.

- floor: one process reading and parsing every filing in a loop (no Prefect, no Dask, no output)
- cold: ``form3 run`` with an empty checkpoint store (includes Dask start-up and all outputs)
- rerun: ``form3 run`` again on the same manifest (everything cached)
Both runs talk to one Prefect server started here first, as a user with ``form3 server``
running would; its start-up is reported separately. The flow process's peak RSS is sampled.
Prints figures; asserts nothing. Last line: flow_vs_loop=… rerun_vs_cold=… peak_rss_mb=…
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flows.local_api import loopback_server  # noqa: E402
from flows.manifest import read_manifest  # noqa: E402
from tasks.errors import FilingError  # noqa: E402
from tasks.extract import parse_filing  # noqa: E402


def _generator():
    spec = importlib.util.spec_from_file_location("make_sample", REPO / "data" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sample"] = module
    spec.loader.exec_module(module)
    return module


def bare_loop(manifest: Path) -> float:
    locations = [f.location for f in read_manifest(manifest).filings]
    start = time.perf_counter()
    for location in locations:
        with open(location, "rb") as fh:
            data = fh.read()
        try:
            parse_filing(data)
        except FilingError:
            pass
    return time.perf_counter() - start


def timed_run(manifest: Path, results: Path, env: dict[str, str]) -> tuple[float, float, dict]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(manifest), "--results", str(results)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    peak = 0
    ps = psutil.Process(proc.pid)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, ps.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"form3 run failed ({proc.returncode}):\n{err[-4000:]}")
    summary = json.loads((results / "run_summary.json").read_text())
    return elapsed, peak / 2**20, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filings", type=int, nargs="+", default=[1000], help="set sizes to measure")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "form3-bench")
    ap.add_argument("--keep", action="store_true", help="keep generated filings for the next run")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="prefect-home-", dir=args.workdir))
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    os.environ.update(PREFECT_HOME=str(home))
    t0 = time.perf_counter()
    last = ""
    with loopback_server(home / "server.log") as api_url:
        print(f"prefect server start-up: {time.perf_counter() - t0:.1f} s (once, not in the runs)")
        env["PREFECT_API_URL"] = api_url
        for n in args.filings:
            data_dir = args.workdir / f"filings-{n}"
            manifest = data_dir / "manifest.csv"
            if not manifest.exists():
                t = time.perf_counter()
                _generator().make(data_dir / "filings", manifest, n, seed=7)
                print(f"[{n}] generated in {time.perf_counter() - t:.1f} s")
            results = args.workdir / f"results-{n}"
            shutil.rmtree(results, ignore_errors=True)
            loop = bare_loop(manifest)
            cold, cold_rss, cold_summary = timed_run(manifest, results, env)
            rerun, rerun_rss, rerun_summary = timed_run(manifest, results, env)
            peak = max(cold_rss, rerun_rss)
            print(
                f"[{n}] bare loop {loop:.2f} s ({loop / n * 1e3:.3f} ms/filing) | "
                f"form3 run cold {cold:.2f} s (parsed {cold_summary['parsed']}, "
                f"{cold_summary['batches']} batches, flow {cold_summary['seconds']:.2f} s) | "
                f"rerun {rerun:.2f} s (cached {rerun_summary['cached']}) | peak RSS {peak:.0f} MB"
            )
            print(f"[{n}] flow_vs_loop={cold / loop:.2f} rerun_vs_cold={rerun / cold:.2f}")
            last = f"flow_vs_loop={cold / loop:.2f} rerun_vs_cold={rerun / cold:.2f} peak_rss_mb={peak:.0f}"
            if not args.keep:
                shutil.rmtree(data_dir, ignore_errors=True)
            shutil.rmtree(results, ignore_errors=True)
    print(last)


if __name__ == "__main__":
    main()
