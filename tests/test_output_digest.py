"""The parser's output on both real corpora is what ``tasks/version.py`` vouches for, and a Form 3
record is byte for byte what it was at ``FORM3_UNCHANGED_SINCE``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tasks.errors import FilingError
from tasks.extract import parse_file
from tasks.output_digest import corpus_files, form3_files, form3_records_digest, output_digest
from tasks.serialize import filing_to_dict, json_tail
from tasks.version import FORM3_RECORDS_DIGEST, FORM3_UNCHANGED_SINCE, FORM345_DIGEST, PARSER_VERSION

pytestmark = pytest.mark.fast


def test_form3_records_are_unchanged_since_version_2(corpus: Path) -> None:
    # JSON and the rows of the six Form 3 tables of the 104 Form 3 / 3/A files, without the
    # checkpoint schema (tables added for Forms 4/5 change the schema, not a Form 3's rows).
    assert len(form3_files(corpus)) == 104
    assert form3_records_digest(corpus) == FORM3_RECORDS_DIGEST, (
        "a Form 3 record changed: set FORM3_UNCHANGED_SINCE to PARSER_VERSION (after bumping it) "
        "and FORM3_RECORDS_DIGEST to the new digest"
    )
    f = parse_file(str(form3_files(corpus)[0]))
    assert (FORM3_UNCHANGED_SINCE, PARSER_VERSION) == ("2", "3")
    assert f.parser_version == FORM3_UNCHANGED_SINCE
    assert "bool_style" not in filing_to_dict(f) and "nonderivative_transactions" not in filing_to_dict(f)


def test_form345_output_digest_is_tied_to_the_parser_version(form345_corpus: Path) -> None:
    files = corpus_files(form345_corpus)
    assert len(files) == 465
    digest = output_digest(files)
    assert digest == FORM345_DIGEST, (
        f"the parser's output on Forms 4/5 changed (digest {digest}): bump PARSER_VERSION in "
        "tasks/version.py and update FORM345_DIGEST to this digest"
    )


def _dumps_tail(filing) -> str:
    record = filing_to_dict(filing)
    del record["source"], record["accession_number"]
    return json.dumps(record, ensure_ascii=False)[1:]


def test_form345_json_text_is_what_json_dumps_writes(form345_corpus: Path) -> None:
    # The fast json_tail against json.dumps(filing_to_dict(...)) on every real Form 4/5, as
    # tests/test_checkpoint_format.py does on the Form 3 corpus.
    parsed = 0
    for path in corpus_files(form345_corpus):
        try:
            filing = parse_file(str(path))
        except FilingError:
            continue
        parsed += 1
        for f in (filing, replace(filing, header=None), filing.at("x", "0001-23-456789")):
            assert json_tail(f) == _dumps_tail(f), path.name
    assert parsed == 463
    # A value of an unexpected type inside a transaction goes the slow way, still the same text.
    f = parse_file(str(form345_corpus / "filings" / "0001562180-25-000280.nc"))
    t = f.document.derivative_transactions[0]
    odd = replace(t, coding=replace(t.coding, footnote_ids=("F1", 7)), shares=None)
    g = replace(f, document=replace(f.document, derivative_transactions=(odd,)))
    assert json_tail(g) == _dumps_tail(g)
    assert json.loads("{" + json_tail(g))["derivative_transactions"][0]["coding"]["footnote_ids"] == ["F1", 7]
