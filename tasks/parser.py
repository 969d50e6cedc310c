"""lxml parsing of an ``ownershipDocument`` into :class:`~tasks.model.OwnershipDocument`.

Speed matters (the whole pipeline's floor is this function, ~0.1 ms a filing), so the parser
walks each element's children once and dispatches on the tag instead of issuing one XPath
query per field. Security: the parser never resolves entities, loads a DTD or touches the
network, and any document that declares a DTD is refused before lxml sees it: real ownership
XML never has one, and a billion-laughs or XXE file must fail fast without reading a file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from lxml import etree

from tasks.errors import HostileXmlError, MalformedXmlError, NoOwnershipXmlError, NotForm3Error
from tasks.model import (
    DerivativeHolding,
    Footnote,
    Issuer,
    NonDerivativeHolding,
    OwnershipDocument,
    ReportingOwner,
    Signature,
    Value,
)

FORM3_TYPES = frozenset({"3", "3/A"})
_TRUE = frozenset({"1", "true", "True", "TRUE"})
_FALSE = frozenset({"0", "false", "False", "FALSE"})

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


def _reporting_owner(el: etree._Element) -> ReportingOwner:
    # Every leaf tag under reportingOwner is unique (rptOwner*, is*, officerTitle, …), so one
    # C-level walk into a dict of stripped texts replaces a lookup per sub-section.
    leaf = {d.tag: (t.strip() or None) if (t := d.text) else None for d in el.iter()}
    text = leaf.get
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


# XML tag of each value-bearing holding field → the record's attribute.
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


def _holding(el: etree._Element, fields: dict[str, str], cls: type) -> Any:
    # Each value-bearing tag occurs once per holding, at whatever depth; lxml's tag-filtered
    # iter() finds them in C instead of a dict per nesting level. Absent fields stay None.
    return cls(**{fields[f.tag]: _value(f) for f in el.iter(*fields)})


def _nonderivative(el: etree._Element) -> NonDerivativeHolding:
    return _holding(el, _NONDERIVATIVE_FIELDS, NonDerivativeHolding)


def _derivative(el: etree._Element) -> DerivativeHolding:
    return _holding(el, _DERIVATIVE_FIELDS, DerivativeHolding)


def _rows(
    table: etree._Element, row_tag: str, build: Callable[[etree._Element], object]
) -> list:
    # Form 3 tables hold holdings only; a Form 4's transactions never reach here because
    # documentType is checked first.
    return [build(child) for child in table if child.tag == row_tag]


def _footnotes(el: etree._Element) -> tuple[Footnote, ...]:
    notes = []
    for child in el:
        if child.tag == "footnote":
            notes.append(Footnote(child.get("id") or "", _all_text(child) or ""))
    return tuple(notes)


def _signature(el: etree._Element) -> Signature:
    p = _children(el)
    return Signature(_opt_text(p, "signatureName"), _opt_text(p, "signatureDate"))


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
    """Map a parsed ``ownershipDocument`` to the typed record; rejects non-Form-3 types."""
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
    footnotes: tuple[Footnote, ...] = ()
    remarks: str | None = None
    for child in root:
        tag = child.tag
        if tag == "reportingOwner":
            owners.append(_reporting_owner(child))
        elif tag == "nonDerivativeTable":
            nonderivative = _rows(child, "nonDerivativeHolding", _nonderivative)
        elif tag == "derivativeTable":
            derivative = _rows(child, "derivativeHolding", _derivative)
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
    if document_type not in FORM3_TYPES:
        raise NotForm3Error(f"documentType is {document_type!r}, not a Form 3 or 3/A")
    return OwnershipDocument(
        schema_version=scalars.get("schemaVersion"),
        document_type=document_type,
        period_of_report=scalars.get("periodOfReport"),
        date_of_original_submission=scalars.get("dateOfOriginalSubmission"),
        no_securities_owned=_flag(scalars.get("noSecuritiesOwned")),
        not_subject_to_section16=_flag(scalars.get("notSubjectToSection16")),
        aff10b5_one=_flag(scalars.get("aff10b5One")),
        issuer=issuer,
        reporting_owners=tuple(owners),
        nonderivative_holdings=tuple(nonderivative),
        derivative_holdings=tuple(derivative),
        footnotes=footnotes,
        remarks=remarks,
        signatures=tuple(signatures),
        form3_holdings_reported=_flag(scalars.get("form3HoldingsReported")),
        form4_transactions_reported=_flag(scalars.get("form4TransactionsReported")),
    )
