"""Forms 4 and 5 in the SEC's layout: the transaction tables, rounding, filed flags, keys.

The reference is the SEC's own 2024 Q3 rows for 65 Form 4, 4/A, 5 and 5/A accessions
(``../shared/sec-datasets/*.form4.sample.tsv``). Five of those accessions are real filings of
``../shared/form345-corpus`` and are read from there; filings for the other 60 are rebuilt from
the rows' values (tests/sec_samples.py). Both go through the real parser and the flow's own
publishing code, and our TSVs are compared with the SEC's cell by cell. The whole Form 4/5
corpus is exported too, for keys, counts and formats on 465 real filings.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.publishing import publish_files
from tasks.compare_sec import compare_table
from tasks.sec_tsv import sec_number
from tests.sec_samples import (
    FORM4, SEC_DATASETS, compare_sec, header_line, read_sample, sample_path, tsv_rows, write_sample_filings,
)

pytestmark = pytest.mark.fast

# The SEC sample accessions that are real filings of the corpus (bare XML files).
REAL = (
    "0001062993-24-016335", "0001062993-24-016587", "0001415889-24-019064",
    "0001628280-24-031146", "0001628280-24-038676",
)
FORM4_TABLES = ("SUBMISSION", "NONDERIV_HOLDING", "DERIV_HOLDING", "DERIV_TRANS", "OWNER_SIGNATURE")
# Where the SEC's rows hold what the filing does not: the five are bare XML documents, without
# the EDGAR header that gives the filing date (docs/sec-layout.md, "Known differences").
PINNED_FILING_DATES = {
    "0001062993-24-016335": "09-SEP-2024", "0001062993-24-016587": "13-SEP-2024",
    "0001415889-24-019064": "02-JUL-2024", "0001628280-24-031146": "03-JUL-2024",
    "0001628280-24-038676": "28-AUG-2024",
}
# At most two decimals: what every SEC NUMBER(16,2) value looks like.
SEC_NUMBER = re.compile(r"^(-?\d+\.\d{1,2})?$")


@pytest.fixture(scope="module")
def rebuilt_results(tmp_path_factory) -> Path:
    """The 60 SEC sample accessions that are in no corpus, rebuilt, parsed and published."""
    out = tmp_path_factory.mktemp("sec-form4-rebuilt")
    write_sample_filings(out / "filings", kind=FORM4, skip=frozenset(REAL))
    publish_files(out / "results", sorted((out / "filings").glob("*.txt")))
    return out / "results"


@pytest.fixture(scope="module")
def real_results(tmp_path_factory, form345_corpus: Path) -> Path:
    """The five real filings the SEC's samples hold, as filed."""
    out = tmp_path_factory.mktemp("sec-form4-real") / "results"
    publish_files(out, [form345_corpus / "filings" / f"{acc}.xml" for acc in REAL])
    return out


@pytest.fixture(scope="module")
def corpus345_results(tmp_path_factory, form345_corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("form345") / "results"
    publish_files(out, sorted((form345_corpus / "filings").iterdir()))
    return out


def test_five_sample_accessions_are_real_corpus_filings(form345_manifest) -> None:
    sec = {r["ACCESSION_NUMBER"] for r in read_sample("SUBMISSION", kind=FORM4)}
    assert len(sec) == 65
    corpus = {Path(r["file"]).stem for r in form345_manifest} | {r["accession_number"] for r in form345_manifest}
    assert sec & corpus == set(REAL)


def test_header_lines_are_the_secs(rebuilt_results: Path) -> None:
    for name in FORM4_TABLES:
        assert (rebuilt_results / "sec" / f"{name}.tsv").open("rb").readline() == header_line(name, kind=FORM4), name
    deriv = header_line("DERIV_TRANS", kind=FORM4).decode().rstrip("\n").split("\t")
    assert len(deriv) == 42 and "EXCERCISE_DATE" in deriv and "EQUITY_SWAP_TRANS_CD_FN" in deriv
    # No NONDERIV_TRANS rows in the samples: the metadata's columns, with the SEC's real name for
    # the coding's footnotes (the metadata says EQUITY_SWAP_INVOLVED_FN, the readme and files not).
    meta = json.loads((SEC_DATASETS / "FORM_345_metadata.json").read_text())
    (table,) = [t for t in meta["tables"] if t["url"] == "NONDERIV_TRANS.tsv"]
    expected = [c["name"].replace("EQUITY_SWAP_INVOLVED_FN", "EQUITY_SWAP_TRANS_CD_FN") for c in table["tableSchema"]["columns"]]
    ours = (rebuilt_results / "sec" / "NONDERIV_TRANS.tsv").open("rb").readline().decode().rstrip("\n").split("\t")
    assert ours == expected and len(ours) == 28


def _lines(path: Path, accessions: set[str]) -> list[bytes]:
    """The file's rows of ``accessions``, ``*_SK`` dropped (the SEC's own numbering), sorted."""
    lines = path.read_bytes().splitlines()
    sk = next((i for i, c in enumerate(lines[0].split(b"\t")) if c.endswith(b"_SK")), None)
    out = []
    for line in lines[1:]:
        fields = line.split(b"\t")
        if fields[0].decode() in accessions:
            if sk is not None:
                del fields[sk]
            out.append(b"\t".join(fields))
    return sorted(out)


def test_rebuilt_rows_come_out_byte_identical(rebuilt_results: Path) -> None:
    accessions = {r["ACCESSION_NUMBER"] for r in read_sample("SUBMISSION", kind=FORM4)} - set(REAL)
    counts = {}
    for name in FORM4_TABLES:
        ours = _lines(rebuilt_results / "sec" / f"{name}.tsv", accessions)
        sec = _lines(sample_path(name, FORM4), accessions)
        assert ours == sec, name
        counts[name] = len(ours)
    assert counts == {"SUBMISSION": 60, "NONDERIV_HOLDING": 28, "DERIV_HOLDING": 25, "DERIV_TRANS": 101, "OWNER_SIGNATURE": 80}
    # What the rows show: flags as filed (the 5/A spells its Form 5 flags 0 and its swap false),
    # a deemed execution date, a total value, an equity swap with its coding footnotes.
    subs = {r["ACCESSION_NUMBER"]: r for r in tsv_rows(rebuilt_results / "sec" / "SUBMISSION.tsv")}
    assert Counter(r["NOT_SUBJECT_SEC16"] for r in subs.values()) == Counter(
        {"0": 26, "": 24, "false": 5, "1": 4, "true": 1}
    )
    hubspot = subs["0000950170-24-098603"]
    assert (hubspot["DOCUMENT_TYPE"], hubspot["FORM3_HOLDINGS_REPORTED"], hubspot["FORM4_TRANS_REPORTED"]) == ("5/A", "0", "0")
    (swap,) = [r for r in tsv_rows(rebuilt_results / "sec" / "DERIV_TRANS.tsv") if r["ACCESSION_NUMBER"] == "0000950170-24-098603"]
    assert swap["EQUITY_SWAP_INVOLVED"] == "false"


def test_compare_sec_agrees_on_the_rebuilt_accessions(rebuilt_results: Path) -> None:
    proc = compare_sec(rebuilt_results, SEC_DATASETS)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "accessions: ours 60, in both 60" in proc.stdout
    assert "DERIV_TRANS: 101 rows paired (ours 101, SEC 101)" in proc.stdout
    for column, n in (("EXCERCISE_DATE", 101), ("EQUITY_SWAP_INVOLVED", 101), ("TRANS_TOTAL_VALUE", 101),
                      ("EQUITY_SWAP_TRANS_CD_FN", 101), ("NOT_SUBJECT_SEC16", 60), ("SHRS_OWND_FOLWNG_TRANS", 25)):
        assert re.search(rf"\n  {column} +{n}/{n} agree", proc.stdout), column
    # No NONDERIV_TRANS rows in the SEC's samples: nothing to compare, and no report for it.
    assert "NONDERIV_TRANS" not in proc.stdout


def test_real_filings_agree_cell_by_cell_but_the_filing_date(real_results: Path) -> None:
    both = set(REAL)
    paired = {}
    for name in FORM4_TABLES:
        report = compare_table(name, real_results / "sec" / f"{name}.tsv", [sample_path(name, FORM4)], both)
        assert report.paired == report.rows_ours == report.rows_sec, name
        paired[name] = report.paired
        disagree = {c for c in report.columns if report.agree.get(c, 0) != report.paired}
        assert disagree == ({"FILING_DATE"} if name == "SUBMISSION" else set()), name
    assert paired == {"SUBMISSION": 5, "NONDERIV_HOLDING": 11, "DERIV_HOLDING": 0, "DERIV_TRANS": 2, "OWNER_SIGNATURE": 5}
    # The pinned cells: the SEC's filing date, and ours empty, for each of the five.
    sec = {r["ACCESSION_NUMBER"]: r["FILING_DATE"] for r in read_sample("SUBMISSION", kind=FORM4) if r["ACCESSION_NUMBER"] in both}
    ours = {r["ACCESSION_NUMBER"]: r["FILING_DATE"] for r in tsv_rows(real_results / "sec" / "SUBMISSION.tsv")}
    assert sec == PINNED_FILING_DATES
    assert ours == dict.fromkeys(REAL, "")


def test_sec_rounds_what_the_filing_and_parquet_keep(real_results: Path) -> None:
    """Microsoft's 0001062993-24-016335 files 224.048 shares and 15258.760 owned; the SEC's row
    says 224.05 and 15258.76, and so does our TSV; the Parquet keeps the filed value."""
    (sec,) = [r for r in read_sample("DERIV_TRANS", kind=FORM4) if r["ACCESSION_NUMBER"] == "0001062993-24-016335"]
    (ours,) = [r for r in tsv_rows(real_results / "sec" / "DERIV_TRANS.tsv") if r["ACCESSION_NUMBER"] == "0001062993-24-016335"]
    for row in (sec, ours):
        assert (row["TRANS_SHARES"], row["UNDLYNG_SEC_SHARES"], row["SHRS_OWND_FOLWNG_TRANS"]) == ("224.05", "224.05", "15258.76")
    (parquet,) = [r for r in pq.read_table(real_results / "deriv_trans.parquet").to_pylist() if r["accession_number"] == "0001062993-24-016335"]
    assert (parquet["trans_shares"], parquet["undlyng_sec_shares"], parquet["shrs_ownd_folwng_trans"]) == (224.048, 224.048, 15258.76)
    # A price with four decimals (23andMe's 0.3341, footnoted F2): 0.33 in the TSV.
    trans = [r for r in tsv_rows(real_results / "sec" / "NONDERIV_TRANS.tsv") if r["ACCESSION_NUMBER"] == "0001628280-24-038676"]
    assert [(r["TRANS_PRICEPERSHARE"], r["TRANS_SHARES"]) for r in trans] == [("0.0", "658485.0"), ("0.33", "179586.0")]
    prices = [r["trans_pricepershare"] for r in pq.read_table(real_results / "nonderiv_trans.parquet").to_pylist()
              if r["accession_number"] == "0001628280-24-038676"]
    assert prices == [0.0, 0.3341]


def test_sec_number_rounds_half_away_from_zero_on_the_decimal() -> None:
    # Oracle NUMBER(16,2) rounds the decimal value; binary round(2.675, 2) would say 2.67.
    cases = {1125983.0: "1125983.0", 12.25: "12.25", 224.048: "224.05", 2.675: "2.68", 0.005: "0.01",
             0.3341: "0.33", 0.004: "0.0", -0.0: "0.0", -1.005: "-1.01", 585123865.78: "585123865.78"}
    assert {x: sec_number(x) for x in cases} == cases


def test_flags_keep_the_spelling_of_each_value(corpus345_results: Path) -> None:
    """0001246360-20-000472, a real Form 5, writes notSubjectToSection16 ``false`` and its two
    Form 5 flags ``0``: per value, not per filing."""
    (row,) = [r for r in tsv_rows(corpus345_results / "sec" / "SUBMISSION.tsv") if r["ACCESSION_NUMBER"] == "0001246360-20-000472"]
    assert (row["NOT_SUBJECT_SEC16"], row["FORM3_HOLDINGS_REPORTED"], row["FORM4_TRANS_REPORTED"], row["DOCUMENT_TYPE"]) == ("false", "0", "0", "5")
    (parquet,) = [r for r in pq.read_table(corpus345_results / "submissions.parquet").to_pylist() if r["accession_number"] == "0001246360-20-000472"]
    assert (parquet["not_subject_sec16"], parquet["form3_holdings_reported"], parquet["form4_trans_reported"]) == (False, False, False)
    # A Form 4/5 never gets a derived NO_SECURITIES_OWNED (the SEC's 65 rows: all empty).
    assert {r["NO_SECURITIES_OWNED"] for r in tsv_rows(corpus345_results / "sec" / "SUBMISSION.tsv")} == {""}


def _parsed(manifest: list[dict[str, str]]) -> list[dict[str, str]]:
    """The files that parse: not the malformed one, not the paper-era one without XML."""
    return [r for r in manifest if not r["parse_error"] and r["has_ownership_xml"] == "1"]


def _sum(manifest: list[dict[str, str]], column: str) -> int:
    return sum(int(r[column] or 0) for r in _parsed(manifest))


def test_corpus_tables_counts_keys_and_formats(corpus345_results: Path, form345_manifest) -> None:
    """Every row of the 465 real Forms 4/5 reaches its SEC file, keys are unique across the
    output, and every number has at most two decimals (the Parquet keeps more)."""
    sec = corpus345_results / "sec"
    expected = {
        "SUBMISSION": len(_parsed(form345_manifest)),
        "NONDERIV_TRANS": _sum(form345_manifest, "n_nonderiv_trans"),
        "DERIV_TRANS": _sum(form345_manifest, "n_deriv_trans"),
        "NONDERIV_HOLDING": _sum(form345_manifest, "n_nonderiv_holding"),
        "DERIV_HOLDING": _sum(form345_manifest, "n_deriv_holding"),
        "FOOTNOTES": _sum(form345_manifest, "n_footnotes"),
        "REPORTINGOWNER": _sum(form345_manifest, "n_owners"),
        "OWNER_SIGNATURE": _sum(form345_manifest, "n_signatures"),
    }
    found = {name: len(tsv_rows(sec / f"{name}.tsv")) for name in expected}
    assert found == expected
    assert found["NONDERIV_TRANS"] > 1000 and found["DERIV_TRANS"] > 100
    for name in ("NONDERIV_TRANS", "DERIV_TRANS", "NONDERIV_HOLDING", "DERIV_HOLDING"):
        rows = tsv_rows(sec / f"{name}.tsv")
        keys = [int(r[f"{name}_SK"]) for r in rows]
        assert keys == list(range(1, len(rows) + 1)), name
        numbers = [c for c in rows[0] if c in {"TRANS_SHARES", "TRANS_PRICEPERSHARE", "TRANS_TOTAL_VALUE",
                                                "CONV_EXERCISE_PRICE", "UNDLYNG_SEC_SHARES", "UNDLYNG_SEC_VALUE",
                                                "SHRS_OWND_FOLWNG_TRANS", "VALU_OWND_FOLWNG_TRANS"}]
        assert numbers, name
        bad = [(c, r[c]) for r in rows for c in numbers if not SEC_NUMBER.match(r[c])]
        assert not bad, (name, bad[:5])
    # The Parquet keeps the filed prices, more than two decimals included.
    prices = pq.read_table(corpus345_results / "nonderiv_trans.parquet", columns=["trans_pricepershare"])["trans_pricepershare"].to_pylist()
    assert sum(p is not None and Decimal(repr(p)).as_tuple().exponent < -2 for p in prices) == 938
    # 10 reporting owners on one filing.
    owners = Counter(r["ACCESSION_NUMBER"] for r in tsv_rows(sec / "REPORTINGOWNER.tsv"))
    assert owners["0000950123-20-007937"] == 10


def test_form4_and_5_rows_in_the_sec_files(form345_corpus: Path, tmp_path: Path) -> None:
    """Real filings: SkyWest's Form 5 0001179110-20-001219 (a late Form 3 holding, TRANS_FORM_TYPE
    3, and a transaction coded on form 5); Hawaiian Electric's Form 4 0000354707-20-000046
    (transactions coded on form 5, direct and indirect rows for one security, the coding's
    footnote). And the same Form 4 without its first transactionCoding (optional in the schema;
    no real filing omits it): its coding cells are empty, nothing else moves."""
    filings = form345_corpus / "filings"
    text = (filings / "0000354707-20-000046.txt").read_text(encoding="utf-8").replace("0000354707-20-000046", "0000354707-20-900046")
    start, end = text.index("<transactionCoding>"), text.index("</transactionCoding>") + len("</transactionCoding>")
    uncoded = tmp_path / "0000354707-20-900046.txt"
    uncoded.write_text(text[:start] + text[end:], encoding="utf-8")
    results = tmp_path / "results"
    publish_files(results, [filings / "0001179110-20-001219.txt", filings / "0000354707-20-000046.txt", uncoded])
    sec = results / "sec"

    (holding,) = [r for r in tsv_rows(sec / "NONDERIV_HOLDING.tsv") if r["ACCESSION_NUMBER"] == "0001179110-20-001219"]
    assert (holding["TRANS_FORM_TYPE"], holding["SHRS_OWND_FOLWNG_TRANS"], holding["NATURE_OF_OWNERSHIP"]) == ("3", "736.0", "401K Plan")
    trans = tsv_rows(sec / "NONDERIV_TRANS.tsv")
    assert [r["NONDERIV_TRANS_SK"] for r in trans] == [str(i) for i in range(1, 6)]
    (skywest,) = [r for r in trans if r["ACCESSION_NUMBER"] == "0001179110-20-001219"]
    assert (skywest["TRANS_FORM_TYPE"], skywest["TRANS_CODE"], skywest["TRANS_DATE"]) == ("5", "G", "03-APR-2019")
    hawaiian = [r for r in trans if r["ACCESSION_NUMBER"] == "0000354707-20-000046"]
    assert [(r["TRANS_FORM_TYPE"], r["TRANS_CODE"], r["EQUITY_SWAP_INVOLVED"], r["EQUITY_SWAP_TRANS_CD_FN"],
             r["TRANS_ACQUIRED_DISP_CD"], r["DIRECT_INDIRECT_OWNERSHIP"], r["SHRS_OWND_FOLWNG_TRANS"]) for r in hawaiian] == [
        ("5", "G", "0", "F1", "D", "D", "19048.0"),
        ("5", "G", "0", "F1", "A", "I", "78057.31"),
    ]
    uncoded_rows = [r for r in trans if r["ACCESSION_NUMBER"] == "0000354707-20-900046"]
    assert [(r["TRANS_FORM_TYPE"], r["TRANS_CODE"], r["EQUITY_SWAP_INVOLVED"], r["EQUITY_SWAP_TRANS_CD_FN"]) for r in uncoded_rows] == [
        ("", "", "", ""), ("5", "G", "0", "F1"),
    ]
    strip = ("NONDERIV_TRANS_SK", "ACCESSION_NUMBER", "TRANS_FORM_TYPE", "TRANS_CODE", "EQUITY_SWAP_INVOLVED", "EQUITY_SWAP_TRANS_CD_FN")
    assert [{k: v for k, v in r.items() if k not in strip} for r in uncoded_rows] == [
        {k: v for k, v in r.items() if k not in strip} for r in hawaiian
    ]
    subs = {r["ACCESSION_NUMBER"]: r for r in tsv_rows(sec / "SUBMISSION.tsv")}
    assert (subs["0001179110-20-001219"]["FORM3_HOLDINGS_REPORTED"], subs["0001179110-20-001219"]["FORM4_TRANS_REPORTED"]) == ("1", "0")
    coding = pq.read_table(results / "nonderiv_trans.parquet").to_pylist()
    assert [(r["trans_code"], r["equity_swap_involved"], r["equity_swap_involved_text"]) for r in coding][-2:] == [(None, None, None), ("G", False, "0")]


def test_footnote_only_price_and_absent_aff10b5one(real_results: Path, corpus345_results: Path, form345_manifest) -> None:
    """Natera's 0001415889-24-019064 gives its price only as footnote F2: an empty price with
    its footnote id in the TSV, null in the Parquet. aff10b5One (no SEC column) is null in the
    Parquet wherever the filing lacks it, never a guessed false."""
    (row,) = [r for r in tsv_rows(real_results / "sec" / "NONDERIV_TRANS.tsv") if r["ACCESSION_NUMBER"] == "0001415889-24-019064"]
    assert (row["TRANS_PRICEPERSHARE"], row["TRANS_PRICEPERSHARE_FN"], row["TRANS_SHARES"], row["TRANS_SHARES_FN"]) == ("", "F2", "2964.0", "F1")
    (parquet,) = [r for r in pq.read_table(real_results / "nonderiv_trans.parquet").to_pylist() if r["accession_number"] == "0001415889-24-019064"]
    assert (parquet["trans_pricepershare"], parquet["trans_pricepershare_fn"]) == (None, "F2")
    subs = pq.read_table(corpus345_results / "submissions.parquet", columns=["aff10b5one"])["aff10b5one"].to_pylist()
    filed = [r["aff10b5One"] for r in _parsed(form345_manifest)]
    assert Counter(subs) == Counter(None if v == "" else v in ("1", "true") for v in filed)
    assert subs.count(None) > 300
