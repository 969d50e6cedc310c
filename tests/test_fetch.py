"""The fetcher alone (no Prefect) against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import email.utils
import gzip
import time
from pathlib import Path

import pytest

from tasks.errors import HttpError, TooLargeError
from tasks.fetch import (
    FetchError,
    Fetcher,
    FetchPlan,
    FetchSettings,
    retry_after_seconds,
)
from tasks.edgar_names import edgar_name
from tests.filing_server import FilingServer

pytestmark = pytest.mark.fast

UA = "Form3 Tests tests@example.org"
FAST = FetchSettings(user_agent=UA, timeout=1.0, attempts=3, backoff=0.05)
FILING = "0000100493-20-000092.txt"


@pytest.fixture
def server(corpus: Path):
    with FilingServer() as s:
        s.serve(f"/edgar/data/100493/{FILING}", corpus / "filings" / FILING)
        s.serve(f"/gz/{FILING}", corpus / "filings" / FILING, gzip=True)
        yield s


def _fetch(server: FilingServer, path: str, tmp_path: Path, settings: FetchSettings = FAST):
    calls = []
    fetcher = Fetcher(settings, throttle=lambda: calls.append(time.monotonic()))
    target = tmp_path / "out" / Path(path).name
    return fetcher, calls, target, lambda: fetcher.fetch(server.base + path, target)


def test_accession_names_and_edgar_layout() -> None:
    full = edgar_name("https://www.sec.gov/Archives/edgar/data/1000045/0001000045-24-000001.txt")
    assert full.identity == "accession:0001000045-24-000001"
    assert full.relative_path == "edgar/data/1000045/0001000045-24-000001.txt"
    folder = edgar_name("https://www.sec.gov/Archives/edgar/data/0000320193/000100004524000001/0001000045-24-000001.txt")
    assert (folder.cik, folder.identity) == ("320193", "accession:0001000045-24-000001")
    s3 = edgar_name("s3://bucket/forms/0001000045-24-000001.txt")
    assert (s3.cik, s3.relative_path) == ("1000045", "edgar/data/1000045/0001000045-24-000001.txt")
    doc = edgar_name("https://www.sec.gov/Archives/edgar/data/1000045/000100004524000001/form3.xml")
    assert doc.identity == "accession:0001000045-24-000001/form3.xml"  # not the submission
    assert doc.relative_path == "edgar/data/1000045/000100004524000001/form3.xml"
    assert edgar_name("https://example.org/filings/form3.txt?id=7") is None
    assert edgar_name("https://example.org/edgar/data/1/000100004524000001/") is None


def test_retry_after_seconds_or_http_date() -> None:
    assert retry_after_seconds("3") == 3.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds(later) <= 31
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_fetch_streams_to_target_with_user_agent(server: FilingServer, corpus: Path, tmp_path: Path) -> None:
    expected = (corpus / "filings" / FILING).read_bytes()
    for path in (f"/edgar/data/100493/{FILING}", f"/gz/{FILING}"):
        fetcher, calls, target, fetch = _fetch(server, path, tmp_path / path.split("/")[1])
        fetch()
        assert target.read_bytes() == expected
        assert fetcher.read(server.base + path, target) == expected  # from disk: no request
        assert len(calls) == fetcher.requests == 1
        assert [p.name for p in target.parent.iterdir()] == [FILING]  # no temporary left
    assert {r.user_agent for r in server.seen()} == {UA}


@pytest.mark.parametrize("script, requests", [
    ((("status", 429, {"Retry-After": "1"}),), 2),
    ((("status", 503, {}), ("status", 502, {})), 3),
    ((("slow", 2.0),), 2),
    ((("truncate",),), 2),
])
def test_transient_failures_are_retried(server: FilingServer, corpus: Path, tmp_path: Path, script, requests) -> None:
    path = f"/edgar/data/100493/{FILING}"
    server.script(path, *script)
    fetcher, calls, target, fetch = _fetch(server, path, tmp_path)
    started = time.monotonic()
    fetch()
    assert target.read_bytes() == (corpus / "filings" / FILING).read_bytes()
    assert len(server.seen(path)) == len(calls) == requests
    if script[0][0] == "status" and script[0][1] == 429:
        gap = calls[1] - calls[0]
        assert gap >= 1.0, gap  # Retry-After honoured


def test_truncated_gzip_is_retried(server: FilingServer, tmp_path: Path) -> None:
    server.script(f"/gz/{FILING}", ("truncate",))
    fetcher, _, target, fetch = _fetch(server, f"/gz/{FILING}", tmp_path)
    fetch()
    assert fetcher.requests == 2 and target.stat().st_size > 0


def test_404_is_a_data_error_without_retry(server: FilingServer, tmp_path: Path) -> None:
    fetcher, _, target, fetch = _fetch(server, "/edgar/data/1/0000000001-24-000001.txt", tmp_path)
    with pytest.raises(HttpError, match="HTTP 404") as info:
        fetch()
    assert info.value.kind == "http_error" and fetcher.requests == 1
    assert not target.parent.exists() or not any(target.parent.iterdir())


def test_persistent_5xx_becomes_an_os_error_after_the_attempts(server: FilingServer, tmp_path: Path) -> None:
    path = f"/edgar/data/100493/{FILING}"
    server.always(path, 503)
    fetcher, _, target, fetch = _fetch(server, path, tmp_path)
    with pytest.raises(FetchError, match="503.*after 3 attempts"):
        fetch()
    assert isinstance(FetchError(), OSError)
    assert len(server.seen(path)) == 3 and not target.exists()


def test_a_long_retry_after_gives_up_at_once(server: FilingServer, tmp_path: Path) -> None:
    path = f"/edgar/data/100493/{FILING}"
    server.script(path, ("status", 429, {"Retry-After": "3600"}))
    fetcher, _, _, fetch = _fetch(server, path, tmp_path)
    with pytest.raises(FetchError, match="wait 3600s"):
        fetch()
    with pytest.raises(FetchError, match="not sent"):
        fetch()  # the pause holds for the rest of the batch
    assert fetcher.requests == 1


def test_403_blocks_the_fetcher(server: FilingServer, tmp_path: Path) -> None:
    path = f"/edgar/data/100493/{FILING}"
    server.script(path, ("status", 403, {}))
    fetcher, _, _, fetch = _fetch(server, path, tmp_path)
    with pytest.raises(FetchError, match="refuses this client"):
        fetch()
    with pytest.raises(FetchError, match="not sent"):
        fetch()
    assert fetcher.requests == 1


def test_size_cap(server: FilingServer, corpus: Path, tmp_path: Path) -> None:
    raw = (corpus / "filings" / FILING).read_bytes()
    cap = (len(gzip.compress(raw)) + len(raw)) // 2  # the plain body is over it; the gzipped
    small = FetchSettings(user_agent=UA, timeout=1.0, attempts=2, backoff=0.05, max_bytes=cap)
    for path in (f"/edgar/data/100493/{FILING}", f"/gz/{FILING}"):  # one only once inflated
        fetcher, _, target, fetch = _fetch(server, path, tmp_path / path.split("/")[1], small)
        with pytest.raises(TooLargeError, match=f"cap of {cap:,}"):
            fetch()
        assert fetcher.requests == 1
        assert not target.parent.exists() or not any(target.parent.iterdir())


def test_plan_puts_accession_filings_in_edgar_layout(tmp_path: Path) -> None:
    plan = FetchPlan(FAST, str(tmp_path / "mirror"), str(tmp_path / "downloads"))
    url = "https://www.sec.gov/Archives/edgar/data/1000045/0001000045-24-000001.txt"
    assert plan.target(url) == tmp_path / "mirror/edgar/data/1000045/0001000045-24-000001.txt"
    other = plan.target("https://example.org/f.txt?v=1")
    assert other.parent == tmp_path / "downloads" / "urls" and other.suffix == ".txt"
