"""EDGAR's quarterly index files (``form.idx``, ``master.idx``) to a ``form3 run`` manifest.

EDGAR lists every filing of a quarter in ``edgar/full-index/YYYY/QTRn/`` in two layouts that
hold the same rows: ``form.idx`` (fixed-width columns, sorted by form type) and ``master.idx``
(``|``-separated, sorted by CIK). Both start with a free-text preamble (Description, Last Data
Received, Comments, Anonymous FTP, sometimes Cloud HTTP, blank lines), then a column-header line
and a line of dashes. The layout is told from that header line, never from the file's name, so a
renamed or re-compressed copy reads the same.

No Prefect here: building a manifest is a plain function of a few index files, run before a flow
and testable without a server.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tasks.errors import FilingError
from tasks.edgar_names import accession_from_name, is_url
from tasks.fetch import Fetcher, FetchSettings, sec_user_agent_problem

DEFAULT_FORMS = ("3", "3/A")
# Every insider ownership form: what `form3 update` selects from the daily indexes.
OWNERSHIP_FORMS = ("3", "3/A", "4", "4/A", "5", "5/A")
# Names `--forms` accepts for a group of form types, beside the types themselves.
FORM_GROUPS = {"ownership": OWNERSHIP_FORMS, "all": OWNERSHIP_FORMS}
DEFAULT_PREFIX = "https://www.sec.gov/Archives/"
FETCH_TIMEOUT = 60.0  # seconds per connect and per read
INDEX_MAX_BYTES = 2 * 1024**3  # a quarterly form.idx is tens of MB; a cap against mistakes
URL_COLUMNS = ("accession_number", "cik", "company", "form_type", "date_filed", "url")

# Canonical column names, from the header labels both layouts use.
_LABELS = {
    "form type": "form_type",
    "company name": "company",
    "cik": "cik",
    "date filed": "date_filed",
    "file name": "file_name",
    "filename": "file_name",
}
_NEEDED = frozenset(_LABELS.values())
# The dashes under the header: the one marker every index file has, in both layouts.
_DASHES = re.compile(r"^-{10,}\s*$")
# The last three fixed-width columns never contain spaces, so a row is read from its right end:
# CIK, date filed (YYYY-MM-DD, or YYYYMMDD in some older indexes) and file name.
_FIXED_TAIL = re.compile(r"(\d{1,10})\s+(\d{4}-\d{2}-\d{2}|\d{8})\s+(\S+)\s*$")
_DATE = re.compile(r"(\d{4})(-?)(\d{2})\2(\d{2})")  # YYYY-MM-DD or YYYYMMDD, not a mix
_GZIP_MAGIC = b"\x1f\x8b"
# A preamble line ("Last Data Received:    Jan 02, 2024"), never part of the column header.
_PREAMBLE = re.compile(r"^\s*[A-Za-z][A-Za-z ]*:\s")
_WRAP_SLACK = 3  # columns a wrapped label's second word may sit off its first word's start


class EdgarIndexError(ValueError):
    """An index source is unusable (unreadable, not an EDGAR index, a malformed row)."""


class IndexMissingError(EdgarIndexError):
    """The index is not there: no such file, or the server answers 403/404/410. For EDGAR's
    daily indexes that is a normal day (weekend, holiday, today's not yet published)."""


@dataclass(slots=True, frozen=True)
class IndexEntry:
    """One row of an EDGAR index: one filing as listed under one filer's CIK."""

    form_type: str
    company: str
    cik: int
    date_filed: date
    file_name: str  # e.g. edgar/data/1000045/0001000045-24-000001.txt, relative to Archives/

    @property
    def accession_number(self) -> str:
        """``0001000045-24-000001`` from the file name (its base name if it has no accession)."""
        return (accession_from_name(self.file_name)
                or self.file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0])


@dataclass(slots=True, frozen=True)
class Filters:
    """Which index rows go into the manifest; an empty ``ciks`` means every CIK."""

    forms: tuple[str, ...] = DEFAULT_FORMS
    since: date | None = None
    until: date | None = None
    ciks: frozenset[int] = frozenset()
    _forms: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise EdgarIndexError(f"--since {self.since} is after --until {self.until}")
        object.__setattr__(self, "_forms", frozenset(f.strip().upper() for f in self.forms))

    def __call__(self, entry: IndexEntry) -> bool:
        return (
            entry.form_type.upper() in self._forms
            and (self.since is None or entry.date_filed >= self.since)
            and (self.until is None or entry.date_filed <= self.until)
            and (not self.ciks or entry.cik in self.ciks)
        )


@dataclass(slots=True)
class ManifestResult:
    """The manifest's CSV text and the counts ``form3 manifest`` reports."""

    text: str
    column: str  # "url" or "path": what the last column holds
    rows_read: int
    rows_matched: int
    duplicates_dropped: int
    rows_written: int


def parse_forms(text: str) -> tuple[str, ...]:
    """``--forms``: comma-separated form types (``3,3/A,4``) or group names (``ownership``),
    upper-cased, each once, in the order given."""
    forms: dict[str, None] = {}
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        for form in FORM_GROUPS.get(name.lower(), (name,)):
            forms[form.upper()] = None
    if not forms:
        raise EdgarIndexError(f"--forms {text!r} names no form type")
    return tuple(forms)


def parse_date(text: str, what: str = "date") -> date:
    """``YYYY-MM-DD`` or ``YYYYMMDD`` (EDGAR uses both) to a date; anything else is an error."""
    match = _DATE.fullmatch(text.strip())
    if match:
        try:
            return date(int(match[1]), int(match[3]), int(match[4]))
        except ValueError:
            pass
    raise EdgarIndexError(f"bad {what} {text!r}: expected YYYY-MM-DD")


def read_cik_file(path: Path) -> frozenset[int]:
    """CIKs one per line (blank lines and ``#`` comments ignored), as integers: zeros don't matter."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise EdgarIndexError(f"cannot read CIK file {path}: {exc.strerror or exc}") from None
    ciks: set[int] = set()
    for number, line in enumerate(lines, 1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        if not value.isdigit():
            raise EdgarIndexError(f"{path} line {number}: {value!r} is not a CIK (digits only)")
        ciks.add(int(value))
    return frozenset(ciks)


def load_index(
    source: str, user_agent: str | None = None, timeout: float = FETCH_TIMEOUT,
    throttle: Callable[[], None] | None = None,
) -> bytes:
    """The bytes of an index file, a local path or an http(s) URL, gunzipped when compressed.

    Compression is recognised by gzip's magic bytes rather than a ``.gz`` suffix: EDGAR serves
    ``form.gz``/``master.gz``, and a server may also gzip the transfer itself. ``throttle`` is
    called before each HTTP request (the run's shared rate limit, ``tasks.rate_limit``). A file
    that is not there (no such path; HTTP 403, 404, 410) is :class:`IndexMissingError`.
    """
    if "://" in source:
        raw = _fetch(source, user_agent, timeout, throttle)
    else:
        try:
            raw = Path(source).expanduser().read_bytes()
        except FileNotFoundError as exc:
            raise IndexMissingError(f"cannot read {source}: {exc.strerror}") from None
        except OSError as exc:
            raise EdgarIndexError(f"cannot read {source}: {exc.strerror or exc}") from None
    for _ in range(2):  # a .gz file sent with Content-Encoding: gzip is compressed twice
        if not raw.startswith(_GZIP_MAGIC):
            break
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise EdgarIndexError(f"{source}: corrupt gzip data ({exc})") from None
    return raw


# What EDGAR answers for an index it does not have (yet): 403 for a daily index not yet
# published, 404 or 410 for none at all. A 403 for any other reason also ends the fetch.
_MISSING_STATUS = frozenset({403, 404, 410})


def _fetch(
    url: str, user_agent: str | None, timeout: float, throttle: Callable[[], None] | None,
) -> bytes:
    """GET one index file with the filings' fetcher: the same User-Agent rule, retries with
    backoff on 429/5xx/timeouts honouring Retry-After, and no retry on 404."""
    problem = sec_user_agent_problem(url, user_agent)
    if problem:
        raise EdgarIndexError(f"{url}: {problem}")
    settings = FetchSettings(user_agent=user_agent, timeout=timeout, max_bytes=INDEX_MAX_BYTES)
    fetcher = Fetcher(settings) if throttle is None else Fetcher(settings, throttle)
    with tempfile.TemporaryDirectory(prefix="form3-index-") as tmp:
        try:
            return fetcher.read(url, Path(tmp) / "index")
        except (FilingError, OSError) as exc:
            # FilingError: 404 and other refusals, unsupported scheme, too large;
            # OSError (FetchError): a 401/403 refusal, or still failing after the retries.
            message = exc.message if isinstance(exc, FilingError) else str(exc)
            if getattr(exc, "status", None) in _MISSING_STATUS:
                raise IndexMissingError(f"{url}: {message}") from None
            raise EdgarIndexError(message if isinstance(exc, OSError) else f"{url}: {message}") from None


def decode(raw: bytes) -> str:
    """Index files are ASCII with the odd Latin-1 name; UTF-8 mirrors decode as UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # never fails: every byte is a character


def parse_index(text: str, source: str = "<index>") -> Iterator[IndexEntry]:
    """Every row of a ``form.idx`` or ``master.idx`` text, in file order.

    The layout comes from the column-header line (the line above the first line of dashes): a
    header with ``|`` is ``master.idx``, anything else is fixed-width like ``form.idx``.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _DASHES.match(line)), None)
    header = _header_block(lines, start) if start is not None else []
    if not header:
        raise EdgarIndexError(
            f"{source} is not an EDGAR form.idx or master.idx: no column header above a line of "
            f"dashes"
        )
    rows = lines[start + 1 :]
    first = start + 2  # 1-based line number of rows[0]
    if "|" in header[-1]:
        return _parse_pipe(header[-1], rows, first, source)
    return _parse_fixed(header, rows, first, source)


def _header_block(lines: list[str], dashes: int) -> list[str]:
    """The column header: the non-blank lines right above the dashes, top first. Usually one
    line; some daily indexes wrap it over two (``Date`` above ``Filed``). Preamble lines
    (``Comments: ...``) above it without a blank line between are not part of it."""
    block: list[str] = []
    for i in range(dashes - 1, -1, -1):
        if not lines[i].strip():
            if block:
                break
            continue
        if _PREAMBLE.match(lines[i]):
            break
        block.insert(0, lines[i])
    return block


def _label_start(header: list[str], label: str) -> int | None:
    """Where ``label`` starts in the header: on one line, or wrapped with each word right below
    the previous one (within a couple of columns). None if it is not there."""
    words = label.split()
    for number, line in enumerate(header):
        lowered = line.lower()
        at = re.search(rf"(?<![a-z]){re.escape(label)}(?![a-z])", lowered)
        if at:
            return at.start()
        if len(words) < 2 or number + 1 >= len(header):
            continue
        below = header[number + 1].lower()
        for first in re.finditer(rf"(?<![a-z]){re.escape(words[0])}(?![a-z])", lowered):
            rest = re.search(rf"(?<![a-z]){re.escape(' '.join(words[1:]))}(?![a-z])", below)
            if rest and abs(rest.start() - first.start()) <= _WRAP_SLACK:
                return first.start()
    return None


def _columns_missing(found: Iterable[str], header: str, source: str) -> EdgarIndexError:
    missing = sorted(_NEEDED - set(found))
    return EdgarIndexError(
        f"{source}: column header {header.strip()!r} lacks {', '.join(missing)}; expected EDGAR's "
        f"Form Type, Company Name, CIK, Date Filed, File Name"
    )


def _parse_pipe(header: str, rows: list[str], first: int, source: str) -> Iterator[IndexEntry]:
    names = [_LABELS.get(label.strip().lower(), "") for label in header.split("|")]
    if not _NEEDED <= set(names):
        raise _columns_missing(names, header, source)
    where = {name: i for i, name in enumerate(names) if name}
    width = len(names)
    for number, line in enumerate(rows, first):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != width:
            raise EdgarIndexError(
                f"{source} line {number}: {len(fields)} '|'-separated fields, expected {width}: "
                f"{line.strip()[:120]!r}"
            )
        yield _entry(
            fields[where["form_type"]], fields[where["company"]], fields[where["cik"]],
            fields[where["date_filed"]], fields[where["file_name"]], source, number, line,
        )


def _parse_fixed(header: list[str], rows: list[str], first: int, source: str) -> Iterator[IndexEntry]:
    """Fixed-width rows, split where the header's labels sit.

    CIK, Date Filed and File Name never contain spaces, so they are read from the right end of
    each row; what is left holds Form Type and Company Name, split at the Company Name label's
    position. Company names keep their internal runs of spaces, since only that boundary splits
    them. Recent EDGAR indexes pad Form Type to 17 characters while the header still puts
    Company Name at 12 (older ones, e.g. 1995 and 2016, match the header): the boundary then
    falls in the padding, or inside a form type longer than 12 (``SEC STAFF ACTION``), and a
    boundary inside a word moves to that word's end.
    """
    starts: dict[str, int] = {}
    for label, name in _LABELS.items():
        at = _label_start(header, label) if name not in starts else None
        if at is not None:
            starts[name] = at
    text = " / ".join(line.strip() for line in header)
    if not _NEEDED <= set(starts):
        raise _columns_missing(starts, text, source)
    # Only these two are split by position (the rest is read from each row's right end), so
    # only they need to sit left of CIK: a wrapped header may put Date Filed anywhere.
    left = sorted(("company", "form_type"), key=starts.__getitem__)
    if starts[left[1]] >= starts["cik"]:
        raise EdgarIndexError(
            f"{source}: column header {text!r} does not have Form Type and Company Name "
            f"left of CIK"
        )
    split_at = starts[left[1]]

    for number, line in enumerate(rows, first):
        match = _FIXED_TAIL.search(line)
        if match is None:
            if not line.strip():
                continue
            raise EdgarIndexError(
                f"{source} line {number}: not a form.idx row (form type, company, CIK, date, file "
                f"name): {line.strip()[:120]!r}"
            )
        head = line[: match.start(1)]
        cut = split_at
        while 0 < cut < len(head) and not head[cut - 1].isspace() and not head[cut].isspace():
            cut += 1
        values = {left[0]: head[:cut], left[1]: head[cut:]}
        yield _entry(
            values["form_type"], values["company"], match.group(1), match.group(2),
            match.group(3), source, number, line,
        )


def _entry(
    form: str, company: str, cik: str, filed: str, file_name: str, source: str, number: int,
    line: str,
) -> IndexEntry:
    form, cik, file_name = form.strip(), cik.strip(), file_name.strip()
    try:
        if not form or not file_name or not cik.isdigit():
            raise EdgarIndexError("empty form type or file name, or a CIK that is not a number")
        return IndexEntry(form, company.strip(), int(cik), parse_date(filed), file_name)
    except EdgarIndexError as exc:
        raise EdgarIndexError(f"{source} line {number}: {exc}: {line.strip()[:120]!r}") from None


def filing_location(prefix: str, file_name: str) -> str:
    """``prefix`` joined to the index's file name with exactly one ``/``."""
    return prefix.rstrip("/") + "/" + file_name.lstrip("/")


def unique_filings(entries: Iterable[IndexEntry]) -> list[IndexEntry]:
    """One entry per accession number, sorted by date filed then accession number.

    EDGAR lists a filing once under each filer (a Form 3 under the issuer and under every
    reporting owner), and overlapping or repeated index files list it again: the entry with the
    lowest CIK is kept, so the result does not depend on the order or the layout of the files.
    """
    kept = sorted(entries, key=lambda e: (e.date_filed, e.accession_number, e.cik, e.form_type,
                                          e.file_name))
    unique: dict[str, IndexEntry] = {}
    for entry in kept:
        unique.setdefault(entry.accession_number, entry)
    return list(unique.values())


def manifest_column(prefix: str) -> tuple[str, str]:
    """The manifest's last column and what goes before each file name: ``url`` and the prefix
    for a URL, ``path`` and the absolute directory for a local mirror."""
    if is_url(prefix):
        return "url", prefix
    return "path", os.path.abspath(os.path.expanduser(prefix))


def manifest_csv(entries: Iterable[IndexEntry], prefix: str, header: bool = True) -> str:
    """Manifest CSV rows for ``entries`` (in their order), with the header line if asked."""
    column, base = manifest_column(prefix)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(URL_COLUMNS[:-1] + (column,))
    for entry in entries:
        writer.writerow(
            (
                entry.accession_number, entry.cik, entry.company, entry.form_type,
                entry.date_filed.isoformat(), filing_location(base, entry.file_name),
            )
        )
    return out.getvalue()


def build_manifest(
    sources: Iterable[str],
    filters: Filters = Filters(),
    prefix: str = DEFAULT_PREFIX,
    user_agent: str | None = None,
    timeout: float = FETCH_TIMEOUT,
) -> ManifestResult:
    """Read every index, keep the rows ``filters`` accepts, and render the manifest CSV.

    Rows are sorted by date filed then accession number, one per accession number
    (:func:`unique_filings`). The last column is ``url`` for a URL prefix and ``path`` for a
    local mirror (made absolute), the first columns ``form3 run`` looks for.
    """
    rows_read = 0
    kept: list[IndexEntry] = []
    for source in sources:
        for entry in parse_index(decode(load_index(source, user_agent, timeout)), source):
            rows_read += 1
            if filters(entry):
                kept.append(entry)
    unique = unique_filings(kept)
    return ManifestResult(
        text=manifest_csv(unique, prefix),
        column=manifest_column(prefix)[0],
        rows_read=rows_read,
        rows_matched=len(kept),
        duplicates_dropped=len(kept) - len(unique),
        rows_written=len(unique),
    )
