"""Reading and validating a manifest: a CSV with one filing per row (a path, later a URL)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from flows.settings import FILING_COLUMNS


class ManifestError(ValueError):
    """The manifest as a whole is unusable (not one filing of it): stop before any work."""


@dataclass(slots=True, frozen=True)
class FilingRef:
    """One manifest row: ``source`` as the user wrote it, ``location`` resolved for reading."""

    row: int
    source: str
    location: str


@dataclass(slots=True)
class Manifest:
    path: Path
    column: str
    filings: list[FilingRef]
    duplicates_dropped: int


def read_manifest(path: Path, column: str | None = None) -> Manifest:
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ManifestError(f"manifest {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ManifestError(f"manifest {path} is not a readable CSV: {exc}") from None
    if column is None:
        column = next((c for c in FILING_COLUMNS if c in frame.columns), None)
        if column is None:
            raise ManifestError(
                f"manifest {path} has no filing column: expected one of "
                f"{', '.join(FILING_COLUMNS)}; found {', '.join(map(str, frame.columns)) or 'none'}"
            )
    elif column not in frame.columns:
        raise ManifestError(f"manifest {path} has no column {column!r}")
    sources = frame[column].str.strip()
    sources = sources[sources != ""]
    if sources.empty:
        raise ManifestError(f"manifest {path} lists no filings")
    unique = sources.drop_duplicates()
    base = path.parent
    filings = [
        FilingRef(row=int(i) + 2, source=s, location=_resolve(base, s))  # +2: header, 1-based
        for i, s in unique.items()
    ]
    return Manifest(path, column, filings, duplicates_dropped=len(sources) - len(unique))


def _resolve(base: Path, source: str) -> str:
    if "://" in source:
        return source
    p = Path(source).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())
