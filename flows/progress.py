"""Telling the user how far a run is: a log line every few percent, with rate and ETA."""

from __future__ import annotations

import time
from typing import Any

PROGRESS_STEP = 0.05  # a log line every 5% of filings


class Progress:
    """One log line every few percent, with rate and ETA: the CLI's progress display."""

    def __init__(self, total: int, logger: Any) -> None:
        self.total, self.logger = total, logger
        self.done, self.next_mark = 0, PROGRESS_STEP
        self.started = time.monotonic()

    def advance(self, n: int) -> None:
        self.done += n
        if self.total and (self.done / self.total >= self.next_mark or self.done == self.total):
            elapsed = time.monotonic() - self.started
            rate = self.done / elapsed if elapsed > 0 else 0.0
            eta = (self.total - self.done) / rate if rate else 0.0
            self.logger.info(
                "progress: %d/%d filings parsed (%.0f%%), %.0f filings/s, ETA %.0fs",
                self.done, self.total, 100 * self.done / self.total, rate, eta,
            )
            while self.next_mark <= self.done / self.total:
                self.next_mark += PROGRESS_STEP
