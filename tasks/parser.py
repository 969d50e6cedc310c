"""lxml parsing of an ``ownershipDocument`` (Forms 3, 4, 5 and amendments) into
:class:`~tasks.model.OwnershipDocument`.

Speed matters (the whole pipeline's floor is this function, ~0.1 ms a filing), so the parser
walks each element's children once and dispatches on the tag instead of issuing one XPath
query per field; a holding or transaction row is one flat walk over its descendants (see
:func:`_row`), a reporting owner one plain ``iter()`` into a dict; records are built with
positional arguments; and the XML is parsed without its blank text where that reads the same
(see :func:`read_ownership_xml`). benchmarks/parse_bench.py measures each against the floor.
Security: the parser never resolves entities, loads a DTD or touches the network, and any
document that declares a DTD is refused before lxml sees it: real ownership XML never has one,
and a billion-laughs or XXE file must fail fast without reading a file.

Every element of the v5.5 schemas (ownership3/4/5[A]Document.xsd) is read, except
``rptOwnerCcc`` (a credential; see :class:`~tasks.model.ReportingOwner`). Nothing is guessed:
an absent element is None, a row is never merged with another, and each value keeps its own
footnote ids. docs/forms-4-and-5.md lists the elements one by one.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, NamedTuple

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


def _hardened_parser(keep_blank_text: bool = True) -> etree.XMLParser:
    """This thread's parser; ``keep_blank_text=False`` drops whitespace-only text nodes between
    elements (see :func:`read_ownership_xml` for when that reads the same)."""
    name = "parser" if keep_blank_text else "lean_parser"
    parser = getattr(_local, name, None)
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
            remove_blank_text=not keep_blank_text,
        )
        setattr(_local, name, parser)
    return parser


def _strip_namespaces(root: etree._Element) -> None:
    """Ownership XML has no namespace; if one appears, drop it once so lookups stay plain.

    The parser removes comments and processing instructions, so every node's tag is a string
    and the hot loops below can compare ``child.tag`` directly.
    """
    for el in root.iter():
        if el.tag[:1] == "{":
            el.tag = el.tag.rpartition("}")[2]


class _NestedMarkup(Exception):
    """A footnote or the remarks has child elements in a tree parsed without blank text."""


def _full_text(el: etree._Element, blank_text_removed: bool) -> str:
    """The stripped text of a footnote or the remarks, including any nested markup's.

    Nested markup is rare (the schema makes both plain strings): itertext() only when the
    element has children, and then only in a tree that kept its blank text, where a blank
    between two children still separates their words.
    """
    if len(el) == 0:
        text = el.text
        return text.strip() if text else ""
    if blank_text_removed:
        raise _NestedMarkup
    return "".join(el.itertext()).strip()


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
        text("issuerCik"), text("issuerName"), text("issuerTradingSymbol"), text("issuerForeignTradingSymbol")
    )


def _reporting_owner(el: etree._Element, flags: list[str] | None = None) -> ReportingOwner:
    # Every leaf tag under reportingOwner is unique (rptOwner*, is*, officerTitle, …), so one
    # walk over all its descendants into a dict of stripped texts replaces a lookup per
    # sub-section (the groups' blank texts land under tags never looked up). A plain iter():
    # lxml's iter(*tags) sets up its tag matcher per call, which cost ~3 µs an owner for 18 tags.
    leaf = {d.tag: (t.strip() or None) if (t := d.text) else None for d in el.iter()}
    text = leaf.get
    if flags is not None:  # the document's boolean texts, for bool_style
        flags += [t for tag in _OWNER_FLAGS if (t := text(tag)) is not None]
    # Positional, in ReportingOwner's field order: 18 keywords cost ~1.5 µs more a call.
    return ReportingOwner(
        text("rptOwnerCik"),
        text("rptOwnerName"),
        text("rptOwnerStreet1"),
        text("rptOwnerStreet2"),
        text("rptOwnerCity"),
        text("rptOwnerState"),
        text("rptOwnerZipCode"),
        text("rptOwnerStateDescription"),
        _flag(text("rptOwnerNonUSAddressFlag")),
        text("rptOwnerNonUSStateTerritory"),
        text("rptOwnerCountry"),
        _flag(text("rptOwnerGoodAddress")),
        text("isDirector") in _TRUE,
        text("isOfficer") in _TRUE,
        text("isTenPercentOwner") in _TRUE,
        text("isOther") in _TRUE,
        text("officerTitle"),
        text("otherText"),
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


class _RowKind(NamedTuple):
    """A row class with, for each value-bearing tag, the position of its field: rows are built
    positionally (``cls(*values)``), as keywords cost ~0.1 µs more a row per few fields."""

    cls: type
    width: int  # the number of cls's fields
    position: dict[str, int]  # value-bearing tag -> the position of its field
    coding: int  # the position that transactionCoding fills (coding, or transaction_form_type)
    transaction: bool  # a transaction (its coding is a TransactionCoding), not a holding


def _row_kind(cls: type, fields: dict[str, str], transaction: bool) -> _RowKind:
    names = [f.name for f in dataclasses.fields(cls)]
    coding = names.index("coding" if transaction else "transaction_form_type")
    return _RowKind(cls, len(names), {tag: names.index(attr) for tag, attr in fields.items()}, coding, transaction)


_NONDERIVATIVE_HOLDING = _row_kind(NonDerivativeHolding, _NONDERIVATIVE_FIELDS, False)
_DERIVATIVE_HOLDING = _row_kind(DerivativeHolding, _DERIVATIVE_FIELDS, False)
_NONDERIVATIVE_TRANSACTION = _row_kind(NonDerivativeTransaction, _NONDERIVATIVE_TRANSACTION_FIELDS, True)
_DERIVATIVE_TRANSACTION = _row_kind(DerivativeTransaction, _DERIVATIVE_TRANSACTION_FIELDS, True)


def _row(el: etree._Element, kind: _RowKind, flags: list[str]) -> Any:
    """One holding or transaction row, in one walk over its descendants in document order.

    A value-bearing element is followed by its own ``<value>`` and ``<footnoteId>`` children
    before the next element starts, so a flat loop needs no recursion and no call per field:
    an element of ``kind.position`` opens a field, ``value``/``footnoteId`` fill it, and any
    other element (a group such as ``transactionAmounts``) closes it. Absent fields stay None;
    an element filed empty is ``Value(None)``. A transaction's equitySwapInvolved text goes to
    ``flags``.
    """
    position = kind.position
    values: list[Any] = [None] * kind.width
    at = -1  # the open field's position
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
        if at >= 0:
            values[at] = Value(value, ids)
        elif parts is not None:
            values[kind.coding] = _coding(kind, parts, ids, flags)
        at, parts = position.get(tag, -1), None
        if tag == _CODING:
            parts = {}
        value, ids = None, ()
    if at >= 0:
        values[at] = Value(value, ids)
    elif parts is not None:
        values[kind.coding] = _coding(kind, parts, ids, flags)
    return kind.cls(*values)


def _coding(kind: _RowKind, parts: dict[str, str | None], ids: tuple[str, ...], flags: list[str]) -> Any:
    """A transaction's coding becomes a :class:`TransactionCoding`; a Form 5 holding's (only
    transactionFormType: the form that first reported it, 3, 4 or 5) its transaction_form_type,
    with the coding's footnotes (the SEC's TRANS_FORM_TYPE_FN)."""
    if not kind.transaction:
        return Value(parts.get("transactionFormType"), ids)
    swap = parts.get("equitySwapInvolved")
    if swap is not None:
        flags.append(swap)
    return TransactionCoding(parts.get("transactionFormType"), parts.get("transactionCode"), _flag(swap), ids, swap)


def _table(table: etree._Element, holding_tag: str, holding: _RowKind, transaction_tag: str,
           transaction: _RowKind, flags: list[str]) -> tuple[list, list]:
    """A table's holdings and transactions, each in document order (the schema lets the two
    interleave); any other child (there is none in real filings) is ignored."""
    holdings, transactions = [], []
    for child in table:
        if child.tag == holding_tag:
            holdings.append(_row(child, holding, flags))
        elif child.tag == transaction_tag:
            transactions.append(_row(child, transaction, flags))
    return holdings, transactions


def _footnotes(el: etree._Element, blank_text_removed: bool) -> tuple[Footnote, ...]:
    return tuple(
        Footnote(child.get("id") or "", _full_text(child, blank_text_removed))
        for child in el
        if child.tag == "footnote"
    )


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


def load_xml(xml: bytes, keep_blank_text: bool = True) -> etree._Element:
    """Parse untrusted XML bytes into a root element, or raise a specific FilingError."""
    # Both markups start "<!", so a file without any "!" (574 of the 577 real ones) is passed by
    # one memchr-speed scan; the two substring searches cost ~6 µs on a 14 KiB file.
    if b"!" in xml and (b"<!DOCTYPE" in xml or b"<!ENTITY" in xml):
        raise HostileXmlError(
            "XML declares a DTD or entities (billion-laughs/XXE pattern); refused unparsed"
        )
    try:
        root = etree.fromstring(xml, _hardened_parser(keep_blank_text))
    except etree.XMLSyntaxError as exc:
        raise MalformedXmlError(f"XML is not well-formed: {exc}") from None
    except ValueError as exc:  # e.g. unicode strings with an encoding declaration
        raise MalformedXmlError(f"XML cannot be parsed: {exc}") from None
    if root is None:
        raise MalformedXmlError("XML has no root element")
    return root


def read_ownership_xml(xml: bytes) -> OwnershipDocument:
    """:func:`load_xml` then :func:`parse_ownership_document`, parsing without blank text
    wherever the record comes out the same (lxml's parse ~17% faster on a Form 3: no node for
    each run of indentation).

    Every text the record takes from a leaf is stripped, so dropping whitespace-only nodes
    changes nothing there; only text joined across nodes could change: a footnote or the
    remarks with nested markup (re-parsed with its blanks: ``<b>x</b> <i>y</i>`` must stay
    "x y") and adjacent CDATA sections. CDATA needs a '!', as do comments and DTDs, so XML with
    a '!' (3 of 577 real filings) is parsed as before; so is XML that fails to parse, to raise
    the very same error.
    """
    if b"!" not in xml:
        try:
            return parse_ownership_document(load_xml(xml, keep_blank_text=False), blank_text_removed=True)
        except (_NestedMarkup, MalformedXmlError):
            pass
    return parse_ownership_document(load_xml(xml))


def parse_ownership_document(root: etree._Element, blank_text_removed: bool = False) -> OwnershipDocument:
    """Map a parsed ``ownershipDocument`` to the typed record; rejects other document types.

    ``blank_text_removed``: the tree was parsed without blank text (see
    :func:`read_ownership_xml`), so nested markup in a footnote or the remarks raises
    ``_NestedMarkup`` instead of being read.
    """
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
                child, "nonDerivativeHolding", _NONDERIVATIVE_HOLDING,
                "nonDerivativeTransaction", _NONDERIVATIVE_TRANSACTION, flags,
            )
        elif tag == "derivativeTable":
            derivative, derivative_transactions = _table(
                child, "derivativeHolding", _DERIVATIVE_HOLDING,
                "derivativeTransaction", _DERIVATIVE_TRANSACTION, flags,
            )
        elif tag == "issuer":
            issuer = _issuer(child)
        elif tag == "footnotes":
            footnotes = _footnotes(child, blank_text_removed)
        elif tag == "ownerSignature":
            signatures.append(_signature(child))
        elif tag == "remarks":
            remarks = _full_text(child, blank_text_removed) or None
        elif tag not in scalars:
            scalars[tag] = (t.strip() or None) if (t := child.text) else None

    document_type = scalars.get("documentType")
    if document_type not in OWNERSHIP_FORM_TYPES:
        raise NotOwnershipFormError(
            f"documentType is {document_type!r}, not an ownership form (3, 3/A, 4, 4/A, 5, 5/A)"
        )
    get = scalars.get
    flags += [t for tag in _DOCUMENT_FLAGS if (t := get(tag)) is not None]
    nonsec16 = get("notSubjectToSection16")
    form3_reported = get("form3HoldingsReported")
    form4_reported = get("form4TransactionsReported")
    return OwnershipDocument(  # positional, in OwnershipDocument's field order (22 keywords cost ~2 µs)
        get("schemaVersion"),
        document_type,
        get("periodOfReport"),
        get("dateOfOriginalSubmission"),
        _flag(get("noSecuritiesOwned")),
        _flag(nonsec16),
        _flag(get("aff10b5One")),
        issuer,
        tuple(owners),
        tuple(nonderivative),
        tuple(derivative),
        footnotes,
        remarks,
        tuple(signatures),
        _flag(form3_reported),
        _flag(form4_reported),
        tuple(nonderivative_transactions),
        tuple(derivative_transactions),
        _bool_style(flags),
        nonsec16,
        form3_reported,
        form4_reported,
    )
