"""The workshop's Slurm job array against ``form3 run`` on Slurm, on one cluster, in one run.

Array approach (as the workshop teaches it): one array task per filing, each a Python process
that parses one filing and writes one JSON file, then a merge step reading them all into one
file. Flow approach: ``form3 run --profile single-node`` (SLURMCluster workers, batches).
Needs the local cluster (``make slurm-up``). Prints figures; asserts nothing.
Last line: array_vs_flow_<N>=<ratio> for each N.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.flow_bench import _generator  # noqa: E402
from flows.local_api import loopback_server  # noqa: E402
from flows.manifest import read_manifest  # noqa: E402

ONE_FILING = """
import json, os, sys
from tasks.extract import parse_file
from tasks.errors import FilingError
from tasks.serialize import filing_to_dict
i = int(os.environ["SLURM_ARRAY_TASK_ID"])
path = open(sys.argv[1]).read().splitlines()[i]
try:
    record = filing_to_dict(parse_file(path))
except FilingError as exc:
    record = exc.to_dict()
with open(os.path.join(sys.argv[2], f"{i}.json"), "w") as fh:
    json.dump(record, fh)
"""


def job_array(locations: list[str], work: Path) -> tuple[float, int]:
    out, logs = work / "array-out", work / "array-logs"
    out.mkdir(parents=True)
    logs.mkdir()
    listing = work / "files.txt"
    listing.write_text("\n".join(locations) + "\n")
    script = work / "one_filing.py"
    script.write_text(ONE_FILING)
    command = (
        f"cd {shlex.quote(str(REPO))} && {shlex.quote(sys.executable)} "
        f"{shlex.quote(str(script))} {shlex.quote(str(listing))} {shlex.quote(str(out))}"
    )
    start = time.perf_counter()
    subprocess.run(
        ["sbatch", "--wait", f"--array=0-{len(locations) - 1}", "--cpus-per-task=1",
         "--mem=300M", "-o", str(logs / "%a.out"), "-e", str(logs / "%a.err"),
         "-J", "array-bench", "--wrap", command],
        capture_output=True,
    )
    records, missing = [], []
    for i in range(len(locations)):  # the merge step
        try:
            records.append(json.loads((out / f"{i}.json").read_text()))
        except (OSError, ValueError):
            missing.append(i)
    (work / "merged.json").write_text(json.dumps(records))
    elapsed = time.perf_counter() - start
    if missing:
        err = (logs / f"{missing[0]}.err")
        tail = err.read_text()[-800:] if err.exists() else "(no log)"
        print(f"  {len(missing)} array tasks left no output; first ({missing[0]}):\n{tail}")
    return elapsed, len(missing)


def flow_on_slurm(manifest: Path, results: Path, env: dict[str, str]) -> tuple[float, float | None]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(manifest), "--results", str(results),
         "--profile", "single-node"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    first_job = None
    while proc.poll() is None:
        if first_job is None:
            q = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-n", "dask-worker"],
                               capture_output=True, text=True)
            if q.stdout.strip():
                first_job = time.perf_counter() - start
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"form3 run failed with {proc.returncode}")
    return time.perf_counter() - start, first_job


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filings", type=int, nargs="+", default=[200, 2000])
    args = ap.parse_args()
    work_root = Path(tempfile.mkdtemp(prefix="form3-slurm-bench-"))
    home = work_root / "prefect-home"
    home.mkdir()
    os.environ["PREFECT_HOME"] = str(home)
    ratios = []
    try:
        with loopback_server(home / "server.log") as api_url:
            env = dict(os.environ, PREFECT_API_URL=api_url, PREFECT_SERVER_ANALYTICS_ENABLED="false")
            for n in args.filings:
                work = work_root / str(n)
                manifest = _generator().make(work / "filings", work / "manifest.csv", n, seed=5)
                locations = [f.location for f in read_manifest(manifest).filings]
                flow_s, first_job = flow_on_slurm(manifest, work / "results", env)
                array_s, array_failed = job_array(locations, work)
                ratio = array_s / flow_s
                ratios.append(f"array_vs_flow_{n}={ratio:.1f}")
                first = f"{first_job:.1f} s" if first_job is not None else "n/a"
                print(f"[{n}] job array + merge {array_s:.1f} s | form3 run --profile single-node "
                      f"{flow_s:.1f} s (first worker job running after {first}) | flow is {ratio:.1f}x faster"
                      + (f" ({array_failed} array tasks failed)" if array_failed else ""))
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    print(" ".join(ratios))


if __name__ == "__main__":
    main()
