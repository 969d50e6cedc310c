"""Every file of the real corpora (Form 3; Forms 4 and 5) against the counts in their MANIFEST.csv."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tasks.errors import FilingError
from tasks.extract import parse_file
from tasks.serialize import filing_to_dict
from tasks.tables import TABLE_COLUMNS, table_rows

pytestmark = pytest.mark.fast


def test_every_form3_matches_manifest_counts(corpus: Path, corpus_manifest) -> None:
    form3 = [r for r in corpus_manifest if r["document_type"] in ("3", "3/A")]
    assert len(form3) == 104
    for row in form3:
        f = parse_file(str(corpus / row["file"]))
        doc = f.document
        assert len(doc.reporting_owners) == int(row["n_reporting_owners"]), row["file"]
        assert len(doc.nonderivative_holdings) == int(row["n_nonderivative_holdings"]), row["file"]
        assert len(doc.derivative_holdings) == int(row["n_derivative_holdings"]), row["file"]
        assert len(doc.footnotes) == int(row["n_footnotes"]), row["file"]
        assert doc.no_securities_owned is (row["no_securities_owned"] == "true"), row["file"]
        assert doc.schema_version == row["schema_version"], row["file"]
        assert doc.issuer.cik == row["issuer_cik"], row["file"]
        if row["accession_number"]:
            assert f.accession_number == row["accession_number"], row["file"]
        # Serializations cover the record: table row widths match the declared columns.
        assert filing_to_dict(f)["company_cik"] == row["issuer_cik"]
        for table, rows in table_rows(f).items():
            assert all(len(r) == len(TABLE_COLUMNS[table]) for r in rows)


def test_the_form3_corpus_forms_4_and_5_are_parsed(corpus: Path, corpus_manifest) -> None:
    # Rejected as not_form3 before parser version 3; records of their own type since.
    others = [r for r in corpus_manifest if r["document_type"] not in ("3", "3/A")]
    assert len(others) == 9
    for row in others:
        f = parse_file(str(corpus / row["file"]))
        assert f.document.document_type == row["document_type"], row["file"]
        assert len(f.document.reporting_owners) == int(row["n_reporting_owners"]), row["file"]
        assert f.parser_version == "3"


# ---------------------------------------------------------------------------------------------
# Forms 4 and 5: the 465 real filings of ../shared/form345-corpus against its MANIFEST.csv
# ---------------------------------------------------------------------------------------------

# MANIFEST's bool_style is the sorted set of boolean texts ("0/false/true"); ours names the
# spelling, or "mixed" (the per-value texts then say how each flag is spelt).
_STYLE = {"0/1": "0/1", "false/true": "true/false"}
_FLAG_TEXT = {"": None, "0": False, "false": False, "1": True, "true": True}


def _n(items, test=bool) -> str:
    return str(sum(1 for x in items if test(x)))


def _has(v) -> bool:
    return v is not None and v.value is not None


def test_every_form4_and_5_matches_manifest(form345_corpus: Path, form345_manifest) -> None:
    assert len(form345_manifest) == 465
    parsed = errors = 0
    for row in form345_manifest:
        name = row["file"]
        if row["has_ownership_xml"] == "0" or row["parse_error"]:
            kind = "no_ownership_xml" if row["has_ownership_xml"] == "0" else "malformed_xml"
            with pytest.raises(FilingError) as info:
                parse_file(str(form345_corpus / name))
            assert info.value.kind == kind, name
            errors += 1
            continue
        f = parse_file(str(form345_corpus / name))
        d = f.document
        parsed += 1
        trans = [*d.nonderivative_transactions, *d.derivative_transactions]
        rows = [*trans, *d.nonderivative_holdings, *d.derivative_holdings]
        codes = Counter(t.coding.code for t in trans if t.coding and t.coding.code)
        prices = [t.price_per_share for t in trans if t.price_per_share is not None]
        got = {
            "document_type": d.document_type,
            "n_nonderiv_trans": str(len(d.nonderivative_transactions)),
            "n_deriv_trans": str(len(d.derivative_transactions)),
            "n_nonderiv_holding": str(len(d.nonderivative_holdings)),
            "n_deriv_holding": str(len(d.derivative_holdings)),
            "n_footnotes": str(len(d.footnotes)),
            "n_owners": str(len(d.reporting_owners)),
            "n_signatures": str(len(d.signatures)),
            "accession_number": f.accession_number or "",
            "period_of_report": d.period_of_report or "",
            "date_of_original_submission": d.date_of_original_submission or "",
            "issuer_cik": d.issuer.cik or "",
            "issuer_name": d.issuer.name or "",
            "issuer_symbol": d.issuer.trading_symbol or "",
            "not_subject_sec16": d.not_subject_to_section16_text or "",
            "form3_holdings_reported": d.form3_holdings_reported_text or "",
            "form4_trans_reported": d.form4_transactions_reported_text or "",
            "has_remarks": "1" if d.remarks else "0",
            "trans_codes": " ".join(f"{c}:{n}" for c, n in sorted(codes.items())),
            "trans_form_types": " ".join(sorted({t.coding.form_type for t in trans if t.coding and t.coding.form_type})),
            "n_price_with_fn": _n(prices, lambda p: p.footnote_ids),
            "n_price_fn_only": _n(prices, lambda p: p.footnote_ids and p.value is None),
            "n_equity_swap": _n(trans, lambda t: t.coding and t.coding.equity_swap_involved),
            "n_deemed_exec": _n(trans, lambda t: _has(t.deemed_execution_date)),
            "n_timeliness": _n(trans, lambda t: _has(t.timeliness)),
            "n_trans_total_value": _n(trans, lambda t: _has(t.total_value)),
            "n_value_owned_following": _n(
                rows, lambda r: _has(getattr(r, "value_owned_following", None) or getattr(r, "value_owned", None))
            ),
            "n_indirect": _n(rows, lambda r: r.direct_or_indirect is not None and r.direct_or_indirect.value == "I"),
        }
        assert got == {k: row[k] for k in got}, name
        assert d.aff10b5_one is _FLAG_TEXT[row["aff10b5One"]], name
        assert d.bool_style == _STYLE.get(row["bool_style"], "mixed"), name
        if f.header is not None:
            assert f.header.submission_type == row["header_form_type"], name
            assert f.header.filed_date == f"{row['filing_date'][:4]}-{row['filing_date'][4:6]}-{row['filing_date'][6:]}", name
        assert f.parser_version == "3", name
        # Serializations cover the record: table row widths match the declared columns.
        assert filing_to_dict(f)["company_cik"] == row["issuer_cik"], name
        for table, table_rows_ in table_rows(f).items():
            assert all(len(r) == len(TABLE_COLUMNS[table]) for r in table_rows_), (name, table)
    assert (parsed, errors) == (463, 2)
