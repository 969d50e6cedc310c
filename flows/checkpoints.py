"""The checkpoint store: one Parquet file per finished batch, and an index of what they hold.

Workers write ``batches/<key>.parquet`` (``tasks.checkpoint_format``); Prefect persists each
task's small JSON summary beside them under the same key. To skip finished filings *before*
mapping, even when a manifest regroups them into new batches, the flow process alone appends
one line per finished batch to ``index.jsonl``: ``{"key": <records file>, "ids": [...]}``.
Appending costs what changed, never a rewrite of the whole store. A crash can at worst lose
the last, unfinished line (ignored on read), and a line whose records file is gone is ignored,
so the index never claims work that is not stored.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

import pyarrow as pa

from tasks.checkpoint_format import read_batch
from tasks.batch import KEY_PREFIX

INDEX_NAME = "index.jsonl"
BATCHES_DIR = "batches"


class CheckpointStore:
    def __init__(self, directory: Path, cached_batches: int = 2) -> None:
        self.directory = directory
        self.batches_dir = directory / BATCHES_DIR
        self.batches_dir.mkdir(parents=True, exist_ok=True)
        self.index_path = directory / INDEX_NAME
        self._lru: OrderedDict[str, pa.Table] = OrderedDict()
        self._lru_size = cached_batches

    def load_index(self) -> dict[str, str]:
        """identity → records file of the stored batch holding it (this parser version)."""
        done: dict[str, str] = {}
        if not self.index_path.exists():
            return done
        present = {n for n in os.listdir(self.batches_dir) if n.startswith(KEY_PREFIX)}
        with open(self.index_path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line from a crash
                key = entry.get("key")
                if key in present:
                    for identity in entry["ids"]:
                        done[identity] = key
        return done

    def record(self, key: str, identities: list[str]) -> None:
        """Append one finished batch to the index (single writer: the flow process)."""
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
