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

Older batches stay valid where what they hold has not changed: a store written before Forms 4
and 5 (parser ``FORM3_UNCHANGED_SINCE``, checkpoint format 1) serves its Form 3 records and
its errors on the next run, without a re-parse; only its ``not_form3`` rows (Forms 4 and 5,
which that parser refused) are parsed again. Such a batch is indexed once, by its ``identity``
and ``error_kind`` columns, in a line marked ``"legacy"`` (the lines old code wrote for it list
the refused filings too, and are ignored), and it is read with the columns and fields it lacks
filled in as empty: the transaction tables, and the Form 4/5 fields of the other tables.
"""

from __future__ import annotations

import functools
import io
import json
import os
from collections import OrderedDict
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.batch import KEY_PREFIX
from tasks.checkpoint_format import SUFFIX, BatchRecords, read_batch, read_identities, write_table
from tasks.version import FORM3_UNCHANGED_SINCE

INDEX_NAME = "index.jsonl"
BATCHES_DIR = "batches"
PLANS_DIR = "plans"
# Batches of an older parser and checkpoint format that still hold today's records (see the
# module doc), and the error kinds of theirs that are parsed again.
LEGACY_KEY_PREFIXES = tuple(p for p in (f"form3-p{FORM3_UNCHANGED_SINCE}-c1-",) if p != KEY_PREFIX)
REPARSE_KINDS = ("not_form3",)
_LEGACY = "legacy"


def is_legacy(key: str) -> bool:
    return key.startswith(LEGACY_KEY_PREFIXES)


def _legacy_identities(path: Path) -> list[str]:
    """The filings an older batch holds that stay done: all but its REPARSE_KINDS rows."""
    table = pq.read_table(path, columns=["identity", "error_kind"])
    keep = pc.invert(pc.is_in(table.column("error_kind"), pa.array(REPARSE_KINDS)).fill_null(False))
    return table.filter(keep).column("identity").to_pylist()


@functools.cache
def _read_schema() -> pa.Schema:
    """A batch's schema as read back from Parquet (timestamps come back in ms)."""
    sink = io.BytesIO()
    write_table(BatchRecords.empty().to_table(), sink)
    return pq.read_table(io.BytesIO(sink.getvalue())).schema


def _conform(array: pa.Array, target: pa.DataType) -> pa.Array:
    """``array`` as ``target``: struct fields it lacks are null, list columns it lacks empty."""
    if pa.types.is_list(target):
        return pa.ListArray.from_arrays(array.offsets, _conform(array.values, target.value_type))
    if pa.types.is_struct(target):
        names = {array.type.field(i).name for i in range(array.type.num_fields)}
        children = [_conform(array.field(f.name), f.type) if f.name in names else pa.nulls(len(array), f.type)
                    for f in target]
        return pa.StructArray.from_arrays(children, fields=list(target))
    return array.cast(target)


def upgrade_legacy(table: pa.Table) -> pa.Table:
    """An older batch in today's layout (see the module doc)."""
    schema = _read_schema()
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(_conform(table.column(field.name).combine_chunks(), field.type))
        elif pa.types.is_list(field.type):
            columns.append(pa.array([[]] * table.num_rows, field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


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
        present = {
            n for n in os.listdir(self.batches_dir)
            if n.startswith((KEY_PREFIX, *LEGACY_KEY_PREFIXES)) and n.endswith(SUFFIX)
        }
        indexed: set[str] = set()
        if self.index_path.exists():
            with open(self.index_path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a torn last line from a crash
                    key = entry.get("key")
                    if key in present and (entry.get(_LEGACY) or not is_legacy(key)):
                        indexed.add(key)
                        for identity in entry["ids"]:
                            done[identity] = key
        for key in sorted(present - indexed):
            legacy = is_legacy(key)
            try:
                identities = (_legacy_identities if legacy else read_identities)(self.batches_dir / key)
            except (OSError, pa.ArrowException):
                continue  # unreadable: its filings are parsed again
            self.record(key, identities, legacy)
            for identity in identities:
                done[identity] = key
        return done

    def record(self, key: str, identities: list[str], legacy: bool = False) -> None:
        """Append one finished batch to the index."""
        entry: dict[str, object] = {"key": key, "ids": identities}
        if legacy:
            entry[_LEGACY] = True
        line = json.dumps(entry, separators=(",", ":")) + "\n"
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
        path = self.batches_dir / key
        table = upgrade_legacy(pq.read_table(path)) if is_legacy(key) else read_batch(path)
        self._lru[key] = table
        if len(self._lru) > self._lru_size:
            self._lru.popitem(last=False)
        return table
