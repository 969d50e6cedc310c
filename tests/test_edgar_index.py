"""``form3 manifest``: EDGAR quarterly index files (``form.idx``, ``master.idx``) to a manifest.

The index files are written in EDGAR's layouts from the real corpus: each full-submission
filing is listed once under its issuer and once under every reporting owner (as EDGAR does),
with its real accession number, form type and filing date from the SEC header, mixed with
fictional rows of other form types. The fixed-width header line is EDGAR's, character for
character; rows use the current layout (Form Type padded to 17 although the header implies
12) and the older one that matches the header.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from tasks.edgar_index import EdgarIndexError, Filters, build_manifest, read_cik_file
from flows.manifest import read_manifest
from tasks.extract import parse_file
from tests.filing_server import FilingServer

pytestmark = pytest.mark.fast

REPO = Path(__file__).resolve().parents[1]
SEC = "https://www.sec.gov/Archives/"
UA = "form3-pipeline tests tests@example.org"

# EDGAR's form.idx column header, as in the real files (1995 to 2025 alike).
FORM_HEADER = (
    "Form Type   Company Name                                                  CIK         "
    "Date Filed  File Name"
)


@dataclass(frozen=True)
class Row:
    """One index row: a filing listed under one filer."""

    form: str
    company: str
    cik: int
    filed: date
    accession: str

    @property
    def file_name(self) -> str:
        return f"edgar/data/{self.cik}/{self.accession}.txt"

    @property
    def quarter(self) -> tuple[int, int]:
        return self.filed.year, (self.filed.month - 1) // 3 + 1


def _header_value(text: str, key: str) -> str:
    return re.search(rf"^\s*{key}:\s*(.+?)\s*$", text, re.M).group(1)


def _filers(text: str, section: str) -> list[tuple[str, int]]:
    """(conformed name, CIK) of every ``section`` block (REPORTING-OWNER or ISSUER)."""
    out = []
    for block in re.split(r"^(?=\S)", text, flags=re.M):
        if block.startswith(section + ":"):
            out.append(
                (_header_value(block, "COMPANY CONFORMED NAME"),
                 int(_header_value(block, "CENTRAL INDEX KEY")))
            )
    return out


@pytest.fixture(scope="module")
def corpus_rows(corpus: Path) -> list[Row]:
    """Index rows of every full-submission filing of the corpus, as EDGAR would list them."""
    rows: list[Row] = []
    with open(corpus / "MANIFEST.csv", newline="") as fh:
        entries = [e for e in csv.DictReader(fh) if e["kind"] == "full-submission-txt"]
    assert len(entries) == 81
    for entry in entries:
        text = (corpus / entry["file"]).read_text(encoding="latin-1")
        header = text.split("</SEC-HEADER>", 1)[0]
        form = _header_value(header, "CONFORMED SUBMISSION TYPE")
        assert form == entry["document_type"]
        filed = _header_value(header, "FILED AS OF DATE")
        filed_on = date(int(filed[:4]), int(filed[4:6]), int(filed[6:]))
        (issuer,) = _filers(header, "ISSUER")
        assert issuer[1] == int(entry["issuer_cik"])
        for name, cik in [issuer, *_filers(header, "REPORTING-OWNER")]:
            rows.append(Row(form, name, cik, filed_on, entry["accession_number"]))
    return rows


# Fictional rows: other form types (some containing "3"), a 3/A under its issuer and its owner,
# company names with runs of internal spaces, a name filling its whole 62-character column (no
# space before the CIK), a 16-character form type.
EXTRA = [
    Row("3/A", "EXAMPLE   BIOSCIENCES   HOLDINGS  INC", 1900002, date(2020, 5, 12), "0001900002-20-000007"),
    Row("3/A", "ROE  RICHARD", 1900003, date(2020, 5, 12), "0001900002-20-000007"),
    Row("3", "THE NORTHERN AND SOUTHERN AMALGAMATED TRUST COMPANY OF DELAWAR", 1900004, date(2020, 8, 3), "0001900004-20-000001"),
    Row("4", "DOE  JOHN   Q", 1900001, date(2020, 2, 3), "0001900001-20-000002"),
    Row("4", "EXAMPLE   BIOSCIENCES   HOLDINGS  INC", 1900002, date(2020, 2, 3), "0001900001-20-000002"),
    Row("8-K", "EXAMPLE   BIOSCIENCES   HOLDINGS  INC", 1900002, date(2020, 3, 2), "0001900002-20-000003"),
    Row("10-K", "EXAMPLE   BIOSCIENCES   HOLDINGS  INC", 1900002, date(2020, 3, 30), "0001900002-20-000004"),
    Row("S-3", "WIDGET WORKS  CORP", 1900005, date(2020, 6, 1), "0001900005-20-000001"),
    Row("S-3/A", "WIDGET WORKS  CORP", 1900005, date(2020, 6, 8), "0001900005-20-000002"),
    Row("13F-HR", "WIDGET WORKS  CORP", 1900005, date(2020, 11, 13), "0001900005-20-000003"),
    Row("SC 13G/A", "WIDGET WORKS  CORP", 1900005, date(2020, 2, 14), "0001900005-20-000004"),
    Row("SEC STAFF ACTION", "WIDGET WORKS  CORP", 1900005, date(2020, 7, 1), "0001900005-20-000005"),
]


def _preamble(description: str, received: str, cloud: bool) -> str:
    lines = [
        f"Description:           {description}",
        f"Last Data Received:    {received}",
        "Comments:              webmaster@sec.gov",
        "Anonymous FTP:         ftp://ftp.sec.gov/edgar/",
    ]
    if cloud:
        lines.append("Cloud HTTP:            https://www.sec.gov/Archives/")
    return "\n".join(lines + [" "] * 4) + "\n"


def form_idx(rows: list[Row], form_width: int = 17, compact_dates: bool = False) -> str:
    """A quarterly form.idx: sorted by form type then company, File Name padded as EDGAR does.

    ``form_width`` 17 is the current layout (data wider than the header's 12); 12 is the older
    layout that matches the header. A form type longer than its column pushes the row right.
    """
    out = [_preamble("Master Index of EDGAR Dissemination Feed by Form Type", "March 31, 2020", False)]
    out.append(FORM_HEADER + "\n" + "-" * 141 + "\n")
    for r in sorted(rows, key=lambda r: (r.form, r.company, r.cik)):
        filed = r.filed.strftime("%Y%m%d" if compact_dates else "%Y-%m-%d")
        form = r.form.ljust(form_width) if len(r.form) < form_width else r.form + " "
        out.append(f"{form}{r.company:<62}{r.cik:<12}{filed:<12}{r.file_name:<52}\n")
    return "".join(out)


def master_idx(rows: list[Row]) -> str:
    """A quarterly master.idx: ``|``-separated, sorted by CIK."""
    out = [_preamble("Master Index of EDGAR Dissemination Feed", "March 31, 2020", True)]
    out.append("CIK|Company Name|Form Type|Date Filed|Filename\n" + "-" * 80 + "\n")
    for r in sorted(rows, key=lambda r: (r.cik, r.filed, r.accession)):
        out.append(f"{r.cik}|{r.company}|{r.form}|{r.filed.isoformat()}|{r.file_name}\n")
    return "".join(out)


@pytest.fixture(scope="module")
def all_rows(corpus_rows: list[Row]) -> list[Row]:
    return corpus_rows + EXTRA


def by_quarter(rows: list[Row]) -> dict[tuple[int, int], list[Row]]:
    quarters: dict[tuple[int, int], list[Row]] = {}
    for r in rows:
        quarters.setdefault(r.quarter, []).append(r)
    return dict(sorted(quarters.items()))


def write_quarters(directory: Path, rows: list[Row], render=form_idx, name="form.idx") -> list[str]:
    """One index file per quarter, laid out like EDGAR's full-index/YYYY/QTRn/."""
    paths = []
    for (year, qtr), quarter_rows in by_quarter(rows).items():
        path = directory / str(year) / f"QTR{qtr}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(quarter_rows).encode("latin-1"))
        paths.append(str(path))
    return paths


def expected(rows: list[Row], forms=("3", "3/A"), prefix=SEC, since=None, until=None, ciks=None):
    """The manifest rows: matching rows, one per accession (lowest CIK), by date then accession."""
    keep = [
        r for r in rows
        if r.form.upper() in {f.upper() for f in forms}
        and (since is None or r.filed >= since) and (until is None or r.filed <= until)
        and (ciks is None or r.cik in ciks)
    ]
    first: dict[str, Row] = {}
    for r in sorted(keep, key=lambda r: (r.filed, r.accession, r.cik)):
        first.setdefault(r.accession, r)
    return [
        {"accession_number": r.accession, "cik": str(r.cik), "company": r.company,
         "form_type": r.form, "date_filed": r.filed.isoformat(), "url": prefix + r.file_name}
        for r in first.values()
    ]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_form_idx_default_filter_keeps_form_3_and_3a(tmp_path: Path, all_rows: list[Row]) -> None:
    paths = write_quarters(tmp_path, all_rows)
    assert len(paths) == 7  # 2020 Q1-Q4, and the quarters of the 2006, 2017, 2025 Form 4s
    result = build_manifest(paths)
    got = rows_of(result.text)
    assert got == expected(all_rows)
    assert len(got) == 76 + 2  # the corpus's 76 Form 3 submissions, one 3/A, one long name
    assert result.rows_read == len(all_rows)
    # Each filing under its issuer and its owners: 76 issuers + 122 owners, 2 + 1 fictional.
    assert result.rows_matched == 76 + 122 + 2 + 1
    assert result.duplicates_dropped == 123
    assert result.text.splitlines()[0] == "accession_number,cik,company,form_type,date_filed,url"
    assert got[0] == {  # issuer CIK 861459 is lower than its owner's (Radich James A, 1798469)
        "accession_number": "0001127602-20-001247", "cik": "861459",
        "company": "GRANITE CONSTRUCTION INC", "form_type": "3", "date_filed": "2020-01-06",
        "url": "https://www.sec.gov/Archives/edgar/data/861459/0001127602-20-001247.txt",
    }
    assert (got[-1]["accession_number"], got[-1]["date_filed"]) == ("0000899243-20-035291", "2020-12-28")
    tyson = next(r for r in got if r["accession_number"] == "0000100493-20-000092")
    assert tyson == {
        "accession_number": "0000100493-20-000092", "cik": "100493",
        "company": "TYSON FOODS, INC.", "form_type": "3", "date_filed": "2020-05-26",
        "url": "https://www.sec.gov/Archives/edgar/data/100493/0000100493-20-000092.txt",
    }
    amendment = next(r for r in got if r["form_type"] == "3/A")
    assert amendment == {
        "accession_number": "0001900002-20-000007", "cik": "1900002",
        "company": "EXAMPLE   BIOSCIENCES   HOLDINGS  INC", "form_type": "3/A",
        "date_filed": "2020-05-12",
        "url": "https://www.sec.gov/Archives/edgar/data/1900002/0001900002-20-000007.txt",
    }
    long_name = next(r for r in got if r["cik"] == "1900004")
    assert long_name["company"] == "THE NORTHERN AND SOUTHERN AMALGAMATED TRUST COMPANY OF DELAWAR"
    assert [r["date_filed"] for r in got] == sorted(r["date_filed"] for r in got)


def test_other_form_types(tmp_path: Path, all_rows: list[Row]) -> None:
    paths = write_quarters(tmp_path, all_rows)
    got = rows_of(build_manifest(paths, Filters(forms=("4",))).text)
    assert got == expected(all_rows, forms=("4",))
    # The corpus's two Form 4s (not its 4/A of 2025 nor its Form 5s) and the fictional one.
    assert [(r["accession_number"], r["cik"], r["company"], r["date_filed"]) for r in got] == [
        ("0001104659-06-067430", "1130258", "ACME PACKET INC", "2006-10-19"),
        ("0001012975-17-000759", "1326190", "Altimmune, Inc.", "2017-10-17"),
        ("0001900001-20-000002", "1900001", "DOE  JOHN   Q", "2020-02-03"),
    ]
    assert {r["form_type"] for r in got} == {"4"}

    # Exact match, case-insensitive: S-3, 13F-HR and SC 13G/A are not Form 3.
    staff = rows_of(build_manifest(paths, Filters(forms=("sec staff action", "sc 13g/a"))).text)
    assert [(r["form_type"], r["company"], r["date_filed"]) for r in staff] == [
        ("SC 13G/A", "WIDGET WORKS  CORP", "2020-02-14"),
        ("SEC STAFF ACTION", "WIDGET WORKS  CORP", "2020-07-01"),
    ]
    assert rows_of(build_manifest(paths, Filters(forms=("3/a",))).text) == expected(
        all_rows, forms=("3/A",)
    )


def test_date_range_is_inclusive(tmp_path: Path, all_rows: list[Row]) -> None:
    paths = write_quarters(tmp_path, all_rows)
    since, until = date(2020, 4, 6), date(2020, 6, 30)  # both are days with a Form 3
    got = rows_of(build_manifest(paths, Filters(since=since, until=until)).text)
    assert got == expected(all_rows, since=since, until=until)
    assert got[0]["date_filed"] == "2020-04-06" and got[-1]["date_filed"] == "2020-06-30"
    assert len(got) == 20  # 19 corpus Form 3s of Q2 from April 6 and the 3/A of May 12


def test_cik_list_ignores_leading_zeros(tmp_path: Path, all_rows: list[Row]) -> None:
    paths = write_quarters(tmp_path, all_rows)
    cik_file = tmp_path / "ciks.txt"
    cik_file.write_text("# issuers\n0000721371\n\n864749  # Trimble\n")
    ciks = read_cik_file(cik_file) | {int("0000100493"), int("0001239002")}
    assert ciks == {721371, 864749, 100493, 1239002}
    got = rows_of(build_manifest(paths, Filters(ciks=frozenset(ciks))).text)
    assert got == expected(all_rows, ciks=ciks)
    # Tyson's filing is listed under the issuer and its owner (BRONCZEK DAVID J, CIK 1239002):
    # both CIKs were asked for, one row per accession, under the lower CIK.
    assert [(r["accession_number"], r["cik"], r["company"], r["date_filed"]) for r in got] == [
        ("0000864749-20-000004", "864749", "TRIMBLE INC.", "2020-01-14"),
        ("0000100493-20-000092", "100493", "TYSON FOODS, INC.", "2020-05-26"),
        ("0000721371-20-000061", "721371", "CARDINAL HEALTH INC", "2020-07-08"),
    ]
    owner_only = rows_of(build_manifest(paths, Filters(ciks=frozenset({1239002}))).text)
    assert [(r["accession_number"], r["cik"], r["company"]) for r in owner_only] == [
        ("0000100493-20-000092", "1239002", "BRONCZEK DAVID J")
    ]
    bad = tmp_path / "bad-ciks.txt"
    bad.write_text("100493\nCIK0000320193\n")
    with pytest.raises(EdgarIndexError, match=r"bad-ciks.txt line 2: 'CIK0000320193' is not a CIK"):
        read_cik_file(bad)


def test_overlapping_quarters_give_each_filing_once(tmp_path: Path, all_rows: list[Row]) -> None:
    quarters = by_quarter(all_rows)
    q1, q2 = quarters[(2020, 1)], quarters[(2020, 2)]
    (tmp_path / "q1.idx").write_text(form_idx(q1), encoding="latin-1")
    (tmp_path / "q2.idx").write_text(form_idx(q2), encoding="latin-1")
    # A hand-made file holding the end of Q1 and the start of Q2.
    middle = [r for r in q1 + q2 if date(2020, 3, 1) <= r.filed <= date(2020, 4, 30)]
    (tmp_path / "middle.idx").write_text(form_idx(middle), encoding="latin-1")
    sources = [str(tmp_path / n) for n in ("q1.idx", "middle.idx", "q2.idx", "q1.idx")]
    result = build_manifest(sources)
    assert rows_of(result.text) == expected(q1 + q2)
    once = build_manifest([str(tmp_path / "q1.idx"), str(tmp_path / "q2.idx")])
    assert result.text == once.text
    assert result.rows_read == 2 * len(q1) + len(middle) + len(q2)
    assert result.rows_written == once.rows_written == len(expected(q1 + q2))


def test_gzip_is_recognised_by_content(tmp_path: Path, all_rows: list[Row]) -> None:
    plain = write_quarters(tmp_path / "plain", all_rows)
    gz = []
    for i, path in enumerate(plain):
        # EDGAR's form.gz, and a gzipped file whose name does not say so.
        target = tmp_path / "gz" / (f"{i}-form.gz" if i % 2 else f"{i}-form.idx")
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(gzip.compress(Path(path).read_bytes()))
        gz.append(str(target))
    assert build_manifest(gz).text == build_manifest(plain).text
    (tmp_path / "broken.gz").write_bytes(Path(gz[0]).read_bytes()[:-100])  # a cut download
    with pytest.raises(EdgarIndexError, match="broken.gz: corrupt gzip data"):
        build_manifest([str(tmp_path / "broken.gz")])


def test_master_idx_and_older_form_idx_layout_give_the_same_rows(
    tmp_path: Path, all_rows: list[Row]
) -> None:
    form_paths = write_quarters(tmp_path / "form", all_rows)
    master_paths = write_quarters(tmp_path / "master", all_rows, master_idx, "master.idx")
    form = build_manifest(form_paths).text
    master = build_manifest(master_paths)
    assert master.text == form
    assert master.rows_read == len(all_rows)
    # Layout from content: a master.idx under the name form.idx reads as master.idx.
    renamed = write_quarters(tmp_path / "renamed", all_rows, master_idx, "form.idx")
    assert build_manifest(renamed).text == form
    # The older layout (columns where the header labels are) and YYYYMMDD dates.
    older = write_quarters(
        tmp_path / "older", all_rows, lambda rows: form_idx(rows, 12, compact_dates=True)
    )
    first = Path(older[0]).read_text(encoding="latin-1").splitlines()
    assert first[8] == FORM_HEADER
    assert re.match(r"^4 {11}\S", first[10])  # Company Name at column 12, under its label
    assert build_manifest(older).text == form
    # Every row of every form type, SEC STAFF ACTION (wider than the old column) included.
    every_form = Filters(forms=tuple(sorted({r.form for r in all_rows})))
    everything = build_manifest(form_paths, every_form).text
    assert rows_of(everything) == expected(all_rows, forms=every_form.forms)
    assert len(rows_of(everything)) == len({r.accession for r in all_rows})
    assert build_manifest(older, every_form).text == everything
    assert build_manifest(master_paths, every_form).text == everything


def test_current_form_idx_layout_is_wider_than_its_header(tmp_path: Path, all_rows: list[Row]) -> None:
    """The rows read back exactly, although Company Name starts at 17, not at its label's 12."""
    (path,) = write_quarters(tmp_path, [r for r in all_rows if r.quarter == (2020, 2)])
    lines = Path(path).read_text(encoding="latin-1").splitlines()
    assert lines[:5] == [
        "Description:           Master Index of EDGAR Dissemination Feed by Form Type",
        "Last Data Received:    March 31, 2020",
        "Comments:              webmaster@sec.gov",
        "Anonymous FTP:         ftp://ftp.sec.gov/edgar/",
        " ",
    ]
    assert lines[5:8] == [" ", " ", " "]
    assert lines[8] == FORM_HEADER and lines[9] == "-" * 141
    assert lines[8].index("Company Name") == 12
    assert re.match(r"^3 {16}\S", lines[10])
    every_form = Filters(forms=("3", "3/A", "4", "5", "8-K", "S-3", "S-3/A"))
    got = rows_of(build_manifest([path], every_form).text)
    assert {r["company"] for r in got} >= {
        "EXAMPLE   BIOSCIENCES   HOLDINGS  INC", "WIDGET WORKS  CORP",
    }
    assert got == expected(
        [r for r in all_rows if r.quarter == (2020, 2)], forms=every_form.forms
    )


def test_local_mirror_prefix_gives_paths_that_form3_run_reads(
    tmp_path: Path, all_rows: list[Row], corpus: Path
) -> None:
    paths = write_quarters(tmp_path / "index", all_rows)
    mirror = tmp_path / "mirror"
    result = build_manifest(paths, prefix=str(mirror))
    assert result.column == "path"
    got = rows_of(result.text)
    assert list(got[0]) == ["accession_number", "cik", "company", "form_type", "date_filed", "path"]
    want = expected(all_rows, prefix=f"{mirror}/")
    assert [r["path"] for r in got] == [r["url"] for r in want]
    assert got[0]["path"] == f"{mirror}/edgar/data/{got[0]['cik']}/{got[0]['accession_number']}.txt"

    # Fill the mirror with the corpus files the manifest names, and read it as `form3 run` does.
    by_accession = {p.stem: p for p in (corpus / "filings").glob("*.txt")}
    for row in got:
        if row["accession_number"] in by_accession:
            target = Path(row["path"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(by_accession[row["accession_number"]])
    out = tmp_path / "manifest.csv"
    out.write_text(result.text)
    manifest = read_manifest(out)
    assert manifest.column == "path" and manifest.duplicates_dropped == 0
    assert [f.location for f in manifest.filings] == [r["path"] for r in got]
    parsed = [parse_file(f.location) for f in manifest.filings if Path(f.location).exists()]
    assert len(parsed) == 76
    assert [p.accession_number for p in parsed] == [
        r["accession_number"] for r in got if r["accession_number"] in by_accession
    ]

    # A URL prefix: the url column, read as URLs.
    (tmp_path / "urls.csv").write_text(build_manifest(paths).text)
    urls = read_manifest(tmp_path / "urls.csv")
    assert urls.column == "url"
    assert urls.filings[0].location.startswith(SEC + "edgar/data/")


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loopback requests must reach the test server, whatever proxy the machine sets."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    yield


def test_index_urls_are_fetched_politely_with_the_user_agent(
    all_rows: list[Row], no_proxy: None, tmp_path: Path
) -> None:
    quarters = by_quarter(all_rows)
    files = {
        f"/Archives/edgar/full-index/2020/QTR{q}/form.gz": gzip.compress(
            form_idx(quarters[(2020, q)]).encode("latin-1"))
        for q in (1, 2, 3, 4)
    }
    master_path = "/Archives/edgar/full-index/2020/QTR2/master.idx"
    files[master_path] = master_idx(quarters[(2020, 2)]).encode()
    with FilingServer() as server:
        for i, (path, body) in enumerate(files.items()):
            (tmp_path / f"index-{i}").write_bytes(body)
            server.serve(path, tmp_path / f"index-{i}")
        gz = [p for p in files if p.endswith("form.gz")]
        # The same fetcher as the filings': a 503 and a 429 (Retry-After) are retried.
        server.script(gz[1], ("status", 503, {}))
        server.script(gz[2], ("status", 429, {"Retry-After": "1"}))
        result = build_manifest([server.base + p for p in gz], user_agent=UA)
        assert [(r.path, r.answer) for r in server.seen()] == [
            (gz[0], "ok"), (gz[1], "503"), (gz[1], "ok"), (gz[2], "429"), (gz[2], "ok"),
            (gz[3], "ok"),
        ]
        assert all(r.user_agent == UA for r in server.seen())
        year = [r for r in all_rows if r.filed.year == 2020]
        assert rows_of(result.text) == expected(year)
        assert result.rows_read == len(year)

        master = build_manifest([server.base + master_path], user_agent=UA)
        assert rows_of(master.text) == expected(quarters[(2020, 2)])

        missing = server.base + "/Archives/edgar/full-index/2020/QTR5/form.idx"
        server.clear()
        with pytest.raises(EdgarIndexError, match=re.escape(f"{missing}: HTTP 404")):
            build_manifest([missing], user_agent=UA)
        assert len(server.seen()) == 1  # a 404 is not retried


def test_sec_gov_without_user_agent_is_refused_before_connecting() -> None:
    url = "https://www.sec.gov/Archives/edgar/full-index/2020/QTR1/form.idx"
    with pytest.raises(EdgarIndexError) as info:
        build_manifest([url], user_agent=None)
    message = str(info.value)
    assert message.startswith(f"{url}: sec.gov requires a User-Agent naming you")
    assert "--user-agent" in message and "FORM3_USER_AGENT" in message
    with pytest.raises(EdgarIndexError, match="sec.gov requires a User-Agent"):
        build_manifest(["https://SEC.GOV/Archives/edgar/full-index/2020/QTR1/master.gz"])


def test_bad_index_files_are_named(tmp_path: Path, all_rows: list[Row]) -> None:
    (path,) = write_quarters(tmp_path, [r for r in all_rows if r.quarter == (2020, 3)])
    good = Path(path).read_text(encoding="latin-1").splitlines(keepends=True)

    not_index = tmp_path / "notes.txt"
    not_index.write_text("just some text\n")
    with pytest.raises(EdgarIndexError, match="notes.txt is not an EDGAR form.idx or master.idx"):
        build_manifest([str(not_index)])

    bad_row = tmp_path / "bad-row.idx"
    bad_row.write_text("".join(good[:13] + ["3                TRUNCATED ROW\n"] + good[13:]))
    with pytest.raises(EdgarIndexError, match=r"bad-row.idx line 14: not a form.idx row"):
        build_manifest([str(bad_row)])

    bad_date = tmp_path / "bad-date.idx"
    bad_date.write_text("".join(good[:11]) + re.sub(r"2020-\d\d-\d\d", "2020-13-01", good[11]))
    with pytest.raises(EdgarIndexError, match=r"bad-date.idx line 12: bad date"):
        build_manifest([str(bad_date)])

    master = tmp_path / "bad-master.idx"
    master.write_text(master_idx(EXTRA[:2]) + "1900009|ONLY|THREE FIELDS\n")
    with pytest.raises(EdgarIndexError, match=r"bad-master.idx line 14: 3 '\|'-separated fields"):
        build_manifest([str(master)])

    with pytest.raises(EdgarIndexError, match=r"cannot read .*missing.idx: No such file"):
        build_manifest([str(tmp_path / "missing.idx")])


def test_form3_manifest_command(tmp_path: Path, all_rows: list[Row]) -> None:
    paths = write_quarters(tmp_path / "index", all_rows)
    q1, q2 = (p for p in paths if "/2020/QTR1/" in p or "/2020/QTR2/" in p)
    (tmp_path / "ciks.txt").write_text("0000864749\n")
    out = tmp_path / "out" / "manifest.csv"
    out.parent.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "FORM3_USER_AGENT"}

    def form3(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flows.cli", "manifest", *args],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
        )

    proc = form3(
        q1, q2, "-o", str(out), "--form", "3", "--form", "4", "--since", "2020-01-01",
        "--until", "2020-06-30", "--cik", "0000100493", "--cik", "1900001",
        "--cik-file", str(tmp_path / "ciks.txt"), "--prefix", "/data/edgar/",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    quarters = by_quarter(all_rows)
    half = quarters[(2020, 1)] + quarters[(2020, 2)]
    assert out.read_text() == (
        "accession_number,cik,company,form_type,date_filed,path\n"
        "0000864749-20-000004,864749,TRIMBLE INC.,3,2020-01-14,"
        "/data/edgar/edgar/data/864749/0000864749-20-000004.txt\n"
        "0001900001-20-000002,1900001,DOE  JOHN   Q,4,2020-02-03,"
        "/data/edgar/edgar/data/1900001/0001900001-20-000002.txt\n"
        "0000100493-20-000092,100493,\"TYSON FOODS, INC.\",3,2020-05-26,"
        "/data/edgar/edgar/data/100493/0000100493-20-000092.txt\n"
    )
    assert proc.stderr == (
        f"form3 manifest: read {len(half)} index rows from 2 file(s); 3 matched, "
        f"0 duplicate accessions dropped; 3 rows written to {out}\n"
    )

    to_stdout = form3(q2)
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert rows_of(to_stdout.stdout) == expected(quarters[(2020, 2)])

    for args, message in [
        ((str(tmp_path / "nope.idx"),), f"form3 manifest: cannot read {tmp_path / 'nope.idx'}: "
                                         "No such file or directory\n"),
        ((q1, "--since", "2020-02-30"), "form3 manifest: bad --since '2020-02-30': "
                                        "expected YYYY-MM-DD\n"),
        ((SEC + "edgar/full-index/2020/QTR1/form.idx",), None),
    ]:
        bad = form3(*args)
        assert bad.returncode == 2
        assert bad.stdout == ""
        assert len(bad.stderr.splitlines()) == 1
        if message:
            assert bad.stderr == message
        else:
            assert "sec.gov requires a User-Agent" in bad.stderr


OTHER_OWNERSHIP = [
    Row("4/A", "DOE  JOHN   Q", 1900001, date(2020, 2, 20), "0001900001-20-000009"),
    Row("5", "ROE  RICHARD", 1900003, date(2020, 2, 14), "0001900003-20-000001"),
    Row("5/A", "ROE  RICHARD", 1900003, date(2020, 3, 2), "0001900003-20-000002"),
]


def test_forms_setting_selects_forms_4_and_5(tmp_path: Path, all_rows: list[Row], monkeypatch, capsys) -> None:
    """`--forms` (and FORM3_FORMS) choose the form types; `ownership` is all six, 3 to 5/A;
    the default stays 3 and 3/A; `--form` (repeatable) is the older spelling and wins."""
    from flows.cli import main

    rows = all_rows + OTHER_OWNERSHIP
    paths = write_quarters(tmp_path, rows)
    monkeypatch.delenv("FORM3_FORMS", raising=False)

    def manifest(*args: str) -> list[dict[str, str]]:
        assert main(["manifest", *paths, *args]) == 0
        return rows_of(capsys.readouterr().out)

    every = ("3", "3/A", "4", "4/A", "5", "5/A")
    assert manifest() == expected(rows)
    assert manifest("--forms", "ownership") == expected(rows, forms=every)
    got = manifest("--forms", "4/a, 5 ,5/A")
    assert got == expected(rows, forms=("4/A", "5", "5/A"))
    assert {r["form_type"] for r in got} == {"4/A", "5", "5/A"}
    assert {r.accession for r in OTHER_OWNERSHIP} <= {r["accession_number"] for r in got}
    assert manifest("--forms", "5", "--form", "4") == expected(rows, forms=("4",))
    monkeypatch.setenv("FORM3_FORMS", "all")
    assert manifest() == expected(rows, forms=every)
    assert len({r["form_type"] for r in manifest()}) == 6

    monkeypatch.setenv("FORM3_FORMS", " , ")
    assert main(["manifest", *paths]) == 2
    assert capsys.readouterr().err == "form3 manifest: FORM3_FORMS= , : Value error, --forms ' , ' names no form type\n"
