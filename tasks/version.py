"""The parser version is half of every checkpoint key; the digests say what it vouches for.

Bump ``PARSER_VERSION`` whenever the output of :func:`tasks.extract.parse_filing` changes for
any input (a new field, a fixed value, a renamed column, a column's type): every cached result
is then recomputed on the next run. Nothing else about the code (its source text, the run, the
file's path) is in the key. The digests below are :mod:`tasks.output_digest` of the real
corpora at this version: a test fails when the output changes and they do not.

Version 3 reads Forms 4 and 5 (transactions, Form 4/5 holdings, ``bool_style``); before it, a
Form 4 or 5 was a ``not_form3`` error. A Form 3 or 3/A record did not change: its JSON and its
table rows are byte for byte those of version 2 (``FORM3_RECORDS_DIGEST`` proves it on the real
corpus, and the record still says ``"parser_version": "2"``, see :func:`record_version`). So a
Form 3 checkpoint written by version 2 holds exactly what version 3 would write, and stays
valid: a run after upgrading need not re-parse it. Accepting it is the planner's job (it keys
checkpoints by ``PARSER_VERSION``): a version-2 checkpoint of a Form 3 or 3/A record may be
reused as is, a version-2 *error* may not (a ``not_form3`` error is now a Form 4 or 5 record).
When a later version changes the Form 3 record, set ``FORM3_UNCHANGED_SINCE`` to it.
"""

from __future__ import annotations

from tasks.model import FORM3_TYPES

PARSER_VERSION = "3"
# The oldest parser version whose Form 3 / 3/A records equal this version's, byte for byte.
FORM3_UNCHANGED_SINCE = "2"

# python -m tasks.output_digest ../shared/form3-corpus (first line)
OUTPUT_DIGEST = "f4f64cc45a7d160103f34bd860ebea1bace4b5cf30ed0d48f67385bfa6aa5f26"
# python -m tasks.output_digest ../shared/form345-corpus
FORM345_DIGEST = "e80d4861358c12568948c7443dc7dd15be4314d4e190ac3436254e39237e5e48"
# python -m tasks.output_digest ../shared/form3-corpus ("form3 records" line). Computed at
# main 86bc710 (parser version 2) before Forms 4/5 were read; it must never change while
# FORM3_UNCHANGED_SINCE stays "2".
FORM3_RECORDS_DIGEST = "58ae839d9ecab21ee86bf29ed8c5c85228db63d6e0ea03bc00216356eaf2155e"


def record_version(document_type: str) -> str:
    """The parser version a record names (JSON ``provenance.parser_version``, the submissions
    table's ``parser_version``): the oldest version whose output for this form is the same, so
    that a Form 3 record is the same bytes whichever of those versions wrote it."""
    return FORM3_UNCHANGED_SINCE if document_type in FORM3_TYPES else PARSER_VERSION
