"""A :class:`Form3Filing` as one JSON object (``parsed_form3.json``).

The workshop's flat fields (``insider_name``, ``insider_role``, ``company_name``,
``company_cik``, ``filing_date``) come first so its users find what they had; the full detail
follows. Plain dicts, built by hand: ``dataclasses.asdict`` deep-copies and is several times
slower, and this runs once per filing.

A Form 3 or 3/A record is written exactly as before Forms 4 and 5 were read (no key of theirs,
not even an empty list): a Form-3-only run writes the same bytes, and its checkpoints stay
valid (tasks/version.py). A Form 4 or 5 record adds ``bool_style`` and the filed flag texts
after the document flags, and its transactions after the holdings.
"""

from __future__ import annotations

import json
import json.encoder
from dataclasses import fields
from typing import Any

from tasks.model import (
    FORM3_TYPES,
    DerivativeHolding,
    DerivativeTransaction,
    Form3Filing,
    NonDerivativeHolding,
    NonDerivativeTransaction,
    ReportingOwner,
    SecHeader,
    TransactionCoding,
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


def _coding(c: TransactionCoding | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "form_type": c.form_type,
        "code": c.code,
        "equity_swap_involved": c.equity_swap_involved,
        "footnote_ids": list(c.footnote_ids),
        "equity_swap_involved_text": c.equity_swap_involved_text,
    }


def _transaction(t: NonDerivativeTransaction | DerivativeTransaction) -> dict[str, Any]:
    return {
        f.name: _coding(t.coding) if f.name == "coding" else value_dict(getattr(t, f.name))
        for f in fields(t)
    }


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
    form345 = doc.document_type not in FORM3_TYPES
    record: dict[str, Any] = {
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
    }
    if form345:
        record["bool_style"] = doc.bool_style
        record["not_subject_to_section16_text"] = doc.not_subject_to_section16_text
        record["form3_holdings_reported_text"] = doc.form3_holdings_reported_text
        record["form4_transactions_reported_text"] = doc.form4_transactions_reported_text
    record["issuer"] = {
        "cik": doc.issuer.cik,
        "name": doc.issuer.name,
        "trading_symbol": doc.issuer.trading_symbol,
        "foreign_trading_symbol": doc.issuer.foreign_trading_symbol,
    }
    record["reporting_owners"] = [_owner(o) for o in doc.reporting_owners]
    record["nonderivative_holdings"] = [_holding(h) for h in doc.nonderivative_holdings]
    record["derivative_holdings"] = [_holding(h) for h in doc.derivative_holdings]
    if form345:
        record["nonderivative_transactions"] = [_transaction(t) for t in doc.nonderivative_transactions]
        record["derivative_transactions"] = [_transaction(t) for t in doc.derivative_transactions]
    record["footnotes"] = [{"id": n.id, "text": n.text} for n in doc.footnotes]
    record["remarks"] = doc.remarks
    record["signatures"] = [{"name": s.name, "date": s.date} for s in doc.signatures]
    record["header"] = _header(f.header)
    record["provenance"] = {"sha256": f.sha256, "parser_version": f.parser_version}
    return record


# The checkpoint's JSON text of a record, written straight from the filing: exactly
# ``json.dumps(filing_to_dict(f), ensure_ascii=False)`` without ``source`` and
# ``accession_number`` (which only the manifest knows) and without its opening brace, but
# without building the dicts first. Each object's renderer is generated below from its
# (key, attribute, kind) list, so that a value costs no Python call: strings are escaped by the
# json module's own C encoder (what ``json.dumps(ensure_ascii=False)`` uses), None, True and
# False are spelt out, and anything else goes through ``json.dumps`` itself. The encoder
# accepts only strings: a value of an unexpected type raises TypeError, and the record is then
# rendered the slow way, through ``filing_to_dict``. So the text cannot drift from what
# ``json.dumps`` writes; tests/test_checkpoint_format.py compares the two on the real corpus.
_STR, _FLAG, _VALUE, _IDS, _CODING, _ANY = "str", "flag", "value", "ids", "coding", "any"


def _render_source(name: str, spec: tuple[tuple[str, str, str], ...]) -> str:
    """Python source of ``def name(o) -> str``: the JSON object of ``spec`` (key, attribute, kind)."""
    parts = []
    for i, (key, attr, kind) in enumerate(spec):
        x = f"o.{attr}"
        if kind == _STR:
            value = f'(E(v) if (v := {x}) is not None else "null")'
        elif kind == _FLAG:
            value = f'("true" if (v := {x}) is True else "false" if v is False else "null" if v is None else D(v))'
        elif kind == _VALUE:  # a Value or None
            value = (
                f'("null" if (v := {x}) is None else \'{{"value": \' + (E(w) if (w := v.value) is not None else "null")'
                f' + \', "footnote_ids": [\' + ", ".join(map(E, v.footnote_ids)) + "]}}")'
            )
        elif kind == _IDS:  # a tuple of strings
            value = f'("[" + ", ".join(map(E, {x})) + "]")'
        elif kind == _CODING:  # a TransactionCoding or None
            value = f'("null" if (v := {x}) is None else C(v))'
        else:
            value = f"J({x})"
        parts.append(repr(("{" if i == 0 else ", ") + f'"{key}": ') + ", " + value)
    return f"def {name}(o):\n    return ''.join(({', '.join(parts)}, '}}'))\n"


def _j(x: Any) -> str:
    if x.__class__ is str:
        return json.encoder.encode_basestring(x)
    if x is None:
        return "null"
    if x is True:
        return "true"
    if x is False:
        return "false"
    return json.dumps(x, ensure_ascii=False)


def _renderer(name: str, spec: tuple[tuple[str, str, str], ...], coding: Any = None) -> Any:
    """``coding``: the renderer of a ``_CODING`` attribute (a nested object)."""
    namespace = {
        "E": json.encoder.encode_basestring, "J": _j, "D": lambda v: json.dumps(v, ensure_ascii=False),
        "C": coding,
    }
    exec(_render_source(name, spec), namespace)  # noqa: S102 - our own constant specs only
    return namespace[name]


_owner_json = _renderer("_owner_json", (
    ("cik", "cik", _STR), ("name", "name", _STR), ("street1", "street1", _STR),
    ("street2", "street2", _STR), ("city", "city", _STR), ("state", "state", _STR),
    ("zip_code", "zip_code", _STR), ("state_description", "state_description", _STR),
    ("non_us_address_flag", "non_us_address_flag", _FLAG),
    ("non_us_state_territory", "non_us_state_territory", _STR), ("country", "country", _STR),
    ("good_address", "good_address", _FLAG), ("is_director", "is_director", _FLAG),
    ("is_officer", "is_officer", _FLAG), ("is_ten_percent_owner", "is_ten_percent_owner", _FLAG),
    ("is_other", "is_other", _FLAG), ("officer_title", "officer_title", _STR),
    ("other_text", "other_text", _STR), ("relationship", "relationship", _STR),
))
_nonderiv_json = _renderer("_nonderiv_json", tuple((f.name, f.name, _VALUE) for f in fields(NonDerivativeHolding)))
_deriv_json = _renderer("_deriv_json", tuple((f.name, f.name, _VALUE) for f in fields(DerivativeHolding)))
_coding_json = _renderer("_coding_json", (
    ("form_type", "form_type", _STR), ("code", "code", _STR),
    ("equity_swap_involved", "equity_swap_involved", _FLAG), ("footnote_ids", "footnote_ids", _IDS),
    ("equity_swap_involved_text", "equity_swap_involved_text", _STR),
))
_nonderiv_trans_json = _renderer("_nonderiv_trans_json", tuple(
    (f.name, f.name, _CODING if f.name == "coding" else _VALUE) for f in fields(NonDerivativeTransaction)
), coding=_coding_json)
_deriv_trans_json = _renderer("_deriv_trans_json", tuple(
    (f.name, f.name, _CODING if f.name == "coding" else _VALUE) for f in fields(DerivativeTransaction)
), coding=_coding_json)
_footnote_json = _renderer("_footnote_json", (("id", "id", _STR), ("text", "text", _STR)))
_signature_json = _renderer("_signature_json", (("name", "name", _STR), ("date", "date", _STR)))
_issuer_json = _renderer("_issuer_json", (
    ("cik", "cik", _STR), ("name", "name", _STR), ("trading_symbol", "trading_symbol", _STR),
    ("foreign_trading_symbol", "foreign_trading_symbol", _STR),
))
_header_json = _renderer("_header_json", (
    ("accession_number", "accession_number", _STR), ("submission_type", "submission_type", _STR),
    ("public_document_count", "public_document_count", _ANY),
    ("period_of_report", "period_of_report", _STR), ("filed_date", "filed_date", _STR),
    ("acceptance_datetime", "acceptance_datetime", _STR), ("date_of_change", "date_of_change", _STR),
))  # then owner_file_numbers, (cik, number) pairs that the JSON shows as objects
_document_json = _renderer("_document_json", (
    ("document_type", "document_type", _STR), ("schema_version", "schema_version", _STR),
    ("period_of_report", "period_of_report", _STR),
    ("date_of_original_submission", "date_of_original_submission", _STR),
    ("no_securities_owned", "no_securities_owned", _FLAG),
    ("not_subject_to_section16", "not_subject_to_section16", _FLAG),
    ("aff10b5_one", "aff10b5_one", _FLAG),
    ("form3_holdings_reported", "form3_holdings_reported", _FLAG),
    ("form4_transactions_reported", "form4_transactions_reported", _FLAG),
))
# Forms 4/5 only: after the document flags (see filing_to_dict).
_form345_flags_json = _renderer("_form345_flags_json", (
    ("bool_style", "bool_style", _STR),
    ("not_subject_to_section16_text", "not_subject_to_section16_text", _STR),
    ("form3_holdings_reported_text", "form3_holdings_reported_text", _STR),
    ("form4_transactions_reported_text", "form4_transactions_reported_text", _STR),
))
_E = json.encoder.encode_basestring


def _s(x: str | None) -> str:
    return "null" if x is None else _E(x)


def _json_tail_fast(f: Form3Filing) -> str:
    doc, h = f.document, f.header
    if h is None:
        header = "null"
    else:
        numbers = ", ".join(
            ['{"cik": ' + _s(c) + ', "sec_file_number": ' + _s(n) + "}" for c, n in h.owner_file_numbers]
        )
        header = _header_json(h)[:-1] + ', "owner_file_numbers": [' + numbers + "]}"
    if doc.document_type in FORM3_TYPES:
        flags = transactions = ""
    else:
        flags = ", " + _form345_flags_json(doc)[1:-1]
        transactions = "".join((
            '], "nonderivative_transactions": [', ", ".join([_nonderiv_trans_json(t) for t in doc.nonderivative_transactions]),
            '], "derivative_transactions": [', ", ".join([_deriv_trans_json(t) for t in doc.derivative_transactions]),
        ))
    return "".join((
        '"insider_name": ', _s(f.insider_name), ', "insider_role": ', _s(f.insider_role),
        ', "company_name": ', _s(doc.issuer.name), ', "company_cik": ', _s(doc.issuer.cik),
        ', "filing_date": ', _s(f.filing_date), ", ", _document_json(doc)[1:-1], flags,
        ', "issuer": ', _issuer_json(doc.issuer),
        ', "reporting_owners": [', ", ".join([_owner_json(o) for o in doc.reporting_owners]),
        '], "nonderivative_holdings": [', ", ".join([_nonderiv_json(x) for x in doc.nonderivative_holdings]),
        '], "derivative_holdings": [', ", ".join([_deriv_json(x) for x in doc.derivative_holdings]),
        transactions,
        '], "footnotes": [', ", ".join([_footnote_json(n) for n in doc.footnotes]),
        '], "remarks": ', _s(doc.remarks),
        ', "signatures": [', ", ".join([_signature_json(s) for s in doc.signatures]),
        '], "header": ', header,
        ', "provenance": {"sha256": ', _s(f.sha256), ', "parser_version": ', _s(f.parser_version), "}}",
    ))


def json_tail(f: Form3Filing) -> str:
    """The record's JSON text after ``{"source": …, "accession_number": …, `` (see above)."""
    try:
        return _json_tail_fast(f)
    except TypeError:  # a value of a type the fast path does not spell out
        record = filing_to_dict(f)
        del record["source"], record["accession_number"]
        return json.dumps(record, ensure_ascii=False)[1:]
