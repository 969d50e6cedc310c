"""Our Parquet tables rendered as the SEC Insider Transactions Data Sets' TSV files.

Pure: reads the final Parquet tables (pyarrow), writes ``SUBMISSION.tsv``, ``REPORTINGOWNER.tsv``,
``NONDERIV_HOLDING.tsv``, ``DERIV_HOLDING.tsv``, ``FOOTNOTES.tsv``, ``OWNER_SIGNATURE.tsv`` in the
SEC's layout, so ``pd.concat([pd.read_csv(sec, sep="\\t"), pd.read_csv(ours, sep="\\t")])`` is one
clean table. The layout follows ``../shared/sec-datasets/`` (the SEC's readme, metadata and real
2024 Q3 rows):

- header line and column order of the SEC's files (the columns declared with ``sec`` in
  ``tasks/tables.py``, in declaration order);
- dates ``DD-MON-YYYY`` (``31-JUL-2024``); numbers as the SEC writes them (``1125983.0``,
  ``12.25``); flags ``1``/``0`` ("True (1) … false (0)" in the readme, and the only values in
  the real rows), ``NO_SECURITIES_OWNED`` derived from the holdings when not filed (the readme:
  "derived value … based on the number of entries"); footnote lists ``F2, F3``; empty values
  empty;
- ``*_SK`` surrogate keys numbered 1, 2, … down each file in output (manifest) order, so they
  are unique across the output and the same on every rerun of the same manifest;
- text on one line (the SEC's rows drop line breaks inside remarks), UTF-8, tab-separated,
  ``\\n`` line ends, a value quoted (``"…"``, inner quotes doubled) only when it holds a tab,
  a quote or a line break, as in the SEC's files;
- ``RPTOWNER_STATE`` is the state, else the X0508 ``rptOwnerCountry`` (the SEC's column is the
  "state or country code").

X0508 owner-address elements the SEC does not publish go to ``REPORTINGOWNER_X0508.tsv`` (same
conventions, keyed by ``ACCESSION_NUMBER``, ``RPTOWNERCIK``), so the SEC's own files keep their
exact layout.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.tables import EXTENSION_FILES, SEC_FILES, TABLES, Column

# Tables whose rows say a filing holds securities (for the derived NO_SECURITIES_OWNED).
_HOLDING_TABLES = ("nonderiv_holdings", "deriv_holdings")
BATCH_ROWS = 65_536


def sec_file_names() -> tuple[str, ...]:
    """Every file the export writes, ``NAME.tsv``."""
    names = [f"{SEC_FILES[t]}.tsv" for t in TABLES]
    names += [f"{name}.tsv" for name, _ in EXTENSION_FILES.values()]
    return tuple(names)


def sec_header(table: str) -> tuple[str, ...]:
    """The SEC's column names of ``table``, in the SEC's order."""
    return tuple(c.sec for c in TABLES[table] if c.sec)


def extension_header(table: str) -> tuple[str, ...]:
    _, keys = EXTENSION_FILES[table]
    by_name = {c.name: c for c in TABLES[table]}
    return tuple(by_name[k].sec for k in keys) + tuple(c.ext for c in TABLES[table] if c.ext)


def _texts(col: pa.ChunkedArray) -> list[str]:
    # One line per value: the SEC's rows have no line breaks inside a value.
    flat = pc.replace_substring_regex(col, pattern="\r\n|[\r\n]", replacement="")
    return pc.fill_null(flat, "").to_pylist()


def _dates(col: pa.ChunkedArray) -> list[str]:
    return pc.fill_null(pc.utf8_upper(pc.strftime(col, format="%d-%b-%Y")), "").to_pylist()


def _numbers(col: pa.ChunkedArray) -> list[str]:
    # The SEC writes Python/pandas float text: 1125983.0, 12.25, 0.0001.
    return ["" if x is None else repr(x) for x in col.to_pylist()]


def _flags(col: pa.ChunkedArray) -> list[str]:
    return pc.fill_null(pc.if_else(col, "1", "0"), "").to_pylist()


def _render(column: Column, col: pa.ChunkedArray) -> list[str]:
    t = column.type
    if pa.types.is_date(t):
        return _dates(col)
    if pa.types.is_floating(t):
        return _numbers(col)
    if pa.types.is_boolean(t):
        return _flags(col)
    if pa.types.is_integer(t):
        return [str(x) for x in col.to_pylist()]
    return _texts(col)


def _holders(tables: dict[str, Path]) -> set[str]:
    """sha256 of every filing with at least one holding row."""
    held: set[str] = set()
    for name in _HOLDING_TABLES:
        held.update(pq.read_table(tables[name], columns=["sha256"])["sha256"].to_pylist())
    return held


def _batches(path: Path, columns: list[str]) -> Iterable[pa.Table]:
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
        yield pa.Table.from_batches([batch])


def _open(path: Path):
    handle = open(path, "w", encoding="utf-8", newline="")
    return handle, csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


def _special(table: str, column: Column, part: pa.Table, ctx: dict) -> list[str] | None:
    """Columns whose SEC value is not a plain rendering of ours."""
    name = column.name
    if name.endswith("_sk"):
        start = ctx["next_sk"]
        ctx["next_sk"] = start + part.num_rows
        return [str(k) for k in range(start, start + part.num_rows)]
    if name == "no_securities_owned":
        held = ctx["held"]
        filed = part[name].to_pylist()
        shas = part["sha256"].to_pylist()
        return [
            ("1" if f else "0") if f is not None else ("0" if s in held else "1")
            for f, s in zip(filed, shas)
        ]
    if name == "rptowner_state":
        state = pc.coalesce(part["rptowner_state"], part["rptowner_country"])
        return _texts(state)
    return None


def write_sec_tsv(tables: dict[str, Path], targets: dict[str, Path]) -> dict[str, int]:
    """Write the SEC files from the Parquet ``tables`` (table name → path) to ``targets``
    (``NAME.tsv`` → path; the caller may point them at temporary files). Returns rows per file."""
    counts: dict[str, int] = {}
    held = _holders(tables)
    for table, columns in TABLES.items():
        sec_cols = [c for c in columns if c.sec]
        jobs: list[tuple[str, list[Column], tuple[str, ...]]] = [
            (f"{SEC_FILES[table]}.tsv", sec_cols, sec_header(table))
        ]
        if table in EXTENSION_FILES:
            name, keys = EXTENSION_FILES[table]
            by_name = {c.name: c for c in columns}
            ext_cols = [by_name[k] for k in keys] + [c for c in columns if c.ext]
            jobs.append((f"{name}.tsv", ext_cols, extension_header(table)))
        names = {c.name for c in columns}
        needed = [c.name for c in columns if c.name in {"sha256", "rptowner_country"} or any(c in cols for _, cols, _ in jobs)]
        assert "sha256" in names
        handles = {file: _open(targets[file]) for file, _, _ in jobs}
        try:
            for file, _, header in jobs:
                handles[file][1].writerow(header)
                counts[file] = 0
            ctx = {"next_sk": 1, "held": held}
            for part in _batches(tables[table], needed):
                for file, cols, _ in jobs:
                    rendered: list[list[str]] = []
                    for column in cols:
                        special = _special(table, column, part, ctx) if file == jobs[0][0] else None
                        rendered.append(special if special is not None else _render(column, part[column.name]))
                    handles[file][1].writerows(zip(*rendered))
                    counts[file] += part.num_rows
        finally:
            for handle, _ in handles.values():
                handle.close()
    return counts


def export_results(results_dir: Path, out_dir: Path | None = None) -> dict[str, int]:
    """``results/*.parquet`` → ``results/sec/*.tsv`` (not atomic: for scripts and tests; the flow
    writes through :class:`flows.outputs.ResultsWriter`)."""
    out = out_dir or results_dir / "sec"
    out.mkdir(parents=True, exist_ok=True)
    tables = {t: results_dir / f"{t}.parquet" for t in TABLES}
    return write_sec_tsv(tables, {n: out / n for n in sec_file_names()})

