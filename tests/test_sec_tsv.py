"""The SEC-layout export, form3 compare-sec, X0508 owner addresses and typed Parquet.

The SEC's own rows (``../shared/sec-datasets/*.sample.tsv``, 40 Form 3 accessions of the 2024 Q3
release) are the reference: filings are synthesised for those accessions from the rows' values
(tests/sec_samples.py), run through the real parser and writer, and our TSVs are compared with
the SEC's byte for byte. No corpus filing is in the SEC samples (asserted below), so the corpus
is used for the format checks, and its X0508 Form 4/A for the owner block.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lxml import etree

from tasks.extract import parse_filing
from tasks.sec_tsv import sec_header
from tasks.tables import TABLES
from tasks.serialize import filing_to_dict
from flows.publishing import publish_files
from tests.conftest import REPO
from tests.sec_samples import SEC_DATASETS, compare_sec, header_line, read_sample, tsv_rows, write_sample_filings

SAMPLE_TABLES = ("SUBMISSION", "NONDERIV_HOLDING", "DERIV_HOLDING", "OWNER_SIGNATURE")
pytestmark = pytest.mark.fast
MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
# Value patterns of the SEC's files, by the metadata's datatype / the column's role.
DATE = re.compile(rf"^(\d{{2}}-({MONTHS})-\d{{4}})?$")
NUMBER = re.compile(r"^(\d+\.\d+)?$")
FLAG = {"", "0", "1"}
FOOTNOTES = re.compile(r"^(F\d+(, F\d+)*)?$")
# Empty only for a bare XML file whose name carries no accession number (4 in the corpus).
ACCESSION = re.compile(r"^(\d{10}-\d{2}-\d{6})?$")


def write_results(files: list[Path], results: Path) -> Path:
    """Parse ``files`` with the real parser and publish them with the flow's own code."""
    publish_files(results, files)
    return results


@pytest.fixture(scope="module")
def sample_results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sec-samples")
    write_sample_filings(out / "filings")
    return write_results(sorted((out / "filings").glob("*.txt")), out / "results")


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory, corpus) -> Path:
    files = sorted((corpus / "filings").iterdir())
    return write_results(files, tmp_path_factory.mktemp("corpus") / "results")


def _metadata() -> dict[str, list[dict]]:
    meta = json.loads((SEC_DATASETS / "FORM_345_metadata.json").read_text())
    return {t["url"].removesuffix(".tsv"): t["tableSchema"]["columns"] for t in meta["tables"]}


def test_no_corpus_accession_is_in_the_sec_samples(corpus_manifest) -> None:
    sec = {r["ACCESSION_NUMBER"] for r in read_sample("SUBMISSION")}
    assert len(sec) == 40
    assert not sec & {r["accession_number"] for r in corpus_manifest}


def test_header_lines_are_the_secs(sample_results: Path) -> None:
    for name in SAMPLE_TABLES:
        ours = (sample_results / "sec" / f"{name}.tsv").open("rb").readline()
        assert ours == header_line(name), name
    # No sample rows for these two: their columns are the metadata's, in its order.
    meta = _metadata()
    for name in ("REPORTINGOWNER", "FOOTNOTES"):
        ours = (sample_results / "sec" / f"{name}.tsv").open("rb").readline()
        assert ours == ("\t".join(c["name"] for c in meta[name]) + "\n").encode(), name


def test_sample_rows_come_out_byte_identical(sample_results: Path) -> None:
    def lines(path: Path, drop: int | None) -> list[bytes]:
        out = []
        for line in path.read_bytes().splitlines()[1:]:
            fields = line.split(b"\t")
            if drop is not None:
                del fields[drop]
            out.append(b"\t".join(fields))
        return sorted(out)

    for name in SAMPLE_TABLES:
        sk = next((i for i, c in enumerate(header_line(name).decode().split("\t")) if c.endswith("_SK")), None)
        ours = lines(sample_results / "sec" / f"{name}.tsv", sk)
        sec = lines(SEC_DATASETS / f"{name}.sample.tsv", sk)
        assert ours == sec, name
    assert len(lines(sample_results / "sec" / "SUBMISSION.tsv", None)) == 40
    # The one remark the SEC quotes (it holds quotes) is quoted the same way.
    assert b'\t"On September 3, 2024, Vuzix Corporation (the ""Company"")' in (
        sample_results / "sec" / "SUBMISSION.tsv"
    ).read_bytes()


def _check_formats(path: Path, name: str) -> int:
    """Every value of ``path`` against the pattern of its SEC column; returns values checked."""
    kinds = {c["name"]: c["datatype"]["base"] for c in _metadata()[name]}
    rows = tsv_rows(path)
    checked = 0
    for col in rows[0] if rows else ():
        values = [r[col] for r in rows]
        if col == "ACCESSION_NUMBER":
            assert all(ACCESSION.match(v) for v in values), (name, col)
        elif col.endswith("_SK"):
            continue
        elif col.endswith("_FN"):
            assert all(FOOTNOTES.match(v) for v in values), (name, col, values)
        elif kinds[col].startswith("date"):
            assert all(DATE.match(v) for v in values), (name, col, values)
        elif kinds[col] == "NUMBER":
            assert all(NUMBER.match(v) for v in values), (name, col, values)
        elif col in {"NO_SECURITIES_OWNED", "NOT_SUBJECT_SEC16", "FORM3_HOLDINGS_REPORTED", "FORM4_TRANS_REPORTED"}:
            assert set(values) <= FLAG, (name, col, set(values))
        checked += len(values)
    return checked


def test_values_follow_the_secs_formats(sample_results: Path, corpus_results: Path) -> None:
    # The patterns are the SEC's: its own rows pass them...
    for name in SAMPLE_TABLES:
        assert _check_formats(SEC_DATASETS / f"{name}.sample.tsv", name) > 0
    # ...and so does every value we write, for the sample accessions and the Form 3 corpus (104
    # real Forms 3 and 9 Forms 4/4/A).
    for results in (sample_results, corpus_results):
        for name in ("SUBMISSION", "REPORTINGOWNER", "NONDERIV_HOLDING", "DERIV_HOLDING", "FOOTNOTES", "OWNER_SIGNATURE"):
            assert _check_formats(results / "sec" / f"{name}.tsv", name) > 0, name
    subs = tsv_rows(corpus_results / "sec" / "SUBMISSION.tsv")
    assert len(subs) == 113  # 104 Form 3s and, since parser version 3, the 9 Forms 4/5
    assert sum(r["ACCESSION_NUMBER"] == "" for r in subs) == 5
    form3 = {r["DOCUMENT_TYPE"] in ("3", "3/A") for r in subs}
    assert form3 == {True, False}
    assert {r["NO_SECURITIES_OWNED"] for r in subs if r["DOCUMENT_TYPE"] in ("3", "3/A")} == {"0", "1"}
    assert {r["NO_SECURITIES_OWNED"] for r in subs if r["DOCUMENT_TYPE"] not in ("3", "3/A")} == {""}
    # A real multi-footnote list, the SEC's way.
    deriv = tsv_rows(corpus_results / "sec" / "DERIV_HOLDING.tsv")
    assert any(", " in r["EXERCISE_DATE_FN"] or ", " in r["SECURITY_TITLE_FN"] for r in deriv)


def test_keys_unique_across_the_output_and_stable(corpus_results: Path, tmp_path: Path, corpus) -> None:
    again = write_results(sorted((corpus / "filings").iterdir()), tmp_path / "again")
    for name, sk in (("NONDERIV_HOLDING", "NONDERIV_HOLDING_SK"), ("DERIV_HOLDING", "DERIV_HOLDING_SK")):
        keys = [int(r[sk]) for r in tsv_rows(corpus_results / "sec" / f"{name}.tsv")]
        assert len(keys) == len(set(keys)) > 100
        assert (again / "sec" / f"{name}.tsv").read_bytes() == (corpus_results / "sec" / f"{name}.tsv").read_bytes()
    for name in ("SUBMISSION", "REPORTINGOWNER", "FOOTNOTES", "OWNER_SIGNATURE"):
        assert (again / "sec" / f"{name}.tsv").read_bytes() == (corpus_results / "sec" / f"{name}.tsv").read_bytes()


def test_real_values_in_sec_format(corpus_results: Path) -> None:
    """One real filing, value by value (0000899243-20-011293: Nestle's five joint owners)."""
    acc = "0000899243-20-011293"
    owners = [r for r in tsv_rows(corpus_results / "sec" / "REPORTINGOWNER.tsv") if r["ACCESSION_NUMBER"] == acc]
    assert len(owners) == 5
    swiss = owners[1]
    assert (swiss["RPTOWNERNAME"], swiss["RPTOWNER_STATE"], swiss["RPTOWNER_STATE_DESC"], swiss["FILE_NUMBER"]) == (
        "Societe des Produits Nestle S.A.", "V8", "SWITZERLAND", "001-37519",
    )
    nonderiv = [r for r in tsv_rows(corpus_results / "sec" / "NONDERIV_HOLDING.tsv") if r["ACCESSION_NUMBER"] == acc]
    assert (nonderiv[0]["SHRS_OWND_FOLWNG_TRANS"], nonderiv[0]["SHRS_OWND_FOLWNG_TRANS_FN"]) == ("11727113.0", "F1")
    sigs = [r for r in tsv_rows(corpus_results / "sec" / "OWNER_SIGNATURE.tsv") if r["ACCESSION_NUMBER"] == acc]
    assert sigs[4]["OWNERSIGNATUREDATE"] == "24-APR-2020"


def test_parquet_keeps_real_types(corpus_results: Path) -> None:
    subs = pq.read_table(corpus_results / "submissions.parquet")
    assert str(subs.schema.field("filing_date").type) == "date32[day]"
    assert str(subs.schema.field("no_securities_owned").type) == "bool"
    row = next(r for r in subs.to_pylist() if r["accession_number"] == "0000899243-20-011293")
    assert row["period_of_report"] == date(2018, 12, 31)
    assert str(row["acceptance_datetime"]) == "2020-04-24 16:47:30"
    deriv = pq.read_table(corpus_results / "deriv_holdings.parquet")
    assert str(deriv.schema.field("expiration_date").type) == "date32[day]"
    assert str(deriv.schema.field("conv_exercise_price").type) == "double"
    for name in ("trans_form_type", "trans_form_type_fn"):
        assert name in deriv.column_names
    owners = pq.read_table(corpus_results / "reporting_owners.parquet")
    for name in ("rptowner_country", "rptowner_nonus_state_territory", "rptowner_nonus_address_flag", "rptowner_good_address"):
        assert name in owners.column_names


def test_compare_sec_agrees_on_the_sample_accessions(sample_results: Path) -> None:
    proc = compare_sec(sample_results, SEC_DATASETS)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "accessions: ours 40, in both 40" in proc.stdout
    assert "SUBMISSION: 40 rows paired (ours 40, SEC 40)" in proc.stdout
    assert "DERIV_HOLDING: 25 rows paired (ours 25, SEC 25)" in proc.stdout
    assert re.search(r"EXPIRATION_DATE +25/25 agree", proc.stdout)
    assert re.search(r"REMARKS +40/40 agree", proc.stdout)


def test_compare_sec_shows_differences(sample_results: Path, tmp_path: Path) -> None:
    sec = tmp_path / "sec"
    sec.mkdir()
    for name in SAMPLE_TABLES:
        text = (SEC_DATASETS / f"{name}.sample.tsv").read_text(encoding="utf-8")
        if name == "NONDERIV_HOLDING":
            text = text.replace("\t1125983.0\t", "\t1125984.0\t")  # one value changed
        (sec / f"{name}.tsv").write_text(text, encoding="utf-8")
    proc = compare_sec(sample_results, sec)
    assert proc.returncode == 1
    assert re.search(r"SHRS_OWND_FOLWNG_TRANS +20/21 agree", proc.stdout)
    assert "SHRS_OWND_FOLWNG_TRANS 0001493152-24-038032: ours '1125983.0' SEC '1125984.0'" in proc.stdout


def test_compare_sec_on_the_corpus_finds_no_common_accession(corpus_results: Path) -> None:
    proc = compare_sec(corpus_results, SEC_DATASETS)
    assert proc.returncode == 1
    # 113 filings (104 Form 3s, 9 Forms 4/5), 5 of them bare XML files with no accession number.
    assert proc.stdout == "accessions: ours 108, in both 0\nno accession in common: nothing to compare\n"


# ---------------------------------------------------------------------------------------------
# X0508 owner address
# ---------------------------------------------------------------------------------------------

def _owner_blocks(path: Path) -> list:
    return list(parse_filing(path.read_bytes()).document.reporting_owners)


def test_x0508_owner_block_of_a_real_form4a(corpus) -> None:
    """The corpus's X0508 documents are Form 4/4A; their owner block is the same
    REPORTING_OWNER type as a Form 3's."""
    (lam,) = _owner_blocks(corpus / "filings" / "0000707549-25-000004.txt")
    assert (lam.cik, lam.name, lam.street1, lam.street2, lam.city, lam.state, lam.zip_code) == (
        "0001779037", "Ahmed Sohail U", "C/O LAM RESEARCH CORPORATION", "4650 CUSHING PARKWAY",
        "FREMONT", "CA", "94538",
    )
    assert lam.state_description is None  # filed empty
    # X0508 elements not filed by this owner: None, not a guessed default.
    assert (lam.non_us_address_flag, lam.non_us_state_territory, lam.country, lam.good_address) == (None,) * 4
    assert lam.relationship == "Director"
    (water,) = _owner_blocks(corpus / "filings" / "dgunning_edgartools__data_ownership_374WaterForm4.xml")
    assert (water.name, water.city, water.state, water.officer_title) == (
        "Melkote Rajesh Ramaswamy", "MORRISVILLE", "NC", "Chief Technology Officer",
    )


X0508_FORM3 = """<?xml version="1.0"?>
<ownershipDocument>
    <schemaVersion>X0508</schemaVersion>
    <documentType>3</documentType>
    <periodOfReport>2024-07-22</periodOfReport>
    <noSecuritiesOwned>0</noSecuritiesOwned>
    <issuer>
        <issuerCik>0006000001</issuerCik>
        <issuerName>Example Holdings AG</issuerName>
        <issuerTradingSymbol>EXHG</issuerTradingSymbol>
        <issuerForeignTradingSymbol>EXH.DE</issuerForeignTradingSymbol>
    </issuer>
    <reportingOwner>
        <reportingOwnerId>
            <rptOwnerCik>0006000002</rptOwnerCik>
            <rptOwnerName>Beispiel Greta</rptOwnerName>
        </reportingOwnerId>
        <reportingOwnerAddress>
            <rptOwnerNonUSAddressFlag>true</rptOwnerNonUSAddressFlag>
            <rptOwnerStreet1>Hauptstrasse 1</rptOwnerStreet1>
            <rptOwnerCity>Muenchen</rptOwnerCity>
            <rptOwnerNonUSStateTerritory>Bayern</rptOwnerNonUSStateTerritory>
            <rptOwnerCountry>2M</rptOwnerCountry>
            <rptOwnerZipCode>80331</rptOwnerZipCode>
            <rptOwnerStateDescription>GERMANY</rptOwnerStateDescription>
            <rptOwnerGoodAddress>false</rptOwnerGoodAddress>
        </reportingOwnerAddress>
        <reportingOwnerRelationship>
            <isOfficer>1</isOfficer>
            <officerTitle>Chief Financial Officer</officerTitle>
        </reportingOwnerRelationship>
    </reportingOwner>
    <aff10b5One>0</aff10b5One>
    <nonDerivativeTable>
        <nonDerivativeHolding>
            <securityTitle><value>Ordinary Shares</value></securityTitle>
            <postTransactionAmounts>
                <sharesOwnedFollowingTransaction><value>2500</value><footnoteId id="F1"/><footnoteId id="F2"/></sharesOwnedFollowingTransaction>
            </postTransactionAmounts>
            <ownershipNature><directOrIndirectOwnership><value>D</value></directOrIndirectOwnership></ownershipNature>
        </nonDerivativeHolding>
    </nonDerivativeTable>
    <footnotes>
        <footnote id="F1">Held in a securities account.</footnote>
        <footnote id="F2">Includes 500 restricted shares.</footnote>
    </footnotes>
    <ownerSignature>
        <signatureName>/s/ Greta Beispiel</signatureName>
        <signatureDate>2024-07-24</signatureDate>
    </ownerSignature>
</ownershipDocument>
"""


def test_x0508_form3_built_from_the_xsd(corpus, tmp_path: Path) -> None:
    xsd = corpus / "schema" / "ownershipxmltechspec-v5-5" / "ownership3Document.xsd.xml"
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    schema.assertValid(etree.fromstring(X0508_FORM3.encode()))  # a valid v5.5 Form 3

    path = tmp_path / "0006000002-24-000001.xml"
    path.write_text(X0508_FORM3, encoding="utf-8")
    f = parse_filing(path.read_bytes()).at(str(path), "0006000002-24-000001")
    owner = filing_to_dict(f)["reporting_owners"][0]  # JSON
    assert (owner["non_us_address_flag"], owner["non_us_state_territory"], owner["country"], owner["good_address"]) == (
        True, "Bayern", "2M", False,
    )
    assert filing_to_dict(f)["issuer"]["foreign_trading_symbol"] == "EXH.DE"
    assert filing_to_dict(f)["aff10b5_one"] is False

    results = write_results([path], tmp_path / "results")
    row = pq.read_table(results / "reporting_owners.parquet").to_pylist()[0]  # Parquet
    assert (row["rptowner_nonus_address_flag"], row["rptowner_nonus_state_territory"], row["rptowner_country"], row["rptowner_good_address"]) == (
        True, "Bayern", "2M", False,
    )
    assert row["rptowner_state"] is None
    sub = pq.read_table(results / "submissions.parquet").to_pylist()[0]
    assert (sub["issuerforeigntradingsymbol"], sub["schema_version"], sub["aff10b5one"]) == ("EXH.DE", "X0508", False)

    (ext,) = tsv_rows(results / "sec" / "REPORTINGOWNER_X0508.tsv")  # TSV
    assert ext == {
        "ACCESSION_NUMBER": "0006000002-24-000001", "RPTOWNERCIK": "0006000002",
        "RPTOWNER_NONUS_ADDRESS_FLAG": "1", "RPTOWNER_NONUS_STATE_TERRITORY": "Bayern",
        "RPTOWNER_COUNTRY": "2M", "RPTOWNER_GOOD_ADDRESS": "0",
    }
    (own,) = tsv_rows(results / "sec" / "REPORTINGOWNER.tsv")
    assert (own["RPTOWNER_STATE"], own["RPTOWNER_STATE_DESC"], own["RPTOWNER_RELATIONSHIP"], own["RPTOWNER_TITLE"]) == (
        "2M", "GERMANY", "Officer", "Chief Financial Officer",
    )
    (hold,) = tsv_rows(results / "sec" / "NONDERIV_HOLDING.tsv")
    assert (hold["SHRS_OWND_FOLWNG_TRANS"], hold["SHRS_OWND_FOLWNG_TRANS_FN"]) == ("2500.0", "F1, F2")
    (sig,) = tsv_rows(results / "sec" / "OWNER_SIGNATURE.tsv")
    assert sig["OWNERSIGNATUREDATE"] == "24-JUL-2024"


def test_data_dictionary_is_current() -> None:
    sys.path.insert(0, str(REPO / "docs"))
    import make_data_dictionary

    assert (REPO / "docs" / "data-dictionary.md").read_text(encoding="utf-8") == make_data_dictionary.render(), (
        "docs/data-dictionary.md is stale: run python docs/make_data_dictionary.py"
    )
    text = make_data_dictionary.render()
    for table in TABLES:
        assert all(f"`{c}`" in text for c in sec_header(table)), table
    assert "| `exercise_date` | date32[day] | date exercisable | `EXCERCISE_DATE` |" in text  # DERIV_TRANS
    assert "| `trans_pricepershare` | double | price per share (of the derivative, for a derivative) | `TRANS_PRICEPERSHARE` (*rounded*) |" in text


def test_form3_run_writes_the_sec_tsvs(form3, tmp_path: Path) -> None:
    """The flow end to end: form3 run on the sample accessions' filings, then compare-sec."""
    manifest = write_sample_filings(tmp_path / "filings")
    results = tmp_path / "results"
    form3("run", str(manifest), "--results", str(results))
    assert form3.summary(results)["succeeded"] == 40
    for name in SAMPLE_TABLES:
        assert (results / "sec" / f"{name}.tsv").open("rb").readline() == header_line(name)
    proc = compare_sec(results, SEC_DATASETS)
    assert proc.returncode == 0, proc.stdout
    assert "OWNER_SIGNATURE: 44 rows paired (ours 44, SEC 44)" in proc.stdout


def test_rows_are_written_as_the_csv_module_writes_them(tmp_path: Path) -> None:
    # tasks/sec_tsv.py renders whole columns with Arrow; its bytes must stay those of
    # csv.writer(delimiter="\t", lineterminator="\n", QUOTE_MINIMAL) over the values as they
    # were rendered one by one (line breaks dropped, null empty, floats repr, dates DD-MON-YYYY).
    import pyarrow as pa

    from tasks import sec_tsv
    from tasks.tables import Column

    texts = ["plain", 'a "quoted" word', "tab\there", "cr\rlf\r\nnl\nend", "", None, "é 漢 😀 \u2028 \x0b\x0c",
             '"', "\t", "\r\n", " lead and trail ", "semi;colon,comma"]
    numbers = [1125983.0, 12.25, 0.0001, None, -0.0, 0.0, 1e16, 1.5e-7, float("nan"), float("inf"), 3.0, 12.25]
    dates = [date(2024, 7, 31), None, date(1999, 1, 2), date(2024, 7, 31)] * 3
    flags = [True, False, None] * 4
    cols = [
        (Column("t", pa.string(), ""), pa.chunked_array([texts[:5], texts[5:]], pa.string())),
        (Column("n", pa.float64(), ""), pa.chunked_array([numbers], pa.float64())),
        (Column("d", pa.date32(), ""), pa.chunked_array([dates], pa.date32())),
        (Column("f", pa.bool_(), ""), pa.chunked_array([flags], pa.bool_())),
        (Column("t2", pa.string(), ""), pa.chunked_array([list(reversed(texts))], pa.string())),
    ]
    path = tmp_path / "x.tsv"
    with open(path, "wb") as fh:
        sec_tsv._write_line(fh, ("T", "N"))
        sec_tsv._write_rows(fh, [sec_tsv._render(c, a) for c, a in cols])

    def one(column: Column, v):  # noqa: ANN001, ANN202 - the former per-value rendering
        if v is None:
            return ""
        if column.type == pa.float64():
            return sec_tsv.sec_number(v)  # repr of the value rounded to two decimals
        if column.type == pa.date32():
            return v.strftime("%d-%b-%Y").upper()
        if column.type == pa.bool_():
            return "1" if v else "0"
        return v.replace("\r\n", "").replace("\r", "").replace("\n", "")

    expected = tmp_path / "expected.tsv"
    with open(expected, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(("T", "N"))
        writer.writerows(zip(*[[one(c, v) for v in a.to_pylist()] for c, a in cols]))
    assert path.read_bytes() == expected.read_bytes()
