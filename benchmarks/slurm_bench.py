"""The workshop's Slurm job array against ``form3 run`` on Slurm, on one cluster, in one run.

Array approach (as the workshop teaches it): one array task per filing, each a Python process
that parses one filing and writes one JSON file, then a merge step reading them all into one
file. Flow approach: ``form3 run --profile PROFILE`` (SLURMCluster workers, batches).
``--profile single-node`` needs ``make slurm-up``; ``--profile multi-node`` needs ``make
cluster-up`` and puts the Prefect server on the login network's address, as a user would.
For sizes above ``--array-max`` only the flow runs (the array would take hours): the array's
per-filing cost measured at the smaller sizes says what it would cost. Prints figures, time to
the first worker job running and filings per second per node; asserts nothing.
Last line: array_vs_flow_<N>=<ratio> for each N the array ran at.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.flow_bench import _generator  # noqa: E402
from flows import server_process  # noqa: E402
from flows.cluster import ClusterProfile, get_profile  # noqa: E402
from flows.local_api import loopback_server  # noqa: E402
from flows.manifest import read_manifest  # noqa: E402
from flows.server_process import free_port  # noqa: E402


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


def job_array(locations: list[str], work: Path, queue: str | None, env: dict[str, str]) -> tuple[float, int]:
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
    submitted = subprocess.run(
        ["sbatch", "--wait", f"--array=0-{len(locations) - 1}", "--cpus-per-task=1",
         *(["-p", queue] if queue else []),
         "--mem=300M", "-o", str(logs / "%a.out"), "-e", str(logs / "%a.err"),
         "-J", "array-bench", "--wrap", command],
        capture_output=True, text=True, env=env,
    )
    if submitted.returncode != 0:
        raise SystemExit(f"sbatch failed: {submitted.stderr.strip()}")
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


def flow_on_slurm(
    manifest: Path, results: Path, env: dict[str, str], profile: str
) -> tuple[float, float | None]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", str(manifest), "--results", str(results),
         "--profile", profile],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    first_job = None
    while proc.poll() is None:
        if first_job is None:
            q = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-n", "dask-worker"],
                               capture_output=True, text=True, env=env)
            if q.stdout.strip():
                first_job = time.perf_counter() - start
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"form3 run failed with {proc.returncode}")
    return time.perf_counter() - start, first_job


def filings_per_node(results: Path, env: dict[str, str]) -> dict[str, float]:
    """Filings per second of the extract phase, by the node each batch's worker job ran on."""
    summary = json.loads((results / "run_summary.json").read_text())
    per_batch = summary["filings"] / max(1, summary["batches"])
    nodes: dict[str, float] = {}
    for job, batches in summary["batches_by_worker"].items():
        # -c: the job completion log (these clusters keep no accounting database)
        out = subprocess.run(["sacct", "-c", "-n", "-P", "-j", job, "-o", "NodeList"],
                             capture_output=True, text=True, env=env).stdout.split()
        node = out[0] if out else f"job {job}"
        nodes[node] = nodes.get(node, 0.0) + batches * per_batch
    extract = summary["phase_seconds"]["extract"]
    return {node: n / extract for node, n in sorted(nodes.items())}


@contextlib.contextmanager
def prefect_api(profile: ClusterProfile, home: Path) -> Iterator[str]:
    """A Prefect server the workers can reach: loopback when they run on this host, else on
    this host's address on the interface the profile's scheduler listens on (``ib0``)."""
    if profile.same_host:
        with loopback_server(home / "server.log") as url:
            yield url
        return
    from distributed.utils import get_ip_interface

    host = get_ip_interface(profile.cluster["scheduler_options"]["interface"])
    port = free_port(host)
    url = f"http://{host}:{port}/api"
    with open(home / "server.log", "ab") as log:
        proc = server_process.start(host, port, server_process.loopback_environment(home / "prefect.db"), stdout=log)
    try:
        server_process.wait_healthy(proc, url, 120, f"see {home / 'server.log'}")
        yield url
    finally:
        server_process.stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filings", type=int, nargs="+", default=[200, 2000])
    ap.add_argument("--profile", default="single-node", help="single-node or multi-node")
    ap.add_argument("--array-max", type=int, default=2000,
                    help="run the job array only up to this many filings")
    args = ap.parse_args()
    profile = get_profile(args.profile, "slurm")
    work_root = Path(tempfile.mkdtemp(prefix="form3-slurm-bench-"))
    home = work_root / "prefect-home"
    home.mkdir()
    os.environ["PREFECT_HOME"] = str(home)
    ratios = []
    array_per_filing = None
    try:
        with prefect_api(profile, home) as api_url:
            env = dict(os.environ, PREFECT_API_URL=api_url, PREFECT_SERVER_ANALYTICS_ENABLED="false")
            if profile.slurm_conf:
                env["SLURM_CONF"] = profile.slurm_conf
            for n in args.filings:
                work = work_root / str(n)
                manifest = _generator().make(work / "filings", work / "manifest.csv", n, seed=5)
                locations = [f.location for f in read_manifest(manifest).filings]
                flow_s, first_job = flow_on_slurm(manifest, work / "results", env, args.profile)
                per_node = filings_per_node(work / "results", env)
                first = f"{first_job:.1f} s" if first_job is not None else "n/a"
                nodes = ", ".join(f"{node} {rate:,.0f}/s" for node, rate in per_node.items())
                line = (f"[{n}] form3 run --profile {args.profile} {flow_s:.1f} s (first worker job "
                        f"running after {first}; extract filings/s by node: {nodes})")
                if n <= args.array_max:
                    array_s, array_failed = job_array(locations, work, profile.cluster.get("queue"), env)
                    array_per_filing = array_s / n
                    ratio = array_s / flow_s
                    ratios.append(f"array_vs_flow_{n}={ratio:.1f}")
                    line += (f" | job array + merge {array_s:.1f} s | flow is {ratio:.1f}x faster"
                             + (f" ({array_failed} array tasks failed)" if array_failed else ""))
                elif array_per_filing is not None:
                    line += (f" | job array not run; at its measured {array_per_filing:.3f} s a "
                             f"filing it would take ~{array_per_filing * n:,.0f} s "
                             f"(~{array_per_filing * n / flow_s:.0f}x the flow)")
                print(line, flush=True)
                shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    print(" ".join(ratios))


if __name__ == "__main__":
    main()
