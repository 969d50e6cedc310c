"""EDGAR's daily form indexes and what ``form3 update`` remembers between runs.

The index texts follow the daily ``form.YYYYMMDD.idx`` files EDGAR serves: the preamble, the
column header (on one line, or wrapped over two), a Form Type column padded wider than its
header, ``Date Filed`` as ``YYYYMMDD``, CRLF line ends. The ownership rows are real Form 3
filings of the corpus (accession, issuer CIK and name), listed once under the issuer and
once under an owner CIK, as EDGAR does, among rows of other form types.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tasks.daily_index import daily_index_location, read_daily_index, weekdays
from tasks.edgar_index import EdgarIndexError, parse_index
from tasks.update_state import MANIFEST_NAME, UpdateState, UpdateStateError, append_manifest
from tests.filing_server import FilingServer

pytestmark = pytest.mark.fast

UA = "form3-pipeline tests tests@example.org"
PREAMBLE = (
    "Description:           Daily Index of EDGAR Dissemination Feed by Form Type\n"
    "Last Data Received:    Jul 01, 2024\n"
    "Comments:              webmaster@sec.gov\n"
    "Anonymous FTP:         ftp://ftp.sec.gov/edgar/\n"
    " \n \n \n \n"
)
HEADER = ("Form Type   Company Name                                                  CIK         "
          "Date Filed  File Name\n")
# The same labels wrapped: "Date" above "Filed", "File" above "Name".
WRAPPED = ("Form Type   Company Name                                                  CIK         "
           "Date        File\n"
           "                                                                                      "
           "Filed       Name\n")
DASHES = "-" * 141 + "\n"
# (form type, company, cik, accession): two real Form 3s of the corpus, one of them also under
# its reporting owner's CIK; other forms that must be ignored (and a 4 and a 5/A that are kept).
ROWS = [
    ("3", "TYSON FOODS, INC.", 100493, "0000100493-20-000092"),
    ("3", "CARDINAL HEALTH INC", 721371, "0000721371-20-000061"),
    ("3", "Doe Jane", 1812345, "0000721371-20-000061"),
    ("4", "EXAMPLE CORP", 1900001, "0001900001-24-000007"),
    ("5/A", "EXAMPLE CORP", 1900001, "0001900001-24-000008"),
    ("10-K", "EXAMPLE CORP", 1900001, "0001900001-24-000009"),
    ("SC 13G/A", "EXAMPLE FUND LP", 1900002, "0001900002-24-000001"),
    ("SEC STAFF ACTION", "EXAMPLE CORP", 1900001, "0001900001-24-000010"),
    ("424B2", "EXAMPLE BANK", 1900003, "0001900003-24-000111"),
]
DAY = date(2024, 7, 1)


def daily_text(header: str = HEADER, form_width: int = 17, crlf: bool = True,
               rows: list[tuple[str, str, int, str]] = ROWS, day: date = DAY) -> str:
    """A daily form.idx: Form Type padded to ``form_width`` (EDGAR's current 17, or the 12 its
    header implies), Company Name to 62, CIK to 12, YYYYMMDD dates."""
    lines = [  # a form type longer than its column still ends with a space
        f"{form if len(form) < form_width else form + ' ':<{form_width}}{company:<62}{cik:<12}{day:%Y%m%d}    edgar/data/{cik}/{acc}.txt  "
        for form, company, cik, acc in rows
    ]
    text = PREAMBLE + header + DASHES + "\n".join(lines) + "\n"
    return text.replace("\n", "\r\n") if crlf else text


KEPT = [("0000100493-20-000092", 100493, "3"), ("0000721371-20-000061", 721371, "3"),
        ("0001900001-24-000007", 1900001, "4"), ("0001900001-24-000008", 1900001, "5/A")]


def write_day(archive: Path, text: str, day: date = DAY) -> Path:
    path = Path(daily_index_location(str(archive), day))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("latin-1"))
    return path


@pytest.mark.parametrize("header, width, crlf", [
    (HEADER, 17, True),   # current EDGAR: Form Type wider than its header, CRLF
    (HEADER, 12, False),  # older files: the widths the header implies, LF
    (WRAPPED, 17, True),  # the header wrapped over two lines
    (WRAPPED, 20, False),  # and a Form Type column wider still
])
def test_daily_index_variants_give_the_same_ownership_filings(
    tmp_path: Path, header: str, width: int, crlf: bool,
) -> None:
    write_day(tmp_path, daily_text(header, width, crlf))
    index = read_daily_index(str(tmp_path), DAY)
    assert index is not None
    assert [(e.accession_number, e.cik, e.form_type) for e in index.filings] == KEPT
    assert {e.date_filed for e in index.filings} == {DAY}
    assert index.filings[0].company == "TYSON FOODS, INC."
    # Every row is read, including the form types wider than the header's Form Type.
    rows = list(parse_index(daily_text(header, width, crlf), "x"))
    assert [r.form_type for r in rows] == [r[0] for r in ROWS]
    assert rows[7].company == "EXAMPLE CORP"


def test_daily_index_location_and_weekdays() -> None:
    assert daily_index_location("https://www.sec.gov/Archives/", date(2024, 11, 29)) == (
        "https://www.sec.gov/Archives/edgar/daily-index/2024/QTR4/form.20241129.idx")
    # Friday 2024-07-05 to Tuesday 2024-07-09: the weekend is never asked for.
    assert list(weekdays(date(2024, 7, 5), date(2024, 7, 9))) == [
        date(2024, 7, 5), date(2024, 7, 8), date(2024, 7, 9)]


def test_days_without_an_index_are_none_locally_and_over_http(tmp_path: Path) -> None:
    assert read_daily_index(str(tmp_path), DAY) is None  # a local mirror without the file
    index_file = write_day(tmp_path / "www", daily_text())
    with FilingServer() as server:
        path = "/Archives/edgar/daily-index/2024/QTR3/form.20240701.idx"
        server.serve(path, index_file)
        archive = server.base + "/Archives/"
        assert read_daily_index(archive, date(2024, 7, 4), UA) is None  # holiday: 404
        server.always(path, 403)  # today's, not yet published
        assert read_daily_index(archive, DAY, UA) is None
        server.always(path, None)
        assert len(read_daily_index(archive, DAY, UA).filings) == 4
        assert {r.user_agent for r in server.seen()} == {UA}
        assert [r.answer for r in server.seen(path)] == ["403", "ok"]


def test_a_malformed_daily_index_is_an_error_naming_it(tmp_path: Path) -> None:
    write_day(tmp_path, daily_text() + "3                TRUNCATED\r\n")
    with pytest.raises(EdgarIndexError, match=r"form.20240701.idx line \d+: not a form.idx row"):
        read_daily_index(str(tmp_path), DAY)


def test_state_reads_recent_days_again_and_adds_only_new_filings(tmp_path: Path) -> None:
    archive = str(tmp_path / "mirror")
    results = tmp_path / "results"
    early = ROWS[:1] + ROWS[3:]  # the index before a late filing (Cardinal's Form 3) came in
    write_day(Path(archive), daily_text(rows=early))
    state = UpdateState()
    days = list(weekdays(date(2024, 7, 1), date(2024, 7, 3)))
    assert state.days_to_read(days, date(2024, 7, 3), 1) == days
    known = state.known_accessions()
    new = [e for d in days for e in state.record(d, read_daily_index(archive, d), known)]
    assert [e.accession_number for e in new] == [KEPT[0][0], KEPT[2][0], KEPT[3][0]]
    append_manifest(results, state, new, archive)
    state.save(results)

    # Next day: 07-01 is outside the one-day window, 07-02 and 07-03 are read again.
    state = UpdateState.load(results)
    assert state.days["2024-07-02"].status == "absent"
    assert state.days_to_read(days + [date(2024, 7, 5)], date(2024, 7, 3), 1) == days[1:] + [
        date(2024, 7, 5)]
    # With a window reaching 07-01, its index gained the late filing: only that one is new.
    write_day(Path(archive), daily_text())
    known = state.known_accessions()
    new = state.record(DAY, read_daily_index(archive, DAY), known)
    assert [e.accession_number for e in new] == [KEPT[1][0]]
    assert state.record(DAY, read_daily_index(archive, DAY), known) == []  # twice: nothing
    # An update killed after appending, before saving its state: the next one cuts those rows.
    (results / MANIFEST_NAME).open("a").write("0000000000-00-000000,1,TORN,3,2024-07-01,x\n")
    append_manifest(results, state, new, archive)
    state.save(results)
    lines = (results / MANIFEST_NAME).read_text().splitlines()
    assert lines[0] == "accession_number,cik,company,form_type,date_filed,path"
    assert [line.split(",")[0] for line in lines[1:]] == [
        KEPT[0][0], KEPT[2][0], KEPT[3][0], KEPT[1][0]]
    assert lines[1].endswith("/mirror/edgar/data/100493/0000100493-20-000092.txt")
    assert UpdateState.load(results).manifest_rows == 4
    state.forget_old_accessions(date(2024, 7, 9), 3)
    assert state.days["2024-07-01"].accessions is None and state.days["2024-07-01"].filings == 4
    # A larger window later does not read a forgotten day again (its filings would look new).
    assert state.days_to_read(days, date(2024, 7, 9), 10) == days[1:]  # the absent ones


def test_a_lost_manifest_is_refused(tmp_path: Path) -> None:
    state = UpdateState(manifest_bytes=500)
    with pytest.raises(UpdateStateError, match="the update state says 500"):
        append_manifest(tmp_path, state, [], "https://www.sec.gov/Archives/")
