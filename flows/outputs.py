"""Writing ``results/``: streamed, bounded in memory, published as one set.

Every output is written to a temporary file in the results directory. ``commit`` then writes
the documents that describe them (``run_summary.json``, ``README.md``, made by the caller from
the finished files, and ``SHA256SUMS`` over all of them), then a journal (``.publish.json``:
which temporary file becomes which file), renames them all and removes the journal. A run
killed before the journal leaves the previous set untouched; one killed during the renames (a
few milliseconds) leaves the journal, and the next run (or ``recover``) finishes them before
anything else. So the directory holds the whole previous set or the whole new set, outputs,
summary, README and checksums that agree, never a mix and never a torn file. Records
stream through: JSON text is written as it comes, table rows go to Parquet as Arrow tables
(one row group per chunk), so memory does not grow with the number of filings.
"""

from __future__ import annotations

import csv
import json
import os
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.files import temp_beside, write_atomic_text
from tasks.sec_tsv import sec_file_names, write_sec_tsv
from tasks.tables import SCHEMAS, TABLE_COLUMNS

JSON_NAME, FAILURES_NAME, SUMMARY_NAME = "parsed_form3.json", "failures.csv", "run_summary.json"
README_NAME, SUMS_NAME = "README.md", "SHA256SUMS"
# What describes the outputs, published with them: written last, renamed last.
DOCUMENT_NAMES = (SUMMARY_NAME, README_NAME, SUMS_NAME)
JOURNAL_NAME = ".publish.json"
FAILURE_COLUMNS = ("row", "source", "error", "message", "form_type")
# The JSON file is named for the forms it holds (``json_name``); one of them is in a set.
JSON_PATTERN = "parsed_form*.json"

SEC_DIR = "sec"  # the SEC data sets' layout (tasks/sec_tsv.py), made from the Parquet tables
OUTPUT_NAMES = (
    (JSON_NAME, FAILURES_NAME) + tuple(f"{t}.parquet" for t in TABLE_COLUMNS)
    + tuple(f"{SEC_DIR}/{n}" for n in sec_file_names())
)
# Counts that describe the output files, carried over when they are reused unchanged.
_OUTPUT_FACTS = (
    "filings", "succeeded", "failed", "data_errors", "not_processed", "error_types", "forms", "json_file",
    "rows_by_file",
)


def json_name(forms: Iterable[str]) -> str:
    """The JSON file's name for records of these form types: ``parsed_form`` and the base forms
    present in order (amendments count as their form): ``parsed_form3.json`` for Form 3s alone
    (the workshop's name, also when there is no record), ``parsed_form4.json``,
    ``parsed_form34.json``, ``parsed_form345.json``, …"""
    bases = {form.strip()[:1] for form in forms if form}
    digits = "".join(sorted(bases & set("345")))
    return f"parsed_form{digits or '3'}.json"


def output_names(results_dir: Path) -> tuple[str, ...]:
    """The set's file names: the JSON there is (whichever its name), and the outputs every run
    writes (``OUTPUT_NAMES`` names a Form 3 run's set)."""
    found = tuple(sorted(p.name for p in results_dir.glob(JSON_PATTERN)))
    return found + tuple(n for n in OUTPUT_NAMES if n != JSON_NAME)


# Makes the summary and README texts from the set's files (name -> the file holding its new
# content: a temporary file, or the output itself when it is reused unchanged) and their rows.
Documenter = Callable[[dict[str, Path], dict[str, int]], dict[str, str]]


def output_sizes(results_dir: Path, files: dict[str, Path] | None = None) -> dict[str, int]:
    """Bytes of each output there is (``files``: the set's outputs and where each one's content
    is, if not in place; by default the outputs in ``results_dir``)."""
    where = files if files is not None else {n: results_dir / n for n in output_names(results_dir)}
    return {n: path.stat().st_size for n, path in where.items() if path.exists()}


def reusable_outputs(results_dir: Path, fingerprint: str) -> dict[str, Any] | None:
    """The last run's output facts if its files were made from exactly these inputs and are
    all still there, untouched in size; else None (write them again)."""
    try:
        previous = json.loads((results_dir / SUMMARY_NAME).read_text())
    except (OSError, ValueError):
        return None
    if previous.get("outputs_fingerprint") != fingerprint:
        return None
    if previous.get("output_bytes") != output_sizes(results_dir):
        return None
    if len(previous["output_bytes"]) != len(OUTPUT_NAMES) or "rows_by_file" not in previous:
        return None
    return {k: previous[k] for k in _OUTPUT_FACTS if k in previous} | {
        "results_dir": str(results_dir), "checkpoint_dir": previous.get("checkpoint_dir"),
    }


def recover(results_dir: Path) -> bool:
    """Finish a publication a kill interrupted (see module doc), then remove the temporary
    files a killed run left; True if there was a publication to finish."""
    journal = results_dir / JOURNAL_NAME
    try:
        moves = json.loads(journal.read_text())
    except (OSError, ValueError):
        journal.unlink(missing_ok=True)  # absent, or torn before any rename happened
        moves = None
    for tmp, target in moves or ():
        if Path(tmp).exists():
            os.replace(tmp, target)
    if moves is not None:
        journal.unlink()
    for name in OUTPUT_NAMES + DOCUMENT_NAMES:  # one writer per results directory
        target = results_dir / name
        for stale in target.parent.glob(f".{target.name}.*.tmp"):
            stale.unlink(missing_ok=True)
    for stale in results_dir.glob(f".{JSON_PATTERN}.*.tmp"):  # JSON of other names, retired ones
        stale.unlink(missing_ok=True)
    return moves is not None


class ResultsWriter:
    """Collects one run's outputs; nothing is visible under its final name before ``commit``."""

    def __init__(self, results_dir: Path) -> None:
        self.dir = results_dir
        results_dir.mkdir(parents=True, exist_ok=True)
        self._temps: dict[Path, Path] = {}
        self.json_name = JSON_NAME  # until ``name_json`` knows the forms
        self._json = open(self._temp(results_dir / JSON_NAME), "w", encoding="utf-8")
        self._json.write("[")
        self._first = True
        self._failures = open(self._temp(results_dir / FAILURES_NAME), "w", newline="", encoding="utf-8")
        self._failures_csv = csv.writer(self._failures)
        self._failures_csv.writerow(FAILURE_COLUMNS)
        self._parquet = {
            name: pq.ParquetWriter(self._temp(results_dir / f"{name}.parquet"), SCHEMAS[name])
            for name in TABLE_COLUMNS
        }
        self.records = 0
        self.failures = 0
        self._table_rows = dict.fromkeys(TABLE_COLUMNS, 0)

    def _temp(self, target: Path) -> Path:
        tmp = temp_beside(target)
        self._temps[target] = tmp
        return tmp

    def add_records(self, json_lines: list[str], tables: dict[str, pa.Table]) -> None:
        """Records in output order: their JSON objects, and their rows of every table."""
        if json_lines:
            self._json.write(("\n" if self._first else ",\n") + ",\n".join(json_lines))
            self._first = False
        for name, table in tables.items():
            if table.num_rows:
                self._parquet[name].write_table(table)
                self._table_rows[name] += table.num_rows
        self.records += len(json_lines)

    def add_failure(self, row: int, source: str, error: str, message: str, form_type: str | None = None) -> None:
        self._failures_csv.writerow((row, source, error, message, form_type or ""))
        self.failures += 1

    def name_json(self, forms: Iterable[str]) -> None:
        """Publish the JSON under the name of the forms its records hold (``json_name``)."""
        name = json_name(forms)
        self._temps[self.dir / name] = self._temps.pop(self.dir / self.json_name)
        self.json_name = name

    def commit(self, document: Documenter) -> None:
        """Finish every file, then publish them with their documents (see module doc)."""
        self._json.write("\n]\n" if not self._first else "]\n")
        self._json.close()
        self._failures.close()
        for writer in self._parquet.values():
            writer.close()
        sec = self.dir / SEC_DIR
        sec.mkdir(exist_ok=True)
        tsv_rows = write_sec_tsv(
            {t: self._temps[self.dir / f"{t}.parquet"] for t in TABLE_COLUMNS},
            {n: self._temp(sec / n) for n in sec_file_names()},
        )
        rows = {self.json_name: self.records, FAILURES_NAME: self.failures}
        rows |= {f"{t}.parquet": n for t, n in self._table_rows.items()}
        rows |= {f"{SEC_DIR}/{n}": tsv_rows[n] for n in sec_file_names()}
        files = {target.relative_to(self.dir).as_posix(): tmp for target, tmp in self._temps.items()}
        publish_set(self.dir, files, rows, document)
        self._temps.clear()

    def abort(self) -> None:
        for handle in (self._json, self._failures):
            handle.close()
        for writer in self._parquet.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - best effort cleanup of temp files
                pass
        for tmp in self._temps.values():
            Path(tmp).unlink(missing_ok=True)
        self._temps.clear()


def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _previous_sums(results_dir: Path) -> dict[str, str]:
    """The last set's checksums by name ({} if there is no readable SHA256SUMS)."""
    try:
        lines = (results_dir / SUMS_NAME).read_text().splitlines()
    except OSError:
        return {}
    return {name: digest for digest, _, name in (line.partition("  ") for line in lines) if name}


def publish_set(results_dir: Path, files: dict[str, Path], rows: dict[str, int], document: Documenter) -> None:
    """Publish ``files`` (see ``Documenter``) with their summary, README and ``SHA256SUMS``
    as one set: journal, then renames, outputs first. An output reused unchanged keeps the
    checksum the last set recorded for it (its size was checked, as for the reuse itself)."""
    files = dict(files)
    previous = _previous_sums(results_dir)
    for name, text in document(files, rows).items():
        tmp = temp_beside(results_dir / name)
        tmp.write_text(text, encoding="utf-8")
        files[name] = tmp
    sums = []
    for name in sorted(files):
        reused = files[name] == results_dir / name
        digest = previous.get(name) if reused else None
        sums.append(f"{digest or sha256_of(files[name])}  {name}\n")
    files[SUMS_NAME] = temp_beside(results_dir / SUMS_NAME)
    files[SUMS_NAME].write_text("".join(sums), encoding="utf-8")
    moves = [[str(tmp), str(results_dir / name)] for name, tmp in files.items() if tmp != results_dir / name]
    # A JSON of another name (the last set held other forms) leaves with its set: renamed to a
    # temporary name, which ``recover`` then removes.
    moves += [[str(old), str(temp_beside(old))] for old in sorted(results_dir.glob(JSON_PATTERN)) if old.name not in files]
    for tmp, _ in moves:
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    write_atomic_text(results_dir / JOURNAL_NAME, json.dumps(moves))
    recover(results_dir)
