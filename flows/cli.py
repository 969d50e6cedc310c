"""The ``form3`` command line: one subcommand per user-facing job."""

from __future__ import annotations

import argparse
import sys


def _parse(args: argparse.Namespace) -> int:
    from flows.parse_command import parse_files

    return parse_files(args.files)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="form3", description="SEC Form 3 filings to research tables."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="parse files and print one JSON object per file")
    p.add_argument("files", nargs="+", metavar="FILE", help="EDGAR .txt submission or ownership XML")
    p.set_defaults(func=_parse)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
