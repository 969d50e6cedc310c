"""What ``form3 update`` remembers between runs, in the results directory: which days' daily
indexes it has read (and what they held), and the cumulative manifest it appends to.

Two files, one commit point:

* ``update-manifest.csv``: every ownership filing the updates found, one row per accession,
  appended to (never rewritten). ``form3 run`` reads it like any manifest.
* ``update-state.json``: per weekday, ``indexed`` (the index's sha256, its ownership filings,
  and, for recent days, their accession numbers) or ``absent``; and ``manifest_bytes``, the
  manifest's length when the state was written.

The state is written atomically (rename) after the manifest's new rows are on disk, so it is
the commit: an update killed before it leaves rows past ``manifest_bytes``, which the next one
cuts off before appending. Running twice adds nothing, whatever was killed where.

Why recent days are read again: EDGAR adds late filings to a day's index after it first
appears, and today's index is absent until it is published. Days within ``recheck_days`` of
today are read on every update; a changed digest brings its new accessions in. Older days keep
only digest and count, which bounds the state at a few KB per recent day.

No Prefect here: plain files, testable without a server.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from tasks.daily_index import DailyIndex
from tasks.edgar_index import IndexEntry, manifest_csv
from tasks.files import write_atomic_text

MANIFEST_NAME = "update-manifest.csv"
STATE_NAME = "update-state.json"
STATE_VERSION = 1
INDEXED, ABSENT = "indexed", "absent"


class UpdateStateError(ValueError):
    """The results directory's update state is unusable (another version, a lost manifest)."""


@dataclass(slots=True)
class DayRecord:
    """One weekday as last read: ``indexed`` with what its index held, or ``absent``."""

    status: str
    sha256: str | None = None
    filings: int = 0
    accessions: list[str] | None = None  # kept while the day is recent (re-read)


@dataclass(slots=True)
class UpdateState:
    manifest_bytes: int = 0
    manifest_rows: int = 0  # filings in the manifest (0: nothing for the flow to run)
    days: dict[str, DayRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, results_dir: Path) -> "UpdateState":
        path = results_dir / STATE_NAME
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise UpdateStateError(f"{path}: unreadable update state ({exc})") from None
        if data.get("version") != STATE_VERSION:
            raise UpdateStateError(f"{path}: update state version {data.get('version')!r}, "
                                   f"this form3 reads {STATE_VERSION}")
        return cls(int(data["manifest_bytes"]), int(data["manifest_rows"]),
                   {day: DayRecord(**record) for day, record in data["days"].items()})

    def save(self, results_dir: Path) -> None:
        """The commit point: atomically replaces the state file."""
        data = {"version": STATE_VERSION, "manifest_bytes": self.manifest_bytes,
                "manifest_rows": self.manifest_rows,
                "days": {day: asdict(self.days[day]) for day in sorted(self.days)}}
        write_atomic_text(results_dir / STATE_NAME, json.dumps(data, indent=1) + "\n")

    def days_to_read(self, weekdays: list[date], today: date, recheck_days: int) -> list[date]:
        """Weekdays never read, and those within ``recheck_days`` of ``today`` (again) whose
        filings are still known: a day whose accession list was forgotten (a larger
        ``--recheck-days`` than before) is not read again, or all of it would look new."""
        def again(d: date) -> bool:
            record = self.days.get(d.isoformat())
            return record is None or ((today - d).days <= recheck_days
                                      and (record.status == ABSENT or record.accessions is not None))
        return [d for d in weekdays if again(d)]

    def known_accessions(self) -> set[str]:
        return {a for record in self.days.values() for a in record.accessions or ()}

    def record(self, day: date, index: DailyIndex | None, known: set[str]) -> list[IndexEntry]:
        """Remember what the day's index holds; the filings in it not in ``known`` (which
        grows by them). A day read before that has no index now keeps its record."""
        key = day.isoformat()
        if index is None:
            if key not in self.days:
                self.days[key] = DayRecord(ABSENT)
            return []
        new = [e for e in index.filings if e.accession_number not in known]
        known.update(e.accession_number for e in new)
        self.days[key] = DayRecord(INDEXED, index.sha256, len(index.filings),
                                   [e.accession_number for e in index.filings])
        return new

    def forget_old_accessions(self, today: date, recheck_days: int) -> None:
        """Days no longer re-read need no accession list (bounds the state's size)."""
        for key, record in self.days.items():
            if (today - date.fromisoformat(key)).days > recheck_days:
                record.accessions = None


def append_manifest(results_dir: Path, state: UpdateState, entries: list[IndexEntry],
                    archive: str) -> Path:
    """Cut the manifest back to the state's committed length, append ``entries`` (the header
    first if it is empty) and make them durable; ``state.manifest_bytes`` becomes the new
    length and ``state.manifest_rows`` counts them (committed by ``state.save``)."""
    path = results_dir / MANIFEST_NAME
    results_dir.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size if path.exists() else 0
    if size < state.manifest_bytes:
        raise UpdateStateError(
            f"{path} has {size} bytes, the update state says {state.manifest_bytes}: the "
            f"manifest was changed or lost; restore it or remove {STATE_NAME} to start over"
        )
    with open(path, "ab") as fh:
        fh.truncate(state.manifest_bytes)  # rows of an update killed before its commit
        fh.seek(state.manifest_bytes)
        if entries or state.manifest_bytes == 0:
            fh.write(manifest_csv(entries, archive, header=state.manifest_bytes == 0).encode())
        fh.flush()
        os.fsync(fh.fileno())
        state.manifest_bytes = fh.tell()
    state.manifest_rows += len(entries)
    return path
