"""How far a run's batches have got, shown where a user watches: the UI, the terminal, the log.

* The UI: a Prefect progress artifact (key ``form3-progress``) on the flow run, filings done
  over filings to parse in percent. It is updated as batches finish, at most once every
  ``ARTIFACT_INTERVAL`` seconds (a 20,000-filing run makes a handful of API calls, not one per
  batch), and always at the end.
* A terminal (stderr is a TTY, as for ``form3 run`` typed by a user): a rich progress bar with
  the filings done, the rate and the ETA.
* Anything else (a Slurm log, a pipe, ``form3 serve``'s subprocesses): one log line through
  Prefect's run logger every ``LOG_STEP`` of the filings, with rate and ETA; these lines also
  reach the run's logs in the UI.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact

LOG_STEP = 0.05  # a log line every 5% of filings
ARTIFACT_KEY = "form3-progress"
ARTIFACT_INTERVAL = 1.0  # seconds between two updates of the progress artifact, at least


def _rich_bar(total: int) -> Any:
    """A started rich progress bar on stderr: filings done/total, percent, rate, ETA."""
    from rich.console import Console
    from rich.progress import (
        BarColumn, MofNCompleteColumn, ProgressColumn, TaskProgressColumn, TextColumn,
        TimeElapsedColumn, TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} filings/s" if speed else "- filings/s")

    bar = RichProgress(
        TextColumn("parsing"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        RateColumn(), TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=False,
    )
    bar.add_task("filings", total=total)
    bar.start()
    return bar


class Progress:
    """Filings done out of ``total``, reported to the UI and to the terminal or the log.

    Reaching ``total`` finishes the bar and sends the last artifact update; use as a context
    manager (or call ``close``) to do so as well when a run stops early.
    """

    def __init__(
        self,
        total: int,
        logger: Any,
        *,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.logger, self.clock = total, logger, clock
        self.done, self.next_mark = 0, LOG_STEP
        self.started = clock()
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.bar = _rich_bar(total) if self.terminal and total else None
        self.artifact_id: UUID | None = None
        self.artifact_updates = 0  # API calls made for the artifact (creation included)
        self.last_update = float("-inf")
        self.sent = -1.0  # the last percentage the artifact was given
        try:
            self.artifact_id = create_progress_artifact(
                0.0, key=ARTIFACT_KEY, description=f"Filings parsed, of {total:,} to parse",
            )
            self.artifact_updates, self.last_update, self.sent = 1, self.clock(), 0.0
        except Exception as exc:  # noqa: BLE001 - the UI's bar must never fail a run
            self.logger.warning("progress artifact not created: %s", exc)

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(self.bar.task_ids[0], completed=self.done)
        else:
            self._log_line()
        if self.done >= self.total:
            self.close()  # the bar finished, the artifact at 100%
        else:
            self._update_artifact(force=False)

    def close(self) -> None:
        self._update_artifact(force=True)
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _log_line(self) -> None:
        if not self.total or (self.done / self.total < self.next_mark and self.done < self.total):
            return
        elapsed = self.clock() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        self.logger.info(
            "progress: %d/%d filings parsed (%.0f%%), %.0f filings/s, ETA %.0fs",
            self.done, self.total, self.percent, rate, eta,
        )
        while self.next_mark <= self.done / self.total:
            self.next_mark += LOG_STEP

    def _update_artifact(self, force: bool) -> None:
        if self.artifact_id is None or self.percent == self.sent:
            return
        now = self.clock()
        if not force and now - self.last_update < ARTIFACT_INTERVAL:
            return
        try:
            update_progress_artifact(self.artifact_id, self.percent)
        except Exception as exc:  # noqa: BLE001 - a missed update is not worth a failed run
            self.logger.warning("progress artifact not updated: %s", exc)
            return
        self.artifact_updates += 1
        self.last_update, self.sent = now, self.percent
