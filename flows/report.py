"""The run summary as Prefect artifacts: what a user sees on the flow run's page in the UI.

``run_summary.json`` is for programs; the artifacts are for the person who opens the run in
the UI and wants to know, without a shell on the login node, what happened, what failed and
where the outputs are. The summary artifacts are made from the summary dict; the failures
table from ``failures.csv`` as written (its first ``FAILURES_SHOWN`` rows, all rows counted).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.outputs import FAILURE_COLUMNS, FAILURES_NAME, JSON_NAME, QUARTERLY

SUMMARY_KEY = "form3-run-summary"
FORMS_KEY = "form3-forms"
ERRORS_KEY = "form3-error-types"
FAILURES_KEY = "form3-failures"
TOP_ERRORS = 10
FAILURES_SHOWN = 100  # rows of failures.csv in the UI's table; the file has them all
MESSAGE_CHARS = 300  # an error message longer than this is cut in the table (not in the file)


def summary_markdown(summary: dict[str, Any]) -> str:
    results = Path(summary["results_dir"])
    counts = [
        ("filings in manifest", summary["filings"]),
        ("parsed in this run", summary["parsed"]),
        ("loaded from checkpoints", summary["cached"]),
        ("succeeded", summary["succeeded"]),
        ("failed (data errors)", summary["data_errors"]),
        ("not processed (infrastructure errors; retry the run)", summary["not_processed"]),
    ]
    lines = [
        "# Ownership filings extraction",
        "",
        "| | filings |",
        "|---|---:|",
        *(f"| {name} | {value:,} |" for name, value in counts),
        "",
    ]
    forms = summary.get("forms") or {}
    if forms:
        lines += ["## By form type", "", "| form | filings | succeeded | failed |", "|---|---:|---:|---:|"]
        lines += [f"| {form} | {n['filings']:,} | {n['succeeded']:,} | {n['failed']:,} |" for form, n in forms.items()]
        lines.append("")
    errors = list(summary.get("error_types", {}).items())[:TOP_ERRORS]
    if errors or summary["not_processed"]:
        lines += ["## Top error types", "", "| error type | filings |", "|---|---:|"]
        lines += [f"| `{kind}` | {n:,} |" for kind, n in errors]
        if summary["not_processed"]:
            lines.append(f"| `not_processed` | {summary['not_processed']:,} |")
        lines += ["", f"One row per failed filing: `{results / 'failures.csv'}`", ""]
    lines += [
        "## Outputs",
        "",
        f"- results: `{results}` (`{summary.get('json_file', JSON_NAME)}`, the Parquet tables, "
        "`sec/` TSVs, `failures.csv`, `run_summary.json`)",
        *([f"- quarterly layout: {len(summary.get('partitions') or {})} quarters; written in this run: "
           f"{', '.join(summary.get('partitions_written') or []) or 'none'}"]
          if summary.get("layout") == QUARTERLY else []),
        f"- checkpoints: `{summary['checkpoint_dir']}`",
        f"- manifest: `{summary['manifest']}`",
        f"- profile `{summary['profile']}`, {summary['batches']} batches of up to "
        f"{summary['batch_size']}, parser version {summary['parser_version']}, "
        f"{summary['seconds']:.1f} s",
    ]
    settings = summary.get("settings") or {}
    if settings:  # the values this run used, as resolved by the process that started it
        lines += ["", "## Settings", "", "| setting | value |", "|---|---|"]
        lines += [f"| `{name}` | `{value}` |" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def publish_run_summary(summary: dict[str, Any]) -> None:
    """Attach the summary to the current flow run: markdown, the error types as a table, and
    the failed filings as a table (read from the results directory's ``failures.csv``)."""
    create_markdown_artifact(
        key=SUMMARY_KEY,
        markdown=summary_markdown(summary),
        description="What this run did and where its outputs are",
    )
    forms = [{"form_type": form} | counts for form, counts in (summary.get("forms") or {}).items()]
    if forms:
        create_table_artifact(key=FORMS_KEY, table=forms, description="Filings by form type")
    rows = [{"error_type": k, "filings": n} for k, n in summary.get("error_types", {}).items()]
    if summary["not_processed"]:
        rows.append({"error_type": "not_processed", "filings": summary["not_processed"]})
    if rows:
        create_table_artifact(
            key=ERRORS_KEY, table=rows, description="Failed filings by error type"
        )
    # Called once the outputs are written (or found up to date): failures.csv is complete.
    publish_failures(Path(summary["results_dir"]))


def read_failures(path: Path, limit: int = FAILURES_SHOWN) -> tuple[list[dict[str, str]], Counter[str]]:
    """The first ``limit`` rows of a ``failures.csv`` and the count of every row by error kind
    (streamed: a run with a million failures is not held in memory)."""
    shown: list[dict[str, str]] = []
    kinds: Counter[str] = Counter()
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            kinds[row["error"]] += 1
            if len(shown) < limit:
                message = row["message"]
                if len(message) > MESSAGE_CHARS:
                    message = message[: MESSAGE_CHARS - 1] + "…"
                shown.append({name: row.get(name) or "" for name in FAILURE_COLUMNS} | {"message": message})
    return shown, kinds


def failures_description(shown: int, kinds: Counter[str], path: Path) -> str:
    total = sum(kinds.values())
    lines = [
        f"**{total:,} failed filings**"
        + (f"; the first {shown:,} in manifest order below" if shown < total else "")
        + f". All of them: `{path}`",
        "",
        "| error kind | filings |",
        "|---|---:|",
        *(f"| `{kind}` | {n:,} |" for kind, n in kinds.most_common()),
    ]
    return "\n".join(lines) + "\n"


def publish_failures(results_dir: Path) -> None:
    """A table artifact of the failed filings (row, source, error kind, message) with the
    counts by kind in its description; nothing when the run has no failure."""
    path = Path(results_dir) / FAILURES_NAME
    if not path.is_file():
        return
    shown, kinds = read_failures(path)
    if not shown:
        return
    create_table_artifact(
        key=FAILURES_KEY, table=shown, description=failures_description(len(shown), kinds, path),
    )
