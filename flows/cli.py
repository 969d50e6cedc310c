"""The ``form3`` command line: one subcommand per user-facing job."""

from __future__ import annotations

import argparse
import json
import sys


def _parse(args: argparse.Namespace) -> int:
    from flows.parse_command import parse_files

    return parse_files(args.files)


def _run(args: argparse.Namespace) -> int:
    from flows.cluster import ProfileError, UnreachableApiError, check_api_reachable, get_profile
    from flows.local_api import configured_api_url
    from flows.manifest import ManifestError, read_manifest
    from flows.settings import RunSettings

    settings = RunSettings.resolve(
        args.manifest, args.results, args.store, args.cluster, args.profile, args.batch_size,
        args.column,
    )
    try:  # fail fast, before any server or cluster starts
        read_manifest(settings.manifest, settings.column)
        profile = get_profile(settings.profile_name, settings.cluster if settings.cluster_explicit else None)
        check_api_reachable(profile, configured_api_url())
    except (ManifestError, ProfileError, UnreachableApiError) as exc:
        print(f"form3 run: {exc}", file=sys.stderr)
        return 2

    from flows.flow import extract_form3
    from flows.local_api import run_api

    with run_api(settings.results_dir / "logs") as api_url:
        print(f"form3 run: Prefect API {api_url} (profile {profile.name})", file=sys.stderr)
        state = extract_form3(
            manifest=str(settings.manifest),
            results_dir=str(settings.results_dir),
            cluster=settings.cluster if settings.cluster_explicit else None,
            profile=settings.profile,
            batch_size=settings.batch_size,
            store_dir=str(settings.store_dir) if settings.store_dir else None,
            return_state=True,
        )
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, dict):
        print(json.dumps(summary, indent=2))
    if not state.is_completed():
        print(f"form3 run: {state.name}: {state.message}", file=sys.stderr)
        return 1
    return 0


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
    r.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
