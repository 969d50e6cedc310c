"""lxml parsing of an ``ownershipDocument`` (Forms 3, 4, 5 and amendments) into
:class:`~tasks.model.OwnershipDocument`.

Speed matters (the whole pipeline's floor is this function, ~0.1 ms a filing), so the parser
walks each element's children once and dispatches on the tag instead of issuing one XPath
query per field; a holding or transaction row is one flat walk over its descendants (see
:func:`_row`), and a reporting owner's leaves come from lxml's C-level ``iter(*tags)``. Security: the parser never resolves entities, loads a
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


def _texts(el: etree._Element) -> dict[str, str | None]:
    """Each child's stripped text by tag; the schema allows each of these at most once."""
    return {c.tag: (t.strip() or None) if (t := c.text) else None for c in el}


def _issuer(el: etree._Element) -> Issuer:
    text = _texts(el).get
    return Issuer(
        cik=text("issuerCik"),
        name=text("issuerName"),
        trading_symbol=text("issuerTradingSymbol"),
        foreign_trading_symbol=text("issuerForeignTradingSymbol"),
    )


# The leaves of a reportingOwner that the record keeps (rptOwnerCcc is not one of them).
_OWNER_LEAVES = (
    "rptOwnerCik", "rptOwnerName", "rptOwnerStreet1", "rptOwnerStreet2", "rptOwnerCity",
    "rptOwnerState", "rptOwnerZipCode", "rptOwnerStateDescription", "rptOwnerNonUSStateTerritory",
    "rptOwnerCountry", "officerTitle", "otherText", *_OWNER_FLAGS,
)


def _reporting_owner(el: etree._Element, flags: list[str] | None = None) -> ReportingOwner:
    # Every leaf tag under reportingOwner is unique (rptOwner*, is*, officerTitle, …), so one
    # C-level walk, filtered to those leaves, into a dict of stripped texts replaces a lookup
    # per sub-section.
    leaf = {d.tag: (t.strip() or None) if (t := d.text) else None for d in el.iter(*_OWNER_LEAVES)}
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
# A derivative's terms and underlying security: in its holdings and its transactions alike.
_DERIVATIVE_TERMS = {
    "conversionOrExercisePrice": "conversion_or_exercise_price",
    "exerciseDate": "exercise_date",
    "expirationDate": "expiration_date",
    "underlyingSecurityTitle": "underlying_security_title",
    "underlyingSecurityShares": "underlying_security_shares",
    "underlyingSecurityValue": "underlying_security_value",
}
_DERIVATIVE_FIELDS = _NONDERIVATIVE_FIELDS | _DERIVATIVE_TERMS
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
_DERIVATIVE_TRANSACTION_FIELDS = _NONDERIVATIVE_TRANSACTION_FIELDS | _DERIVATIVE_TERMS
# transactionCoding's children are plain text, not <value> elements.
_CODING = "transactionCoding"
_CODING_PARTS = frozenset({"transactionFormType", "transactionCode", "equitySwapInvolved"})


def _row(el: etree._Element, fields: dict[str, str], cls: type, flags: list[str] | None) -> Any:
    """One holding or transaction row, in one walk over its descendants in document order.

    A value-bearing element is followed by its own ``<value>`` and ``<footnoteId>`` children
    before the next element starts, so a flat loop needs no recursion and no call per field:
    an element of ``fields`` opens a field, ``value``/``footnoteId`` fill it, and any other
    element (a group such as ``transactionAmounts``) closes it. Absent fields stay None; an
    element filed empty is ``Value(None)``. ``flags`` (a transaction's, never a holding's)
    receives the equitySwapInvolved text.
    """
    values: dict[str, Any] = {}
    attr: str | None = None
    value: str | None = None
    ids: tuple[str, ...] = ()
    parts: dict[str, str | None] | None = None  # the open transactionCoding's children
    for d in el.iter():
        tag = d.tag
        if tag == "value":
            t = d.text
            value = (t.strip() or None) if t else None
            continue
        if tag == "footnoteId":
            if fid := d.get("id"):
                ids += (fid,)
            continue
        if parts is not None and tag in _CODING_PARTS:
            t = d.text
            parts[tag] = (t.strip() or None) if t else None
            continue
        if attr is not None:
            values[attr] = Value(value, ids)
        elif parts is not None:
            _close_coding(values, parts, ids, flags)
        attr, parts = fields.get(tag), None
        if tag == _CODING:
            parts = {}
        value, ids = None, ()
    if attr is not None:
        values[attr] = Value(value, ids)
    elif parts is not None:
        _close_coding(values, parts, ids, flags)
    return cls(**values)


def _close_coding(
    values: dict[str, Any], parts: dict[str, str | None], ids: tuple[str, ...], flags: list[str] | None
) -> None:
    """A transaction's coding becomes a :class:`TransactionCoding`; a Form 5 holding's (only
    transactionFormType: the form that first reported it, 3, 4 or 5) its transaction_form_type,
    with the coding's footnotes (the SEC's TRANS_FORM_TYPE_FN)."""
    if flags is None:
        values["transaction_form_type"] = Value(parts.get("transactionFormType"), ids)
        return
    swap = parts.get("equitySwapInvolved")
    if swap is not None:
        flags.append(swap)
    values["coding"] = TransactionCoding(
        parts.get("transactionFormType"), parts.get("transactionCode"), _flag(swap), ids, swap
    )


def _table(
    table: etree._Element, holding_tag: str, holding_fields: dict[str, str], holding_cls: type,
    transaction_tag: str, transaction_fields: dict[str, str], transaction_cls: type, flags: list[str],
) -> tuple[list, list]:
    """A table's holdings and transactions, each in document order (the schema lets the two
    interleave); any other child (there is none in real filings) is ignored."""
    holdings, transactions = [], []
    for child in table:
        if child.tag == holding_tag:
            holdings.append(_row(child, holding_fields, holding_cls, None))
        elif child.tag == transaction_tag:
            transactions.append(_row(child, transaction_fields, transaction_cls, flags))
    return holdings, transactions


def _footnotes(el: etree._Element) -> tuple[Footnote, ...]:
    notes = []
    for child in el:
        if child.tag == "footnote":
            # Nested markup is rare: itertext() only when the footnote has child elements.
            text = child.text if len(child) == 0 else "".join(child.itertext())
            notes.append(Footnote(child.get("id") or "", text.strip() if text else ""))
    return tuple(notes)


def _signature(el: etree._Element) -> Signature:
    text = _texts(el).get
    return Signature(text("signatureName"), text("signatureDate"))


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
                child, "nonDerivativeHolding", _NONDERIVATIVE_FIELDS, NonDerivativeHolding,
                "nonDerivativeTransaction", _NONDERIVATIVE_TRANSACTION_FIELDS, NonDerivativeTransaction, flags,
            )
        elif tag == "derivativeTable":
            derivative, derivative_transactions = _table(
                child, "derivativeHolding", _DERIVATIVE_FIELDS, DerivativeHolding,
                "derivativeTransaction", _DERIVATIVE_TRANSACTION_FIELDS, DerivativeTransaction, flags,
            )
        elif tag == "issuer":
            issuer = _issuer(child)
        elif tag == "footnotes":
            footnotes = _footnotes(child)
        elif tag == "ownerSignature":
            signatures.append(_signature(child))
        elif tag == "remarks":
            remarks = _all_text(child)
        elif tag not in scalars:
            scalars[tag] = (t.strip() or None) if (t := child.text) else None

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
