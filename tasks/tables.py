"""A :class:`Form3Filing` as rows of the SEC Insider Transactions Data Sets' tables.

Every table's columns are declared once, in ``TABLES``: our (lower-cased SEC) name, the Arrow
type the Parquet file stores, what it means, and the SEC data set column it fills (or the
column of our own extension TSV for X0508 elements the SEC does not publish). The Parquet
schemas (``SCHEMAS``), the SEC TSV layout (``tasks/sec_tsv.py``) and the data dictionary
(``docs/data-dictionary.md``) are all made from these declarations.

Tables: all eight of the SEC's, for Forms 3, 4 and 5 and their amendments: SUBMISSION,
REPORTINGOWNER, NONDERIV_HOLDING, DERIV_HOLDING, NONDERIV_TRANS, DERIV_TRANS (Forms 4/5 only),
FOOTNOTES, OWNER_SIGNATURE. Values keep real types and are as filed: dates are ``date32``, the
SEC's NUMBER columns float64 (not rounded: the SEC's TSVs round them, ``tasks/sec_tsv.py``),
flags booleans (null when not filed), surrogate keys int64. Footnote references go to the
``*_fn`` columns in document order, as the SEC lists them (``F2, F3``). Every table
also carries ``sha256``: bare XML files can lack an accession number, and the hash still joins
the tables. Rows are tuples in column order to keep 100,000-filing runs small in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from tasks.model import DerivativeHolding, DerivativeTransaction, Form3Filing, NonDerivativeTransaction, Value

# How the SEC data sets list the footnote ids of one value ("F2, F3").
FN_SEPARATOR = ", "

STRING, DATE, NUMBER, FLAG, KEY = pa.string(), pa.date32(), pa.float64(), pa.bool_(), pa.int64()
TIMESTAMP = pa.timestamp("s")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: our name, its Arrow type, its meaning, and where it goes in the SEC's TSV.

    ``sec=True`` puts it in the SEC data set's file under our name upper-cased; a string names
    the SEC's own spelling where it differs from ours (DERIV_TRANS's ``EXCERCISE_DATE``), so
    our Parquet names stay consistent across tables and the TSV keeps the SEC's header bytes.
    """

    name: str
    type: pa.DataType
    meaning: str
    sec: bool | str = False  # in the SEC data set's file (a string: the SEC's own name)
    ext: bool = False  # else in our extension TSV (see EXTENSION_FILES), named upper-cased

    @property
    def sec_name(self) -> str | None:
        """The SEC data set's column name, or None when the SEC has no such column."""
        if isinstance(self.sec, str):
            return self.sec
        return self.name.upper() if self.sec else None

    @property
    def ext_name(self) -> str | None:
        return self.name.upper() if self.ext else None


def _fn_column(name: str, what: str, sec: bool | str = True) -> Column:
    sec_name = f"{sec}_FN" if isinstance(sec, str) else sec
    return Column(f"{name}_fn", STRING, f"footnote ids on {what}, as `F1, F2`", sec_name)


def _valued(name: str, type: pa.DataType, meaning: str, what: str, sec: bool | str = True) -> list[Column]:
    """A value the schema lets carry footnotes: its column and its ``_fn`` column."""
    return [Column(name, type, meaning, sec), _fn_column(name, what, sec)]


_ACC = Column("accession_number", STRING, "EDGAR accession number (from the SEC header, or the file name of a bare XML)", sec=True)
_SHA = Column("sha256", STRING, "sha256 of the filing's bytes; joins the tables even without an accession number")


def _sk_column(name: str, what: str) -> Column:
    return Column(name, KEY, f"position of the {what} within its filing (1, 2, …); the SEC TSV renumbers it uniquely across the output", sec=True)


_TITLE = _valued("security_title", STRING, "title of the security", "the security title")
_PRICE = _valued("conv_exercise_price", NUMBER, "conversion or exercise price", "the conversion or exercise price")


def _derivative_terms(exercise_sec: bool | str = True) -> list[Column]:
    """Exercise and expiration dates and the underlying security: DERIV_HOLDING and DERIV_TRANS
    (whose header spells the first ``EXCERCISE_DATE``)."""
    return [
        *_valued("exercise_date", DATE, "date exercisable", "the date exercisable", exercise_sec),
        *_valued("expiration_date", DATE, "expiration date", "the expiration date"),
        *_valued("undlyng_sec_title", STRING, "title of the underlying security", "the underlying security title"),
        *_valued("undlyng_sec_shares", NUMBER, "number of underlying shares", "the underlying shares"),
        *_valued("undlyng_sec_value", NUMBER, "value of the underlying securities", "the underlying value"),
    ]


# What is owned after the row and how: the tail of every holding and transaction table.
_OWNERSHIP = [
    *_valued("shrs_ownd_folwng_trans", NUMBER, "shares owned (after the transaction, for a transaction)", "the shares owned"),
    *_valued("valu_ownd_folwng_trans", NUMBER, "value owned (for securities reported by value)", "the value owned"),
    *_valued("direct_indirect_ownership", STRING, "D (direct) or I (indirect)", "the ownership form"),
    *_valued("nature_of_ownership", STRING, "nature of indirect beneficial ownership", "the nature of ownership"),
]

# The suffix of a flag's companion column that keeps its text as filed (see _filed_text).
FILED_TEXT = "_text"


def _filed_text(flag: str, element: str) -> Column:
    """The text a flag was filed as (``0``, ``1``, ``true``, ``false``; null if absent). The
    flag itself is a bool; the SEC's TSVs print each flag's filed spelling, and filings mix
    them (a Form 5 with notSubjectToSection16 ``false`` and form4TransactionsReported ``0``),
    so the spelling is kept per value, not per filing."""
    return Column(f"{flag}{FILED_TEXT}", STRING, f"{element} as spelled in the filing; the SEC TSV prints this")


def _holding_columns(derivative: bool) -> tuple[Column, ...]:
    sk = "deriv_holding_sk" if derivative else "nonderiv_holding_sk"
    return (
        _ACC, _SHA, _sk_column(sk, "holding"), *_TITLE, *(_PRICE if derivative else ()),
        *_valued("trans_form_type", STRING, "transactionFormType (the form a Form 4/5 holding was reported on; empty on a Form 3)", "the transaction form type"),
        *(_derivative_terms() if derivative else ()), *_OWNERSHIP,
    )


def _transaction_columns(derivative: bool) -> tuple[Column, ...]:
    """NONDERIV_TRANS (28 SEC columns) and DERIV_TRANS (42), in the SEC's order."""
    sk = "deriv_trans_sk" if derivative else "nonderiv_trans_sk"
    return (
        _ACC, _SHA, _sk_column(sk, "transaction"), *_TITLE, *(_PRICE if derivative else ()),
        *_valued("trans_date", DATE, "transaction date", "the transaction date"),
        *_valued("deemed_execution_date", DATE, "deemed execution date", "the deemed execution date"),
        Column("trans_form_type", STRING, "transactionCoding's form type (4 or 5: the form the transaction is reported on)", sec=True),
        Column("trans_code", STRING, "transaction code (P, S, A, M, …)", sec=True),
        Column("equity_swap_involved", FLAG, "equitySwapInvolved as filed (null if absent)", sec=True),
        Column("equity_swap_trans_cd_fn", STRING, "footnote ids on the transaction coding (its code and equity swap), as `F1, F2`", sec=True),
        _filed_text("equity_swap_involved", "equitySwapInvolved"),
        *_valued("trans_timeliness", STRING, "timeliness: E (early) or L (late); empty when on time", "the timeliness"),
        *_valued("trans_shares", NUMBER, "shares acquired or disposed of", "the shares"),
        # A total value is a derivative element; a non-derivative one is kept (old schemas
        # allowed it) in a column of ours, the SEC's NONDERIV_TRANS having none.
        *_valued("trans_total_value", NUMBER, "total value acquired or disposed of (instead of shares)", "the total value", derivative),
        *_valued("trans_pricepershare", NUMBER, "price per share (of the derivative, for a derivative)", "the price (a footnote-only price: value empty, footnote here)"),
        *_valued("trans_acquired_disp_cd", STRING, "A (acquired) or D (disposed of)", "the acquired/disposed code"),
        *(_derivative_terms(exercise_sec="EXCERCISE_DATE") if derivative else ()), *_OWNERSHIP,
    )


TABLES: dict[str, tuple[Column, ...]] = {
    "submissions": (
        _ACC, _SHA,
        Column("filing_date", DATE, "date filed with the SEC (SEC header FILED AS OF DATE)", sec=True),
        Column("acceptance_datetime", TIMESTAMP, "EDGAR acceptance time (SEC header, Eastern time)"),
        Column("period_of_report", DATE, "date of the event requiring the statement", sec=True),
        Column("date_of_orig_sub", DATE, "date of the original filing (amendments: 3/A, 4/A, 5/A)", sec=True),
        Column("no_securities_owned", FLAG, "noSecuritiesOwned as filed (a Form 3 element; null if absent: a Form 3's TSV then derives it from the holdings, as the SEC does; a Form 4/5's stays empty)", sec=True),
        Column("not_subject_sec16", FLAG, "notSubjectToSection16 (a Form 4/5 element; null on a Form 3)", sec=True),
        Column("form3_holdings_reported", FLAG, "form3HoldingsReported (a Form 5 element; null on a Form 3)", sec=True),
        Column("form4_trans_reported", FLAG, "form4TransactionsReported (a Form 5 element; null on a Form 3)", sec=True),
        Column("aff10b5one", FLAG, "aff10b5One: Rule 10b5-1(c) affirmation (X0407+; null if absent; the SEC has no column for it)"),
        Column("document_type", STRING, "3, 3/A, 4, 4/A, 5 or 5/A", sec=True),
        Column("schema_version", STRING, "ownership XML schema version (X0206, X0508, …)"),
        Column("issuercik", STRING, "issuer's CIK (10 digits)", sec=True),
        Column("issuername", STRING, "issuer's name", sec=True),
        Column("issuertradingsymbol", STRING, "issuer's trading symbol", sec=True),
        Column("issuerforeigntradingsymbol", STRING, "issuerForeignTradingSymbol (X0508+)"),
        Column("remarks", STRING, "remarks", sec=True),
        Column("source", STRING, "the manifest's path or URL of the filing"),
        Column("parser_version", STRING, "tasks/version.py:PARSER_VERSION that made the row"),
        # Last, so that a Form 3's row (null in all three) is today's row plus three nulls.
        _filed_text("not_subject_sec16", "notSubjectToSection16"),
        _filed_text("form3_holdings_reported", "form3HoldingsReported"),
        _filed_text("form4_trans_reported", "form4TransactionsReported"),
    ),
    "reporting_owners": (
        _ACC, _SHA,
        Column("rptownercik", STRING, "reporting owner's CIK", sec=True),
        Column("rptownername", STRING, "reporting owner's name", sec=True),
        Column("rptowner_relationship", STRING, "Director, Officer, TenPercentOwner, Other, joined by commas", sec=True),
        Column("rptowner_title", STRING, "officer title", sec=True),
        Column("rptowner_txt", STRING, "text of the Other relationship", sec=True),
        Column("rptowner_street1", STRING, "street, first line", sec=True),
        Column("rptowner_street2", STRING, "street, second line", sec=True),
        Column("rptowner_city", STRING, "city", sec=True),
        Column("rptowner_state", STRING, "rptOwnerState as filed (the TSV's RPTOWNER_STATE falls back to rptOwnerCountry, the SEC's 'state or country code')", sec=True),
        Column("rptowner_zipcode", STRING, "zip code", sec=True),
        Column("rptowner_state_desc", STRING, "state description (EDGAR-supplied, for non-US addresses)", sec=True),
        Column("file_number", STRING, "SEC file number of the owner (SEC header)", sec=True),
        Column("rptowner_nonus_address_flag", FLAG, "rptOwnerNonUSAddressFlag (X0508)", ext=True),
        Column("rptowner_nonus_state_territory", STRING, "rptOwnerNonUSStateTerritory (X0508)", ext=True),
        Column("rptowner_country", STRING, "rptOwnerCountry, EDGAR country code (X0508)", ext=True),
        Column("rptowner_good_address", FLAG, "rptOwnerGoodAddress, EDGAR's internal address check (X0508)", ext=True),
    ),
    "nonderiv_holdings": _holding_columns(derivative=False),
    "deriv_holdings": _holding_columns(derivative=True),
    "nonderiv_trans": _transaction_columns(derivative=False),
    "deriv_trans": _transaction_columns(derivative=True),
    "footnotes": (
        _ACC, _SHA,
        Column("footnote_id", STRING, "footnote id (F1, F2, …)", sec=True),
        Column("footnote_txt", STRING, "footnote text", sec=True),
    ),
    "owner_signatures": (
        _ACC, _SHA,
        Column("ownersignaturename", STRING, "signature", sec=True),
        Column("ownersignaturedate", DATE, "signature date", sec=True),
    ),
}
# The SEC data set file each table becomes (results/sec/<name>.tsv).
SEC_FILES: dict[str, str] = {
    "submissions": "SUBMISSION", "reporting_owners": "REPORTINGOWNER",
    "nonderiv_holdings": "NONDERIV_HOLDING", "deriv_holdings": "DERIV_HOLDING",
    "nonderiv_trans": "NONDERIV_TRANS", "deriv_trans": "DERIV_TRANS",
    "footnotes": "FOOTNOTES", "owner_signatures": "OWNER_SIGNATURE",
}
# Our own TSV for the columns declared with ``ext`` (elements the SEC does not publish), keyed
# like the SEC table: file name and the columns that key it.
EXTENSION_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "reporting_owners": ("REPORTINGOWNER_X0508", ("accession_number", "rptownercik")),
}

# Columns a table gained for Forms 4/5 after the Form 3 record last changed (parser version 2),
# all at the end of their table and null on every Form 3 row: a Form 3 row is its version-2
# row plus these nulls (tasks/output_digest.py's Form 3 digest checks that and drops them).
ADDED_FOR_FORMS_4_5: dict[str, tuple[str, ...]] = {
    "submissions": ("not_subject_sec16_text", "form3_holdings_reported_text", "form4_trans_reported_text"),
}

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {t: tuple(c.name for c in cols) for t, cols in TABLES.items()}
SCHEMAS: dict[str, pa.Schema] = {
    t: pa.schema([(c.name, c.type) for c in cols]) for t, cols in TABLES.items()
}

Row = tuple


def rows_to_table(name: str, rows: list[Row]) -> pa.Table:
    """Row tuples (in ``TABLE_COLUMNS`` order) of one table to an Arrow table of its schema;
    a row of another length fails here instead of shifting or truncating columns."""
    schema = SCHEMAS[name]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    return pa.Table.from_arrays(
        [pa.array(col, type=field.type) for col, field in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _number(v: Value | None) -> float | None:
    # A value that is not a number (it happens) is null here and stays verbatim in the JSON.
    if v is None or v.value is None:
        return None
    try:
        return float(v.value.replace(",", ""))
    except ValueError:
        return None


def _date(text: str | None) -> date | None:
    # xs:date may carry a time zone (2024-07-31-04:00, 2024-07-31Z); the day is what counts.
    # A value that is not a date is null here and stays verbatim in the JSON.
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _vdate(v: Value | None) -> date | None:
    return None if v is None else _date(v.value)


def _timestamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _val(v: Value | None) -> str | None:
    return None if v is None else v.value


def _fn(v: Value | None) -> str | None:
    return FN_SEPARATOR.join(v.footnote_ids) if v is not None and v.footnote_ids else None


def _transaction(t: NonDerivativeTransaction | DerivativeTransaction) -> tuple:
    """A transaction's date, coding and amounts (``trans_date`` … ``trans_acquired_disp_cd_fn``).
    The coding's five values are all null when the transaction has no ``transactionCoding``
    (the schema makes it optional)."""
    c = t.coding
    coding = (None,) * 5 if c is None else (
        c.form_type, c.code, c.equity_swap_involved, FN_SEPARATOR.join(c.footnote_ids) or None,
        c.equity_swap_involved_text,
    )
    return (
        _vdate(t.transaction_date), _fn(t.transaction_date),
        _vdate(t.deemed_execution_date), _fn(t.deemed_execution_date), *coding,
        _val(t.timeliness), _fn(t.timeliness), _number(t.shares), _fn(t.shares),
        _number(t.total_value), _fn(t.total_value), _number(t.price_per_share), _fn(t.price_per_share),
        _val(t.acquired_disposed_code), _fn(t.acquired_disposed_code),
    )


def _terms(d: DerivativeHolding | DerivativeTransaction) -> tuple:
    """A derivative's exercise and expiration dates and underlying security (_derivative_terms)."""
    return (
        _vdate(d.exercise_date), _fn(d.exercise_date), _vdate(d.expiration_date),
        _fn(d.expiration_date), _val(d.underlying_security_title),
        _fn(d.underlying_security_title), _number(d.underlying_security_shares),
        _fn(d.underlying_security_shares), _number(d.underlying_security_value),
        _fn(d.underlying_security_value),
    )


def _ownership(shares: Value | None, value: Value | None, r: Any) -> tuple:
    """What is owned after the row and how (_OWNERSHIP): a holding's ``shares_owned`` or a
    transaction's ``shares_owned_following``, and the row's ownership nature."""
    return (
        _number(shares), _fn(shares), _number(value), _fn(value),
        _val(r.direct_or_indirect), _fn(r.direct_or_indirect),
        _val(r.nature_of_ownership), _fn(r.nature_of_ownership),
    )


def table_rows(f: Form3Filing) -> dict[str, list[Row]]:
    doc, acc, sha = f.document, f.accession_number, f.sha256
    header = f.header
    out: dict[str, list[Row]] = {}
    out["submissions"] = [(
        acc, sha, _date(f.filing_date), _timestamp(header.acceptance_datetime if header else None),
        _date(doc.period_of_report), _date(doc.date_of_original_submission),
        doc.no_securities_owned, doc.not_subject_to_section16, doc.form3_holdings_reported,
        doc.form4_transactions_reported, doc.aff10b5_one, doc.document_type, doc.schema_version,
        doc.issuer.cik, doc.issuer.name, doc.issuer.trading_symbol,
        doc.issuer.foreign_trading_symbol, doc.remarks, f.source, f.parser_version,
        doc.not_subject_to_section16_text, doc.form3_holdings_reported_text,
        doc.form4_transactions_reported_text,
    )]
    out["reporting_owners"] = [
        (
            acc, sha, o.cik, o.name, o.relationship, o.officer_title, o.other_text, o.street1,
            o.street2, o.city, o.state, o.zip_code, o.state_description,
            header.file_number_of(o.cik) if header else None,
            o.non_us_address_flag, o.non_us_state_territory, o.country, o.good_address,
        )
        for o in doc.reporting_owners
    ]
    out["nonderiv_holdings"] = [
        (
            acc, sha, i, _val(h.security_title), _fn(h.security_title),
            _val(h.transaction_form_type), _fn(h.transaction_form_type),
            *_ownership(h.shares_owned, h.value_owned, h),
        )
        for i, h in enumerate(doc.nonderivative_holdings, 1)
    ]
    out["deriv_holdings"] = [
        (
            acc, sha, i, _val(h.security_title), _fn(h.security_title),
            _number(h.conversion_or_exercise_price), _fn(h.conversion_or_exercise_price),
            _val(h.transaction_form_type), _fn(h.transaction_form_type),
            *_terms(h), *_ownership(h.shares_owned, h.value_owned, h),
        )
        for i, h in enumerate(doc.derivative_holdings, 1)
    ]
    out["nonderiv_trans"] = [
        (
            acc, sha, i, _val(t.security_title), _fn(t.security_title), *_transaction(t),
            *_ownership(t.shares_owned_following, t.value_owned_following, t),
        )
        for i, t in enumerate(doc.nonderivative_transactions, 1)
    ]
    out["deriv_trans"] = [
        (
            acc, sha, i, _val(t.security_title), _fn(t.security_title),
            _number(t.conversion_or_exercise_price), _fn(t.conversion_or_exercise_price),
            *_transaction(t), *_terms(t),
            *_ownership(t.shares_owned_following, t.value_owned_following, t),
        )
        for i, t in enumerate(doc.derivative_transactions, 1)
    ]
    out["footnotes"] = [(acc, sha, n.id, n.text) for n in doc.footnotes]
    out["owner_signatures"] = [(acc, sha, s.name, _date(s.date)) for s in doc.signatures]
    return out


assert all(
    TABLE_COLUMNS[t][-len(added):] == added for t, added in ADDED_FOR_FORMS_4_5.items()
), "ADDED_FOR_FORMS_4_5 columns must end their table"
