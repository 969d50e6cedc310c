"""Writing ``results/``: streamed, bounded in memory, and atomic per file.

Each output is written to a temporary file in the results directory and renamed over the old
one only when complete, so a kill at any moment leaves either the previous or the new version
of every file, never a torn one. Records stream through: JSON objects are written as they come,
table rows are flushed to Parquet every ``ROW_GROUP`` rows, so memory does not grow with the
number of filings.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.sec_tsv import sec_file_names, write_sec_tsv
from tasks.tables import SCHEMAS, TABLE_COLUMNS, Row

ROW_GROUP = 50_000
JSON_NAME, FAILURES_NAME, SUMMARY_NAME = "parsed_form3.json", "failures.csv", "run_summary.json"
FAILURE_COLUMNS = ("row", "source", "error", "message")


SEC_DIR = "sec"  # the SEC data sets' layout (tasks/sec_tsv.py), made from the Parquet tables
OUTPUT_NAMES = (
    (JSON_NAME, FAILURES_NAME) + tuple(f"{t}.parquet" for t in TABLE_COLUMNS)
    + tuple(f"{SEC_DIR}/{n}" for n in sec_file_names())
)
# Counts that describe the output files, carried over when they are reused unchanged.
_OUTPUT_FACTS = ("filings", "succeeded", "failed", "data_errors", "not_processed", "error_types")


def output_sizes(results_dir: Path) -> dict[str, int]:
    return {n: (results_dir / n).stat().st_size for n in OUTPUT_NAMES if (results_dir / n).exists()}


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
    if len(previous["output_bytes"]) != len(OUTPUT_NAMES):
        return None
    return {k: previous[k] for k in _OUTPUT_FACTS if k in previous} | {
        "results_dir": str(results_dir), "checkpoint_dir": previous.get("checkpoint_dir"),
    }


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; results are meant to be shared like any file the user writes.
_FILE_MODE = 0o666 & ~_umask()


def _temp_beside(target: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, _FILE_MODE)
    os.close(fd)
    return Path(name)


def write_atomic_text(target: Path, text: str) -> None:
    tmp = _temp_beside(target)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


class ResultsWriter:
    """Collects one run's outputs; nothing is visible under its final name before ``commit``."""

    def __init__(self, results_dir: Path) -> None:
        self.dir = results_dir
        results_dir.mkdir(parents=True, exist_ok=True)
        self._temps: dict[Path, Path] = {}
        self._json = open(self._temp(results_dir / JSON_NAME), "w", encoding="utf-8")
        self._json.write("[")
        self._first = True
        self._failures = open(self._temp(results_dir / FAILURES_NAME), "w", newline="", encoding="utf-8")
        self._failures_csv = csv.writer(self._failures)
        self._failures_csv.writerow(FAILURE_COLUMNS)
        self._buffers: dict[str, list[Row]] = {name: [] for name in TABLE_COLUMNS}
        self._parquet = {
            name: pq.ParquetWriter(self._temp(results_dir / f"{name}.parquet"), SCHEMAS[name])
            for name in TABLE_COLUMNS
        }
        self.records = 0
        self.failures = 0

    def _temp(self, target: Path) -> Path:
        tmp = _temp_beside(target)
        self._temps[target] = tmp
        return tmp

    def add_record(self, record_json: str, rows: dict[str, list[Row]]) -> None:
        self._json.write("\n" if self._first else ",\n")
        self._first = False
        self._json.write(record_json)
        for name, table_rows in rows.items():
            buffer = self._buffers[name]
            buffer.extend(table_rows)
            if len(buffer) >= ROW_GROUP:
                self._flush(name)
        self.records += 1

    def add_failure(self, row: int, source: str, error: str, message: str) -> None:
        self._failures_csv.writerow((row, source, error, message))
        self.failures += 1

    def _flush(self, name: str) -> None:
        rows = self._buffers[name]
        if not rows:
            return
        columns = list(zip(*rows))
        table = pa.Table.from_arrays(
            [pa.array(col, type=field.type) for col, field in zip(columns, SCHEMAS[name])],
            schema=SCHEMAS[name],
        )
        self._parquet[name].write_table(table)
        rows.clear()

    @staticmethod
    def write_summary(results_dir: Path, summary: dict[str, Any]) -> None:
        write_atomic_text(results_dir / SUMMARY_NAME, json.dumps(summary, indent=2) + "\n")

    def commit(self) -> None:
        """Finish every file, then rename each into place."""
        self._json.write("\n]\n" if not self._first else "]\n")
        self._json.close()
        self._failures.close()
        for name, writer in self._parquet.items():
            self._flush(name)
            writer.close()
        sec = self.dir / SEC_DIR
        sec.mkdir(exist_ok=True)
        write_sec_tsv(
            {t: self._temps[self.dir / f"{t}.parquet"] for t in TABLE_COLUMNS},
            {n: self._temp(sec / n) for n in sec_file_names()},
        )
        # The summary vouches for the files (see reusable_outputs); while they are being
        # replaced one by one it must not exist, or a kill here could leave a stale voucher.
        (self.dir / SUMMARY_NAME).unlink(missing_ok=True)
        for target, tmp in self._temps.items():
            os.replace(tmp, target)
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
