"""``results/README.md``: the results directory describes itself, from the run that made it.

The workshop's last step, "copy results home and document your work", was done by hand. Every
publication now writes this page beside the outputs, from the run summary (what was done, how
it ran) and the files themselves (row counts), so a copy on a laptop says what it is, how it
was made, how to rerun it with new data and how to check it (``sha256sum -c SHA256SUMS``). It
is published in the same set as the outputs (``flows.outputs.publish_set``), so it never
describes files that are not there.
"""

from __future__ import annotations

import re
import shlex
import sys
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from flows.outputs import (
    FAILURES_NAME, JSON_DIR, JSON_NAME, JSON_PATTERN, PARTITION_KEY, QUARTERLY, SEC_DIR, SUMMARY_NAME,
    SUMS_NAME,
)
from flows.settings import REPO_ROOT, RunSettings, logs_dir
from flows.settings_sources import source_of
from tasks.tables import EXTENSION_FILES, SEC_FILES

# The installed project's copy (generated from tasks/tables.py; it matches this parser version).
DICTIONARY = REPO_ROOT / "docs" / "data-dictionary.md"

# One line per output: what it holds (the columns are in the data dictionary).
_HOLDS = {
    JSON_NAME: "one JSON object per parsed filing: the workshop's fields and the full detail",
    FAILURES_NAME: "one row per filing that failed: manifest row, source, error type, message, form type",
}
_TABLE_HOLDS = {
    "submissions": "one row per filing: accession, dates, form type, issuer",
    "reporting_owners": "one row per reporting owner of a filing: CIK, name, address, relationship",
    "nonderiv_holdings": "non-derivative holdings (Table I) as filed",
    "deriv_holdings": "derivative holdings (Table II) as filed",
    "nonderiv_trans": "non-derivative transactions (Table I of Forms 4 and 5)",
    "deriv_trans": "derivative transactions (Table II of Forms 4 and 5)",
    "footnotes": "the filings' footnotes, by footnote id",
    "owner_signatures": "the signatures, name and date",
}


def _by_kind(rows_by_file: dict[str, int]) -> dict[str, int]:
    """Rows per output of the quarterly layout, its partitions' files summed under one name
    with ``*`` for the quarter (``sec/*/SUBMISSION.tsv``); other names as they are."""
    kinds: dict[str, int] = {}
    for name, rows in rows_by_file.items():
        parts = name.split("/")
        if parts[0] == JSON_DIR and len(parts) == 2:
            name = f"{JSON_DIR}/*.json"
        elif parts[0] == SEC_DIR and len(parts) == 3:
            name = f"{SEC_DIR}/*/{parts[2]}"
        elif len(parts) == 3 and parts[1].startswith(f"{PARTITION_KEY}="):
            name = f"{parts[0]}/{PARTITION_KEY}=*/{parts[2]}"
        kinds[name] = kinds.get(name, 0) + rows
    return kinds


def _what(name: str) -> str:
    """The line saying what one output file (or one kind of partition file) holds."""
    if name in _HOLDS:
        return _HOLDS[name]
    if fnmatch(name, JSON_PATTERN) or name.startswith(f"{JSON_DIR}/"):  # named for its forms or quarter
        return _HOLDS[JSON_NAME]
    name = re.sub(rf"^{SEC_DIR}/[^/]+/", f"{SEC_DIR}/", name)  # a quarter's SEC file
    name = re.sub(rf"/{PARTITION_KEY}=[^/]+/.*$", ".parquet", name)  # a quarter's table file
    table = name.removesuffix(".parquet")
    if table in SEC_FILES:
        return _TABLE_HOLDS.get(table, f"the `{table}` table")
    sec_name = name.removeprefix(f"{SEC_DIR}/").removesuffix(".tsv")
    for table, sec in SEC_FILES.items():
        if sec == sec_name:
            return f"`{table}` in the SEC Insider Transactions Data Sets' exact layout"
    for table, (ext, _) in EXTENSION_FILES.items():
        if ext == sec_name:
            return f"`{table}` columns the SEC's files do not have (our extension)"
    return "output"


def rerun_command(settings: dict[str, Any]) -> str:
    """The ``form3 run`` line that repeats this run: the manifest, and every setting that
    differs from its declared default, by its declared flag."""
    defaults = RunSettings.model_construct().model_dump(mode="json")
    installed = Path(sys.prefix) / "bin" / "form3"  # this installation's, wherever PATH points
    parts = [str(installed) if installed.exists() else "form3", "run"]
    for name, field in RunSettings.model_fields.items():
        value, source = settings.get(name), source_of(field)
        if value is None or (not source.positional and str(value) == str(defaults[name])):
            continue
        text = shlex.quote(str(value))
        parts.append(text if source.positional else f"{source.flag} {text}")
    return " ".join(parts)


def rsync_line(host: str, results: Path, checkpoints: Path) -> str:
    """The copy-home command: the results without what only reruns need (the checkpoint store
    and the run server's logs, when they are inside the results directory)."""
    excludes = "".join(
        f" --exclude /{d.relative_to(results).as_posix()}"
        for d in (checkpoints, logs_dir(results)) if d.is_relative_to(results)
    )
    return f"rsync -av{excludes} {host}:{results}/ ./{results.name}/"


def _counts_table(title: str, counts: dict[str, Any]) -> list[str]:
    return [f"| {title} | filings |", "|---|---:|", *(f"| {k} | {v:,} |" for k, v in counts.items()), ""]


def render(summary: dict[str, Any], host: str) -> str:
    """The page, from the run summary."""
    results = summary["results_dir"]
    settings = summary.get("settings") or {}
    outcome = {
        "in the manifest": summary["filings"],
        "succeeded": summary["succeeded"],
        "failed: data errors (the filing itself)": summary["data_errors"],
        "failed: not processed (infrastructure; rerun)": summary["not_processed"],
        "parsed in this run": summary["parsed"],
        "loaded from checkpoints": summary["cached"],
    }
    lines = [
        "# Results of a form3 run",
        "",
        "Written by `form3 run` with these files; it describes this run. Check a copy with",
        f"`sha256sum -c {SUMS_NAME}` inside the directory.",
        "",
        "## What was done",
        "",
        f"- manifest: `{summary['manifest']}`",
        f"- parser version: {summary['parser_version']}",
        "",
        *_counts_table("outcome", outcome),
    ]
    errors = summary.get("error_types") or {}
    if errors:
        lines += _counts_table("error type", errors)
    forms = summary.get("forms") or {}
    if forms:
        lines += ["| form type | filings | succeeded | failed |", "|---|---:|---:|---:|"]
        lines += [f"| {k} | {v['filings']:,} | {v['succeeded']:,} | {v['failed']:,} |" for k, v in forms.items()]
        lines += [""]
    lines += ["Settings used:", "", "| setting | value |", "|---|---|"]
    lines += [f"| `{name}` | `{value}` |" for name, value in settings.items()]
    jobs = summary.get("slurm_job_ids") or []
    lines += [
        "",
        "## How it ran",
        "",
        f"- profile `{summary['profile']}`, {summary['batches']} batches of up to "
        f"{summary['batch_size']} filings, {summary['seconds']:.1f} s up to publishing",
        f"- Slurm jobs: {', '.join(jobs) if jobs else 'none (no Slurm workers)'}",
        f"- Prefect flow run `{summary['flow_run_id']}`"
        + (f": {summary['flow_run_url']}" if summary.get("flow_run_url") else ""),
        f"- checkpoints: `{summary['checkpoint_dir']}` (not part of this set)",
        "",
        "## What each file holds",
        "",
        f"Columns and types: the data dictionary, `{DICTIONARY}` in the form3 installation on {host}.",
        "",
        "| file | rows | holds |",
        "|---|---:|---|",
    ]
    partitions = summary.get("partitions") or {}
    if summary.get("layout") == QUARTERLY:
        written = summary.get("partitions_written") or []
        lines[-4:-4] = [
            f"Quarterly layout: every output but `{FAILURES_NAME}` in one partition per quarter of"
            f" filing date ({', '.join(partitions) or 'none'}); this run wrote "
            f"{', '.join(written) if written else 'none'} and kept the others. Rows below are summed"
            f" over the quarters (`*`). Each quarter's counts are in `{SUMMARY_NAME}` (`partitions`).",
            "",
        ]
    for name, rows in _by_kind(summary.get("rows_by_file") or {}).items():
        lines.append(f"| `{name}` | {rows:,} | {_what(name)} |")
    lines += [
        f"| `{SUMMARY_NAME}` | | this run's facts for programs (counts, settings, timings) |",
        f"| `{SUMS_NAME}` | | sha256 of every file here |",
        "",
        "## Rerun with new data",
        "",
        "Add rows to the manifest (or name another manifest) and run, on this host:",
        "",
        "```",
        rerun_command(settings),
        "```",
        "",
        "Filings already checkpointed are loaded, not parsed again; the outputs are replaced as",
        "one set.",
        "",
        "## Copy it home",
        "",
        "```",
        rsync_line(host, Path(results), Path(summary["checkpoint_dir"])),
        f"cd {Path(results).name} && sha256sum -c {SUMS_NAME}",
        "```",
        "",
    ]
    return "\n".join(lines)
