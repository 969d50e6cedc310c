"""The flow against the floor, per set size, in one run: a bare loop, then ``form3 run`` cold and rerun.

- bare loop: one process reading and parsing every filing (no Prefect, no Dask, writes nothing)
- cold: ``form3 run`` with an empty checkpoint store (includes Dask start-up and all outputs)
- rerun: ``form3 run`` again on the same manifest (everything cached)

Both runs talk to one Prefect server started here first, as a user with ``form3 server``
running would; its start-up is reported separately. The flow process is the ``form3 run``
process itself (on a cluster it runs on the login node); its Dask workers are its children and
are not counted. Of it are measured: peak RSS (the kernel's high-water mark ``VmHWM``, read
while it runs) and the bytes it read (``rchar``: every ``read`` it made, Python's imports and
the checkpoints included, read once it has exited and before it is reaped, so nothing is
missed). Linux adds the I/O of every child a process reaps to the process's own counters (as
``psutil``'s ``io_counters()`` reports them too), so the Dask workers' reads (every filing)
would be counted: the workers' last sampled ``rchar`` is subtracted once they are gone. A
child too short-lived to be sampled stays counted (an overestimate, never an underestimate).
The run's own ``phase_seconds`` (plan, extract, publish) come from its ``run_summary.json``.

Synthetic filings (``data/make_sample.py``; by default ``--mix edgar``: Forms 3, 4, 5 and
amendments in the proportions of a real quarter, 2024 Q3) are generated once per mix and size
and kept under ``--data-dir``/MIX/N (outside the repository) for the next run; a set is used
only once its generation finished (``.complete``). One million filings take several minutes to
write and ~8 GB on disk. The run's filings by form type are printed from its summary.

Prints figures; asserts nothing. Last line, for the largest size:
``flow_vs_loop=… rerun_vs_cold=… peak_rss_mb=… flow_read_fraction=…``
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
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flows.local_api import loopback_server  # noqa: E402
from flows.manifest import read_manifest  # noqa: E402
from tasks.errors import FilingError  # noqa: E402
from tasks.extract import parse_filing  # noqa: E402

DEFAULT_DATA_DIR = Path("/var/tmp/form3-bench")
SEED = 7
COMPLETE = ".complete"  # written after a set's generation finished
SAMPLE_SECONDS = 0.05
MB = 2**20


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sample", REPO / "data" / "make_sample.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sample"] = module
    spec.loader.exec_module(module)
    return module


def ensure_set(data_dir: Path, n: int, mix: str = "edgar") -> Path:
    """The manifest of the ``n``-filing set under ``data_dir/mix/n``, generated if not there yet."""
    set_dir = data_dir / mix / str(n)
    manifest = set_dir / "manifest.csv"
    if (set_dir / COMPLETE).exists():
        return manifest
    free = shutil.disk_usage(data_dir).free
    print(f"[{n}] generating into {set_dir} ({free / 2**30:.0f} GB free; ~7.5 KB a filing)", flush=True)
    shutil.rmtree(set_dir, ignore_errors=True)  # a partial set from an interrupted generation
    start = time.perf_counter()
    _generator().make(set_dir / "filings", manifest, n, seed=SEED, mix=mix)
    (set_dir / COMPLETE).write_text(f"{time.perf_counter() - start:.1f}\n")
    print(f"[{n}] generated in {time.perf_counter() - start:.1f} s", flush=True)
    return manifest


def bare_loop(manifest: Path) -> tuple[float, int]:
    """Seconds to read and parse every filing in one process, and the filings' total bytes."""
    locations = [f.location for f in read_manifest(manifest).filings]
    total = 0
    start = time.perf_counter()
    for location in locations:
        with open(location, "rb") as fh:
            data = fh.read()
        total += len(data)
        try:
            parse_filing(data)
        except FilingError:
            pass
    return time.perf_counter() - start, total


@dataclass(slots=True)
class Run:
    seconds: float
    peak_rss_mb: float
    read_bytes: int  # rchar of the flow process
    cpu_seconds: float  # user + system of the flow process (not its workers)
    summary: dict[str, Any]

    @property
    def phases(self) -> str:
        return " ".join(f"{k} {v:.1f}" for k, v in self.summary.get("phase_seconds", {}).items())


def _proc_status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _proc_io(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/io") as fh:
        return {k: int(v) for k, v in (line.split(":") for line in fh)}


def _proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _sample_children(pid: int, last: dict[int, int]) -> None:
    try:
        pids = [c.pid for c in psutil.Process(pid).children()]  # made by any of its threads
    except psutil.Error:
        return
    for child in pids:
        try:
            last[child] = _proc_io(child)["rchar"]
        except (OSError, KeyError):
            pass


def timed_run(manifest: Path, results: Path, env: dict[str, str], *flags: str) -> Run:
    """One ``form3 run`` (with ``flags``), with its process's peak RSS, bytes read and CPU time."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(manifest), "--results", str(results), *flags],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    peak_kb = 0
    children: dict[int, int] = {}  # direct child pid → its last rchar (its own children's included)
    while True:
        # Wait for the exit without reaping: /proc/PID/io of the zombie still holds its totals.
        state = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if state is not None:
            break
        try:
            peak_kb = max(peak_kb, _proc_status_kb(proc.pid, "VmHWM"))  # the kernel's high-water mark
        except OSError:
            pass
        _sample_children(proc.pid, children)
        time.sleep(SAMPLE_SECONDS)
    elapsed = time.perf_counter() - start
    reaped = sum(rchar for pid, rchar in children.items() if not os.path.exists(f"/proc/{pid}"))
    read_bytes = _proc_io(proc.pid)["rchar"] - reaped
    cpu = _proc_cpu_seconds(proc.pid)
    proc.wait()
    reader.join()
    if proc.returncode != 0:
        raise SystemExit(f"form3 run failed ({proc.returncode}):\n{''.join(err)[-4000:]}")
    summary = json.loads((results / "run_summary.json").read_text())
    return Run(elapsed, peak_kb / 1024, read_bytes, cpu, summary)


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def measure(n: int, manifest: Path, results: Path, env: dict[str, str]) -> dict[str, float]:
    print(f"[{n}] start: {_load()}", flush=True)
    loop, filing_bytes = bare_loop(manifest)
    print(
        f"[{n}] filings {filing_bytes / MB:.0f} MB | bare loop {loop:.2f} s "
        f"({loop / n * 1e3:.3f} ms/filing) | {_load()}", flush=True,
    )
    shutil.rmtree(results, ignore_errors=True)
    cold = timed_run(manifest, results, env)
    print(
        f"[{n}] cold  {cold.seconds:7.2f} s | phases {cold.phases} | parsed {cold.summary['parsed']} "
        f"in {cold.summary['batches']} batches of {cold.summary['batch_size']} | flow process: "
        f"peak RSS {cold.peak_rss_mb:.0f} MB, read {cold.read_bytes / MB:.1f} MB, "
        f"CPU {cold.cpu_seconds:.1f} s | {_load()}", flush=True,
    )
    forms = ", ".join(f"{form} {c['filings']}" for form, c in cold.summary.get("forms", {}).items())
    print(f"[{n}] by form: {forms} | JSON {cold.summary.get('json_file')}", flush=True)
    rerun = timed_run(manifest, results, env)
    print(
        f"[{n}] rerun {rerun.seconds:7.2f} s | phases {rerun.phases} | cached {rerun.summary['cached']} "
        f"| flow process: peak RSS {rerun.peak_rss_mb:.0f} MB, read {rerun.read_bytes / MB:.1f} MB, "
        f"CPU {rerun.cpu_seconds:.1f} s | {_load()}", flush=True,
    )
    ratios = {
        "flow_vs_loop": cold.seconds / loop,
        "rerun_vs_cold": rerun.seconds / cold.seconds,
        "peak_rss_mb": max(cold.peak_rss_mb, rerun.peak_rss_mb),
        "flow_read_fraction": cold.read_bytes / filing_bytes,
    }
    print(f"[{n}] " + " ".join(f"{k}={v:.4g}" for k, v in ratios.items()), flush=True)
    return ratios


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filings", type=int, nargs="+", default=[1000], help="set sizes to measure")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                    help=f"where generated sets are kept, one folder per size (default {DEFAULT_DATA_DIR})")
    ap.add_argument("--mix", choices=("edgar", "form3"), default="edgar",
                    help="the filings: EDGAR's mix of Forms 3, 4, 5 (default) or Form 3s only")
    ap.add_argument("--keep-results", action="store_true",
                    help="keep each size's results/ and checkpoints (DATA_DIR/N/results)")
    args = ap.parse_args()

    args.data_dir.mkdir(parents=True, exist_ok=True)
    manifests = {n: ensure_set(args.data_dir, n, args.mix) for n in args.filings}
    home = Path(tempfile.mkdtemp(prefix="prefect-home-", dir=args.data_dir))
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    os.environ.update(PREFECT_HOME=str(home))
    print(f"{os.cpu_count()} cores; python {sys.version.split()[0]}; {_load()}", flush=True)
    t0 = time.perf_counter()
    ratios: dict[int, dict[str, float]] = {}
    try:
        with loopback_server(home / "server.log") as api_url:
            print(f"prefect server start-up: {time.perf_counter() - t0:.1f} s (once, not in the runs)", flush=True)
            env["PREFECT_API_URL"] = api_url
            for n in args.filings:
                results = args.data_dir / args.mix / str(n) / "results"
                ratios[n] = measure(n, manifests[n], results, env)
                if not args.keep_results:
                    shutil.rmtree(results, ignore_errors=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(" ".join(f"{k}={v:.4g}" for k, v in ratios[max(ratios)].items()))


if __name__ == "__main__":
    main()
