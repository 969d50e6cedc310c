"""How EDGAR names filings: accession numbers in file and folder names, and URLs vs paths.

EDGAR never changes a filing once accepted, so a name that carries an accession identifies
the filing's bytes without reading them: the flow plans with it (no filing bytes on the
login node) and a copy of an EDGAR-named corpus in another folder is recognised as done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import urlsplit

ACCESSION = re.compile(r"(\d{10})-(\d{2})-(\d{6})")
_ACCESSION_FOLDER = re.compile(r"(\d{10})(\d{2})(\d{6})")  # EDGAR's folder: no dashes
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def is_url(location: str) -> bool:
    """A manifest row, index location or prefix that names a URL rather than a local path."""
    return "://" in location


def accession_from_name(source: str) -> str | None:
    """EDGAR names files ``<accession>.txt``; bare XML files have no header to say it."""
    match = ACCESSION.search(PurePath(source).name)
    return "-".join(match.groups()) if match else None


@dataclass(frozen=True, slots=True)
class EdgarName:
    """A URL that names an EDGAR accession: immutable, so the accession identifies its bytes."""

    cik: str  # without leading zeros, as EDGAR's paths have it
    accession: str  # 0001000045-24-000001
    name: str  # the file name: <accession>.txt is the full submission

    @property
    def identity(self) -> str:
        if self.name == f"{self.accession}.txt":
            return f"accession:{self.accession}"
        # Another document of the filing (say its primary XML): the accession and its name.
        return f"accession:{self.accession}/{self.name}"

    @property
    def relative_path(self) -> str:
        """Where EDGAR keeps it: ``edgar/data/<CIK>/<accession>.txt`` for the full submission,
        ``edgar/data/<CIK>/<accession without dashes>/<name>`` for a document of it."""
        if self.name == f"{self.accession}.txt":
            return f"edgar/data/{self.cik}/{self.name}"
        return f"edgar/data/{self.cik}/{self.accession.replace('-', '')}/{self.name}"


def edgar_name(url: str) -> EdgarName | None:
    """The accession a URL or a local path names, if any: in its file name (``…/0001000045-24-000001.txt``,
    an S3 key ``0001000045-24-000001.txt``) or, for a document of a filing, in EDGAR's folder
    (``…/000100004524000001/form3.xml``). The CIK is the one after ``edgar/data/``, else the
    accession's first ten digits (the filer's)."""
    path = urlsplit(url).path if is_url(url) else url  # a local path has no query or fragment
    segments = [s for s in path.split("/") if s]
    if not segments or not _SAFE_NAME.fullmatch(segments[-1]):
        return None
    name = segments[-1]
    match = ACCESSION.search(name)
    if match is None and len(segments) >= 2:
        match = _ACCESSION_FOLDER.fullmatch(segments[-2])
    if match is None:
        return None
    accession = "-".join(match.groups())
    cik = str(int(match.group(1)))
    lower = [s.lower() for s in segments]
    for i in range(len(lower) - 2):
        if lower[i] == "edgar" and lower[i + 1] == "data" and segments[i + 2].isdigit():
            cik = str(int(segments[i + 2]))
            break
    return EdgarName(cik, accession, name)


