"""Per-filing errors: which filing, what is wrong, and the kind `failures.csv` records.

A bad filing must fail alone and say *which* filing and *what* is wrong, so every error carries
the source it came from and a short machine-readable ``kind`` that lands in ``failures.csv``.
These are data errors: retrying cannot fix them, so orchestration records them as results
instead of failing the run.
"""

from __future__ import annotations


class FilingError(Exception):
    """A filing that cannot be turned into an ownership (Form 3, 4 or 5) record."""

    kind = "filing_error"

    def __init__(self, message: str, source: str | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(message)

    def with_source(self, source: str) -> "FilingError":
        """Name the filing; the parser sees only bytes, the caller knows where they came from."""
        self.source = source
        return self

    def __str__(self) -> str:
        where = self.source if self.source is not None else "<bytes>"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, str | None]:
        return {"source": self.source, "error": self.kind, "message": self.message}


class UnreadableFilingError(FilingError):
    """The file is missing, empty, or cannot be read."""

    kind = "unreadable"


class NoOwnershipXmlError(FilingError):
    """The bytes hold no ownershipDocument: not a submission with <XML>, not an ownership XML."""

    kind = "no_ownership_xml"


class MalformedXmlError(FilingError):
    """The ownership XML is not well-formed (truncated, bad markup)."""

    kind = "malformed_xml"


class HostileXmlError(FilingError):
    """The XML declares a DTD or entities: a billion-laughs or XXE attempt, never a real filing."""

    kind = "hostile_xml"


class NotOwnershipFormError(FilingError):
    """A well-formed ``ownershipDocument`` whose documentType is none of 3, 3/A, 4, 4/A, 5, 5/A
    (missing, or a type the SEC's ownership schemas do not define)."""

    kind = "not_ownership_form"


class HttpError(FilingError):
    """A URL's server says the filing is not there: 404, 410, or another 4xx about the request
    (not 401/403/408/429, which are about the client or the moment: see ``tasks.fetch``)."""

    kind = "http_error"
    status: int | None = None  # the HTTP status, when the fetcher knows it


class TooLargeError(FilingError):
    """A URL's response is larger than the size cap (``--max-filing-bytes``)."""

    kind = "too_large"


ERROR_KINDS: tuple[type[FilingError], ...] = (
    UnreadableFilingError,
    NoOwnershipXmlError,
    MalformedXmlError,
    HostileXmlError,
    NotOwnershipFormError,
    HttpError,
    TooLargeError,
)
