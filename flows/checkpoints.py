"""The checkpoint store: Prefect's persisted batch results plus an index of what they hold.

For each batch, Prefect persists the task's small summary under the batch's content key and
the task writes its records, through the same result store, under ``<key>-records`` (see
``tasks.prefect_tasks``). To
skip finished filings *before* mapping, even when a manifest regroups them into new batches,
the flow keeps ``index.jsonl`` beside the results: one line per finished batch, ``{"key": <its
records key>, "sha256": [...]}``, appended by the flow process alone once the batch is done.
A crash can at worst lose the last, unfinished line (ignored on read), and an index line whose
result file is gone is ignored, so the index can never claim work that is not stored.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

from prefect.filesystems import LocalFileSystem
from prefect.results import ResultStore
from flows.outputs import write_atomic_text
from tasks.prefect_tasks import CHECKPOINT_SERIALIZER, KEY_PREFIX, BatchResult

INDEX_NAME = "index.jsonl"
HASHES_NAME = "hashes.json"


class CheckpointStore:
    def __init__(self, directory: Path, cached_batches: int = 4) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._store = ResultStore(
            result_storage=LocalFileSystem(basepath=str(directory)),
            cache_result_in_memory=False,
            serializer=CHECKPOINT_SERIALIZER,
        )
        self._lru: OrderedDict[str, BatchResult] = OrderedDict()
        self._lru_size = cached_batches
        self.index_path = directory / INDEX_NAME

    def load_index(self) -> dict[str, str]:
        """sha256 → key of the stored batch result holding it, for this parser version."""
        done: dict[str, str] = {}
        if not self.index_path.exists():
            return done
        keys_present = {p.name for p in self.directory.iterdir() if p.name.startswith(KEY_PREFIX)}
        with open(self.index_path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line from a crash
                if entry.get("key") in keys_present:
                    for sha in entry["sha256"]:
                        done[sha] = entry["key"]
        return done

    def load_hashes(self) -> dict[str, list]:
        """location → [size, mtime_ns, sha256] from earlier runs (a hint, never the key)."""
        try:
            return json.loads((self.directory / HASHES_NAME).read_text())
        except (OSError, ValueError):
            return {}

    def save_hashes(self, hashes: dict[str, list]) -> None:
        write_atomic_text(self.directory / HASHES_NAME, json.dumps(hashes, separators=(",", ":")))

    def record(self, key: str, shas: list[str]) -> None:
        """Append one finished batch to the index (single writer: the flow process)."""
        line = json.dumps({"key": key, "sha256": shas}, separators=(",", ":")) + "\n"
        with open(self.index_path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def load(self, key: str) -> BatchResult:
        """A stored batch result; a few recent ones are kept, as the flow reads in batch order."""
        hit = self._lru.get(key)
        if hit is not None:
            self._lru.move_to_end(key)
            return hit
        value = self._store.read(key).result
        self._lru[key] = value
        if len(self._lru) > self._lru_size:
            self._lru.popitem(last=False)
        return value
