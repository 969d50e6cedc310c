"""Forms 4 and 5, case by case, on real filings of ../shared/form345-corpus (values read from
their XML by hand). Where no real filing has the case (a transaction without
transactionCoding, an equity swap), the test edits one element of a real filing, as the v5.5
schema allows, and says so."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tasks.errors import MalformedXmlError, NoOwnershipXmlError
from tasks.extract import parse_file, parse_filing
from tasks.model import TransactionCoding, Value
from tasks.serialize import filing_to_dict, json_tail

pytestmark = pytest.mark.fast


@pytest.fixture
def f45(form345_corpus: Path):
    """Parse one Form 4/5 corpus file by name."""
    return lambda name: parse_file(str(form345_corpus / "filings" / name))


def _bytes(form345_corpus: Path, name: str) -> bytes:
    return (form345_corpus / "filings" / name).read_bytes()


def test_a_transaction_without_transaction_coding_parses(form345_corpus: Path) -> None:
    # Every real transaction in the corpus has a coding; the schema makes it optional
    # (minOccurs="0"), so a real Form 4's coding is removed here.
    real = _bytes(form345_corpus, "0000899243-20-009380.txt")
    start, end = real.index(b"<transactionCoding>"), real.index(b"</transactionCoding>") + 20
    f = parse_filing(real[:start] + real[end:])
    (t,) = f.document.nonderivative_transactions
    assert t.coding is None
    assert (t.shares, t.price_per_share, t.acquired_disposed_code) == (Value("885"), Value("10.698"), Value("A"))
    assert filing_to_dict(f)["nonderivative_transactions"][0]["coding"] is None
    assert json.loads("{" + json_tail(f))["nonderivative_transactions"][0]["coding"] is None


def test_a_price_with_more_than_two_decimals_is_kept_as_filed(f45) -> None:
    f = f45("0000899243-20-009380.txt")
    (t,) = f.document.nonderivative_transactions
    assert t.price_per_share == Value("10.698")  # the SEC's data set rounds it to 10.7
    assert t.shares_owned_following == Value("4466.343")
    assert t.coding == TransactionCoding("4", "P", False, (), "0")
    assert t.deemed_execution_date == Value(None)  # filed empty: present, no value
    assert t.timeliness == Value(None)
    assert f.document.aff10b5_one is None  # schema X0306 has no aff10b5One


def test_aff10b5one_absent_is_none_never_false(f45) -> None:
    old = f45("0000023197-20-000081.txt")  # X0306, before the element existed
    assert old.document.schema_version == "X0306" and old.document.aff10b5_one is None
    assert filing_to_dict(old)["aff10b5_one"] is None
    filed = f45("0000707549-25-000004.txt")  # X0508, <aff10b5One>0</aff10b5One>
    assert filed.document.aff10b5_one is False


def test_a_footnote_only_price(f45) -> None:
    f = f45("0000892712-20-000081.txt")  # a Form 5 gift
    (t,) = f.document.nonderivative_transactions
    assert t.price_per_share == Value(None, ("F1",))
    assert f.document.footnotes[0].text == "Transaction is a gift, therefore price is not applicable."
    assert t.coding == TransactionCoding("5", "G", False, (), "0")


def test_ten_reporting_owners(f45) -> None:
    f = f45("0000950123-20-007937.txt")
    d = f.document
    assert len(d.reporting_owners) == len(d.signatures) == len(f.header.owner_file_numbers) == 10
    assert d.reporting_owners[0].name == "Carlyle Realty III, GP, L.L.C."
    assert d.reporting_owners[9].name == "CoreSite CRP IV Holdings, LLC"
    assert {o.relationship for o in d.reporting_owners} == {"TenPercentOwner"}
    assert d.signatures[9].date == "2020-08-07"
    t = d.nonderivative_transactions[0]
    assert (t.coding.code, t.shares, t.price_per_share) == ("M", Value("230172"), Value(None, ("F1",)))
    assert t.nature_of_ownership == Value("See footnote", ("F2",))
    assert (len(d.nonderivative_transactions), len(d.derivative_transactions)) == (2, 1)


def test_a_4a_amendment(f45) -> None:
    f = f45("0000707549-25-000004.txt")
    d = f.document
    assert (d.document_type, f.header.submission_type) == ("4/A", "4/A")
    assert d.date_of_original_submission == "2024-11-04"
    assert filing_to_dict(f)["date_of_original_submission"] == "2024-11-04"
    disposed, acquired = d.nonderivative_transactions
    assert (disposed.acquired_disposed_code, disposed.direct_or_indirect) == (Value("D"), Value("D", ("F1",)))
    assert (acquired.acquired_disposed_code, acquired.direct_or_indirect) == (Value("A"), Value("I", ("F1",)))
    assert acquired.nature_of_ownership == Value("by trust")


def test_a_holdings_only_form5(f45) -> None:
    f = f45("0000036146-20-000002.txt")
    d = f.document
    assert d.document_type == "5"
    assert d.nonderivative_transactions == d.derivative_transactions == ()
    assert (d.form3_holdings_reported, d.form4_transactions_reported) == (False, False)
    assert (d.form3_holdings_reported_text, d.form4_transactions_reported_text) == ("0", "0")
    direct, indirect = d.nonderivative_holdings
    assert (direct.security_title, direct.shares_owned, direct.direct_or_indirect) == (
        Value("common"), Value("38580"), Value("D"),
    )
    assert (indirect.shares_owned, indirect.nature_of_ownership) == (
        Value("1151", ("F1",)), Value("Company Sponsored 401k"),
    )
    record = filing_to_dict(f)
    assert record["nonderivative_transactions"] == record["derivative_transactions"] == []


def test_a_form5_holding_keeps_its_transaction_form_type(f45) -> None:
    f = f45("0001179110-20-001219.txt")
    d = f.document
    assert (d.form3_holdings_reported, d.form3_holdings_reported_text) == (True, "1")
    assert d.nonderivative_holdings[0].transaction_form_type == Value("3")  # first reported on a Form 3
    assert d.nonderivative_holdings[0].nature_of_ownership == Value("401K Plan", ("F2",))


def test_transaction_form_type_5_on_a_form4_with_direct_and_indirect_rows(f45) -> None:
    # A gift moved into a trust: one security, a direct row and an indirect row, each its own
    # transaction with its own footnotes (rows never merged).
    f = f45("0000354707-20-000046.txt")
    d = f.document
    assert d.document_type == "4"
    out, into = d.nonderivative_transactions
    assert out.coding == into.coding == TransactionCoding("5", "G", False, ("F1",), "0")
    assert out.security_title == into.security_title == Value("Common Stock")
    assert (out.direct_or_indirect, out.acquired_disposed_code, out.shares_owned_following) == (
        Value("D"), Value("D"), Value("19048", ("F2",)),
    )
    assert (into.direct_or_indirect, into.acquired_disposed_code, into.shares_owned_following) == (
        Value("I"), Value("A"), Value("78057.307", ("F3",)),
    )
    assert into.nature_of_ownership == Value("By Alan M. Oshima & Jo Ann R Oshima Trust")
    assert (d.not_subject_to_section16, d.not_subject_to_section16_text) == (True, "1")


def test_an_equity_swap(form345_corpus: Path) -> None:
    # No real filing of the corpus has equitySwapInvolved true (the SEC's DERIV_TRANS sample has
    # two, without their filings): a real Form 4's "0" is set to "1", and to "true".
    real = _bytes(form345_corpus, "0000899243-20-009380.txt")
    assert real.count(b"<equitySwapInvolved>0</equitySwapInvolved>") == 1
    for text, style in ((b"1", "0/1"), (b"true", "mixed")):
        f = parse_filing(real.replace(b"<equitySwapInvolved>0<", b"<equitySwapInvolved>" + text + b"<"))
        (t,) = f.document.nonderivative_transactions
        assert (t.coding.equity_swap_involved, t.coding.equity_swap_involved_text) == (True, text.decode())
        assert f.document.bool_style == style  # its owner flags are 0/1
        assert json.loads("{" + json_tail(f))["nonderivative_transactions"][0]["coding"]["equity_swap_involved"] is True


def test_a_derivative_transaction_by_total_value(f45) -> None:
    f = f45("0001062993-22-021877.xml")
    (t,) = f.document.derivative_transactions
    assert t.security_title == Value("2.0% Convertible Senior Notes due 2027")
    assert t.conversion_or_exercise_price == Value("48.8935", ("F1",))
    assert (t.shares, t.total_value, t.price_per_share) == (None, Value("60000000"), Value("60000000"))
    assert (t.exercise_date, t.expiration_date) == (Value("2022-11-08"), Value("2027-11-15"))
    assert (t.underlying_security_title, t.underlying_security_shares) == (Value("Common Stock"), Value("1227156"))
    assert (t.shares_owned_following, t.value_owned_following) == (None, Value("60000000"))
    assert t.nature_of_ownership == Value("Sequoia Capital Fund, LP", ("F2",))


def test_timeliness_and_deemed_execution_dates(f45) -> None:
    late = f45("0001493152-20-007421.txt")
    assert [t.timeliness for t in late.document.nonderivative_transactions + late.document.derivative_transactions] == [
        Value("L"), Value("L"),
    ]
    deemed = f45("0001288257-12-000028.xml")
    assert [t.deemed_execution_date for t in deemed.document.nonderivative_transactions] == [
        Value("2012-12-26"), Value("2012-12-27"),
    ]


def test_a_filing_mixing_boolean_spellings_keeps_each_as_filed(f45) -> None:
    f = f45("0001246360-20-000472.txt")
    d = f.document
    assert d.bool_style == "mixed"
    assert (d.not_subject_to_section16_text, d.form3_holdings_reported_text) == ("false", "0")
    assert [t.coding.equity_swap_involved_text for t in d.nonderivative_transactions + d.derivative_transactions] == ["false"]
    assert d.reporting_owners[0].is_director is True  # filed "true"
    record = filing_to_dict(f)
    assert (record["bool_style"], record["not_subject_to_section16_text"], record["form3_holdings_reported_text"]) == (
        "mixed", "false", "0",
    )


def test_a_dissemination_file_with_bare_cr_line_ends(f45, form345_corpus: Path) -> None:
    data = _bytes(form345_corpus, "0001562180-25-000280.nc")
    assert b"\r<TYPE>4\r" in data and data.startswith(b"<SUBMISSION>\n")
    f = f45("0001562180-25-000280.nc")
    h = f.header
    assert (h.accession_number, h.submission_type, h.public_document_count) == ("0001562180-25-000280", "4", 1)
    assert (h.period_of_report, h.filed_date, h.date_of_change) == ("2025-01-06", "2025-01-08", "2025-01-08")
    assert h.owner_file_numbers == (("0002009134", "001-40791"),)
    d = f.document
    assert (d.schema_version, d.issuer.name, d.bool_style) == ("X0508", "2seventy bio, Inc.", "true/false")
    assert (d.aff10b5_one, d.not_subject_to_section16) == (False, False)
    (t,) = d.derivative_transactions
    assert (t.security_title, t.shares, t.exercise_date) == (
        Value("Stock Option (Right to buy)"), Value("70750.00"), Value(None, ("F2",)),
    )
    assert t.coding == TransactionCoding("4", "A", False, (), "false")


def test_a_paper_era_filing_has_no_ownership_xml(f45) -> None:
    with pytest.raises(NoOwnershipXmlError, match="no <XML>") as info:
        f45("0001094891-00-000193.txt")
    assert info.value.kind == "no_ownership_xml"
    assert info.value.source.endswith("0001094891-00-000193.txt")


def test_a_malformed_2006_filing_is_malformed_xml(f45) -> None:
    # A line break inside a closing tag, line 178 of its XML: an error, not a guess.
    with pytest.raises(MalformedXmlError, match="line 178") as info:
        f45("0001225259-06-000003.txt")
    assert info.value.kind == "malformed_xml"
    assert info.value.source.endswith("0001225259-06-000003.txt")


def _spec_sample(corpus: Path, name: str) -> bytes:
    """One of the SEC's v5.5 sample documents (not real filings), with their one typo repaired:
    every Form 4/5 sample opens ``<rptOwnerCounrty>`` and closes ``</rptOwnerState>``, which no
    XML parser accepts (unrepaired, each is a malformed_xml error)."""
    data = (corpus / "schema" / "spec-samples-v5-5" / name).read_bytes()
    with pytest.raises(MalformedXmlError, match="rptOwnerCounrty"):
        parse_filing(data)
    return re.sub(rb"<rptOwnerCounrty>(.*?)</rptOwnerState>", rb"<rptOwnerCountry>\1</rptOwnerCountry>", data)


def test_the_secs_5a_4a_and_5_samples(corpus: Path) -> None:
    # No real 5/A was found in any public source; the SEC's own sample shows its shape.
    f = parse_filing(_spec_sample(corpus, "doc5a.xml"))
    d = f.document
    assert (d.document_type, d.date_of_original_submission, d.aff10b5_one, d.bool_style) == (
        "5/A", "2003-03-01", True, "mixed",
    )
    counts = [len(x) for x in (d.nonderivative_transactions, d.nonderivative_holdings, d.derivative_transactions, d.derivative_holdings)]
    assert counts == [3, 1, 1, 1]
    t = d.nonderivative_transactions[2]
    assert t.security_title == Value("Preferred Stock Options", ("F1", "F2", "F3"))
    assert (t.deemed_execution_date, t.shares) == (Value("2002-11-03"), Value("33333", ("F2",)))
    assert t.coding == TransactionCoding("5", "S", True, (), "1")
    assert (t.shares_owned_following, t.value_owned_following) == (None, Value("2111111"))
    assert d.reporting_owners[1].country == "I7"
    assert parse_filing(_spec_sample(corpus, "doc4a.xml")).document.document_type == "4/A"
    assert parse_filing(_spec_sample(corpus, "doc5.xml")).document.document_type == "5"
