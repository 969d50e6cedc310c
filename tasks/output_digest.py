"""A digest of everything the parser outputs for a set of filings: what ``PARSER_VERSION`` vouches for.

Checkpoints are keyed by the parser version, so an output change without a version bump
would silently mix old and new records. ``tests/test_output_digest.py`` computes these digests
over the real EDGAR corpora and compares them with ``tasks.version``: a change to the parser,
the JSON, the table rows or their Arrow types fails that test until the version is bumped and
the digest updated (``python -m tasks.output_digest CORPUS_DIR`` prints them).

Three digests, because they vouch for three different things:
- ``OUTPUT_DIGEST``: the Form 3 corpus, every file, with the checkpoint schema.
- ``FORM345_DIGEST``: the Form 4/5 corpus, every file, with the checkpoint schema.
- ``FORM3_RECORDS_DIGEST``: the Form 3 corpus' Form 3 and 3/A files only, their JSON and the
  rows of the six tables a Form 3 fills, *without* the schema line: the proof that a Form 3
  record is the same bytes it was at ``FORM3_UNCHANGED_SINCE``, whatever tables are added.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from tasks.checkpoint_format import SCHEMA
from tasks.errors import FilingError
from tasks.extract import parse_filing
from tasks.model import FORM3_TYPES
from tasks.serialize import filing_to_dict
from tasks.tables import ADDED_FOR_FORMS_4_5, table_rows

# The tables a Form 3 fills, as they were at FORM3_UNCHANGED_SINCE (tasks/version.py); tables
# and columns added since (Forms 4/5 transactions, ADDED_FOR_FORMS_4_5) are empty or null for
# a Form 3 and left out of its digest.
FORM3_TABLES = (
    "submissions", "reporting_owners", "nonderiv_holdings", "deriv_holdings", "footnotes",
    "owner_signatures",
)


def output_digest(files: list[Path], schema: bool = True, tables: Iterable[str] | None = None) -> str:
    """sha256 over every file's record JSON and table rows (or its error), in the given order,
    and (``schema``) the checkpoint schema (column names and types). ``tables`` limits the
    table rows to those tables (all when None)."""
    digest = hashlib.sha256(SCHEMA.to_string(show_schema_metadata=False).encode() if schema else b"")
    for path in files:
        digest.update(f"\n{path.name}\n".encode())
        try:
            filing = parse_filing(path.read_bytes())
        except FilingError as exc:
            digest.update(f"{exc.kind}: {exc.message}".encode())
            continue
        digest.update(json.dumps(filing_to_dict(filing), ensure_ascii=False, sort_keys=True).encode())
        rows = table_rows(filing)
        if tables is not None:
            rows = {t: _without_added(t, rows[t]) for t in tables}
        digest.update(repr(sorted(rows.items())).encode())
    return digest.hexdigest()


def _without_added(table: str, rows: list[tuple]) -> list[tuple]:
    """Rows as they were before ``ADDED_FOR_FORMS_4_5``: those columns dropped, once checked
    null (a value there would be a change to the record, not an addition)."""
    n = len(ADDED_FOR_FORMS_4_5.get(table, ()))
    if not n:
        return rows
    assert all(v is None for r in rows for v in r[-n:]), f"{table}: a Form 3 row has a Form 4/5 value"
    return [r[:-n] for r in rows]


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "filings").iterdir() if p.suffix in (".txt", ".xml", ".nc"))


def form3_files(corpus: Path) -> list[Path]:
    """The corpus files its MANIFEST.csv lists as Form 3 or 3/A documents, sorted."""
    with open(corpus / "MANIFEST.csv", newline="") as fh:
        names = {Path(r["file"]).name for r in csv.DictReader(fh) if r["document_type"] in FORM3_TYPES}
    return [p for p in corpus_files(corpus) if p.name in names]


def form3_records_digest(corpus: Path) -> str:
    """``FORM3_RECORDS_DIGEST`` of a Form 3 corpus (see the module docstring)."""
    return output_digest(form3_files(corpus), schema=False, tables=FORM3_TABLES)


if __name__ == "__main__":
    corpus = Path(sys.argv[1])
    print(output_digest(corpus_files(corpus)))
    if (corpus / "MANIFEST.csv").is_file() and form3_files(corpus):
        print(f"form3 records: {form3_records_digest(corpus)}")
