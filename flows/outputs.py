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

Two layouts (``layout`` in run_summary.json; docs/results.md shows both):
- ``single``: one file per output (``parsed_form3.json``, ``submissions.parquet``, ``sec/SUBMISSION.tsv``).
- ``quarterly``: every per-filing output partitioned by the quarter of the manifest's
  ``date_filed``, as the SEC publishes its data sets: ``json/2024q3.json``,
  ``submissions/quarter=2024q3/part-0.parquet`` (a Hive-partitioned dataset, read whole by
  ``pd.read_parquet("submissions")`` or DuckDB), ``sec/2024q3/SUBMISSION.tsv``; rows without
  a date go to ``undated``. ``failures.csv`` stays one file (it is small). A publication writes
  only the partitions whose inputs changed (``flows.publishing``); the rest of the set is kept
  as it is, with its recorded checksums, and a partition that is no longer made is retired
  in the same journal.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from flows.settings import QUARTERLY, SINGLE, Layout, RunSettings
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
# Counts that describe the output files, carried over when they are reused unchanged.
_OUTPUT_FACTS = (
    "filings", "succeeded", "failed", "data_errors", "not_processed", "error_types", "forms", "json_file",
    "rows_by_file", "layout", "partitions",
)

JSON_DIR = "json"  # the quarterly layout's JSON: json/2024q3.json
PARTITION_KEY = "quarter"  # the Hive partition column of its tables: submissions/quarter=2024q3/
PART_FILE = "part-0.parquet"
UNDATED = "undated"  # the partition of rows whose manifest gives no readable filing date


@functools.cache  # a million rows have a few thousand dates
def quarter_of(filed: str | None) -> str:
    """The partition of a filing dated ``filed`` (``YYYY-MM-DD`` or EDGAR's ``YYYYMMDD``):
    ``2024q3``, as the SEC names its quarterly data sets; ``UNDATED`` without a readable date."""
    digits = (filed or "").replace("-", "")
    if len(digits) != 8 or not digits.isdigit() or not 1 <= int(digits[4:6]) <= 12:
        return UNDATED
    return f"{digits[:4]}q{(int(digits[4:6]) - 1) // 3 + 1}"


@dataclass(frozen=True, slots=True)
class OutputFiles:
    """Where one writer's outputs go, relative to the results directory: the whole set
    (single layout) or one quarter's partition (``failures`` None: the publisher writes
    ``failures.csv`` for all partitions)."""

    json: str
    failures: str | None
    tables: dict[str, str] = field(default_factory=dict)
    sec: dict[str, str] = field(default_factory=dict)

    @classmethod
    def single(cls) -> OutputFiles:
        return cls(JSON_NAME, FAILURES_NAME, {t: f"{t}.parquet" for t in TABLE_COLUMNS},
                   {n: f"{SEC_DIR}/{n}" for n in sec_file_names()})

    @classmethod
    def partition(cls, quarter: str) -> OutputFiles:
        return cls(f"{JSON_DIR}/{quarter}.json", None,
                   {t: f"{t}/{PARTITION_KEY}={quarter}/{PART_FILE}" for t in TABLE_COLUMNS},
                   {n: f"{SEC_DIR}/{quarter}/{n}" for n in sec_file_names()})

    def names(self) -> tuple[str, ...]:
        return (self.json, *((self.failures,) if self.failures else ()), *self.tables.values(), *self.sec.values())


OUTPUT_NAMES = OutputFiles.single().names()  # a Form 3 run's set (the JSON is named for its forms)


def json_name(forms: Iterable[str]) -> str:
    """The JSON file's name for records of these form types: ``parsed_form`` and the base forms
    present in order (amendments count as their form): ``parsed_form3.json`` for Form 3s alone
    (the workshop's name, also when there is no record), ``parsed_form4.json``,
    ``parsed_form34.json``, ``parsed_form345.json``, …"""
    bases = {form.strip()[:1] for form in forms if form}
    digits = "".join(sorted(bases & set("345")))
    return f"parsed_form{digits or '3'}.json"


def is_output_name(name: str) -> bool:
    """Whether ``name`` (relative to the results directory) is an output of either layout."""
    top = name.split("/", 1)[0]
    return (name in OUTPUT_NAMES or fnmatch(name, JSON_PATTERN)
            or ("/" in name and top in (JSON_DIR, SEC_DIR, *TABLE_COLUMNS)))


def read_summary(results_dir: Path) -> dict[str, Any] | None:
    """The ``run_summary.json`` of the set in ``results_dir`` (None: none there, or unreadable)."""
    try:
        summary = json.loads((results_dir / SUMMARY_NAME).read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def published_layout(results_dir: Path) -> Layout | None:
    """The layout of the set in ``results_dir`` (None: no set there yet)."""
    previous = read_summary(results_dir)
    return None if previous is None else previous.get("layout", SINGLE)


def run_layout(settings: RunSettings, new: Layout = SINGLE) -> Layout:
    """The layout a run publishes in: the one asked for, else the one of the results already
    there (a plain rerun keeps it), else ``new``."""
    return settings.layout or published_layout(settings.results_dir) or new


def published_quarters(results_dir: Path) -> list[str]:
    """The partitions of the quarterly set in ``results_dir``, by their JSON files."""
    return sorted(p.stem for p in (results_dir / JSON_DIR).glob("*.json"))


def output_names(results_dir: Path, layout: Layout = SINGLE) -> tuple[str, ...]:
    """The set's file names: the JSON there is (whichever its name), and the outputs every run
    writes (``OUTPUT_NAMES`` names a Form 3 run's set); in the quarterly layout, every file of
    each partition there is, and ``failures.csv``."""
    if layout == QUARTERLY:
        parts = published_quarters(results_dir)
        return tuple(n for q in parts for n in OutputFiles.partition(q).names()) + (FAILURES_NAME,)
    found = tuple(sorted(p.name for p in results_dir.glob(JSON_PATTERN)))
    return found + tuple(n for n in OUTPUT_NAMES if n != JSON_NAME)


# Makes the summary and README texts from the set's files (name -> the file holding its new
# content: a temporary file, or the output itself when it is reused unchanged) and their rows.
Documenter = Callable[[dict[str, Path], dict[str, int]], dict[str, str]]


def output_sizes(
    results_dir: Path, files: dict[str, Path] | None = None, layout: Layout = SINGLE,
) -> dict[str, int]:
    """Bytes of each output there is (``files``: the set's outputs and where each one's content
    is, if not in place; by default the outputs in ``results_dir``)."""
    where = files if files is not None else {n: results_dir / n for n in output_names(results_dir, layout)}
    return {n: path.stat().st_size for n, path in where.items() if path.exists()}


def reusable_outputs(results_dir: Path, fingerprint: str, layout: Layout = SINGLE) -> dict[str, Any] | None:
    """The last run's output facts if its files were made from exactly these inputs and are
    all still there, untouched in size; else None (write them again)."""
    previous = read_summary(results_dir)
    if previous is None or previous.get("outputs_fingerprint") != fingerprint:
        return None
    names = output_names(results_dir, layout)
    # Sizes of every file the set now has, equal to those recorded: none missing, none added.
    if previous.get("output_bytes") != output_sizes(results_dir, {n: results_dir / n for n in names}):
        return None
    if set(names) != set(previous["output_bytes"]) or "rows_by_file" not in previous:
        return None
    return {k: previous[k] for k in _OUTPUT_FACTS if k in previous} | {
        "results_dir": str(results_dir), "checkpoint_dir": previous.get("checkpoint_dir"),
    }


def _output_dirs(results_dir: Path) -> list[Path]:
    """Every directory below ``results_dir`` that outputs of either layout live in."""
    dirs = [results_dir / SEC_DIR, results_dir / JSON_DIR]
    dirs += [d for d in (results_dir / SEC_DIR).glob("*") if d.is_dir()]
    for table in TABLE_COLUMNS:
        dirs += [results_dir / table, *(results_dir / table).glob(f"{PARTITION_KEY}=*")]
    return [d for d in dirs if d.is_dir()]


def recover(results_dir: Path) -> bool:
    """Finish a publication a kill interrupted (see module doc), then remove the temporary
    files a killed run left, and the directories of retired partitions; True if there was a
    publication to finish."""
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
    # One writer per results directory: every temporary file of an output is stale here (in
    # the top directory, those named for an output; other files live there too).
    for name in (*OUTPUT_NAMES, *DOCUMENT_NAMES, JSON_PATTERN):
        for stale in results_dir.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)
    for directory in sorted(_output_dirs(results_dir), key=lambda d: -len(d.parts)):
        for stale in directory.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        if not any(directory.iterdir()):
            directory.rmdir()  # a retired partition's, or an unused layout's
    return moves is not None


class ResultsWriter:
    """Collects one run's outputs (or one partition's, see ``OutputFiles``); nothing is
    visible under its final name before it is published."""

    def __init__(self, results_dir: Path, files: OutputFiles | None = None) -> None:
        self.dir = results_dir
        self.files = files or OutputFiles.single()
        results_dir.mkdir(parents=True, exist_ok=True)
        self._temps: dict[Path, Path] = {}
        self.json_name = self.files.json  # until ``name_json`` knows the forms
        self._json = open(self._temp(results_dir / self.json_name), "w", encoding="utf-8")
        self._json.write("[")
        self._first = True
        # Without a failures file of its own, the rows are kept for the publisher.
        self.failure_rows: list[tuple[int, str, str, str, str]] = []
        self._failures = None
        if self.files.failures:
            self._failures = open(self._temp(results_dir / self.files.failures), "w", newline="", encoding="utf-8")
            self._failures_csv = csv.writer(self._failures)
            self._failures_csv.writerow(FAILURE_COLUMNS)
        self._parquet = {
            name: pq.ParquetWriter(self._temp(results_dir / path), SCHEMAS[name])
            for name, path in self.files.tables.items()
        }
        self.records = 0
        self.failures = 0
        self._table_rows = dict.fromkeys(TABLE_COLUMNS, 0)

    def _temp(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
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
        line = (row, source, error, message, form_type or "")
        if self._failures is None:
            self.failure_rows.append(line)
        else:
            self._failures_csv.writerow(line)
        self.failures += 1

    def name_json(self, forms: Iterable[str]) -> None:
        """Publish the JSON under the name of the forms its records hold (``json_name``); a
        partition's JSON is named for its quarter."""
        if self.files.json != JSON_NAME:
            return
        name = json_name(forms)
        self._temps[self.dir / name] = self._temps.pop(self.dir / self.json_name)
        self.json_name = name

    def finish(self) -> tuple[dict[str, Path], dict[str, int]]:
        """Finish every file: {name: its temporary file} and {name: its rows}."""
        self._json.write("\n]\n" if not self._first else "]\n")
        self._json.close()
        if self._failures is not None:
            self._failures.close()
        for writer in self._parquet.values():
            writer.close()
        tsv_rows = write_sec_tsv(
            {t: self._temps[self.dir / path] for t, path in self.files.tables.items()},
            {n: self._temp(self.dir / path) for n, path in self.files.sec.items()},
        )
        rows = {self.json_name: self.records}
        if self.files.failures:
            rows[self.files.failures] = self.failures
        rows |= {self.files.tables[t]: n for t, n in self._table_rows.items()}
        rows |= {path: tsv_rows[n] for n, path in self.files.sec.items()}
        files = {target.relative_to(self.dir).as_posix(): tmp for target, tmp in self._temps.items()}
        self._temps.clear()
        return files, rows

    def commit(self, document: Documenter) -> None:
        """Finish every file, then publish them with their documents (see module doc)."""
        files, rows = self.finish()
        publish_set(self.dir, files, rows, document)

    def abort(self) -> None:
        for handle in (self._json, self._failures):
            if handle is not None:
                handle.close()
        for writer in self._parquet.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - best effort cleanup of temp files
                pass
        for tmp in self._temps.values():
            Path(tmp).unlink(missing_ok=True)
        self._temps.clear()


def write_failures(path: Path, rows: Iterable[tuple[Any, ...]]) -> int:
    """``failures.csv`` with these rows (``FAILURE_COLUMNS``), as ``ResultsWriter`` writes it."""
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(FAILURE_COLUMNS)
        for row in rows:
            out.writerow(row)
            n += 1
    return n


def read_failure_rows(path: Path) -> list[tuple[int, str, str, str, str]]:
    """The rows of a ``failures.csv`` as ``write_failures`` takes them ([] if there is none)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        return []
    if not rows or tuple(rows[0]) != FAILURE_COLUMNS:
        return []
    return [(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows[1:]]


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
    # Outputs of the last set that this one does not have (a JSON named for other forms, a
    # partition no longer made, the other layout's files) leave with their set: renamed to a
    # temporary name, which ``recover`` then removes.
    retired = {n for n in previous if n not in files and is_output_name(n) and (results_dir / n).is_file()}
    retired |= {p.name for p in results_dir.glob(JSON_PATTERN) if p.name not in files}  # sets before SHA256SUMS
    moves += [[str(results_dir / n), str(temp_beside(results_dir / n))] for n in sorted(retired)]
    for tmp, _ in moves:
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    write_atomic_text(results_dir / JOURNAL_NAME, json.dumps(moves))
    recover(results_dir)
