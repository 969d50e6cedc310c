"""Every value of every transaction and holding of the 463 parseable real Forms 4/5, against an
independent reading of the same XML with the standard library's ``xml.etree.ElementTree``.

Only the ``.txt`` split reuses ``tasks.submission.split_submission``; the reading below shares
no code with ``tasks/parser.py``. Its tag -> attribute table is the schema's, written out again
here, and any element it does not know fails the test: an element the parser dropped cannot
pass unnoticed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import fields
from pathlib import Path

import pytest

from tasks.errors import FilingError
from tasks.extract import parse_file
from tasks.output_digest import corpus_files
from tasks.submission import split_submission

pytestmark = pytest.mark.fast

# Value-bearing elements (<value> and/or <footnoteId>) of the four row types -> our attribute.
HOLDING = {
    "securityTitle": "security_title",
    "conversionOrExercisePrice": "conversion_or_exercise_price",
    "exerciseDate": "exercise_date",
    "expirationDate": "expiration_date",
    "underlyingSecurityTitle": "underlying_security_title",
    "underlyingSecurityShares": "underlying_security_shares",
    "underlyingSecurityValue": "underlying_security_value",
    "sharesOwnedFollowingTransaction": "shares_owned",
    "valueOwnedFollowingTransaction": "value_owned",
    "directOrIndirectOwnership": "direct_or_indirect",
    "natureOfOwnership": "nature_of_ownership",
}
TRANSACTION = HOLDING | {
    "transactionDate": "transaction_date",
    "deemedExecutionDate": "deemed_execution_date",
    "transactionTimeliness": "timeliness",
    "transactionShares": "shares",
    "transactionTotalValue": "total_value",
    "transactionPricePerShare": "price_per_share",
    "transactionAcquiredDisposedCode": "acquired_disposed_code",
    "sharesOwnedFollowingTransaction": "shares_owned_following",
    "valueOwnedFollowingTransaction": "value_owned_following",
}
# Elements that only group others.
GROUPS = {"transactionAmounts", "postTransactionAmounts", "ownershipNature", "underlyingSecurity"}
CODING_PARTS = {"transactionFormType", "transactionCode", "equitySwapInvolved", "footnoteId"}


def _strip(text: str | None) -> str | None:
    return (text.strip() or None) if text else None


def _ids(el: ET.Element) -> list[str]:
    return [fn.get("id") for fn in el.findall("footnoteId") if fn.get("id")]


def _expected(row: ET.Element, transaction: bool) -> dict:
    """The row as ElementTree reads it: attribute -> (value, footnote ids), coding apart."""
    table = TRANSACTION if transaction else HOLDING
    out: dict = {}
    for el in row.iter():
        tag = el.tag
        if el is row or tag in GROUPS or tag in ("value", "footnoteId") or tag in CODING_PARTS:
            continue
        if tag == "transactionCoding":
            parts = {c.tag: _strip(c.text) for c in el if c.tag != "footnoteId"}
            assert set(parts) <= CODING_PARTS, parts
            if transaction:
                swap = parts.get("equitySwapInvolved")
                out["coding"] = (
                    parts.get("transactionFormType"), parts.get("transactionCode"), swap,
                    {"0": False, "false": False, "1": True, "true": True}.get(swap), _ids(el),
                )
            else:  # a Form 5 holding: the form that first reported it, footnotes on the coding
                out["transaction_form_type"] = (parts.get("transactionFormType"), _ids(el))
            continue
        assert tag in table, f"element <{tag}> unknown to the independent reading"
        values = el.findall("value")
        out[table[tag]] = (_strip(values[-1].text) if values else None, _ids(el))
    return out


def _ours(record, transaction: bool) -> dict:
    out: dict = {}
    for f in fields(record):
        v = getattr(record, f.name)
        if v is None:
            continue
        if f.name == "coding":
            out["coding"] = (v.form_type, v.code, v.equity_swap_involved_text, v.equity_swap_involved, list(v.footnote_ids))
        else:
            out[f.name] = (v.value, list(v.footnote_ids))
    return out


def test_every_transaction_and_holding_equals_an_etree_reading(form345_corpus: Path) -> None:
    files = rows = 0
    for path in corpus_files(form345_corpus):
        try:
            filing = parse_file(str(path))
        except FilingError:
            continue  # the two error files: tests/test_parser_corpus.py checks their kinds
        root = ET.fromstring(split_submission(path.read_bytes())[1])
        doc = filing.document
        files += 1
        for table, holding_tag, transaction_tag, holdings, transactions in (
            ("nonDerivativeTable", "nonDerivativeHolding", "nonDerivativeTransaction",
             doc.nonderivative_holdings, doc.nonderivative_transactions),
            ("derivativeTable", "derivativeHolding", "derivativeTransaction",
             doc.derivative_holdings, doc.derivative_transactions),
        ):
            el = root.find(table)
            children = list(el) if el is not None else []
            assert {c.tag for c in children} <= {holding_tag, transaction_tag}, path.name
            want_h = [_expected(c, False) for c in children if c.tag == holding_tag]
            want_t = [_expected(c, True) for c in children if c.tag == transaction_tag]
            assert [_ours(h, False) for h in holdings] == want_h, (path.name, table)
            assert [_ours(t, True) for t in transactions] == want_t, (path.name, table)
            rows += len(want_h) + len(want_t)
        # Document level: the flags as filed, the amendment date, every footnote's id and text.
        text = {c.tag: _strip(c.text) for c in root if len(c) == 0}
        assert (
            doc.document_type, doc.schema_version, doc.period_of_report, doc.date_of_original_submission,
            doc.not_subject_to_section16_text, doc.form3_holdings_reported_text,
            doc.form4_transactions_reported_text,
        ) == (
            text.get("documentType"), text.get("schemaVersion"), text.get("periodOfReport"),
            text.get("dateOfOriginalSubmission"), text.get("notSubjectToSection16"),
            text.get("form3HoldingsReported"), text.get("form4TransactionsReported"),
        ), path.name
        aff = text.get("aff10b5One")
        assert doc.aff10b5_one is {None: None, "0": False, "false": False, "1": True, "true": True}[aff], path.name
        notes = root.find("footnotes")
        assert [(n.id, n.text) for n in doc.footnotes] == [
            (n.get("id"), "".join(n.itertext()).strip()) for n in (notes if notes is not None else [])
        ], path.name
    assert (files, rows) == (463, 2811)  # the sum of MANIFEST.csv's four row counts
