"""Field-by-field checks of real filings, with values read from their XML by hand."""

from __future__ import annotations

import pytest

from pathlib import Path

from tasks.extract import parse_filing
from tasks.model import Value
from tasks.serialize import filing_to_dict
from tasks.tables import TABLE_COLUMNS, table_rows

pytestmark = pytest.mark.fast


def _row(f, table: str, i: int = 0) -> dict:
    return dict(zip(TABLE_COLUMNS[table], table_rows(f)[table][i]))


def test_joint_filing_of_entity_owners(filing) -> None:
    f = filing("0000899243-20-011293.txt")
    doc = f.document
    assert [o.cik for o in doc.reporting_owners] == [
        "0001644164", "0001803539", "0000792990", "0001643723", "0001803604",
    ]
    first, swiss = doc.reporting_owners[0], doc.reporting_owners[1]
    assert first.name == "Nestle Health Science US Holdings, Inc."
    assert (first.is_director, first.is_officer, first.is_ten_percent_owner, first.is_other) == (
        False, False, True, False,
    )
    assert first.relationship == "TenPercentOwner"
    assert (first.street1, first.street2, first.city, first.state, first.zip_code) == (
        "1812 NORTH MOORE STREET", None, "ARLINGTON", "VA", "22209",
    )
    assert swiss.name == "Societe des Produits Nestle S.A."
    assert (swiss.city, swiss.state, swiss.zip_code, swiss.state_description) == (
        "CH-1800, VEVEY", "V8", None, "SWITZERLAND",
    )
    assert doc.issuer.name == "Aimmune Therapeutics, Inc."
    assert doc.issuer.trading_symbol == "AIMT"
    holding = doc.nonderivative_holdings[-1]
    assert holding.direct_or_indirect == Value("I")
    assert holding.nature_of_ownership == Value("See Footnote", ("F2",))
    assert doc.nonderivative_holdings[0].shares_owned == Value("11727113", ("F1",))
    assert len(doc.signatures) == 5
    assert doc.signatures[4].name == (
        "NESTLE S.A. By: Name: Gregory Behar, Title: Deputy Executive Vice President"
    )
    assert doc.signatures[4].date == "2020-04-24"
    assert f.header.acceptance_datetime == "2020-04-24T16:47:30"
    assert f.header.period_of_report == "2018-12-31"
    assert f.header.public_document_count == 1
    assert [n for _, n in f.header.owner_file_numbers] == ["001-37519"] * 5
    owners = table_rows(f)["reporting_owners"]
    assert len(owners) == 5
    assert _row(f, "reporting_owners", 1)["rptowner_state_desc"] == "SWITZERLAND"
    assert _row(f, "reporting_owners", 1)["file_number"] == "001-37519"
    d = filing_to_dict(f)
    assert d["insider_name"].split("; ")[0] == "Nestle Health Science US Holdings, Inc."
    assert d["insider_role"].split("; ") == ["10% Owner"] * 5


def test_derivative_holdings_with_underlying_shares_and_footnote_only_date(filing) -> None:
    f = filing("0000899243-20-003319.txt")
    first, second = f.document.derivative_holdings
    assert first.security_title == Value("Stock Options (Right to Buy)")
    assert first.conversion_or_exercise_price == Value("15.05")
    assert first.exercise_date == Value(None, ("F3",))  # value given only as a footnote
    assert first.expiration_date == Value("2027-05-11")
    assert first.underlying_security_title == Value("Non-voting common stock", ("F1",))
    assert first.underlying_security_shares == Value("2318799")
    assert first.direct_or_indirect == Value("D")
    assert second.conversion_or_exercise_price == Value("10.59")
    assert second.exercise_date == Value(None, ("F4",))
    assert second.underlying_security_shares == Value("996824")
    row = _row(f, "deriv_holdings", 0)
    assert row["conv_exercise_price"] == 15.05
    assert row["exercise_date"] is None and row["exercise_date_fn"] == "F3"
    assert row["undlyng_sec_shares"] == 2318799.0
    assert row["undlyng_sec_title_fn"] == "F1"
    assert row["deriv_holding_sk"] == 1
    notes = {n.id: n.text for n in f.document.footnotes}
    assert notes["F2"] == "Includes shares owned by the David S. Simmons Revocable Trust."


def test_x0203_bare_xml_with_footnote_only_values(filing) -> None:
    f = filing("0001181431-10-034759.xml")
    doc = f.document
    assert f.header is None
    assert f.accession_number == "0001181431-10-034759"  # from the file name
    assert doc.schema_version == "X0203"
    assert doc.period_of_report == "2010-06-28"
    owner = doc.reporting_owners[0]
    assert (owner.cik, owner.name) == ("0001494730", "Musk Elon")
    assert owner.officer_title == "Pres, Prod Architect & Chairmn"
    assert owner.relationship == "Director,Officer,TenPercentOwner"
    assert owner.role == "Director, Officer (Pres, Prod Architect & Chairmn), 10% Owner"
    assert (owner.street1, owner.street2) == ("C/O TESLA MOTORS, INC.", "3500 DEER CREEK ROAD")
    stock = doc.nonderivative_holdings[0]
    assert stock.shares_owned == Value("2666666")
    assert stock.nature_of_ownership == Value("By Trust")
    pref = doc.derivative_holdings[0]
    assert pref.security_title == Value("Series A Preferred Stock")
    assert pref.conversion_or_exercise_price == Value(None, ("F1",))
    assert pref.exercise_date == pref.expiration_date == Value(None, ("F1",))
    assert pref.underlying_security_shares == Value("4880343")
    assert filing_to_dict(f)["filing_date"] is None


def test_true_false_flags(filing) -> None:
    doc = filing("0000950170-24-009914.xml").document
    mithril = doc.reporting_owners[0]
    assert (mithril.cik, mithril.name) == ("0001552273", "Mithril LP")
    assert mithril.is_ten_percent_owner is True
    assert mithril.is_director is mithril.is_officer is mithril.is_other is False
    assert doc.issuer.trading_symbol == "GUTS"
    assert doc.period_of_report == "2024-02-01"


def test_submission_with_exhibits_and_uuencoded_image(filing) -> None:
    f = filing("0000100493-20-000092.txt")
    assert f.header.public_document_count == 3
    assert f.header.accession_number == "0000100493-20-000092"
    assert f.header.filed_date == "2020-05-26"
    assert f.header.acceptance_datetime == "2020-05-26T15:54:12"
    assert f.header.period_of_report == "2020-05-18"
    assert f.header.owner_file_numbers == (("0001239002", "001-14704"),)
    doc = f.document
    assert doc.reporting_owners[0].name == "BRONCZEK DAVID J"
    assert doc.nonderivative_holdings[0].shares_owned == Value("2025.316", ("F1",))
    assert doc.signatures[0].name == "/s/ R. Read Hudson by Power of Attorney for David J. Bronczek"
    d = filing_to_dict(f)
    assert (d["insider_name"], d["insider_role"], d["company_name"], d["company_cik"]) == (
        "BRONCZEK DAVID J", "Director", "TYSON FOODS, INC.", "0000100493",
    )
    assert d["filing_date"] == "2020-05-26"
    assert d["provenance"]["sha256"] == f.sha256 and len(f.sha256) == 64


def test_no_securities_owned(filing) -> None:
    f = filing("0000721371-20-000061.txt")
    doc = f.document
    assert doc.no_securities_owned is True
    assert doc.nonderivative_holdings == doc.derivative_holdings == doc.footnotes == ()
    assert doc.reporting_owners[0].name == "Evans David C"
    assert doc.reporting_owners[0].city == "DUBLIN"
    assert doc.signatures[0].name == "/s/ James E. Barnett, Attorney-in-fact"
    assert f.header.acceptance_datetime == "2020-07-08T08:00:58"
    assert _row(f, "submissions")["no_securities_owned"] is True


def test_amendment_3a_keeps_date_of_original_submission(corpus: Path) -> None:
    # The corpus has no real 3/A and the SEC's samples are not well-formed, so amend a real one.
    data = (corpus / "filings" / "0000721371-20-000061.txt").read_bytes()
    data = data.replace(
        b"<documentType>3</documentType>",
        b"<documentType>3/A</documentType>\n<dateOfOriginalSubmission>2020-07-02"
        b"</dateOfOriginalSubmission>",
    )
    doc = parse_filing(data).document
    assert doc.document_type == "3/A"
    assert doc.date_of_original_submission == "2020-07-02"


def test_identical_bytes_give_identical_cached_parts(corpus: Path) -> None:
    data = (corpus / "filings" / "0000100493-20-000092.txt").read_bytes()
    a, b = parse_filing(data), parse_filing(data)
    assert a == b and a.source is None  # the source is attached later, not by the parser


def test_published_record_with_its_source_equals_direct_serialization(filing, corpus, tmp_path) -> None:
    """The worker stores what the bytes determine; publishing splices in the source (and a
    bare XML file's name-derived accession): the result equals serializing directly."""
    import json

    from flows.publishing import publish_files
    from tasks.edgar_names import accession_from_name

    names = ("0000100493-20-000092.txt", "0001181431-10-034759.xml")
    paths = [corpus / "filings" / n for n in names]
    publish_files(tmp_path / "results", paths)
    lines = (tmp_path / "results" / "parsed_form3.json").read_text().splitlines()[1:-1]
    for name, path, line in zip(names, paths, lines, strict=True):
        expected = filing(name).at(str(path), accession_from_name(str(path)))
        assert line.rstrip(",") == json.dumps(filing_to_dict(expected), ensure_ascii=False)
