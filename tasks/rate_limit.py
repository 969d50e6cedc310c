"""One HTTP request rate for every worker of every run: a Prefect global concurrency limit.

The SEC counts requests per client, not per run or per worker, so the limit lives on the
Prefect API that all workers (local or Slurm) already report to, under one name.
"""

from __future__ import annotations

import threading
import time

from tasks.fetch import Fetcher, FetchPlan

# The Prefect global concurrency limit that paces HTTP requests: one for all form3 runs on a
# Prefect API (the SEC counts per client, not per run), every worker of every run, local or
# Slurm, acquires from it through the API they already report to.
RATE_LIMIT_NAME = "form3-http-requests"


def slots_per_grant(per_second: float) -> int:
    """Slots a worker takes at once: a second's worth, so one API call paces ~1 s of requests."""
    return max(1, int(per_second))


def ensure_rate_limit(per_second: float, name: str = RATE_LIMIT_NAME) -> None:
    """Create or update the rate limit: ``slots_per_grant`` slots decaying at ``per_second``.

    Workers take all the slots at once (see :class:`PacedSlots`), so a grant needs the limit
    to have decayed to empty: grants are at least a second apart for all workers together.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    limit = slots_per_grant(per_second)
    with get_client(sync_client=True) as client:
        try:
            current = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(
                    name=name, limit=limit, slot_decay_per_second=per_second, active=True,
                ))
                return
            except ObjectAlreadyExists:  # another run created it meanwhile
                current = client.read_global_concurrency_limit_by_name(name)
        if (current.limit, current.slot_decay_per_second, current.active) != (limit, per_second, True):
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(
                limit=limit, slot_decay_per_second=per_second, active=True,
            ))


class PacedSlots:
    """The throttle of one fetcher: take a grant of ``k`` slots of the shared limit, then send
    its requests no faster than ``per_second``, each inside the grant's window.

    Why not one slot per request: Prefect's server decays ``floor(rate * seconds since the
    limit last changed)`` slots, and a denied acquisition is a change that applies no decay,
    so waiting workers keep restarting it; measured (benchmarks/rate_bench.py, rate 10, 2 and
    4 processes), one slot per request reached 58% of the rate, a grant of a second's worth
    65-75%, with a tenth of the API calls. Grants of two or four seconds' worth did no better.

    Why this still holds the rate across workers: a grant of all ``k`` slots needs the limit
    empty, i.e. ``k / per_second`` seconds after the previous grant, and a grant's requests are
    spaced ``1 / per_second`` apart from its start and never sent after its window ends
    (unused slots are forfeited), so the windows of grants do not overlap.
    """

    def __init__(self, name: str, per_second: float) -> None:
        self.name, self.per_second = name, per_second
        self.k = slots_per_grant(per_second)
        self.start = 0.0
        self.used = self.k  # no grant yet
        # The flow process fetches from several threads with one fetcher: one grant at a time.
        self._lock = threading.Lock()

    def __call__(self) -> None:
        from prefect.concurrency.sync import rate_limit

        with self._lock:
            now = time.monotonic()
            if self.used >= self.k or now >= self.start + self.k / self.per_second:
                # strict: a missing limit is an error, never an unthrottled request
                rate_limit(self.name, occupy=self.k, strict=True)
                self.start, self.used = time.monotonic(), 0
                now = self.start
            due = self.start + self.used / self.per_second
            if due > now:
                time.sleep(due - now)
            self.used += 1


def url_fetcher(plan: FetchPlan) -> Fetcher:
    """A fetcher whose requests are paced by the run's shared rate limit."""
    if not plan.rate_limit:
        return Fetcher(plan.settings)
    return Fetcher(plan.settings, PacedSlots(plan.rate_limit, plan.requests_per_second))


