"""The pure entry point: a filing's bytes in, one :class:`Form3Filing` out (or a FilingError).

``Form3Filing`` is the record of any ownership form (3, 4, 5 and amendments); the class keeps
its name because the flows and the tables engineer's code import it.
"""

from __future__ import annotations

import hashlib

from tasks.edgar_names import accession_from_name
from tasks.errors import FilingError, UnreadableFilingError
from tasks.model import Form3Filing
from tasks.parser import read_ownership_xml
from tasks.reading import DEFAULT_MAX_BYTES, read_filing
from tasks.submission import split_submission
from tasks.version import record_version


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_filing(data: bytes, sha256: str | None = None) -> Form3Filing:
    """Parse one filing. Everything in the result is determined by ``data`` alone."""
    header, xml = split_submission(data)
    document = read_ownership_xml(xml)
    return Form3Filing(header, document, sha256 or sha256_of(data), record_version(document.document_type))


def parse_file(path: str) -> Form3Filing:
    """Read and parse one local file, naming it in any error (the debug command's unit)."""
    try:
        data, _ = read_filing(path, DEFAULT_MAX_BYTES)
    except OSError as exc:  # no retries in a one-file debug run: any I/O error is final
        raise UnreadableFilingError(f"cannot read file: {exc.strerror or exc}", path) from None
    try:
        filing = parse_filing(data)
    except FilingError as exc:
        raise exc.with_source(path) from None
    return filing.at(path, accession_from_name(path))
