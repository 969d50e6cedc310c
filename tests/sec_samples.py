"""Filings synthesised for the SEC sample accessions, from the SEC's own rows' values.

``../shared/sec-datasets/*.sample.tsv`` hold the SEC's 2024 Q3 rows for 40 Form 3 accessions,
``*.form4.sample.tsv`` for 65 Form 4, 4/A, 5 and 5/A accessions (5 of them real filings of
``../shared/form345-corpus``; the others are in no corpus). For each accession this writes an
EDGAR full-submission ``.txt`` whose SEC header and ownership XML carry exactly the values of
the SEC's rows (SUBMISSION, NONDERIV_HOLDING, DERIV_HOLDING, DERIV_TRANS, OWNER_SIGNATURE), in
the form a filer writes them (ISO dates, ``1125983`` for ``1125983.0``, flags spelled as the SEC
printed them, footnote references as ``<footnoteId>`` in the SEC's order). Rows go in the order
of the SEC's surrogate keys. What the samples lack (the reporting owner, footnote texts) is
filled with plain fictional values that no test compares with the SEC.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
SEC_DATASETS = REPO.parent / "shared" / "sec-datasets"


FORM3, FORM4 = "", "form4."  # which sample set: sample_path's infix


def sample_path(name: str, kind: str = FORM3, sec_dir: Path = SEC_DATASETS) -> Path:
    """``NAME.sample.tsv`` (Form 3 rows) or ``NAME.form4.sample.tsv`` (Forms 4 and 5)."""
    return sec_dir / f"{name}.{kind}sample.tsv"


def tsv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated file with a header line: the SEC's files and ours."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def read_sample(name: str, sec_dir: Path = SEC_DATASETS, kind: str = FORM3) -> list[dict[str, str]]:
    return tsv_rows(sample_path(name, kind, sec_dir))


def compare_sec(results: Path, sec_dir: Path = SEC_DATASETS) -> subprocess.CompletedProcess:
    """``form3 compare-sec RESULTS SEC_DIR``, the real command line, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "compare-sec", str(results), str(sec_dir)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )


def header_line(name: str, sec_dir: Path = SEC_DATASETS, kind: str = FORM3) -> bytes:
    with open(sample_path(name, kind, sec_dir), "rb") as fh:
        return fh.readline()


def _iso(sec_date: str) -> str:
    return datetime.strptime(sec_date, "%d-%b-%Y").date().isoformat()


def _compact(sec_date: str) -> str:
    return _iso(sec_date).replace("-", "")


def _number(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


def _ids(fn: str) -> list[str]:
    return [f.strip() for f in fn.split(",") if f.strip()]


def _value(tag: str, row: dict[str, str], col: str, kind: str = "text", pad: str = "") -> str:
    """``<tag><value>…</value><footnoteId id=…/></tag>``, or "" when the SEC row has neither."""
    raw, fns = row.get(col, ""), _ids(row.get(f"{col}_FN", ""))
    if not raw and not fns:
        return ""
    if kind == "date" and raw:
        raw = _iso(raw)
    elif kind == "number" and raw:
        raw = _number(raw)
    inner = f"<value>{escape(raw)}</value>" if raw else ""
    inner += "".join(f'<footnoteId id="{f}"/>' for f in fns)
    return f"{pad}<{tag}>{inner}</{tag}>\n"


def _nonderivative(row: dict[str, str]) -> str:
    return (
        "        <nonDerivativeHolding>\n"
        + _value("securityTitle", row, "SECURITY_TITLE", pad="            ")
        + _post_amounts(row)
        + "            <ownershipNature>\n"
        + _value("directOrIndirectOwnership", row, "DIRECT_INDIRECT_OWNERSHIP", pad="                ")
        + _value("natureOfOwnership", row, "NATURE_OF_OWNERSHIP", pad="                ")
        + "            </ownershipNature>\n        </nonDerivativeHolding>\n"
    )


def _post_amounts(row: dict[str, str], pad: str = "            ") -> str:
    inner = (
        _value("sharesOwnedFollowingTransaction", row, "SHRS_OWND_FOLWNG_TRANS", "number", pad + "    ")
        + _value("valueOwnedFollowingTransaction", row, "VALU_OWND_FOLWNG_TRANS", "number", pad + "    ")
    )
    return f"{pad}<postTransactionAmounts>\n{inner}{pad}</postTransactionAmounts>\n" if inner else ""


def _derivative(row: dict[str, str]) -> str:
    return (
        "        <derivativeHolding>\n"
        + _value("securityTitle", row, "SECURITY_TITLE", pad="            ")
        + _value("conversionOrExercisePrice", row, "CONV_EXERCISE_PRICE", "number", "            ")
        + _value("exerciseDate", row, "EXERCISE_DATE", "date", "            ")
        + _value("expirationDate", row, "EXPIRATION_DATE", "date", "            ")
        + "            <underlyingSecurity>\n"
        + _value("underlyingSecurityTitle", row, "UNDLYNG_SEC_TITLE", pad="                ")
        + _value("underlyingSecurityShares", row, "UNDLYNG_SEC_SHARES", "number", "                ")
        + _value("underlyingSecurityValue", row, "UNDLYNG_SEC_VALUE", "number", "                ")
        + "            </underlyingSecurity>\n"
        + _post_amounts(row)  # a Form 4/5 holding's (a Form 3's has none)
        + "            <ownershipNature>\n"
        + _value("directOrIndirectOwnership", row, "DIRECT_INDIRECT_OWNERSHIP", pad="                ")
        + _value("natureOfOwnership", row, "NATURE_OF_OWNERSHIP", pad="                ")
        + "            </ownershipNature>\n        </derivativeHolding>\n"
    )


def _plain(tag: str, text: str, pad: str) -> str:
    """``<tag>text</tag>`` (a flag or a coding element: no ``<value>``), or "" when empty."""
    return f"{pad}<{tag}>{escape(text)}</{tag}>\n" if text else ""


def _coding(row: dict[str, str], pad: str) -> str:
    inner = (
        _plain("transactionFormType", row["TRANS_FORM_TYPE"], pad + "    ")
        + _plain("transactionCode", row["TRANS_CODE"], pad + "    ")
        + _plain("equitySwapInvolved", row["EQUITY_SWAP_INVOLVED"], pad + "    ")
        + "".join(f'{pad}    <footnoteId id="{f}"/>\n' for f in _ids(row["EQUITY_SWAP_TRANS_CD_FN"]))
    )
    return f"{pad}<transactionCoding>\n{inner}{pad}</transactionCoding>\n" if inner else ""


def _derivative_transaction(row: dict[str, str]) -> str:
    p, q = "            ", "                "
    return (
        "        <derivativeTransaction>\n"
        + _value("securityTitle", row, "SECURITY_TITLE", pad=p)
        + _value("conversionOrExercisePrice", row, "CONV_EXERCISE_PRICE", "number", p)
        + _value("transactionDate", row, "TRANS_DATE", "date", p)
        + _value("deemedExecutionDate", row, "DEEMED_EXECUTION_DATE", "date", p)
        + _coding(row, p)
        + _value("transactionTimeliness", row, "TRANS_TIMELINESS", pad=p)
        + f"{p}<transactionAmounts>\n"
        + _value("transactionShares", row, "TRANS_SHARES", "number", q)
        + _value("transactionTotalValue", row, "TRANS_TOTAL_VALUE", "number", q)
        + _value("transactionPricePerShare", row, "TRANS_PRICEPERSHARE", "number", q)
        + _value("transactionAcquiredDisposedCode", row, "TRANS_ACQUIRED_DISP_CD", pad=q)
        + f"{p}</transactionAmounts>\n"
        + _value("exerciseDate", row, "EXCERCISE_DATE", "date", p)  # the SEC's spelling
        + _value("expirationDate", row, "EXPIRATION_DATE", "date", p)
        + f"{p}<underlyingSecurity>\n"
        + _value("underlyingSecurityTitle", row, "UNDLYNG_SEC_TITLE", pad=q)
        + _value("underlyingSecurityShares", row, "UNDLYNG_SEC_SHARES", "number", q)
        + _value("underlyingSecurityValue", row, "UNDLYNG_SEC_VALUE", "number", q)
        + f"{p}</underlyingSecurity>\n"
        + _post_amounts(row, p)
        + f"{p}<ownershipNature>\n"
        + _value("directOrIndirectOwnership", row, "DIRECT_INDIRECT_OWNERSHIP", pad=q)
        + _value("natureOfOwnership", row, "NATURE_OF_OWNERSHIP", pad=q)
        + f"{p}</ownershipNature>\n        </derivativeTransaction>\n"
    )


def _by_accession(rows: list[dict[str, str]], sk: str | None = None) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        out.setdefault(r["ACCESSION_NUMBER"], []).append(r)
    if sk:
        for rs in out.values():
            rs.sort(key=lambda r: int(r[sk]))
    return out


def filing_text(sub: dict[str, str], nonderiv: list, deriv: list, signatures: list, k: int,
                deriv_trans: list = ()) -> str:
    acc = sub["ACCESSION_NUMBER"]
    fns = sorted(
        {f for r in [*nonderiv, *deriv, *deriv_trans] for c, v in r.items() if c.endswith("_FN") for f in _ids(v)},
        key=lambda f: int(f[1:]),
    )
    owner_cik = f"{9_000_000_000 + k:010d}"
    flag = sub["NO_SECURITIES_OWNED"]
    xml = (
        '<?xml version="1.0"?>\n<ownershipDocument>\n    <schemaVersion>X0508</schemaVersion>\n'
        f"    <documentType>{sub['DOCUMENT_TYPE']}</documentType>\n"
        f"    <periodOfReport>{_iso(sub['PERIOD_OF_REPORT'])}</periodOfReport>\n"
        + (f"    <dateOfOriginalSubmission>{_iso(sub['DATE_OF_ORIG_SUB'])}</dateOfOriginalSubmission>\n" if sub["DATE_OF_ORIG_SUB"] else "")
        + (f"    <noSecuritiesOwned>{flag}</noSecuritiesOwned>\n" if flag else "")
        + _plain("notSubjectToSection16", sub["NOT_SUBJECT_SEC16"], "    ")
        + _plain("form3HoldingsReported", sub["FORM3_HOLDINGS_REPORTED"], "    ")
        + _plain("form4TransactionsReported", sub["FORM4_TRANS_REPORTED"], "    ")
        + "    <issuer>\n"
        f"        <issuerCik>{sub['ISSUERCIK']}</issuerCik>\n"
        f"        <issuerName>{escape(sub['ISSUERNAME'])}</issuerName>\n"
        f"        <issuerTradingSymbol>{escape(sub['ISSUERTRADINGSYMBOL'])}</issuerTradingSymbol>\n"
        "    </issuer>\n    <reportingOwner>\n        <reportingOwnerId>\n"
        f"            <rptOwnerCik>{owner_cik}</rptOwnerCik>\n"
        f"            <rptOwnerName>Sample Owner {k}</rptOwnerName>\n"
        "        </reportingOwnerId>\n        <reportingOwnerAddress>\n"
        "            <rptOwnerStreet1>1 Example Way</rptOwnerStreet1>\n"
        "            <rptOwnerCity>Springfield</rptOwnerCity>\n"
        "            <rptOwnerState>IL</rptOwnerState>\n"
        "            <rptOwnerZipCode>62701</rptOwnerZipCode>\n"
        "        </reportingOwnerAddress>\n        <reportingOwnerRelationship>\n"
        "            <isDirector>1</isDirector>\n        </reportingOwnerRelationship>\n"
        "    </reportingOwner>\n"
        + ("    <nonDerivativeTable>\n" + "".join(map(_nonderivative, nonderiv)) + "    </nonDerivativeTable>\n" if nonderiv else "")
        + (
            "    <derivativeTable>\n" + "".join(map(_derivative_transaction, deriv_trans))
            + "".join(map(_derivative, deriv)) + "    </derivativeTable>\n"
            if deriv or deriv_trans else ""
        )
        + ("    <footnotes>\n" + "".join(f'        <footnote id="{f}">Footnote {f} of {acc}.</footnote>\n' for f in fns) + "    </footnotes>\n" if fns else "")
        + (f"    <remarks>{escape(sub['REMARKS'])}</remarks>\n" if sub["REMARKS"] else "")
        + "".join(
            f"    <ownerSignature>\n        <signatureName>{escape(s['OWNERSIGNATURENAME'])}</signatureName>\n"
            f"        <signatureDate>{_iso(s['OWNERSIGNATUREDATE'])}</signatureDate>\n    </ownerSignature>\n"
            for s in signatures
        )
        + "</ownershipDocument>\n"
    )
    filed = _compact(sub["FILING_DATE"])
    header = (
        f"<SEC-DOCUMENT>{acc}.txt : {filed}\n<SEC-HEADER>{acc}.hdr.sgml : {filed}\n"
        f"<ACCEPTANCE-DATETIME>{filed}170000\nACCESSION NUMBER:\t\t{acc}\n"
        f"CONFORMED SUBMISSION TYPE:\t{sub['DOCUMENT_TYPE']}\nPUBLIC DOCUMENT COUNT:\t\t1\n"
        f"CONFORMED PERIOD OF REPORT:\t{_compact(sub['PERIOD_OF_REPORT'])}\n"
        f"FILED AS OF DATE:\t\t{filed}\nDATE AS OF CHANGE:\t\t{filed}\n</SEC-HEADER>\n"
    )
    return (
        header + f"<DOCUMENT>\n<TYPE>{sub['DOCUMENT_TYPE']}\n<SEQUENCE>1\n<FILENAME>doc.xml\n<TEXT>\n<XML>\n"
        + xml + "</XML>\n</TEXT>\n</DOCUMENT>\n</SEC-DOCUMENT>\n"
    )


def write_sample_filings(out_dir: Path, sec_dir: Path = SEC_DATASETS, kind: str = FORM3,
                         skip: frozenset[str] = frozenset()) -> Path:
    """Write one ``<accession>.txt`` per SEC sample accession of the ``kind`` (but those in
    ``skip``: real filings used instead) and a manifest; return the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    nonderiv = _by_accession(read_sample("NONDERIV_HOLDING", sec_dir, kind), "NONDERIV_HOLDING_SK")
    deriv = _by_accession(read_sample("DERIV_HOLDING", sec_dir, kind), "DERIV_HOLDING_SK")
    trans = _by_accession(read_sample("DERIV_TRANS", sec_dir, kind), "DERIV_TRANS_SK") if kind == FORM4 else {}
    signatures = _by_accession(read_sample("OWNER_SIGNATURE", sec_dir, kind))
    paths = []
    for k, sub in enumerate(read_sample("SUBMISSION", sec_dir, kind)):
        acc = sub["ACCESSION_NUMBER"]
        if acc in skip:
            continue
        text = filing_text(sub, nonderiv.get(acc, []), deriv.get(acc, []), signatures.get(acc, []), k,
                           trans.get(acc, []))
        path = out_dir / f"{acc}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    manifest = out_dir / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path"])
        w.writerows([[p.name] for p in paths])
    return manifest
