"""The typed record of one ownership filing (Forms 3, 4, 5 and their amendments).

Field names follow the ownership XML (snake_cased); values that the SEC schema lets carry
footnote references are :class:`Value` so that no reference is lost, as in the SEC's
Insider Transactions Data Sets (the ``*_FN`` columns). Everything in :class:`Form3Filing`
except :attr:`Form3Filing.source` is determined by the filing's bytes, which is what lets a
content-keyed checkpoint be shared by identical files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

# The ownership forms (the XML's documentType), and the two a Form 3 record is made of.
OWNERSHIP_FORM_TYPES = frozenset({"3", "3/A", "4", "4/A", "5", "5/A"})
FORM3_TYPES = frozenset({"3", "3/A"})


@dataclass(slots=True)
class Value:
    """A schema value with the footnotes attached to it (either may be absent)."""

    value: str | None
    footnote_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "footnote_ids": list(self.footnote_ids)}


def value_dict(v: Value | None) -> dict[str, Any] | None:
    return None if v is None else v.to_dict()


@dataclass(slots=True)
class Issuer:
    cik: str | None
    name: str | None
    trading_symbol: str | None
    # issuerForeignTradingSymbol exists only in schema X0508+ (Form 3 v5.5); kept when present.
    foreign_trading_symbol: str | None = None


@dataclass(slots=True)
class ReportingOwner:
    cik: str | None
    name: str | None
    street1: str | None = None
    street2: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    state_description: str | None = None
    # Schema X0508 (tech spec v5.5) address elements; None when not filed (older schemas).
    non_us_address_flag: bool | None = None
    non_us_state_territory: str | None = None
    country: str | None = None
    good_address: bool | None = None
    # rptOwnerCcc (the filer's EDGAR confirmation code) is deliberately left out: it is a
    # credential, never shown in the SEC's public data sets.
    is_director: bool = False
    is_officer: bool = False
    is_ten_percent_owner: bool = False
    is_other: bool = False
    officer_title: str | None = None
    other_text: str | None = None

    @property
    def relationship(self) -> str:
        """The SEC data sets' RPTOWNER_RELATIONSHIP: flags joined by commas."""
        names = []
        if self.is_director:
            names.append("Director")
        if self.is_officer:
            names.append("Officer")
        if self.is_ten_percent_owner:
            names.append("TenPercentOwner")
        if self.is_other:
            names.append("Other")
        return ",".join(names)

    @property
    def role(self) -> str:
        """A readable role, as the workshop's ``insider_role`` column had it."""
        parts = []
        if self.is_director:
            parts.append("Director")
        if self.is_officer:
            parts.append(f"Officer ({self.officer_title})" if self.officer_title else "Officer")
        if self.is_ten_percent_owner:
            parts.append("10% Owner")
        if self.is_other:
            parts.append(f"Other ({self.other_text})" if self.other_text else "Other")
        return ", ".join(parts)


@dataclass(slots=True)
class NonDerivativeHolding:
    security_title: Value | None = None
    # A Form 5 holding's transactionCoding/transactionFormType (the form that first reported
    # it: 3, 4 or 5), with the coding's footnotes (the SEC's TRANS_FORM_TYPE, _FN). A Form 3
    # has none.
    transaction_form_type: Value | None = None
    shares_owned: Value | None = None
    value_owned: Value | None = None
    direct_or_indirect: Value | None = None
    nature_of_ownership: Value | None = None


@dataclass(slots=True)
class DerivativeHolding:
    security_title: Value | None = None
    conversion_or_exercise_price: Value | None = None
    transaction_form_type: Value | None = None
    exercise_date: Value | None = None
    expiration_date: Value | None = None
    underlying_security_title: Value | None = None
    underlying_security_shares: Value | None = None
    underlying_security_value: Value | None = None
    shares_owned: Value | None = None
    value_owned: Value | None = None
    direct_or_indirect: Value | None = None
    nature_of_ownership: Value | None = None


@dataclass(slots=True)
class TransactionCoding:
    """``transactionCoding``: optional in the schema, so a transaction may have none (all None).

    Its children are plain text, not ``<value>`` elements; the footnotes hang on the coding as
    a whole (the SEC's ``EQUITY_SWAP_TRANS_CD_FN`` column in both transaction tables).
    """

    form_type: str | None = None
    code: str | None = None
    equity_swap_involved: bool | None = None
    footnote_ids: tuple[str, ...] = ()
    # equitySwapInvolved's text as filed ("0", "1", "true", "false"): the SEC's data sets print
    # the filed spelling, and some filings spell it unlike their other flags (see bool_style).
    equity_swap_involved_text: str | None = None


@dataclass(slots=True)
class NonDerivativeTransaction:
    """One ``nonDerivativeTransaction`` row of a Form 4 or 5, every field as filed.

    Rows are never merged: two price tranches on one day are two transactions.
    """

    security_title: Value | None = None
    transaction_date: Value | None = None
    deemed_execution_date: Value | None = None
    coding: TransactionCoding | None = None
    timeliness: Value | None = None
    shares: Value | None = None
    # transactionTotalValue is a derivative element; schemas before X0306 did not forbid it
    # here, so a filer's total value is kept rather than dropped (None in every real filing seen).
    total_value: Value | None = None
    price_per_share: Value | None = None
    acquired_disposed_code: Value | None = None
    shares_owned_following: Value | None = None
    value_owned_following: Value | None = None
    direct_or_indirect: Value | None = None
    nature_of_ownership: Value | None = None


@dataclass(slots=True)
class DerivativeTransaction:
    """One ``derivativeTransaction`` row: the non-derivative fields plus the derivative's terms
    and its underlying security. Amounts are shares or a total value (the schema's choice)."""

    security_title: Value | None = None
    conversion_or_exercise_price: Value | None = None
    transaction_date: Value | None = None
    deemed_execution_date: Value | None = None
    coding: TransactionCoding | None = None
    timeliness: Value | None = None
    shares: Value | None = None
    total_value: Value | None = None
    price_per_share: Value | None = None
    acquired_disposed_code: Value | None = None
    exercise_date: Value | None = None
    expiration_date: Value | None = None
    underlying_security_title: Value | None = None
    underlying_security_shares: Value | None = None
    underlying_security_value: Value | None = None
    shares_owned_following: Value | None = None
    value_owned_following: Value | None = None
    direct_or_indirect: Value | None = None
    nature_of_ownership: Value | None = None


@dataclass(slots=True)
class Footnote:
    id: str
    text: str


@dataclass(slots=True)
class Signature:
    name: str | None
    date: str | None


@dataclass(slots=True)
class SecHeader:
    """What the EDGAR ``<SEC-HEADER>`` adds to the XML (absent for a bare XML file)."""

    accession_number: str | None
    submission_type: str | None
    public_document_count: int | None
    period_of_report: str | None
    filed_date: str | None
    acceptance_datetime: str | None
    date_of_change: str | None
    # SEC FILE NUMBER of each REPORTING-OWNER block, by owner CIK (the data sets' FILE_NUMBER).
    owner_file_numbers: tuple[tuple[str, str], ...] = ()

    def file_number_of(self, cik: str | None) -> str | None:
        for owner_cik, number in self.owner_file_numbers:
            if owner_cik == cik:
                return number
        return None


@dataclass(slots=True)
class OwnershipDocument:
    schema_version: str | None
    document_type: str
    period_of_report: str | None
    date_of_original_submission: str | None
    # None when the element is absent (it is optional); the SEC's NO_SECURITIES_OWNED is then
    # derived from the holdings (see tasks/sec_tsv.py).
    no_securities_owned: bool | None
    not_subject_to_section16: bool | None
    aff10b5_one: bool | None
    issuer: Issuer
    reporting_owners: tuple[ReportingOwner, ...]
    nonderivative_holdings: tuple[NonDerivativeHolding, ...]
    derivative_holdings: tuple[DerivativeHolding, ...]
    footnotes: tuple[Footnote, ...]
    remarks: str | None
    signatures: tuple[Signature, ...]
    # Form 5 elements that the SEC's SUBMISSION table has columns for (FORM3_HOLDINGS_REPORTED,
    # FORM4_TRANS_REPORTED); absent from a Form 3, kept if a filer writes them.
    form3_holdings_reported: bool | None = None
    form4_transactions_reported: bool | None = None
    # Forms 4 and 5 (empty on a Form 3): every transaction row, in document order.
    nonderivative_transactions: tuple[NonDerivativeTransaction, ...] = ()
    derivative_transactions: tuple[DerivativeTransaction, ...] = ()
    # How the filing spells its booleans: "0/1" or "true/false" when every boolean element
    # (document flags, owner relationship and address flags, equitySwapInvolved) uses one
    # spelling, "mixed" when they differ (22 of the 465 real Forms 4/5: e.g. isDirector "true"
    # with equitySwapInvolved "0"), None when it has none. The SEC's data sets print each flag as
    # filed, so a mixed filing is rendered from the per-value texts below, never from this.
    bool_style: str | None = None
    # The filed text of each Form 4/5 flag the SEC's SUBMISSION table prints (None if absent).
    not_subject_to_section16_text: str | None = None
    form3_holdings_reported_text: str | None = None
    form4_transactions_reported_text: str | None = None


@dataclass(slots=True)
class Form3Filing:
    """One parsed filing of any ownership form (the name predates Forms 4 and 5): header,
    document, and provenance. ``parser_version`` is :func:`tasks.version.record_version` of its
    form: a Form 3 record names the oldest version that wrote the same bytes."""

    header: SecHeader | None
    document: OwnershipDocument
    sha256: str
    parser_version: str
    # Where the bytes came from. Not part of the cached value (identical bytes share a
    # checkpoint); attached afterwards by :meth:`at`.
    source: str | None = None
    # EDGAR names files by accession number; used when a bare XML has no header.
    accession_from_name: str | None = field(default=None)

    def at(self, source: str, accession_from_name: str | None = None) -> "Form3Filing":
        return replace(self, source=source, accession_from_name=accession_from_name)

    @property
    def accession_number(self) -> str | None:
        if self.header is not None and self.header.accession_number:
            return self.header.accession_number
        return self.accession_from_name

    @property
    def insider_name(self) -> str | None:
        names = [o.name for o in self.document.reporting_owners if o.name]
        return "; ".join(names) if names else None

    @property
    def insider_role(self) -> str | None:
        roles = [o.role for o in self.document.reporting_owners]
        return "; ".join(roles) if any(roles) else None

    @property
    def filing_date(self) -> str | None:
        return self.header.filed_date if self.header is not None else None
