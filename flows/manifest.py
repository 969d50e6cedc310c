"""Reading and validating a manifest: a CSV with one filing per row (a path or a URL)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tasks.edgar_names import is_url
from tasks.fetch import SEC_MAX_RPS, is_sec_host, sec_user_agent_problem

# Columns that may name the filing in a manifest, in order of preference.
FILING_COLUMNS = ("path", "url", "filing", "file", "location", "filename")
# Columns that may give its form type (``form3 manifest`` and data/make_sample.py write
# ``form_type``): what failures.csv says of a filing that failed before its form was read.
FORM_COLUMNS = ("form_type", "form", "document_type")
# Columns that may give its filing date (EDGAR's indexes, ``form3 manifest``, ``form3 update``
# and data/make_sample.py write ``date_filed``): the quarter a filing is published under in the
# quarterly layout of ``results/`` (flows/outputs.py).
DATE_COLUMNS = ("date_filed", "filing_date", "filed")


class ManifestError(ValueError):
    """The manifest as a whole is unusable (not one filing of it): stop before any work."""


@dataclass(slots=True, frozen=True)
class FilingRef:
    """One manifest row: ``source`` as the user wrote it, ``location`` resolved for reading."""

    row: int
    source: str
    location: str
    form: str | None = None  # the manifest's form type column, if it has one
    filed: str | None = None  # the manifest's filing date column, as written, if it has one


@dataclass(slots=True, frozen=True)
class Manifest:
    path: Path
    column: str
    filings: list[FilingRef]
    duplicates_dropped: int


# Rows ``check_manifest`` reads where a run starts: enough to catch a wrong column or URL
# settings the SEC would refuse, without the login node reading a million rows.
CHECK_ROWS = 1000


def read_manifest(path: Path, column: str | None = None) -> Manifest:
    """The manifest's filings, in row order, each once (the planner's read)."""
    return _read(path, column, None)


def check_manifest(path: Path, column: str | None, user_agent: str | None, max_rps: float) -> None:
    """The manifest's header and first ``CHECK_ROWS`` rows, checked as the planner will check
    them all (``read_manifest``, ``check_url_sources``): a mistake in the command line fails
    at once, before a cluster starts, whatever the manifest's size."""
    check_url_sources(_read(path, column, CHECK_ROWS), user_agent, max_rps)


def _read(path: Path, column: str | None, nrows: int | None) -> Manifest:
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    try:
        # The header first, then only the filing column: a million-row manifest with a dozen
        # columns would otherwise cost hundreds of MB for values never used.
        columns = pd.read_csv(path, dtype=str, nrows=0).columns
        if column is None:
            column = next((c for c in FILING_COLUMNS if c in columns), None)
            if column is None:
                raise ManifestError(
                    f"manifest {path} has no filing column: expected one of "
                    f"{', '.join(FILING_COLUMNS)}; found {', '.join(map(str, columns)) or 'none'}"
                )
        elif column not in columns:
            raise ManifestError(f"manifest {path} has no column {column!r}")
        form_column = next((c for c in FORM_COLUMNS if c in columns and c != column), None)
        date_column = next((c for c in DATE_COLUMNS if c in columns and c != column), None)
        usecols = [column] + [c for c in (form_column, date_column) if c]
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=usecols, nrows=nrows)
    except pd.errors.EmptyDataError:
        raise ManifestError(f"manifest {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ManifestError(f"manifest {path} is not a readable CSV: {exc}") from None
    sources = frame[column].str.strip()
    sources = sources[sources != ""]
    if sources.empty and (nrows is None or len(frame) < nrows):
        raise ManifestError(f"manifest {path} lists no filings")
    unique = sources.drop_duplicates()
    base = path.parent
    real_dirs: dict[str, str] = {}
    # Plain lists, indexed by the frame's row: a pandas lookup per row cost ~11 s a column at
    # 1,000,000 rows, more than reading the file.
    nothing = [None] * len(frame)
    forms = frame[form_column].str.strip().tolist() if form_column else nothing
    dates = frame[date_column].str.strip().tolist() if date_column else nothing
    filings = [
        FilingRef(row=i + 2, source=s, location=_resolve(base, s, real_dirs),  # +2: header, 1-based
                  form=forms[i] or None, filed=dates[i] or None)
        for i, s in zip(unique.index.tolist(), unique.tolist(), strict=True)
    ]
    return Manifest(path, column, filings, duplicates_dropped=len(sources) - len(unique))


def check_url_sources(manifest: Manifest, user_agent: str | None, max_rps: float) -> None:
    """Refuse, before any work, a run that would fetch impolitely: from sec.gov without a
    User-Agent naming someone to contact (the SEC requires one and blocks clients without),
    or faster than the SEC allows."""
    urls = [f for f in manifest.filings if is_url(f.location)]
    if not urls:
        return
    if not max_rps > 0:
        raise ManifestError(f"--max-requests-per-second must be more than 0, not {max_rps}")
    sec = next((f for f in urls if is_sec_host(f.location)), None)
    if sec is None:
        return
    where = f"manifest {manifest.path} row {sec.row} ({sec.source})"
    problem = sec_user_agent_problem(sec.location, user_agent)
    if problem:
        raise ManifestError(f"{where}: {problem}")
    if max_rps > SEC_MAX_RPS:
        raise ManifestError(
            f"{where} is on sec.gov, which allows at most {SEC_MAX_RPS:g} requests/s; "
            f"--max-requests-per-second is {max_rps:g}"
        )


def _resolve(base: Path, source: str, real_dirs: dict[str, str]) -> str:
    """An absolute ``source`` as written; a relative one made absolute and symlink-free from
    ``base``, exactly as ``Path.resolve`` gives it, for one ``lstat``: each directory is resolved
    once (``real_dirs``), the file's own name only when it is a link (resolving a million rows
    one by one took minutes)."""
    if is_url(source):
        return source
    plain = "//" not in source and "/." not in source and not source.endswith("/")
    if plain and source.startswith("/"):
        return source  # an absolute path as Path would write it (parsing it cost ~11 µs a row)
    if plain and not source.startswith((".", "~")):
        # The common row, "dir/name.txt": already in the form Path would normalise it to.
        path = f"{base}/{source}"
    else:
        p = Path(source).expanduser()
        if p.is_absolute():
            return str(p)
        path = os.path.join(base, p)
    directory, name = os.path.split(path)
    if name in ("", ".", "..") or os.path.islink(path):
        return str(Path(path).resolve())
    real = real_dirs.get(directory)
    if real is None:
        real = real_dirs[directory] = str(Path(directory).resolve())
    return os.path.join(real, name)
