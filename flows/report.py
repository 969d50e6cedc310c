"""The run summary as Prefect artifacts: what a user sees on the flow run's page in the UI.

``run_summary.json`` is for programs; the artifacts are for the person who opens the run in
the UI and wants to know, without a shell on the login node, what happened and where the
outputs are. Both are made from the same summary dict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

SUMMARY_KEY = "form3-run-summary"
ERRORS_KEY = "form3-error-types"
TOP_ERRORS = 10


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
        "# Form 3 extraction",
        "",
        "| | filings |",
        "|---|---:|",
        *(f"| {name} | {value:,} |" for name, value in counts),
        "",
    ]
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
        f"- results: `{results}` (`parsed_form3.json`, six Parquet tables, `failures.csv`, "
        "`run_summary.json`)",
        f"- checkpoints: `{summary['checkpoint_dir']}`",
        f"- manifest: `{summary['manifest']}`",
        f"- profile `{summary['profile']}`, {summary['batches']} batches of up to "
        f"{summary['batch_size']}, parser version {summary['parser_version']}, "
        f"{summary['seconds']:.1f} s",
    ]
    return "\n".join(lines) + "\n"


def publish_run_summary(summary: dict[str, Any]) -> None:
    """Attach the summary to the current flow run (markdown, plus the error types as a table)."""
    create_markdown_artifact(
        key=SUMMARY_KEY,
        markdown=summary_markdown(summary),
        description="What this run did and where its outputs are",
    )
    rows = [{"error_type": k, "filings": n} for k, n in summary.get("error_types", {}).items()]
    if summary["not_processed"]:
        rows.append({"error_type": "not_processed", "filings": summary["not_processed"]})
    if rows:
        create_table_artifact(
            key=ERRORS_KEY, table=rows, description="Failed filings by error type"
        )
