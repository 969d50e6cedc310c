"""The checkpoint store: one Parquet file per finished batch, and an index of what they hold.

Workers write ``batches/<key>.parquet`` (``tasks.checkpoint_format``); Prefect persists each
task's small JSON summary beside them under the same key. To skip finished filings *before*
mapping, even when a manifest regroups them into new batches, ``index.jsonl`` holds one line
per finished batch: ``{"key": <records file>, "ids": [...]}``, appended by publishing for the
batches of its run. Appending costs what changed, never a rewrite of the whole store. The
batch files are the truth and the index only their summary: a crash can at worst lose the
last, unfinished line (ignored on read) or leave finished batches unindexed, which the next
load indexes from their ``identity`` column; a line whose records file is gone is ignored, so
the index never claims work that is not stored. One run plans or publishes at a time per
store (appends are not locked). A run's plan files live in ``plans/``.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

import pyarrow as pa

from tasks.checkpoint_format import SUFFIX, read_batch, read_identities
from tasks.batch import KEY_PREFIX

INDEX_NAME = "index.jsonl"
BATCHES_DIR = "batches"
PLANS_DIR = "plans"


class CheckpointStore:
    def __init__(self, directory: Path, cached_batches: int = 2) -> None:
        self.directory = directory
        self.batches_dir = directory / BATCHES_DIR
        self.batches_dir.mkdir(parents=True, exist_ok=True)
        self.plans_dir = directory / PLANS_DIR
        self.plans_dir.mkdir(exist_ok=True)
        self.index_path = directory / INDEX_NAME
        self._lru: OrderedDict[str, pa.Table] = OrderedDict()
        self._lru_size = cached_batches

    def load_index(self) -> dict[str, str]:
        """identity → records file of the stored batch holding it (this parser version).
        Batch files the index does not list yet (a run killed before publishing) are read
        once, by their ``identity`` column, and appended to it."""
        done: dict[str, str] = {}
        present = {n for n in os.listdir(self.batches_dir) if n.startswith(KEY_PREFIX) and n.endswith(SUFFIX)}
        indexed: set[str] = set()
        if self.index_path.exists():
            with open(self.index_path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a torn last line from a crash
                    key = entry.get("key")
                    if key in present:
                        indexed.add(key)
                        for identity in entry["ids"]:
                            done[identity] = key
        for key in sorted(present - indexed):
            try:
                identities = read_identities(self.batches_dir / key)
            except (OSError, pa.ArrowException):
                continue  # unreadable: its filings are parsed again
            self.record(key, identities)
            for identity in identities:
                done[identity] = key
        return done

    def record(self, key: str, identities: list[str]) -> None:
        """Append one finished batch to the index."""
        line = json.dumps({"key": key, "ids": identities}, separators=(",", ":")) + "\n"
        with open(self.index_path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def load(self, key: str) -> pa.Table:
        """A stored batch; the last few are kept, as publishing reads in batch order (a batch
        may straddle two chunks). Each costs its whole table in memory (~25 MB at 2,000 filings)."""
        hit = self._lru.get(key)
        if hit is not None:
            self._lru.move_to_end(key)
            return hit
        table = read_batch(self.batches_dir / key)
        self._lru[key] = table
        if len(self._lru) > self._lru_size:
            self._lru.popitem(last=False)
        return table
