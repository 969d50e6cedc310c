"""A digest of everything the parser outputs for a set of filings: what ``PARSER_VERSION`` vouches for.

Checkpoints are keyed by the parser version, so an output change without a version bump
would silently mix old and new records. ``tests/test_output_digest.py`` computes this digest
over the real EDGAR corpus and compares it with ``tasks.version.OUTPUT_DIGEST``: a change to
the parser, the JSON, the table rows or their Arrow types fails that test until the version
is bumped and the digest updated (``python -m tasks.output_digest CORPUS_DIR`` prints it).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from tasks.checkpoint_format import SCHEMA
from tasks.errors import FilingError
from tasks.extract import parse_filing
from tasks.serialize import filing_to_dict
from tasks.tables import table_rows


def output_digest(files: list[Path]) -> str:
    """sha256 over every file's record JSON and table rows (or its error), in the given order,
    and the checkpoint schema (column names and types)."""
    digest = hashlib.sha256(SCHEMA.to_string(show_schema_metadata=False).encode())
    for path in files:
        digest.update(f"\n{path.name}\n".encode())
        try:
            filing = parse_filing(path.read_bytes())
        except FilingError as exc:
            digest.update(f"{exc.kind}: {exc.message}".encode())
            continue
        digest.update(json.dumps(filing_to_dict(filing), ensure_ascii=False, sort_keys=True).encode())
        digest.update(repr(sorted(table_rows(filing).items())).encode())
    return digest.hexdigest()


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in (corpus / "filings").iterdir() if p.suffix in (".txt", ".xml"))


if __name__ == "__main__":
    print(output_digest(corpus_files(Path(sys.argv[1]))))
