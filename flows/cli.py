"""The ``form3`` command line: one subcommand per user-facing job."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

from flows.settings import (
    IndexSettings, RunSettings, ScheduleSettings, ServerSettings, ServeSettings, UpdateSettings,
    logs_dir,
)
from flows.settings_sources import SettingsError, add_arguments, flag_values, resolve


def _parse(args: argparse.Namespace) -> int:
    from flows.parse_command import parse_files

    return parse_files(args.files)


def _run(args: argparse.Namespace) -> int:
    from flows.run import run_flow

    return run_flow(resolve(RunSettings, flag_values(args, RunSettings)), "form3 run")


def _server(args: argparse.Namespace) -> int:
    from deployments.server import run_server

    return run_server(resolve(ServerSettings, flag_values(args, ServerSettings)))


def _serve(args: argparse.Namespace) -> int:
    from deployments.serve import serve
    from flows.local_api import NoApiError, client_api

    defaults = resolve(RunSettings, flag_values(args, RunSettings))
    serving = resolve(ServeSettings, flag_values(args, ServeSettings))
    schedule = resolve(ScheduleSettings, flag_values(args, ScheduleSettings))
    # The update's defaults only when it is served: --since is required then, not otherwise.
    update = resolve(UpdateSettings, flag_values(args, UpdateSettings)) if schedule.cron else None
    try:
        with client_api() as api_url:
            print(f"form3 serve: Prefect API {api_url}", file=sys.stderr, flush=True)
            serve(serving, defaults, schedule, update)
    except NoApiError as exc:
        print(f"form3 serve: {exc}", file=sys.stderr)
        return 2
    return 0


def _update(args: argparse.Namespace) -> int:
    from flows.run import update

    return update(resolve(UpdateSettings, flag_values(args, UpdateSettings)),
                  resolve(RunSettings, flag_values(args, RunSettings)))


def _scrontab(args: argparse.Namespace) -> int:
    from flows.schedule import scrontab_line

    settings = resolve(RunSettings, flag_values(args, RunSettings))
    try:
        line = scrontab_line(resolve(ScheduleSettings, flag_values(args, ScheduleSettings)),
                             resolve(UpdateSettings, flag_values(args, UpdateSettings)), settings)
    except ValueError as exc:
        print(f"form3 scrontab: {exc}", file=sys.stderr)
        return 2
    (logs_dir(settings.results_dir)).mkdir(parents=True, exist_ok=True)  # the job's -o
    print(line)
    return 0


def _retry(args: argparse.Namespace) -> int:
    from flows.local_api import client_api
    from flows.retry import retry

    # A run started by `form3 run` without a server lives in the default local database:
    # a loopback server on it is started for the retry, as for the run.
    settings = resolve(RunSettings, flag_values(args, RunSettings))
    with client_api(logs_dir(settings.results_dir)):
        return retry(args.flow_run_id, wait=not args.no_wait, timeout=args.timeout)


def _manifest(args: argparse.Namespace) -> int:
    from tasks.edgar_index import (
        DEFAULT_PREFIX, EdgarIndexError, Filters, build_manifest, parse_date, read_cik_file,
    )
    try:
        ciks = set(args.cik or ())
        if args.cik_file:
            ciks |= read_cik_file(Path(args.cik_file))
        settings = resolve(IndexSettings, flag_values(args, IndexSettings))
        filters = Filters(
            forms=tuple(args.form) if args.form else settings.form_types,
            since=parse_date(args.since, "--since") if args.since else None,
            until=parse_date(args.until, "--until") if args.until else None,
            ciks=frozenset(ciks),
        )
        result = build_manifest(
            args.index, filters, args.prefix or DEFAULT_PREFIX, user_agent=settings.user_agent
        )
        if args.output:
            from tasks.files import write_atomic_text

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


def _compare_sec(args: argparse.Namespace) -> int:
    from tasks.compare_sec import main as compare_sec

    try:
        return compare_sec(args.results, args.sec_dir)
    except FileNotFoundError as exc:
        print(f"form3 compare-sec: {exc}", file=sys.stderr)
        return 2


def _profile(args: argparse.Namespace) -> int:
    from flows.profile_command import show_profile

    return show_profile(args.name)


def _doctor(args: argparse.Namespace) -> int:
    from flows.doctor import doctor

    settings = resolve(RunSettings, flag_values(args, RunSettings))
    return doctor(settings.profile_name, str(settings.results_dir), str(settings.checkpoint_dir))


def _submit(args: argparse.Namespace) -> int:
    from flows.submit import submit

    update = resolve(UpdateSettings, flag_values(args, UpdateSettings)) if args.update else None
    return submit(resolve(RunSettings, flag_values(args, RunSettings)), args.nodes, update)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="form3", description="SEC Form 3 filings to research tables."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse files and print one JSON object per file")
    p.add_argument("files", nargs="+", metavar="FILE", help="EDGAR .txt submission or ownership XML")
    p.set_defaults(func=_parse)

    r = sub.add_parser("run", help="run the extraction flow over a manifest")
    add_arguments(r, RunSettings)
    r.set_defaults(func=_run)

    s = sub.add_parser("server", help="start a Prefect server with the UI for form3 runs")
    add_arguments(s, ServerSettings)
    s.set_defaults(func=_server)

    d = sub.add_parser(
        "serve", help="serve the flow as a deployment (UI runs and retries); the run flags "
        "set the defaults of runs started from the UI; with --cron (and --since), also "
        "`form3 update` on that schedule",
    )
    add_arguments(d, ServeSettings)
    add_arguments(d, RunSettings)
    add_arguments(d, ScheduleSettings)
    add_arguments(d, UpdateSettings)
    d.set_defaults(func=_serve)

    u = sub.add_parser(
        "update", help="new ownership filings from EDGAR's daily indexes into the results "
        "dir's cumulative manifest, then the flow over it; takes the flags of `form3 run` "
        "(but MANIFEST)",
    )
    add_arguments(u, UpdateSettings)
    add_arguments(u, RunSettings, skip=("manifest",))
    u.set_defaults(func=_update)

    sc = sub.add_parser(
        "scrontab", help="print the scrontab line that runs `form3 update` through `form3 "
        "submit` on the --cron schedule (for login nodes that forbid long-lived processes)",
    )
    add_arguments(sc, ScheduleSettings)
    add_arguments(sc, UpdateSettings)
    add_arguments(sc, RunSettings, skip=("manifest",))
    sc.set_defaults(func=_scrontab)

    t = sub.add_parser("retry", help="retry a finished flow run: only its failed work re-runs")
    t.add_argument("flow_run_id", metavar="FLOW_RUN_ID")
    t.add_argument("--no-wait", action="store_true",
                   help="deployment runs: return once scheduled, do not wait for the result")
    t.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    add_arguments(t, RunSettings, only=("results_dir",))  # where a loopback server's log goes
    t.set_defaults(func=_retry)

    m = sub.add_parser("manifest", help="build a manifest from EDGAR form.idx / master.idx files")
    m.add_argument("index", nargs="+", metavar="INDEX",
                   help="form.idx or master.idx, gzipped or not: a path or an http(s) URL")
    m.add_argument("-o", "--output", metavar="OUT.csv", help="manifest to write (default stdout)")
    m.add_argument("--form", action="append", metavar="TYPE",
                   help="one form type to keep, repeatable (the older spelling of --forms; "
                   "wins over it)")
    m.add_argument("--since", metavar="DATE", help="filed on or after this date (YYYY-MM-DD)")
    m.add_argument("--until", metavar="DATE", help="filed on or before this date (YYYY-MM-DD)")
    m.add_argument("--cik", action="append", type=int, metavar="N",
                   help="keep this filer's CIK, repeatable (leading zeros do not matter)")
    m.add_argument("--cik-file", metavar="FILE", help="CIKs to keep, one per line")
    m.add_argument("--prefix",
                   help="put before each index file name: a URL, or a local mirror directory "
                        "(then the column is path) (default https://www.sec.gov/Archives/)")
    add_arguments(m, IndexSettings)
    m.set_defaults(func=_manifest)

    c = sub.add_parser("compare-sec", help="compare our SEC-layout tables with a downloaded SEC data set")
    c.add_argument("results", metavar="RESULTS", type=Path, help="a results directory (its sec/ TSVs)")
    c.add_argument("sec_dir", metavar="SEC_DIR", type=Path,
                   help="an unzipped SEC Insider Transactions data set (SUBMISSION.tsv, …)")
    c.set_defaults(func=_compare_sec)

    pr = sub.add_parser("profile", help="inspect cluster profiles")
    prs = pr.add_subparsers(dest="profile_command", required=True)
    ps = prs.add_parser("show", help="the resolved profile and its sbatch job script; nothing submitted")
    ps.add_argument("name", metavar="NAME", help="profile in deployments/profiles.yaml or FORM3_PROFILES")
    ps.set_defaults(func=_profile)

    dr = sub.add_parser(
        "doctor", help="preflight of a Slurm profile: one probe job checks imports, API, "
        "scheduler, paths; takes the flags of `form3 run` it should check",
    )
    add_arguments(dr, RunSettings)
    dr.set_defaults(func=_doctor)

    sb = sub.add_parser(
        "submit", help="run the whole flow inside one Slurm allocation (dask-jobqueue's "
        "SLURMRunner: scheduler, flow and workers are the ranks of one srun); for login nodes "
        "that end long processes; takes the flags of `form3 run`",
    )
    add_arguments(sb, RunSettings)
    sb.add_argument("--update", action="store_true",
                    help="run `form3 update` in the allocation (with its flags --since, "
                    "--archive, …) instead of the flow over MANIFEST")
    add_arguments(sb, UpdateSettings)
    sb.add_argument("--nodes", type=int, default=1, metavar="N",
                    help="nodes of the allocation; each runs the profile's `processes` workers "
                    "(default 1)")
    sb.set_defaults(func=_submit)
    return parser


def package_version() -> str:
    """The version, declared once in pyproject.toml and read from the installed metadata."""
    return importlib.metadata.version("form3-pipeline")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:  # a bad flag or environment value: one line, no traceback
        print(f"form3 {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
