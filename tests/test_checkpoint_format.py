"""Checkpoints readable without our classes; outputs published as one set; the digest guard."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.outputs import JOURNAL_NAME, SUMMARY_NAME, ResultsWriter, recover, reusable_outputs, output_sizes
from tasks.checkpoint_format import CHECKPOINT_FORMAT, BatchRecords
from tasks.errors import FilingError
from tasks.extract import parse_file
from tasks.model import Footnote, Form3Filing, Signature, Value
from tasks.serialize import filing_to_dict, json_tail
from tasks.output_digest import corpus_files, output_digest
from tasks.version import OUTPUT_DIGEST, PARSER_VERSION

pytestmark = pytest.mark.fast
NAME = "0000100493-20-000092.txt"


def test_a_batch_file_is_plain_parquet(corpus: Path, tmp_path: Path) -> None:
    records = BatchRecords.empty()
    filing = parse_file(str(corpus / "filings" / NAME))
    records.add_record("accession:0000100493-20-000092", filing)
    records.add_error("file:/x:1:2", None, "malformed_xml", "not well-formed")
    path = tmp_path / "b.parquet"
    records.write(path)
    # Read with pyarrow alone, as any tool would: no class of ours is needed.
    table = pq.read_table(path)
    meta = table.schema.metadata
    assert meta[b"form3.checkpoint_format"].decode() == CHECKPOINT_FORMAT
    assert meta[b"form3.parser_version"].decode() == PARSER_VERSION
    rows = table.to_pylist()
    assert rows[0]["identity"] == "accession:0000100493-20-000092"
    assert rows[0]["accession_number"] == "0000100493-20-000092"
    assert rows[0]["sha256"] == filing.sha256 and rows[0]["error_kind"] is None
    record = json.loads("{" + rows[0]["json_tail"])
    assert record["company_cik"] == filing.document.issuer.cik
    assert [o["rptownercik"] for o in rows[0]["reporting_owners"]] == [o.cik for o in filing.document.reporting_owners]
    assert (rows[1]["error_kind"], rows[1]["submissions"]) == ("malformed_xml", [])
    assert [p.name for p in tmp_path.iterdir()] == ["b.parquet"]  # no temporary file left


def test_output_digest_is_tied_to_the_parser_version(corpus: Path) -> None:
    digest = output_digest(corpus_files(corpus))
    assert digest == OUTPUT_DIGEST, (
        f"the parser's output changed (digest {digest}): bump PARSER_VERSION in "
        "tasks/version.py and update OUTPUT_DIGEST to this digest"
    )


def _dumps_tail(filing: Form3Filing) -> str:
    record = filing_to_dict(filing)
    del record["source"], record["accession_number"]
    return json.dumps(record, ensure_ascii=False)[1:]


def test_the_json_text_is_what_json_dumps_writes(corpus: Path) -> None:
    # The checkpoint's JSON text is written without the dicts (tasks/serialize.py json_tail);
    # the output digest goes through filing_to_dict, so this keeps the two the same text.
    for path in corpus_files(corpus):
        try:
            filing = parse_file(str(path))
        except FilingError:
            continue
        for f in (filing, replace(filing, header=None), filing.at("x", "0001-23-456789")):
            assert json_tail(f) == _dumps_tail(f), path.name
    filing = parse_file(str(corpus / "filings" / NAME))
    assert filing.header is not None
    odd = 'quote " backslash \\ tab \t nl \n cr \r nul \x00 \x1f del \x7f é 漢 \u2028 😀'
    doc = filing.document
    owner = replace(doc.reporting_owners[0], name=odd, street2=None, good_address=True, non_us_address_flag=None)
    holding = replace(doc.nonderivative_holdings[0], security_title=Value(odd, (odd, "F2")), value_owned=Value(None))
    unusual = replace(filing, document=replace(
        doc, remarks=odd, reporting_owners=(owner,), nonderivative_holdings=(holding,),
        footnotes=(Footnote("F1", odd),), signatures=(Signature(None, odd),),
    ))
    assert json_tail(unusual) == _dumps_tail(unusual)
    # A value of an unexpected type (an int where a string belongs, a float) is rendered as
    # json.dumps renders it, through the slow path.
    for f in (
        replace(unusual, document=replace(unusual.document, remarks=12)),
        replace(unusual, document=replace(unusual.document, no_securities_owned=1.5)),
        replace(unusual, header=replace(filing.header, public_document_count=None, filed_date=3)),
    ):
        assert json_tail(f) == _dumps_tail(f)


def _write_set(results: Path, marker: str) -> None:
    writer = ResultsWriter(results)
    writer.add_failure(2, marker, "unreadable", "x")
    writer.commit(lambda files, rows: {SUMMARY_NAME: json.dumps({
        "outputs_fingerprint": marker, "output_bytes": output_sizes(results, files), "rows_by_file": rows,
    })})


def test_outputs_are_published_as_one_set(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _write_set(results, "old")
    assert reusable_outputs(results, "old") is not None and reusable_outputs(results, "new") is None
    # A kill between the journal and the renames: the new set is half in place.
    writer = ResultsWriter(results)
    writer.add_failure(2, "new", "unreadable", "x")
    writer._json.write("]\n"); writer._json.close(); writer._failures.close()
    for w in writer._parquet.values():
        w.close()
    moves = [[str(tmp), str(target)] for target, tmp in writer._temps.items()]
    (results / JOURNAL_NAME).write_text(json.dumps(moves))
    os.replace(*moves[1])  # failures.csv renamed, the rest not yet
    (results / ".parsed_form3.json.k1lled.tmp").write_text("[")  # an earlier killed run's
    assert "new" in (results / "failures.csv").read_text()
    assert recover(results) is True
    assert not (results / JOURNAL_NAME).exists()
    assert sorted(p.name for p in results.iterdir() if p.name.startswith(".")) == []
    assert (results / "parsed_form3.json").read_text() == "[]\n"
    assert not recover(results)
