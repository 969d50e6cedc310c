"""EDGAR's daily form indexes (``edgar/daily-index/YYYY/QTRn/form.YYYYMMDD.idx``): one day's
ownership filings, for ``form3 update``.

A daily ``form.idx`` is the quarterly one's layout for one day's filings, with differences
:func:`tasks.edgar_index.parse_index` already reads (``Date Filed`` as ``YYYYMMDD``, a header
wrapped over two lines in some files, a Form Type column wider than its header, CRLF). A day
without an index (weekend, holiday, today's not yet published: EDGAR answers 403 or 404) is
``None`` here, never an error: it is what most calendar days look like.

No Prefect here: the caller passes the rate limit in as ``throttle``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from tasks.edgar_index import (
    FETCH_TIMEOUT, OWNERSHIP_FORMS, Filters, IndexEntry, IndexMissingError, decode,
    filing_location, load_index, parse_index, unique_filings,
)

SATURDAY = 5  # date.weekday(): EDGAR publishes no index for Saturday or Sunday
EDGAR_TIME_ZONE = "America/New_York"  # EDGAR's business day, and the schedule's default zone


def edgar_today() -> date:
    """Today's date where EDGAR is (a 07:00 UTC run is still yesterday in New York)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(EDGAR_TIME_ZONE)).date()


def daily_index_location(archive: str, day: date) -> str:
    """The day's ``form.YYYYMMDD.idx`` under ``archive`` (a URL prefix or a local mirror)."""
    quarter = (day.month - 1) // 3 + 1
    return filing_location(
        archive, f"edgar/daily-index/{day.year}/QTR{quarter}/form.{day:%Y%m%d}.idx"
    )


def weekdays(since: date, until: date) -> Iterator[date]:
    """Monday to Friday from ``since`` to ``until``, both included: the days EDGAR may have an
    index for (holidays are weekdays without one, found by asking)."""
    day = since
    while day <= until:
        if day.weekday() < SATURDAY:
            yield day
        day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DailyIndex:
    """One day's index as read: its digest (to see it change later) and its ownership filings,
    one entry per accession (:func:`tasks.edgar_index.unique_filings`)."""

    day: date
    sha256: str
    filings: list[IndexEntry]


def read_daily_index(
    archive: str,
    day: date,
    user_agent: str | None = None,
    throttle: Callable[[], None] | None = None,
    forms: tuple[str, ...] = OWNERSHIP_FORMS,
    timeout: float = FETCH_TIMEOUT,
) -> DailyIndex | None:
    """The day's index, or None if there is none (yet). Other problems (a refusal after
    retries, a malformed index) raise :class:`tasks.edgar_index.EdgarIndexError`."""
    source = daily_index_location(archive, day)
    try:
        raw = load_index(source, user_agent, timeout, throttle)
    except IndexMissingError:
        return None
    keep = Filters(forms=forms)
    entries = [e for e in parse_index(decode(raw), source) if keep(e)]
    return DailyIndex(day, hashlib.sha256(raw).hexdigest(), unique_filings(entries))
