"""``form3 doctor --profile NAME``: a preflight from a compute node's side, before a big run.

It submits one short probe job through the profile's own job script (same partition,
``python``, prologue) with the worker command replaced by ``python -m flows.doctor probe``;
the probe reports, as JSON, what a worker would meet: the project importable with the same
prefect / dask / distributed versions, the Prefect API answering and accepting the auth
string, the scheduler's address reachable, the results and checkpoint directories writable
at the same path. The login side prints a table; exit 0 only when every check passes.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

PACKAGES = ("prefect", "dask", "distributed", "dask_jobqueue")
MARKER = "FORM3-DOCTOR "


def versions() -> dict[str, str]:
    import importlib

    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = importlib.import_module(name).__version__
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            out[name] = f"missing ({type(exc).__name__})"
    return out


def _probe_api(url: str | None, auth: str | None) -> tuple[bool, str]:
    if not url:
        return False, "PREFECT_API_URL is not set in the job"
    request = urllib.request.Request(url.rstrip("/") + "/admin/version")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return True, f"{url} answered (server {json.loads(resp.read())}), auth accepted"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: HTTP {exc.code} (auth string {'rejected' if auth else 'missing'})"
    except OSError as exc:
        return False, f"{url}: {exc}"


def _probe_tcp(address: str) -> tuple[bool, str]:
    match = re.match(r"^\w+://\[?([^\]]+?)\]?:(\d+)$", address)
    if not match:
        return False, f"cannot parse {address}"
    try:
        with socket.create_connection((match.group(1), int(match.group(2))), timeout=5):
            return True, f"{address} reachable"
    except OSError as exc:
        return False, f"{address}: {exc}"


def _probe_dir(path: str) -> tuple[bool, str]:
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".form3-doctor-"):
            pass
        return True, f"{path} writable"
    except OSError as exc:
        return False, f"{path}: {exc}"


def probe(args: argparse.Namespace) -> int:
    """Runs in the probe job on a compute node: one JSON line on stdout."""
    report: dict[str, Any] = {"host": socket.gethostname(), "versions": versions()}
    try:
        import flows.flow  # noqa: F401 - the project as a worker imports it
        import tasks.prefect_tasks  # noqa: F401 - and the task module the workers run

        report["project"] = (True, f"flows and tasks importable from {Path(flows.flow.__file__).parent.parent}")
    except Exception as exc:  # noqa: BLE001
        report["project"] = (False, f"{type(exc).__name__}: {exc}")
    report["api"] = _probe_api(os.environ.get("PREFECT_API_URL"), os.environ.get("PREFECT_API_AUTH_STRING"))
    report["scheduler"] = _probe_tcp(args.scheduler)
    report["paths"] = [_probe_dir(p) for p in args.path]
    print(MARKER + json.dumps(report), flush=True)
    return 0


def _probe_script(job_script: str, paths: list[str]) -> tuple[str, str]:
    """The worker job script with its worker command replaced by the probe; and the
    scheduler address it names."""
    lines = job_script.rstrip().splitlines()
    command = lines[-1].split()
    python, scheduler = command[0], command[3]
    probe_cmd = [python, "-m", "flows.doctor", "probe", "--scheduler", scheduler]
    for p in paths:
        probe_cmd += ["--path", p]
    from flows.settings import REPO_ROOT

    body = lines[:-1] + [f"cd {REPO_ROOT}", " ".join(probe_cmd)]
    return "\n".join(body) + "\n", scheduler


def doctor(profile_name: str, results: str, store: str) -> int:
    """Login side: validate the profile, submit the probe, print the table. ``store`` is the
    resolved checkpoint store (``RunSettings.checkpoint_dir``)."""
    from dask_jobqueue import SLURMCluster

    from flows.cluster import ProfileError, UnreachableApiError, check_api_reachable, cluster_kwargs, get_profile
    from flows.local_api import _use_api, planned_api_url, team_server

    rows: list[tuple[str, bool, str]] = []
    try:
        profile = get_profile(profile_name, "slurm")
    except ProfileError as exc:
        print(f"form3 doctor: {exc}", file=sys.stderr)
        return 2
    rows.append(("profile keys", True, f"{profile_name}: every key accepted by SLURMCluster"))
    api_url = planned_api_url()
    try:
        check_api_reachable(profile, api_url)
        rows.append(("API (login side)", True, f"{api_url} is not loopback"))
    except UnreachableApiError as exc:
        rows.append(("API (login side)", False, str(exc).splitlines()[0]))
    results_dir = str(Path(results).resolve())
    store_dir = str(Path(store).resolve())
    team = team_server() if not os.environ.get("PREFECT_API_URL") else None
    profile.apply_environment()
    with _use_api(team or {}), SLURMCluster(**cluster_kwargs(profile, Path(store_dir))) as cluster:
        script, scheduler = _probe_script(cluster.job_script(), [results_dir, store_dir])
        out_pattern = re.search(r"^#SBATCH -o (\S+)", script, re.M)
        err_pattern = re.search(r"^#SBATCH -e (\S+)", script, re.M)
        with tempfile.NamedTemporaryFile("w", suffix=".sh", prefix="form3-doctor-", delete=False) as fh:
            fh.write(script)
        try:
            proc = subprocess.run(["sbatch", "--parsable", "--wait", "-J", "form3-doctor", fh.name],
                                  capture_output=True, text=True, timeout=profile.worker_start_timeout)
        except subprocess.TimeoutExpired:
            proc = None
        finally:
            os.unlink(fh.name)
    job_id = (proc.stdout.strip().split(";")[0] if proc else "") or "?"
    def job_log(pattern: re.Match[str] | None) -> str:
        if pattern is None or job_id == "?":
            return ""
        log = Path(pattern.group(1).replace("%J", job_id).replace("%j", job_id))
        return log.read_text(errors="replace") if log.exists() else ""

    output, errors = job_log(out_pattern), job_log(err_pattern)
    report_line = next((l for l in output.splitlines() if l.startswith(MARKER)), None)
    if report_line is None:
        why = ("no answer within worker_start_timeout" if proc is None
               else f"sbatch exit {proc.returncode}: {proc.stderr.strip()[-300:]} "
               + " | ".join([l for l in errors.splitlines() if l.strip()][-3:]))
        rows.append(("probe job", False, f"job {job_id}: {why}"))
    else:
        report = json.loads(report_line[len(MARKER):])
        rows.append(("probe job", True, f"job {job_id} ran on {report['host']}"))
        mine, theirs = versions(), report["versions"]
        differ = {k: (mine[k], theirs.get(k)) for k in mine if mine[k] != theirs.get(k)}
        rows.append(("versions", not differ, ", ".join(f"{k} {v}" for k, v in theirs.items())
                     if not differ else "differ (login, node): " + json.dumps(differ)))
        rows.append(("project importable", *report["project"]))
        rows.append(("Prefect API + auth", *report["api"]))
        rows.append(("scheduler reachable", *report["scheduler"]))
        for ok, detail in report["paths"]:
            rows.append(("directory writable", ok, detail))
    width = max(len(r[0]) for r in rows)
    for name, ok, detail in rows:
        print(f"{name:<{width}}  {'ok  ' if ok else 'FAIL'}  {detail}")
    return 0 if all(ok for _, ok, _ in rows) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.doctor")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--scheduler", required=True)
    p.add_argument("--path", action="append", default=[])
    args = parser.parse_args(argv)
    return probe(args)


if __name__ == "__main__":
    sys.exit(main())
