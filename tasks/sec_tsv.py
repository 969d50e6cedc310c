"""Our Parquet tables rendered as the SEC Insider Transactions Data Sets' TSV files.

Pure: reads the final Parquet tables (pyarrow), writes the SEC's eight files (``SUBMISSION.tsv``,
``REPORTINGOWNER.tsv``, ``NONDERIV_HOLDING.tsv``, ``DERIV_HOLDING.tsv``, ``NONDERIV_TRANS.tsv``,
``DERIV_TRANS.tsv``, ``FOOTNOTES.tsv``, ``OWNER_SIGNATURE.tsv``) in the SEC's layout, so
``pd.concat([pd.read_csv(sec, sep="\\t"), pd.read_csv(ours, sep="\\t")])`` is one clean table.
The layout follows ``../shared/sec-datasets/`` (the SEC's readme, metadata and real 2024 Q3
rows of Forms 3, 4 and 5; ``docs/sec-layout.md`` says what was checked on which rows):

- header line and column order of the SEC's files (the columns declared with ``sec`` in
  ``tasks/tables.py``, in declaration order, with the SEC's spellings: ``EXCERCISE_DATE``);
- dates ``DD-MON-YYYY`` (``31-JUL-2024``); numbers rounded to two decimals and written as the
  SEC writes them (``1125983.0``, ``12.25``, ``224.05`` for a filed ``224.048``: every SEC
  NUMBER column is ``NUMBER(16,2)``); the Parquet tables keep the filed value;
- flags spelled as the filing spells them: ``1``/``0`` or ``true``/``false`` (the real Form 4
  rows have both; a Form 3's flags stay ``1``/``0``); ``NO_SECURITIES_OWNED`` of a Form 3
  derived from the holdings when not filed (the readme: "derived value … based on the number
  of entries"), of a Form 4/5 empty when not filed, as in the SEC's rows; footnote lists
  ``F2, F3`` in document order; empty values empty;
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

import math
import sys
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.model import FORM3_TYPES
from tasks.tables import EXTENSION_FILES, FILED_TEXT, SEC_FILES, TABLES, Column

# Tables whose rows say a filing holds securities (for the derived NO_SECURITIES_OWNED).
_HOLDING_TABLES = ("nonderiv_holdings", "deriv_holdings")
# Columns of no SEC file that the rendering of others needs (see _special; and every flag's
# filed text, FILED_TEXT).
_ALSO_READ = frozenset({"sha256", "rptowner_country", "document_type"})
_FORM3 = pa.array(sorted(FORM3_TYPES), pa.string())
_CENT = Decimal("0.01")
BATCH_ROWS = 65_536


def sec_file_names() -> tuple[str, ...]:
    """Every file the export writes, ``NAME.tsv``."""
    names = [f"{SEC_FILES[t]}.tsv" for t in TABLES]
    names += [f"{name}.tsv" for name, _ in EXTENSION_FILES.values()]
    return tuple(names)


def sec_header(table: str) -> tuple[str, ...]:
    """The SEC's column names of ``table``, in the SEC's order (and the SEC's spelling)."""
    return tuple(c.sec_name for c in TABLES[table] if c.sec_name)


def extension_header(table: str) -> tuple[str, ...]:
    _, keys = EXTENSION_FILES[table]
    by_name = {c.name: c for c in TABLES[table]}
    return tuple(by_name[k].sec_name for k in keys) + tuple(c.ext_name for c in TABLES[table] if c.ext)


def _texts(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    # One line per value: the SEC's rows have no line breaks inside a value.
    if _has(col, "\n", "\r"):
        col = pc.replace_substring_regex(col, pattern="\r\n|[\r\n]", replacement="")
    return _quoted(pc.fill_null(col, ""))


def _has(col: pa.ChunkedArray | pa.Array, *chars: str) -> bool:
    """Whether the column's bytes hold one of ``chars``: one search of each chunk's data
    buffer (bytes outside a sliced chunk can only make this say True, and then the caller
    does the exact, slower work)."""
    needles = [c.encode() for c in chars]
    for chunk in col.chunks if isinstance(col, pa.ChunkedArray) else (col,):
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return True
        data = chunk.buffers()[2]
        if data is not None and data.size:
            raw = data.to_pybytes()
            if any(n in raw for n in needles):
                return True
    return False


def _quoted(col: pa.Array) -> pa.Array:
    """A value holding a tab or a quote in quotes, inner quotes doubled, as the csv module's
    QUOTE_MINIMAL writes it with our dialect (line breaks never reach here)."""
    if not _has(col, "\t", '"'):
        return col
    special = pc.match_substring_regex(col, pattern='[\t"]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, pattern='"', replacement='""'), '"', "")
    return pc.if_else(special, quoted, col)


def _dates(col: pa.ChunkedArray) -> pa.Array:
    # Once per distinct date: a column holds few.
    encoded = col.combine_chunks().dictionary_encode()
    texts = pc.utf8_upper(pc.strftime(encoded.dictionary, format="%d-%b-%Y"))
    return pc.fill_null(pc.take(texts, encoded.indices), "")


def sec_number(x: float) -> str:
    """One number as the SEC's TSVs print it: rounded to two decimals (its columns are Oracle
    ``NUMBER(16,2)``, which rounds half away from zero on the decimal value), then written as
    Python/pandas float text (``1125983.0``, ``12.25``, ``224.05`` for a filed ``224.048``).
    The decimal is the float's shortest text, which is the filed text for every value of up
    to 15 significant digits, so a filed ``2.675`` rounds to ``2.68`` (binary ``round`` says
    2.67). Not a finite number (never in a filing, but a float can hold one): Python's text."""
    text = repr(x)
    dot = text.find(".")
    if dot >= 0 and len(text) - dot <= 3 and "e" not in text:  # two decimals or fewer: as is
        return "0.0" if text == "-0.0" else text  # no negative zero in Oracle
    if not math.isfinite(x):
        return text
    return repr(float(Decimal(text).quantize(_CENT, rounding=ROUND_HALF_UP)) + 0.0)


def _numbers(col: pa.ChunkedArray) -> pa.Array:
    # Once per distinct value: a column holds few (share counts and prices repeat).
    encoded = col.combine_chunks().dictionary_encode()
    texts = pa.array([sec_number(x) for x in encoded.dictionary.to_pylist()], pa.string())
    return pc.fill_null(pc.take(texts, encoded.indices), "")


def _flags(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """``1``/``0``; null stays null."""
    return pc.if_else(col, "1", "0")


def _render(column: Column, col: pa.ChunkedArray) -> pa.Array:
    t = column.type
    if pa.types.is_date(t):
        return _dates(col)
    if pa.types.is_floating(t):
        return _numbers(col)
    if pa.types.is_boolean(t):
        return pc.fill_null(_flags(col), "")  # ours (X0508 address flags): 1/0
    if pa.types.is_integer(t):
        return pc.fill_null(pc.cast(col, pa.string()), "None")  # str(x), as the csv module wrote
    return _texts(col)


def _holders(tables: dict[str, Path]) -> pa.Array:
    """sha256 of every filing with at least one holding row."""
    shas = [pq.read_table(tables[name], columns=["sha256"])["sha256"] for name in _HOLDING_TABLES]
    return pc.unique(pa.chunked_array([c for col in shas for c in col.chunks], pa.string()))


def _batches(path: Path, columns: list[str]) -> Iterable[pa.Table]:
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
        yield pa.Table.from_batches([batch])


def _write_line(handle: BinaryIO, values: tuple[str, ...]) -> None:
    handle.write(("\t".join(values) + "\n").encode())


def _write_rows(handle: BinaryIO, rendered: list[pa.Array]) -> None:
    """Rows of tab-joined values, each ended by a line break, as one write of Arrow's buffer."""
    last = pc.binary_join_element_wise(rendered[-1], "", "\n")  # the last value and "\n"
    lines = pc.binary_join_element_wise(*rendered[:-1], last, "\t")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if not len(lines):
        return
    if lines.null_count:  # a null value makes its whole line null: it would vanish silently
        raise ValueError("a null value reached the TSV writer")
    _, offsets, data = lines.buffers()  # string: int32 offsets in native byte order
    first, last = (int.from_bytes(offsets[i * 4 : i * 4 + 4], sys.byteorder) for i in (lines.offset, lines.offset + len(lines)))
    handle.write(memoryview(data)[first:last])


def _special(table: str, column: Column, part: pa.Table, ctx: dict) -> pa.Array | None:
    """Columns whose SEC value is not a plain rendering of ours."""
    name = column.name
    if name.endswith("_sk"):
        start = ctx["next_sk"]
        ctx["next_sk"] = start + part.num_rows
        return pc.cast(pa.array(range(start, start + part.num_rows), pa.int64()), pa.string())
    if name == "no_securities_owned":
        # Derived when not filed on a Form 3 only: the SEC leaves a Form 4/5's empty.
        holds = pc.is_in(part["sha256"], value_set=ctx["held"])
        form3 = pc.is_in(part["document_type"], value_set=_FORM3)
        derived = pc.if_else(form3, pc.if_else(holds, "0", "1"), pa.scalar(None, pa.string()))
        return pc.coalesce(_flags(part[name]), derived, "")
    if f"{name}{FILED_TEXT}" in part.column_names:
        # The flag as spelled in the filing (1, false, …), as the SEC prints it.
        return _texts(pc.coalesce(part[f"{name}{FILED_TEXT}"], _flags(part[name])))
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
        sec_cols = [c for c in columns if c.sec_name]
        jobs: list[tuple[str, list[Column], tuple[str, ...]]] = [
            (f"{SEC_FILES[table]}.tsv", sec_cols, sec_header(table))
        ]
        if table in EXTENSION_FILES:
            name, keys = EXTENSION_FILES[table]
            by_name = {c.name: c for c in columns}
            ext_cols = [by_name[k] for k in keys] + [c for c in columns if c.ext]
            jobs.append((f"{name}.tsv", ext_cols, extension_header(table)))
        names = {c.name for c in columns}
        needed = [
            c.name for c in columns
            if c.name in _ALSO_READ or c.name.endswith(FILED_TEXT) or any(c in cols for _, cols, _ in jobs)
        ]
        assert "sha256" in names
        handles = {file: open(targets[file], "wb") for file, _, _ in jobs}
        try:
            for file, _, header in jobs:
                _write_line(handles[file], header)
                counts[file] = 0
            ctx = {"next_sk": 1, "held": held}
            for part in _batches(tables[table], needed):
                for file, cols, _ in jobs:
                    rendered: list[pa.Array] = []
                    for column in cols:
                        special = _special(table, column, part, ctx) if file == jobs[0][0] else None
                        rendered.append(special if special is not None else _render(column, part[column.name]))
                    _write_rows(handles[file], rendered)
                    counts[file] += part.num_rows
        finally:
            for handle in handles.values():
                handle.close()
    return counts


def export_results(results_dir: Path, out_dir: Path | None = None) -> dict[str, int]:
    """``results/*.parquet`` → ``results/sec/*.tsv`` (not atomic: for scripts and tests; the flow
    writes through :class:`flows.outputs.ResultsWriter`)."""
    out = out_dir or results_dir / "sec"
    out.mkdir(parents=True, exist_ok=True)
    tables = {t: results_dir / f"{t}.parquet" for t in TABLES}
    return write_sec_tsv(tables, {n: out / n for n in sec_file_names()})

