"""Filings named by ``http(s)://`` URLs: polite, robust fetching into files on disk.

Pure reading code, like :mod:`tasks.reading` (no Prefect): the rate limit shared by all
workers comes in as ``throttle``, a function called before every HTTP request.

What a response means for the filing:

* 2xx: the body is streamed to a temporary file beside its target and renamed into place,
  so a target that exists is always complete. A body shorter than its ``Content-Length``
  (or a gzip stream that stops early) is a transient failure, never a file.
* 404, 410 and other 4xx (but 401, 403, 408 and 429): :class:`HttpError`, a data error
  (``failures.csv``), never retried. Over the size cap: :class:`TooLargeError`.
* 408, 429, 5xx, timeouts, refused or reset connections, truncated bodies: retried here with
  exponential backoff (jittered), waiting at least what ``Retry-After`` asks; after the last
  attempt :class:`FetchError`, an ``OSError``: an infrastructure error that the batch's
  retries and then "not_processed" handle, and that a rerun tries again.
* 401/403: the server refuses *us* (the SEC answers 403 to undeclared tools and to clients
  over its rate threshold, and then blocks them for minutes): :class:`FetchError` at once, and
  this fetcher sends nothing more until its ``blocked`` pause is over, so one refusal does
  not become a burst of them.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import random
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tasks.errors import HttpError, TooLargeError, UnreadableFilingError
from tasks.edgar_names import edgar_name
from tasks.files import atomic_path
from tasks.reading import DEFAULT_MAX_BYTES

DEFAULT_USER_AGENT = "form3-pipeline/0.1 (python-urllib)"
# The SEC's published limit for a client (all its workers together), and form3's default rate.
SEC_MAX_RPS = 10.0
CHUNK = 64 * 1024
# After a 401/403, how long this fetcher refuses to send anything (the SEC blocks for ~10 min).
BLOCKED_SECONDS = 600.0



class FetchError(OSError):
    """The filing could not be fetched *now* (server errors, timeouts, refusals): a rerun
    may succeed, so it is an infrastructure error, not a fact about the filing."""

    status: int | None = None  # the HTTP status of a refusal (401, 403), when there was one


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


def is_sec_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "sec.gov" or host.endswith(".sec.gov")


def sec_user_agent_problem(url: str, user_agent: str | None) -> str | None:
    """Why the SEC would refuse ``user_agent`` for ``url``, or None. The SEC answers 403 to
    clients that do not say who they are, and may block the address: so a request without a
    contact is refused here, before any connection."""
    if not is_sec_host(url) or (user_agent and "@" in user_agent):
        return None
    got = f" (got {user_agent!r})" if user_agent else ""
    return (
        f"sec.gov requires a User-Agent naming you and an e-mail address{got}: pass "
        f"--user-agent 'Jane Doe jane@example.org' or set FORM3_USER_AGENT"
    )


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How to fetch: plain values, the same on every worker of a run."""

    user_agent: str | None = None  # the SEC requires one with a contact; see flows/manifest.py
    timeout: float = 30.0  # seconds per connect and per read (not for the whole body)
    max_bytes: int = DEFAULT_MAX_BYTES  # of the filing (after gzip decoding)
    attempts: int = 4  # requests per filing before giving up for this run
    backoff: float = 1.0  # first retry's delay in seconds; doubles each time, +-50% jitter
    max_retry_after: float = 120.0  # a longer Retry-After ends the attempts (rerun later)


def url_download_path(root: Path, url: str) -> Path:
    """Where a URL that names no accession is kept: by a hash of the URL."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:40]
    suffix = Path(urlsplit(url).path).suffix.lower()
    return root / "urls" / (digest + (suffix if suffix in (".txt", ".xml") else ""))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP-date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """A redirect is another request: it waits for the rate limit like the first."""

    def __init__(self, throttle: Callable[[], None]) -> None:
        self.throttle = throttle

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            self.throttle()
        return new


class Fetcher:
    """GETs URLs into files. One per task run (its ``blocked`` pause is per fetcher)."""

    def __init__(self, settings: FetchSettings, throttle: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.throttle = throttle
        self.requests = 0  # HTTP requests sent (redirects not counted)
        self._blocked_until = 0.0
        self._blocked_reason = ""
        self._opener = urllib.request.build_opener(_RedirectHandler(throttle))

    def ensure(self, url: str, target: Path) -> Path:
        """``target``, fetched from ``url`` unless an earlier fetch (or a mirror) has it."""
        if not target.is_file():
            self.fetch(url, target)
        return target

    def read(self, url: str, target: Path) -> bytes:
        """The bytes at ``url``, from ``target`` if it was fetched before, else fetched there."""
        return self.ensure(url, target).read_bytes()

    def fetch(self, url: str, target: Path) -> Path:
        """GET ``url`` into ``target`` (atomically), retrying what may pass."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise UnreadableFilingError(f"unsupported URL scheme {scheme!r} (http and https only)", url)
        s = self.settings
        reason = "no attempt"
        for attempt in range(1, max(1, s.attempts) + 1):
            self._check_blocked(url)
            try:
                return self._get(url, target)
            except _Retryable as exc:
                reason = exc.reason
                if attempt >= s.attempts:
                    break
                delay = s.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
                if exc.retry_after is not None:
                    if exc.retry_after > s.max_retry_after:
                        self._block(exc.retry_after, f"{reason}, Retry-After {exc.retry_after:.0f}s")
                        raise FetchError(
                            f"GET {url}: {reason}; the server asks to wait {exc.retry_after:.0f}s "
                            f"(more than {s.max_retry_after:.0f}s): rerun later"
                        ) from None
                    delay = max(delay, exc.retry_after)
                time.sleep(delay)
        raise FetchError(f"GET {url}: {reason} (after {s.attempts} attempts)")

    def _check_blocked(self, url: str) -> None:
        if time.monotonic() < self._blocked_until:
            raise FetchError(f"GET {url}: not sent, the server refused this client: {self._blocked_reason}")

    def _block(self, seconds: float, reason: str) -> None:
        self._blocked_until = time.monotonic() + seconds
        self._blocked_reason = reason

    def _get(self, url: str, target: Path) -> Path:
        s = self.settings
        request = urllib.request.Request(url, headers={
            "User-Agent": s.user_agent or DEFAULT_USER_AGENT,
            "Accept-Encoding": "gzip",  # what the SEC asks of automated clients
        })
        self.throttle()
        self.requests += 1
        try:
            response = self._opener.open(request, timeout=s.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                self._http_error(url, exc.code, exc.reason, exc.headers)
            raise AssertionError("unreachable")  # pragma: no cover
        except urllib.error.URLError as exc:  # refused, reset, DNS, TLS, timeout before headers
            raise _Retryable(f"{type(exc.reason).__name__}: {exc.reason}") from None
        except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        with response:
            return self._save(url, response, target)

    def _http_error(self, url: str, code: int, reason: str, headers) -> None:  # noqa: ANN001
        what = f"HTTP {code} {reason}".strip()
        if code in (408, 429) or code >= 500:
            raise _Retryable(what, retry_after_seconds(headers.get("Retry-After") if headers else None))
        if code in (401, 403):
            self._block(BLOCKED_SECONDS, what)
            refused = FetchError(
                f"GET {url}: {what}: the server refuses this client (for sec.gov: a User-Agent "
                f"with your contact, and at most 10 requests/s); nothing more is sent for "
                f"{BLOCKED_SECONDS:.0f}s, rerun later"
            )
            refused.status = code
            raise refused
        missing = HttpError(f"{what} for {url}", url)
        missing.status = code
        raise missing

    def _save(self, url: str, response, target: Path) -> Path:  # noqa: ANN001
        s = self.settings
        gzipped = (response.headers.get("Content-Encoding") or "").strip().lower() == "gzip"
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if length is not None and length > s.max_bytes:
            raise TooLargeError(f"{length:,} bytes (Content-Length) over the cap of {s.max_bytes:,}", url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as out:
                received = _copy(response, out, s.max_bytes, gzipped, url)
            if length is not None and received != length:
                raise _Retryable(f"truncated body: {received:,} of {length:,} bytes")
        return target


def _copy(response, out, max_bytes: int, gzipped: bool, url: str) -> int:  # noqa: ANN001
    """Stream the body to ``out``, decoding gzip; return the bytes received on the wire."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    received = written = 0

    def write(data: bytes) -> None:
        nonlocal written
        written += len(data)
        if written > max_bytes:
            raise TooLargeError(f"more than the cap of {max_bytes:,} bytes", url)
        out.write(data)

    try:
        while chunk := response.read(CHUNK):
            received += len(chunk)
            if decoder is None:
                write(chunk)
                continue
            while chunk:
                # max_length bounds what one call inflates: a gzip bomb stops at the cap
                write(decoder.decompress(chunk, max_bytes - written + 1))
                chunk = decoder.unconsumed_tail
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise _Retryable(f"{type(exc).__name__} reading the body: {exc}") from None
    except zlib.error as exc:
        raise _Retryable(f"corrupt gzip body: {exc}") from None
    if decoder is not None:
        write(decoder.flush())
        if not decoder.eof:
            raise _Retryable("truncated gzip body")
    return received


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """What a worker needs to get a run's URL filings: plain values, sent with each batch."""

    settings: FetchSettings
    filings_dir: str  # accession-named filings in EDGAR's layout: the mirror, else the cache
    downloads_dir: str  # URLs that name no accession, by a hash of the URL
    rate_limit: str | None = None  # the shared rate limit's name (see tasks.prefect_tasks)
    requests_per_second: float = SEC_MAX_RPS  # the rate that limit enforces

    def target(self, url: str) -> Path:
        """The file that holds (or will hold) the bytes at ``url``."""
        name = edgar_name(url)
        if name is not None:
            return Path(self.filings_dir) / name.relative_path
        return url_download_path(Path(self.downloads_dir), url)
