"""A :class:`Form3Filing` as rows of the SEC Insider Transactions Data Sets' tables.

Every table's columns are declared once, in ``TABLES``: our (lower-cased SEC) name, the Arrow
type the Parquet file stores, what it means, and the SEC data set column it fills (or the
column of our own extension TSV for X0508 elements the SEC does not publish). The Parquet
schemas (``SCHEMAS``), the SEC TSV layout (``tasks/sec_tsv.py``) and the data dictionary
(``docs/data-dictionary.md``) are all made from these declarations.

Tables: SUBMISSION, REPORTINGOWNER, NONDERIV_HOLDING, DERIV_HOLDING, FOOTNOTES,
OWNER_SIGNATURE (the ones a Form 3 fills). Values keep real types: dates are ``date32``, the
SEC's NUMBER columns float64, flags booleans (null when not filed), surrogate keys int64.
Footnote references go to the ``*_fn`` columns as the SEC lists them (``F2, F3``). Every table
also carries ``sha256``: bare XML files can lack an accession number, and the hash still joins
the tables. Rows are tuples in column order to keep 100,000-filing runs small in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa

from tasks.model import Form3Filing, Value

# How the SEC data sets list the footnote ids of one value ("F2, F3").
FN_SEPARATOR = ", "

STRING, DATE, NUMBER, FLAG, KEY = pa.string(), pa.date32(), pa.float64(), pa.bool_(), pa.int64()
TIMESTAMP = pa.timestamp("s")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: our name, its Arrow type, its meaning, and where it goes in the SEC's TSV."""

    name: str
    type: pa.DataType
    meaning: str
    sec: str | None = None  # the SEC data set's column, when it has one
    ext: str | None = None  # else the column of our extension TSV (see EXTENSION_FILES)


def _fn_column(name: str, what: str) -> Column:
    return Column(f"{name}_fn", STRING, f"footnote ids on {what}, as `F1, F2`", f"{name.upper()}_FN")


_ACC = Column("accession_number", STRING, "EDGAR accession number (from the SEC header, or the file name of a bare XML)", "ACCESSION_NUMBER")
_SHA = Column("sha256", STRING, "sha256 of the filing's bytes; joins the tables even without an accession number")


def _holding_columns(derivative: bool) -> tuple[Column, ...]:
    sk = "deriv_holding_sk" if derivative else "nonderiv_holding_sk"
    cols = [
        _ACC, _SHA,
        Column(sk, KEY, "position of the holding within its filing (1, 2, …); the SEC TSV renumbers it uniquely across the output", sk.upper()),
        Column("security_title", STRING, "title of the security", "SECURITY_TITLE"),
        _fn_column("security_title", "the security title"),
    ]
    if derivative:
        cols += [
            Column("conv_exercise_price", NUMBER, "conversion or exercise price", "CONV_EXERCISE_PRICE"),
            _fn_column("conv_exercise_price", "the conversion or exercise price"),
        ]
    cols += [
        Column("trans_form_type", STRING, "transactionFormType (a Form 5 holding's original form; empty on a Form 3)", "TRANS_FORM_TYPE"),
        _fn_column("trans_form_type", "the transaction form type"),
    ]
    if derivative:
        cols += [
            Column("exercise_date", DATE, "date exercisable", "EXERCISE_DATE"),
            _fn_column("exercise_date", "the date exercisable"),
            Column("expiration_date", DATE, "expiration date", "EXPIRATION_DATE"),
            _fn_column("expiration_date", "the expiration date"),
            Column("undlyng_sec_title", STRING, "title of the underlying security", "UNDLYNG_SEC_TITLE"),
            _fn_column("undlyng_sec_title", "the underlying security title"),
            Column("undlyng_sec_shares", NUMBER, "number of underlying shares", "UNDLYNG_SEC_SHARES"),
            _fn_column("undlyng_sec_shares", "the underlying shares"),
            Column("undlyng_sec_value", NUMBER, "value of the underlying securities", "UNDLYNG_SEC_VALUE"),
            _fn_column("undlyng_sec_value", "the underlying value"),
        ]
    cols += [
        Column("shrs_ownd_folwng_trans", NUMBER, "shares owned", "SHRS_OWND_FOLWNG_TRANS"),
        _fn_column("shrs_ownd_folwng_trans", "the shares owned"),
        Column("valu_ownd_folwng_trans", NUMBER, "value owned (for securities reported by value)", "VALU_OWND_FOLWNG_TRANS"),
        _fn_column("valu_ownd_folwng_trans", "the value owned"),
        Column("direct_indirect_ownership", STRING, "D (direct) or I (indirect)", "DIRECT_INDIRECT_OWNERSHIP"),
        _fn_column("direct_indirect_ownership", "the ownership form"),
        Column("nature_of_ownership", STRING, "nature of indirect beneficial ownership", "NATURE_OF_OWNERSHIP"),
        _fn_column("nature_of_ownership", "the nature of ownership"),
    ]
    return tuple(cols)


TABLES: dict[str, tuple[Column, ...]] = {
    "submissions": (
        _ACC, _SHA,
        Column("filing_date", DATE, "date filed with the SEC (SEC header FILED AS OF DATE)", "FILING_DATE"),
        Column("acceptance_datetime", TIMESTAMP, "EDGAR acceptance time (SEC header, Eastern time)"),
        Column("period_of_report", DATE, "date of the event requiring the statement", "PERIOD_OF_REPORT"),
        Column("date_of_orig_sub", DATE, "date of the original filing (3/A only)", "DATE_OF_ORIG_SUB"),
        Column("no_securities_owned", FLAG, "noSecuritiesOwned as filed (null if absent; the TSV then derives it from the holdings)", "NO_SECURITIES_OWNED"),
        Column("not_subject_sec16", FLAG, "notSubjectToSection16 (a Form 4/5 element; null on a Form 3)", "NOT_SUBJECT_SEC16"),
        Column("form3_holdings_reported", FLAG, "form3HoldingsReported (a Form 5 element; null on a Form 3)", "FORM3_HOLDINGS_REPORTED"),
        Column("form4_trans_reported", FLAG, "form4TransactionsReported (a Form 5 element; null on a Form 3)", "FORM4_TRANS_REPORTED"),
        Column("aff10b5one", FLAG, "aff10b5One: Rule 10b5-1(c) affirmation (X0407+; null if absent)"),
        Column("document_type", STRING, "3 or 3/A", "DOCUMENT_TYPE"),
        Column("schema_version", STRING, "ownership XML schema version (X0206, X0508, …)"),
        Column("issuercik", STRING, "issuer's CIK (10 digits)", "ISSUERCIK"),
        Column("issuername", STRING, "issuer's name", "ISSUERNAME"),
        Column("issuertradingsymbol", STRING, "issuer's trading symbol", "ISSUERTRADINGSYMBOL"),
        Column("issuerforeigntradingsymbol", STRING, "issuerForeignTradingSymbol (X0508+)"),
        Column("remarks", STRING, "remarks", "REMARKS"),
        Column("source", STRING, "the manifest's path or URL of the filing"),
        Column("parser_version", STRING, "tasks/version.py:PARSER_VERSION that made the row"),
    ),
    "reporting_owners": (
        _ACC, _SHA,
        Column("rptownercik", STRING, "reporting owner's CIK", "RPTOWNERCIK"),
        Column("rptownername", STRING, "reporting owner's name", "RPTOWNERNAME"),
        Column("rptowner_relationship", STRING, "Director, Officer, TenPercentOwner, Other, joined by commas", "RPTOWNER_RELATIONSHIP"),
        Column("rptowner_title", STRING, "officer title", "RPTOWNER_TITLE"),
        Column("rptowner_txt", STRING, "text of the Other relationship", "RPTOWNER_TXT"),
        Column("rptowner_street1", STRING, "street, first line", "RPTOWNER_STREET1"),
        Column("rptowner_street2", STRING, "street, second line", "RPTOWNER_STREET2"),
        Column("rptowner_city", STRING, "city", "RPTOWNER_CITY"),
        Column("rptowner_state", STRING, "rptOwnerState as filed (the TSV's RPTOWNER_STATE falls back to rptOwnerCountry, the SEC's 'state or country code')", "RPTOWNER_STATE"),
        Column("rptowner_zipcode", STRING, "zip code", "RPTOWNER_ZIPCODE"),
        Column("rptowner_state_desc", STRING, "state description (EDGAR-supplied, for non-US addresses)", "RPTOWNER_STATE_DESC"),
        Column("file_number", STRING, "SEC file number of the owner (SEC header)", "FILE_NUMBER"),
        Column("rptowner_nonus_address_flag", FLAG, "rptOwnerNonUSAddressFlag (X0508)", ext="RPTOWNER_NONUS_ADDRESS_FLAG"),
        Column("rptowner_nonus_state_territory", STRING, "rptOwnerNonUSStateTerritory (X0508)", ext="RPTOWNER_NONUS_STATE_TERRITORY"),
        Column("rptowner_country", STRING, "rptOwnerCountry, EDGAR country code (X0508)", ext="RPTOWNER_COUNTRY"),
        Column("rptowner_good_address", FLAG, "rptOwnerGoodAddress, EDGAR's internal address check (X0508)", ext="RPTOWNER_GOOD_ADDRESS"),
    ),
    "nonderiv_holdings": _holding_columns(derivative=False),
    "deriv_holdings": _holding_columns(derivative=True),
    "footnotes": (
        _ACC, _SHA,
        Column("footnote_id", STRING, "footnote id (F1, F2, …)", "FOOTNOTE_ID"),
        Column("footnote_txt", STRING, "footnote text", "FOOTNOTE_TXT"),
    ),
    "owner_signatures": (
        _ACC, _SHA,
        Column("ownersignaturename", STRING, "signature", "OWNERSIGNATURENAME"),
        Column("ownersignaturedate", DATE, "signature date", "OWNERSIGNATUREDATE"),
    ),
}
# The SEC data set file each table becomes (results/sec/<name>.tsv).
SEC_FILES: dict[str, str] = {
    "submissions": "SUBMISSION", "reporting_owners": "REPORTINGOWNER",
    "nonderiv_holdings": "NONDERIV_HOLDING", "deriv_holdings": "DERIV_HOLDING",
    "footnotes": "FOOTNOTES", "owner_signatures": "OWNER_SIGNATURE",
}
# Our own TSV for the columns declared with ``ext`` (elements the SEC does not publish), keyed
# like the SEC table: file name and the columns that key it.
EXTENSION_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "reporting_owners": ("REPORTINGOWNER_X0508", ("accession_number", "rptownercik")),
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
            _number(h.shares_owned), _fn(h.shares_owned), _number(h.value_owned),
            _fn(h.value_owned), _val(h.direct_or_indirect), _fn(h.direct_or_indirect),
            _val(h.nature_of_ownership), _fn(h.nature_of_ownership),
        )
        for i, h in enumerate(doc.nonderivative_holdings, 1)
    ]
    out["deriv_holdings"] = [
        (
            acc, sha, i, _val(h.security_title), _fn(h.security_title),
            _number(h.conversion_or_exercise_price), _fn(h.conversion_or_exercise_price),
            _val(h.transaction_form_type), _fn(h.transaction_form_type),
            _vdate(h.exercise_date), _fn(h.exercise_date), _vdate(h.expiration_date),
            _fn(h.expiration_date), _val(h.underlying_security_title),
            _fn(h.underlying_security_title), _number(h.underlying_security_shares),
            _fn(h.underlying_security_shares), _number(h.underlying_security_value),
            _fn(h.underlying_security_value), _number(h.shares_owned), _fn(h.shares_owned),
            _number(h.value_owned), _fn(h.value_owned), _val(h.direct_or_indirect),
            _fn(h.direct_or_indirect), _val(h.nature_of_ownership), _fn(h.nature_of_ownership),
        )
        for i, h in enumerate(doc.derivative_holdings, 1)
    ]
    out["footnotes"] = [(acc, sha, n.id, n.text) for n in doc.footnotes]
    out["owner_signatures"] = [(acc, sha, s.name, _date(s.date)) for s in doc.signatures]
    return out
