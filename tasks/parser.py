"""lxml parsing of an ``ownershipDocument`` (Forms 3, 4, 5 and amendments) into
:class:`~tasks.model.OwnershipDocument`.

Speed matters (the whole pipeline's floor is this function, ~0.1 ms a filing), so the parser
walks each element's children once and dispatches on the tag instead of issuing one XPath
query per field; inside a row, lxml's C-level ``iter(*tags)`` finds the value-bearing elements
at whatever depth the schema nests them. Security: the parser never resolves entities, loads a
DTD or touches the network, and any document that declares a DTD is refused before lxml sees
it: real ownership XML never has one, and a billion-laughs or XXE file must fail fast without
reading a file.

Every element of the v5.5 schemas (ownership3/4/5[A]Document.xsd) is read, except
``rptOwnerCcc`` (a credential; see :class:`~tasks.model.ReportingOwner`). Nothing is guessed:
an absent element is None, a row is never merged with another, and each value keeps its own
footnote ids. docs/forms-4-and-5.md lists the elements one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from lxml import etree

from tasks.errors import HostileXmlError, MalformedXmlError, NoOwnershipXmlError, NotOwnershipFormError
from tasks.model import (
    OWNERSHIP_FORM_TYPES,
    DerivativeHolding,
    DerivativeTransaction,
    Footnote,
    Issuer,
    NonDerivativeHolding,
    NonDerivativeTransaction,
    OwnershipDocument,
    ReportingOwner,
    Signature,
    TransactionCoding,
    Value,
)

_TRUE = frozenset({"1", "true", "True", "TRUE"})
_FALSE = frozenset({"0", "false", "False", "FALSE"})
_DIGITS = frozenset({"0", "1"})
# Boolean elements of a reportingOwner and of the document (the coding's equitySwapInvolved is
# read with its coding): their texts decide bool_style.
_OWNER_FLAGS = (
    "isDirector", "isOfficer", "isTenPercentOwner", "isOther", "rptOwnerNonUSAddressFlag",
    "rptOwnerGoodAddress",
)
_DOCUMENT_FLAGS = (
    "noSecuritiesOwned", "notSubjectToSection16", "form3HoldingsReported",
    "form4TransactionsReported", "aff10b5One",
)

# lxml parsers must not be shared between threads (a Dask worker may run several).
_local = threading.local()


def _hardened_parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def _strip_namespaces(root: etree._Element) -> None:
    """Ownership XML has no namespace; if one appears, drop it once so lookups stay plain.

    The parser removes comments and processing instructions, so every node's tag is a string
    and the hot loops below can compare ``child.tag`` directly.
    """
    for el in root.iter():
        if el.tag[:1] == "{":
            el.tag = el.tag.rpartition("}")[2]


def _text(el: etree._Element) -> str | None:
    text = el.text
    return (text.strip() or None) if text else None


def _all_text(el: etree._Element) -> str | None:
    """Text including any nested markup (footnotes and remarks may contain some)."""
    text = "".join(el.itertext()).strip()
    return text or None


def _flag(text: str | None) -> bool | None:
    if text is None:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _value(el: etree._Element) -> Value:
    """``<x><value>…</value><footnoteId id="F1"/></x>``; either part may be missing."""
    value: str | None = None
    footnotes: tuple[str, ...] = ()
    for child in el:
        tag = child.tag
        if tag == "value":
            text = child.text
            value = (text.strip() or None) if text else None
        elif tag == "footnoteId":
            fid = child.get("id")
            if fid:
                footnotes += (fid,)
    return Value(value, footnotes)


def _children(el: etree._Element) -> dict[str, etree._Element]:
    """Children by tag; the schema allows each of these fields at most once per section."""
    return {child.tag: child for child in el}


def _opt_text(parts: dict[str, etree._Element], tag: str) -> str | None:
    el = parts.get(tag)
    if el is None:
        return None
    text = el.text
    return (text.strip() or None) if text else None


def _issuer(el: etree._Element) -> Issuer:
    p = _children(el)
    return Issuer(
        cik=_opt_text(p, "issuerCik"),
        name=_opt_text(p, "issuerName"),
        trading_symbol=_opt_text(p, "issuerTradingSymbol"),
        foreign_trading_symbol=_opt_text(p, "issuerForeignTradingSymbol"),
    )


def _reporting_owner(el: etree._Element, flags: list[str] | None = None) -> ReportingOwner:
    # Every leaf tag under reportingOwner is unique (rptOwner*, is*, officerTitle, …), so one
    # C-level walk into a dict of stripped texts replaces a lookup per sub-section.
    leaf = {d.tag: (t.strip() or None) if (t := d.text) else None for d in el.iter()}
    text = leaf.get
    if flags is not None:  # the document's boolean texts, for bool_style
        flags += [t for tag in _OWNER_FLAGS if (t := leaf.get(tag)) is not None]
    return ReportingOwner(
        cik=text("rptOwnerCik"),
        name=text("rptOwnerName"),
        street1=text("rptOwnerStreet1"),
        street2=text("rptOwnerStreet2"),
        city=text("rptOwnerCity"),
        state=text("rptOwnerState"),
        zip_code=text("rptOwnerZipCode"),
        state_description=text("rptOwnerStateDescription"),
        non_us_address_flag=_flag(text("rptOwnerNonUSAddressFlag")),
        non_us_state_territory=text("rptOwnerNonUSStateTerritory"),
        country=text("rptOwnerCountry"),
        good_address=_flag(text("rptOwnerGoodAddress")),
        is_director=text("isDirector") in _TRUE,
        is_officer=text("isOfficer") in _TRUE,
        is_ten_percent_owner=text("isTenPercentOwner") in _TRUE,
        is_other=text("isOther") in _TRUE,
        officer_title=text("officerTitle"),
        other_text=text("otherText"),
    )


# XML tag of each value-bearing field → the record's attribute. The tags are unique within a
# row (underlyingSecurityTitle is not securityTitle), so their nesting need not be followed.
_NONDERIVATIVE_FIELDS = {
    "securityTitle": "security_title",
    "transactionFormType": "transaction_form_type",
    "sharesOwnedFollowingTransaction": "shares_owned",
    "valueOwnedFollowingTransaction": "value_owned",
    "directOrIndirectOwnership": "direct_or_indirect",
    "natureOfOwnership": "nature_of_ownership",
}
_DERIVATIVE_FIELDS = _NONDERIVATIVE_FIELDS | {
    "conversionOrExercisePrice": "conversion_or_exercise_price",
    "exerciseDate": "exercise_date",
    "expirationDate": "expiration_date",
    "underlyingSecurityTitle": "underlying_security_title",
    "underlyingSecurityShares": "underlying_security_shares",
    "underlyingSecurityValue": "underlying_security_value",
}
_NONDERIVATIVE_TRANSACTION_FIELDS = {
    "securityTitle": "security_title",
    "transactionDate": "transaction_date",
    "deemedExecutionDate": "deemed_execution_date",
    "transactionTimeliness": "timeliness",
    "transactionShares": "shares",
    "transactionTotalValue": "total_value",
    "transactionPricePerShare": "price_per_share",
    "transactionAcquiredDisposedCode": "acquired_disposed_code",
    "sharesOwnedFollowingTransaction": "shares_owned_following",
    "valueOwnedFollowingTransaction": "value_owned_following",
    "directOrIndirectOwnership": "direct_or_indirect",
    "natureOfOwnership": "nature_of_ownership",
}
_DERIVATIVE_TRANSACTION_FIELDS = _NONDERIVATIVE_TRANSACTION_FIELDS | {
    "conversionOrExercisePrice": "conversion_or_exercise_price",
    "exerciseDate": "exercise_date",
    "expirationDate": "expiration_date",
    "underlyingSecurityTitle": "underlying_security_title",
    "underlyingSecurityShares": "underlying_security_shares",
    "underlyingSecurityValue": "underlying_security_value",
}
_CODING = "transactionCoding"


def _holding(el: etree._Element, fields: dict[str, str], cls: type) -> Any:
    # Each value-bearing tag occurs once per holding, at whatever depth; lxml's tag-filtered
    # iter() finds them in C instead of a dict per nesting level. Absent fields stay None.
    values = {}
    for f in el.iter(_CODING, *fields):
        tag = f.tag
        if tag == _CODING:
            # A Form 4/5 holding's transactionCoding: a plain-text transactionFormType (3, 4 or
            # 5: the form that first reported the holding) and footnotes on the coding as a
            # whole, which the SEC lists as TRANS_FORM_TYPE_FN. iter() visits the form type
            # next; the coding has already said what it holds.
            form_type, footnote_ids = None, ()
            for child in f:
                ctag = child.tag
                if ctag == "transactionFormType":
                    form_type = (t.strip() or None) if (t := child.text) else None
                elif ctag == "footnoteId" and (fid := child.get("id")):
                    footnote_ids += (fid,)
            values["transaction_form_type"] = Value(form_type, footnote_ids)
        elif tag != "transactionFormType" or "transaction_form_type" not in values:
            values[fields[tag]] = _value(f)
    return cls(**values)


def _nonderivative(el: etree._Element) -> NonDerivativeHolding:
    return _holding(el, _NONDERIVATIVE_FIELDS, NonDerivativeHolding)


def _derivative(el: etree._Element) -> DerivativeHolding:
    return _holding(el, _DERIVATIVE_FIELDS, DerivativeHolding)


def _coding(el: etree._Element, flags: list[str]) -> TransactionCoding:
    """``transactionCoding``: plain-text children and footnotes on the coding as a whole."""
    form_type = code = swap = None
    footnote_ids: tuple[str, ...] = ()
    for child in el:
        tag = child.tag
        if tag == "footnoteId":
            if fid := child.get("id"):
                footnote_ids += (fid,)
            continue
        text = (t.strip() or None) if (t := child.text) else None
        if tag == "transactionFormType":
            form_type = text
        elif tag == "transactionCode":
            code = text
        elif tag == "equitySwapInvolved":
            swap = text
    if swap is not None:
        flags.append(swap)
    return TransactionCoding(form_type, code, _flag(swap), footnote_ids, swap)


def _transaction(
    el: etree._Element, fields: dict[str, str], cls: type, flags: list[str]
) -> Any:
    values: dict[str, Any] = {}
    for f in el.iter(_CODING, *fields):
        tag = f.tag
        if tag == _CODING:
            values["coding"] = _coding(f, flags)
        else:
            values[fields[tag]] = _value(f)
    return cls(**values)


def _table(
    table: etree._Element,
    holding_tag: str,
    holding: Callable[[etree._Element], object],
    transaction_tag: str,
    transaction: Callable[[etree._Element], object],
) -> tuple[list, list]:
    """A table's holdings and transactions, each in document order (the schema lets the two
    interleave); any other child (there is none in real filings) is ignored."""
    holdings, transactions = [], []
    for child in table:
        tag = child.tag
        if tag == holding_tag:
            holdings.append(holding(child))
        elif tag == transaction_tag:
            transactions.append(transaction(child))
    return holdings, transactions


def _footnotes(el: etree._Element) -> tuple[Footnote, ...]:
    notes = []
    for child in el:
        if child.tag == "footnote":
            notes.append(Footnote(child.get("id") or "", _all_text(child) or ""))
    return tuple(notes)


def _signature(el: etree._Element) -> Signature:
    p = _children(el)
    return Signature(_opt_text(p, "signatureName"), _opt_text(p, "signatureDate"))


def _bool_style(flags: list[str]) -> str | None:
    """"0/1", "true/false", "mixed" or None (no boolean text) for the filed flag texts."""
    digits = words = False
    for text in flags:
        if text in _DIGITS:
            digits = True
        elif text in _TRUE or text in _FALSE:
            words = True
    if digits:
        return "mixed" if words else "0/1"
    return "true/false" if words else None


def load_xml(xml: bytes) -> etree._Element:
    """Parse untrusted XML bytes into a root element, or raise a specific FilingError."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise HostileXmlError(
            "XML declares a DTD or entities (billion-laughs/XXE pattern); refused unparsed"
        )
    try:
        root = etree.fromstring(xml, _hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedXmlError(f"XML is not well-formed: {exc}") from None
    except ValueError as exc:  # e.g. unicode strings with an encoding declaration
        raise MalformedXmlError(f"XML cannot be parsed: {exc}") from None
    if root is None:
        raise MalformedXmlError("XML has no root element")
    return root


def parse_ownership_document(root: etree._Element) -> OwnershipDocument:
    """Map a parsed ``ownershipDocument`` to the typed record; rejects other document types."""
    if root.tag[:1] == "{":
        _strip_namespaces(root)
    root_tag = root.tag
    if root_tag != "ownershipDocument":
        raise NoOwnershipXmlError(f"root element is <{root_tag}>, expected <ownershipDocument>")

    scalars: dict[str, str | None] = {}
    owners: list[ReportingOwner] = []
    signatures: list[Signature] = []
    issuer = Issuer(None, None, None)
    nonderivative: list = []
    derivative: list = []
    nonderivative_transactions: list = []
    derivative_transactions: list = []
    footnotes: tuple[Footnote, ...] = ()
    remarks: str | None = None
    flags: list[str] = []  # every boolean text, in document order (for bool_style)
    for child in root:
        tag = child.tag
        if tag == "reportingOwner":
            owners.append(_reporting_owner(child, flags))
        elif tag == "nonDerivativeTable":
            nonderivative, nonderivative_transactions = _table(
                child, "nonDerivativeHolding", _nonderivative, "nonDerivativeTransaction",
                lambda el: _transaction(el, _NONDERIVATIVE_TRANSACTION_FIELDS, NonDerivativeTransaction, flags),
            )
        elif tag == "derivativeTable":
            derivative, derivative_transactions = _table(
                child, "derivativeHolding", _derivative, "derivativeTransaction",
                lambda el: _transaction(el, _DERIVATIVE_TRANSACTION_FIELDS, DerivativeTransaction, flags),
            )
        elif tag == "issuer":
            issuer = _issuer(child)
        elif tag == "footnotes":
            footnotes = _footnotes(child)
        elif tag == "ownerSignature":
            signatures.append(_signature(child))
        elif tag == "remarks":
            remarks = _all_text(child)
        else:
            scalars.setdefault(tag, _text(child))

    document_type = scalars.get("documentType")
    if document_type not in OWNERSHIP_FORM_TYPES:
        raise NotOwnershipFormError(
            f"documentType is {document_type!r}, not an ownership form (3, 3/A, 4, 4/A, 5, 5/A)"
        )
    get = scalars.get
    flags += [t for tag in _DOCUMENT_FLAGS if (t := get(tag)) is not None]
    return OwnershipDocument(
        schema_version=get("schemaVersion"),
        document_type=document_type,
        period_of_report=get("periodOfReport"),
        date_of_original_submission=get("dateOfOriginalSubmission"),
        no_securities_owned=_flag(get("noSecuritiesOwned")),
        not_subject_to_section16=_flag(get("notSubjectToSection16")),
        aff10b5_one=_flag(get("aff10b5One")),
        issuer=issuer,
        reporting_owners=tuple(owners),
        nonderivative_holdings=tuple(nonderivative),
        derivative_holdings=tuple(derivative),
        footnotes=footnotes,
        remarks=remarks,
        signatures=tuple(signatures),
        form3_holdings_reported=_flag(get("form3HoldingsReported")),
        form4_transactions_reported=_flag(get("form4TransactionsReported")),
        nonderivative_transactions=tuple(nonderivative_transactions),
        derivative_transactions=tuple(derivative_transactions),
        bool_style=_bool_style(flags),
        not_subject_to_section16_text=get("notSubjectToSection16"),
        form3_holdings_reported_text=get("form3HoldingsReported"),
        form4_transactions_reported_text=get("form4TransactionsReported"),
    )
