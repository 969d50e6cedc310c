"""A :class:`Form3Filing` as one JSON object (``parsed_form3.json``).

The workshop's flat fields (``insider_name``, ``insider_role``, ``company_name``,
``company_cik``, ``filing_date``) come first so its users find what they had; the full detail
follows. Plain dicts, built by hand: ``dataclasses.asdict`` deep-copies and is several times
slower, and this runs once per filing.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from tasks.model import (
    DerivativeHolding,
    Form3Filing,
    NonDerivativeHolding,
    ReportingOwner,
    SecHeader,
    value_dict,
)


def _owner(o: ReportingOwner) -> dict[str, Any]:
    return {
        "cik": o.cik,
        "name": o.name,
        "street1": o.street1,
        "street2": o.street2,
        "city": o.city,
        "state": o.state,
        "zip_code": o.zip_code,
        "state_description": o.state_description,
        "non_us_address_flag": o.non_us_address_flag,
        "non_us_state_territory": o.non_us_state_territory,
        "country": o.country,
        "good_address": o.good_address,
        "is_director": o.is_director,
        "is_officer": o.is_officer,
        "is_ten_percent_owner": o.is_ten_percent_owner,
        "is_other": o.is_other,
        "officer_title": o.officer_title,
        "other_text": o.other_text,
        "relationship": o.relationship,
    }


def _holding(h: NonDerivativeHolding | DerivativeHolding) -> dict[str, Any]:
    return {f.name: value_dict(getattr(h, f.name)) for f in fields(h)}


def _header(h: SecHeader | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "accession_number": h.accession_number,
        "submission_type": h.submission_type,
        "public_document_count": h.public_document_count,
        "period_of_report": h.period_of_report,
        "filed_date": h.filed_date,
        "acceptance_datetime": h.acceptance_datetime,
        "date_of_change": h.date_of_change,
        "owner_file_numbers": [{"cik": c, "sec_file_number": n} for c, n in h.owner_file_numbers],
    }


def filing_to_dict(f: Form3Filing) -> dict[str, Any]:
    doc = f.document
    return {
        "source": f.source,
        "accession_number": f.accession_number,
        "insider_name": f.insider_name,
        "insider_role": f.insider_role,
        "company_name": doc.issuer.name,
        "company_cik": doc.issuer.cik,
        "filing_date": f.filing_date,
        "document_type": doc.document_type,
        "schema_version": doc.schema_version,
        "period_of_report": doc.period_of_report,
        "date_of_original_submission": doc.date_of_original_submission,
        "no_securities_owned": doc.no_securities_owned,
        "not_subject_to_section16": doc.not_subject_to_section16,
        "aff10b5_one": doc.aff10b5_one,
        "form3_holdings_reported": doc.form3_holdings_reported,
        "form4_transactions_reported": doc.form4_transactions_reported,
        "issuer": {
            "cik": doc.issuer.cik,
            "name": doc.issuer.name,
            "trading_symbol": doc.issuer.trading_symbol,
            "foreign_trading_symbol": doc.issuer.foreign_trading_symbol,
        },
        "reporting_owners": [_owner(o) for o in doc.reporting_owners],
        "nonderivative_holdings": [_holding(h) for h in doc.nonderivative_holdings],
        "derivative_holdings": [_holding(h) for h in doc.derivative_holdings],
        "footnotes": [{"id": n.id, "text": n.text} for n in doc.footnotes],
        "remarks": doc.remarks,
        "signatures": [{"name": s.name, "date": s.date} for s in doc.signatures],
        "header": _header(f.header),
        "provenance": {"sha256": f.sha256, "parser_version": f.parser_version},
    }
