"""A :class:`Form3Filing` as rows of the SEC Insider Transactions Data Sets' tables.

Column names follow the SEC's Form 3/4/5 data sets (lower-cased): SUBMISSION, REPORTINGOWNER,
NONDERIV_HOLDING, DERIV_HOLDING, FOOTNOTES, OWNER_SIGNATURE, so research code written against
the SEC's quarterly files works on ours. Footnote references go to the ``*_fn`` columns as the
SEC writes them (ids joined by commas). Every table also carries ``sha256``: bare XML files can
lack an accession number, and the hash still joins the tables. Rows are tuples in the order of
``TABLE_COLUMNS`` to keep 100,000-filing runs small in memory.
"""

from __future__ import annotations

import pyarrow as pa

from tasks.model import Form3Filing, Value

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "submissions": (
        "accession_number", "sha256", "filing_date", "acceptance_datetime", "period_of_report",
        "date_of_orig_sub", "no_securities_owned", "not_subject_sec16", "aff10b5one",
        "document_type", "schema_version", "issuercik", "issuername", "issuertradingsymbol",
        "remarks", "source", "parser_version",
    ),
    "reporting_owners": (
        "accession_number", "sha256", "rptownercik", "rptownername", "rptowner_relationship",
        "rptowner_title", "rptowner_txt", "rptowner_street1", "rptowner_street2",
        "rptowner_city", "rptowner_state", "rptowner_zipcode", "rptowner_state_desc",
        "file_number",
    ),
    "nonderiv_holdings": (
        "accession_number", "sha256", "nonderiv_holding_sk", "security_title",
        "security_title_fn", "shrs_ownd_folwng_trans", "shrs_ownd_folwng_trans_fn",
        "valu_ownd_folwng_trans", "valu_ownd_folwng_trans_fn", "direct_indirect_ownership",
        "direct_indirect_ownership_fn", "nature_of_ownership", "nature_of_ownership_fn",
    ),
    "deriv_holdings": (
        "accession_number", "sha256", "deriv_holding_sk", "security_title", "security_title_fn",
        "conv_exercise_price", "conv_exercise_price_fn", "exercise_date", "exercise_date_fn",
        "expiration_date", "expiration_date_fn", "undlyng_sec_title", "undlyng_sec_title_fn",
        "undlyng_sec_shares", "undlyng_sec_shares_fn", "undlyng_sec_value",
        "undlyng_sec_value_fn", "shrs_ownd_folwng_trans", "shrs_ownd_folwng_trans_fn",
        "valu_ownd_folwng_trans", "valu_ownd_folwng_trans_fn", "direct_indirect_ownership",
        "direct_indirect_ownership_fn", "nature_of_ownership", "nature_of_ownership_fn",
    ),
    "footnotes": ("accession_number", "sha256", "footnote_id", "footnote_txt"),
    "owner_signatures": ("accession_number", "sha256", "ownersignaturename", "ownersignaturedate"),
}
# Columns the SEC types NUMBER; a value that is not a number (it happens) becomes null here and
# stays verbatim in parsed_form3.json.
NUMERIC_COLUMNS = frozenset({
    "shrs_ownd_folwng_trans", "valu_ownd_folwng_trans", "conv_exercise_price",
    "undlyng_sec_shares", "undlyng_sec_value",
})
TABLE_NAMES = tuple(TABLE_COLUMNS)
BOOLEAN_COLUMNS = frozenset({"no_securities_owned", "not_subject_sec16", "aff10b5one"})

Row = tuple


def arrow_type(column: str) -> pa.DataType:
    """The Parquet type of a column: declared by the column sets above, in one place."""
    if column in NUMERIC_COLUMNS:
        return pa.float64()
    if column.endswith("_sk"):
        return pa.int64()
    if column in BOOLEAN_COLUMNS:
        return pa.bool_()
    return pa.string()


# The tables' Arrow schemas: the output Parquet files and the checkpoints' row columns.
SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([(c, arrow_type(c)) for c in cols]) for name, cols in TABLE_COLUMNS.items()
}


def rows_to_table(name: str, rows: list[Row]) -> pa.Table:
    """Row tuples (in ``TABLE_COLUMNS`` order) of one table to an Arrow table of its schema."""
    schema = SCHEMAS[name]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    return pa.Table.from_arrays(
        [pa.array(col, type=field.type) for col, field in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _number(v: Value | None) -> float | None:
    if v is None or v.value is None:
        return None
    try:
        return float(v.value.replace(",", ""))
    except ValueError:
        return None


def _val(v: Value | None) -> str | None:
    return None if v is None else v.value


def _fn(v: Value | None) -> str | None:
    return ",".join(v.footnote_ids) if v is not None and v.footnote_ids else None


def table_rows(f: Form3Filing) -> dict[str, list[Row]]:
    doc, acc, sha = f.document, f.accession_number, f.sha256
    header = f.header
    out: dict[str, list[Row]] = {}
    out["submissions"] = [(
        acc, sha, f.filing_date, header.acceptance_datetime if header else None,
        doc.period_of_report, doc.date_of_original_submission, doc.no_securities_owned,
        doc.not_subject_to_section16, doc.aff10b5_one, doc.document_type, doc.schema_version,
        doc.issuer.cik, doc.issuer.name, doc.issuer.trading_symbol, doc.remarks, f.source,
        f.parser_version,
    )]
    out["reporting_owners"] = [
        (
            acc, sha, o.cik, o.name, o.relationship, o.officer_title, o.other_text, o.street1,
            o.street2, o.city, o.state, o.zip_code, o.state_description,
            header.file_number_of(o.cik) if header else None,
        )
        for o in doc.reporting_owners
    ]
    out["nonderiv_holdings"] = [
        (
            acc, sha, i, _val(h.security_title), _fn(h.security_title),
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
            _val(h.exercise_date), _fn(h.exercise_date), _val(h.expiration_date),
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
    out["owner_signatures"] = [(acc, sha, s.name, s.date) for s in doc.signatures]
    return out
