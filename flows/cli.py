"""The ``form3`` command line: one subcommand per user-facing job."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _parse(args: argparse.Namespace) -> int:
    from flows.parse_command import parse_files

    return parse_files(args.files)


def _run(args: argparse.Namespace) -> int:
    from flows.cluster import ProfileError, UnreachableApiError, check_api_reachable, get_profile
    from flows.local_api import planned_api_url
    from flows.manifest import ManifestError, check_url_sources, read_manifest
    from flows.settings import RunSettings

    settings = RunSettings.resolve(
        args.manifest, args.results, args.store, args.cluster, args.profile, args.batch_size,
        args.column, user_agent=args.user_agent, mirror=args.mirror,
        max_rps=args.max_requests_per_second, max_filing_bytes=args.max_filing_bytes,
    )
    try:  # fail fast, before any server or cluster starts
        manifest = read_manifest(settings.manifest, settings.column)
        check_url_sources(manifest, settings.user_agent, settings.max_rps)
        profile = get_profile(settings.profile_name, settings.cluster if settings.cluster_explicit else None)
        check_api_reachable(profile, planned_api_url())
    except (ManifestError, ProfileError, UnreachableApiError) as exc:
        print(f"form3 run: {exc}", file=sys.stderr)
        return 2

    from flows.flow import extract_form3
    from flows.local_api import client_api

    with client_api(settings.results_dir / "logs") as api_url:
        print(f"form3 run: Prefect API {api_url} (profile {profile.name})", file=sys.stderr)
        state = extract_form3(
            manifest=str(settings.manifest),
            results_dir=str(settings.results_dir),
            cluster=settings.cluster if settings.cluster_explicit else None,
            profile=settings.profile,
            batch_size=settings.batch_size,
            store_dir=str(settings.store_dir) if settings.store_dir else None,
            user_agent=settings.user_agent,
            mirror=str(settings.mirror) if settings.mirror else None,
            max_requests_per_second=settings.max_rps,
            max_filing_bytes=settings.max_filing_bytes,
            return_state=True,
        )
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, dict):
        print(json.dumps(summary, indent=2))
    if not state.is_completed():
        print(f"form3 run: {state.name}: {state.message}", file=sys.stderr)
        return 1
    return 0


def _server(args: argparse.Namespace) -> int:
    from flows.server import ServerSettings, run_server

    db = Path(args.db).expanduser().resolve() if args.db else None
    return run_server(ServerSettings(args.host, args.port, db, auth=not args.no_auth))


def _serve(args: argparse.Namespace) -> int:
    from deployments.serve import serve
    from flows.local_api import NoApiError, client_api

    try:
        with client_api() as api_url:
            print(f"form3 serve: Prefect API {api_url}", file=sys.stderr, flush=True)
            serve(name=args.name, results_dir=args.results, limit=args.limit)
    except NoApiError as exc:
        print(f"form3 serve: {exc}", file=sys.stderr)
        return 2
    return 0


def _retry(args: argparse.Namespace) -> int:
    from flows.local_api import client_api
    from flows.retry import retry

    # A run started by `form3 run` without a server lives in the default local database:
    # a loopback server on it is started for the retry, as for the run.
    with client_api(Path(args.results) / "logs"):
        return retry(args.flow_run_id, wait=not args.no_wait, timeout=args.timeout)


def _manifest(args: argparse.Namespace) -> int:
    from flows.edgar_index import (
        DEFAULT_FORMS, DEFAULT_PREFIX, EdgarIndexError, Filters, build_manifest, parse_date,
        read_cik_file,
    )
    from flows.settings import user_agent_setting

    try:
        ciks = set(args.cik or ())
        if args.cik_file:
            ciks |= read_cik_file(Path(args.cik_file))
        filters = Filters(
            forms=tuple(args.form or DEFAULT_FORMS),
            since=parse_date(args.since, "--since") if args.since else None,
            until=parse_date(args.until, "--until") if args.until else None,
            ciks=frozenset(ciks),
        )
        user_agent = user_agent_setting(args.user_agent)
        result = build_manifest(
            args.index, filters, args.prefix or DEFAULT_PREFIX, user_agent=user_agent
        )
        if args.output:
            from flows.outputs import write_atomic_text

            write_atomic_text(Path(args.output), result.text)
        else:
            sys.stdout.write(result.text)
            sys.stdout.flush()
    except (EdgarIndexError, OSError) as exc:
        print(f"form3 manifest: {exc}", file=sys.stderr)
        return 2
    print(
        f"form3 manifest: read {result.rows_read} index rows from {len(args.index)} file(s); "
        f"{result.rows_matched} matched, {result.duplicates_dropped} duplicate accessions "
        f"dropped; {result.rows_written} rows written to {args.output or 'stdout'}",
        file=sys.stderr,
    )
    return 0


def _profile(args: argparse.Namespace) -> int:
    from flows.profile_command import show_profile

    return show_profile(args.name)


def _doctor(args: argparse.Namespace) -> int:
    from flows.doctor import doctor

    return doctor(args.profile, args.results, args.store)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="form3", description="SEC Form 3 filings to research tables."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse files and print one JSON object per file")
    p.add_argument("files", nargs="+", metavar="FILE", help="EDGAR .txt submission or ownership XML")
    p.set_defaults(func=_parse)

    r = sub.add_parser("run", help="run the extraction flow over a manifest")
    r.add_argument("manifest", nargs="?", help="CSV with a path column (default: the sample)")
    r.add_argument("--results", help="output directory (default: results/; env FORM3_RESULTS)")
    r.add_argument("--store", help="checkpoint directory (default: RESULTS/.checkpoints)")
    r.add_argument("--cluster", choices=("local", "slurm"), help="where tasks run (default local)")
    r.add_argument("--profile", help="cluster profile in deployments/profiles.yaml")
    r.add_argument("--batch-size", type=int, help="filings per task run (default: automatic)")
    r.add_argument("--column", help="manifest column naming the filing (default: path, url, file…)")
    r.add_argument("--user-agent", help="User-Agent for URL filings, with your contact; sec.gov "
                   "requires one, e.g. 'Jane Doe jane@example.org' (env FORM3_USER_AGENT)")
    r.add_argument("--mirror", metavar="DIR", help="keep fetched filings in DIR in EDGAR's layout "
                   "and read them from there first (env FORM3_MIRROR)")
    r.add_argument("--max-requests-per-second", type=float, metavar="N",
                   help="HTTP requests/s for all workers together (default 10, the SEC's "
                   "limit; env FORM3_MAX_RPS)")
    r.add_argument("--max-filing-bytes", type=int, metavar="N",
                   help="size cap of a fetched filing (default 50 MiB; env FORM3_MAX_FILING_BYTES)")
    r.set_defaults(func=_run)

    s = sub.add_parser("server", help="start a Prefect server with the UI for form3 runs")
    s.add_argument("--host", default="127.0.0.1",
                   help="bind address (default 127.0.0.1; 0.0.0.0 for Slurm workers on other nodes)")
    s.add_argument("--port", type=int, default=4200, help="port of the API and UI (default 4200)")
    s.add_argument("--db", help="SQLite database (default /var/tmp/form3-prefect-$USER/prefect.db)")
    s.add_argument("--no-auth", action="store_true",
                   help="no auth string (only for a single-user machine)")
    s.set_defaults(func=_server)

    d = sub.add_parser("serve", help="serve the flow as a deployment (UI runs and retries)")
    d.add_argument("--name", default="form3", help="deployment name (default form3)")
    d.add_argument("--results", default="results",
                   help="default results dir of runs started from the UI (default ./results)")
    d.add_argument("--limit", type=int, default=1,
                   help="flow runs at a time (default 1: runs share the results dir)")
    d.set_defaults(func=_serve)

    t = sub.add_parser("retry", help="retry a finished flow run: only its failed work re-runs")
    t.add_argument("flow_run_id", metavar="FLOW_RUN_ID")
    t.add_argument("--no-wait", action="store_true",
                   help="deployment runs: return once scheduled, do not wait for the result")
    t.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    t.add_argument("--results", default="results",
                   help="where a loopback server's log goes if one must be started")
    t.set_defaults(func=_retry)

    m = sub.add_parser("manifest", help="build a manifest from EDGAR form.idx / master.idx files")
    m.add_argument("index", nargs="+", metavar="INDEX",
                   help="form.idx or master.idx, gzipped or not: a path or an http(s) URL")
    m.add_argument("-o", "--output", metavar="OUT.csv", help="manifest to write (default stdout)")
    m.add_argument("--form", action="append", metavar="TYPE",
                   help="form type to keep, repeatable (default: 3 and 3/A)")
    m.add_argument("--since", metavar="DATE", help="filed on or after this date (YYYY-MM-DD)")
    m.add_argument("--until", metavar="DATE", help="filed on or before this date (YYYY-MM-DD)")
    m.add_argument("--cik", action="append", type=int, metavar="N",
                   help="keep this filer's CIK, repeatable (leading zeros do not matter)")
    m.add_argument("--cik-file", metavar="FILE", help="CIKs to keep, one per line")
    m.add_argument("--prefix",
                   help="put before each index file name: a URL, or a local mirror directory "
                        "(then the column is path) (default https://www.sec.gov/Archives/)")
    m.add_argument("--user-agent", metavar="UA",
                   help="User-Agent for index URLs; sec.gov requires one naming you "
                        "(env FORM3_USER_AGENT)")
    m.set_defaults(func=_manifest)

    pr = sub.add_parser("profile", help="inspect cluster profiles")
    prs = pr.add_subparsers(dest="profile_command", required=True)
    ps = prs.add_parser("show", help="the resolved profile and its sbatch job script; nothing submitted")
    ps.add_argument("name", metavar="NAME", help="profile in deployments/profiles.yaml or FORM3_PROFILES")
    ps.set_defaults(func=_profile)

    dr = sub.add_parser("doctor", help="preflight: one probe job checks imports, API, scheduler, paths")
    dr.add_argument("--profile", required=True, help="Slurm profile to check")
    dr.add_argument("--results", default="results", help="results directory the run will use")
    dr.add_argument("--store", help="checkpoint directory (default RESULTS/.checkpoints)")
    dr.set_defaults(func=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
