"""Planning a run: identify every filing without reading it, drop what is done, batch the rest.

Planning runs as a task on a Dask worker (``flows.steps``), not in the flow process: on a
cluster the login node then reads neither the manifest (a million rows: ~120 MB) nor the
checkpoint index, stats no filing and holds no per-filing state; it gets back a small
:class:`Plan` (counts, and one :class:`tasks.batch.Batch` reference per batch). What the
plan decided per manifest row goes to a *rows file* and the batches' items to an *items
file*, both Parquet beside the checkpoints, for the workers and for publishing.

A filing is identified by the EDGAR accession its name carries (EDGAR never changes a filing;
a copy of an EDGAR-named corpus in another folder is the same work), else by path, size and
mtime (as make and rsync decide), else, for a URL that names no accession, by the URL. A
``stat`` also catches what no worker should open: a device, a FIFO, a directory, a file over
the size cap. ``preflight`` is the cheap part, run where the run starts, before any cluster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from flows.checkpoints import CheckpointStore
from flows.cluster import ClusterProfile, check_api_reachable, get_profile
from flows.manifest import FilingRef, check_manifest, check_url_sources, read_manifest
from flows.outputs import QUARTERLY, SINGLE, quarter_of, recover, reusable_outputs, run_layout
from flows.settings import RunSettings
from tasks.batch import Batch, Item, batch_key, file_identity, write_items
from tasks.edgar_names import edgar_name, is_url
from tasks.errors import FilingError, UnreadableFilingError
from tasks.fetch import FetchPlan
from tasks.files import atomic_path
from tasks.rate_limit import RATE_LIMIT_NAME, ensure_rate_limit
from tasks.reading import check_stat
from tasks.version import PARSER_VERSION

# stat() is I/O bound (an NFS round trip on a cluster): threads in the flow process, each
# given a slice of rows (one future per row would cost ~2 KB each: 2 GB for a million rows).
STAT_THREADS = 8
STAT_SLICE = 4096
THREADS_ABOVE_SECONDS = 50e-6  # a row's identify, measured: ~10 µs with a local stat
# A plan's files outlive a killed run; a run removes those older than this (no run is planned
# and still running after a week).
PLAN_MAX_AGE_SECONDS = 7 * 24 * 3600
ROWS_SCHEMA = pa.schema([
    pa.field("row", pa.int64(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("identity", pa.string()),
    pa.field("error_kind", pa.string()),
    pa.field("error_message", pa.string()),
    pa.field("done", pa.string()),  # records file holding the identity, when planned
    pa.field("batch", pa.int32()),  # the batch that will hold it, if it is to be parsed
    pa.field("form", pa.string()),  # the manifest's form type, if it names one
    pa.field("filed", pa.string()),  # the manifest's filing date, if it gives one
])


def preflight(settings: RunSettings, api_url: str | None) -> ClusterProfile:
    """What can make the whole run fail, checked where it starts, before any cluster and
    without reading the manifest through: the cluster profile, an API the workers can reach,
    the manifest's header and its first rows (the planner checks every row)."""
    profile = get_profile(settings.profile_name, settings.cluster)
    check_api_reachable(profile, api_url)
    check_manifest(settings.manifest, settings.column, settings.user_agent, settings.max_requests_per_second)
    return profile


class PlannedError(NamedTuple):
    """What ``stat`` found wrong with a row (its ``failures.csv`` kind and message)."""

    kind: str
    message: str


@dataclass(slots=True, frozen=True)
class Planned:
    """A manifest row and what it is: an identity to look up and parse, or an error found by
    ``stat`` (decided anew on every run, never checkpointed)."""

    ref: FilingRef
    identity: str | None
    error: PlannedError | None = None


def identify(ref: FilingRef, max_bytes: int) -> Planned:
    location = ref.location
    name = edgar_name(location)
    if is_url(location):
        return Planned(ref, name.identity if name else f"url:{location}")
    try:
        st = os.stat(location)
        check_stat(st, location, max_bytes)
    except FilingError as exc:
        return Planned(ref, None, PlannedError(exc.kind, exc.message))
    except OSError as exc:
        return Planned(ref, None, PlannedError(UnreadableFilingError.kind, f"cannot read file: {exc.strerror}"))
    if name is not None:
        return Planned(ref, name.identity)
    return Planned(ref, file_identity(location, st.st_size, st.st_mtime_ns))


def identify_all(refs: list[FilingRef], max_bytes: int) -> list[Planned]:
    """``identify`` of every row, in manifest order. The first two slices are done in this
    thread, the second timed: on a local disk a ``stat`` is a few µs and threads only fight over the GIL (a
    million rows took twice as long on 8 threads), on a network file system it is a round
    trip that threads overlap, so the rest goes to threads only when a row was slow."""
    first = [identify(r, max_bytes) for r in refs[:STAT_SLICE]]
    started = time.perf_counter()
    probe = [identify(r, max_bytes) for r in refs[STAT_SLICE : 2 * STAT_SLICE]]
    per_row = (time.perf_counter() - started) / max(1, len(probe))
    rest = refs[2 * STAT_SLICE :]
    if per_row < THREADS_ABOVE_SECONDS:
        return first + probe + [identify(r, max_bytes) for r in rest]
    slices = [rest[start : start + STAT_SLICE] for start in range(0, len(rest), STAT_SLICE)]
    with ThreadPoolExecutor(STAT_THREADS) as pool:
        done = pool.map(lambda part: [identify(r, max_bytes) for r in part], slices)
        return first + probe + [planned for part in done for planned in part]


def pending_work(planned: list[Planned], done: dict[str, str]) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(identity, location) of each filing not done yet, once per identity in manifest order,
    and the first manifest row of each (for batch labels)."""
    pending: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for p in planned:
        if p.identity is not None and p.identity not in done and p.identity not in pending:
            pending[p.identity] = p.ref.location
            first_row[p.identity] = p.ref.row
    return list(pending.items()), first_row


def make_batches(
    pending: list[Item],
    size: int,
    items_path: Path,
    records_dir: str,
    max_bytes: int,
    rows: dict[str, int] | None = None,
    fetch: FetchPlan | None = None,
) -> list[Batch]:
    """Consecutive groups of ``size``, their items written to ``items_path``. A batch is
    labelled by the manifest rows it spans (its task run's name in the UI), so a user can tell
    which filings a failed task run held."""
    rows = rows or {}
    groups = [pending[start : start + size] for start in range(0, len(pending), size)]
    batches = []
    for index, items in enumerate(groups):
        first, last = rows.get(items[0][0]), rows.get(items[-1][0])
        start = index * size
        span = (
            f"row {first}" if first is not None and first == last
            else f"rows {first}-{last}" if first is not None and last is not None
            else f"filings {start + 1}-{start + len(items)}"
        )
        count = f"{len(items)} filing" + ("s" if len(items) != 1 else "")
        batches.append(Batch(
            f"{span} ({count})", batch_key([i for i, _ in items]), len(items), str(items_path),
            index, records_dir, max_bytes, fetch,
        ))
    if groups:
        write_items(items_path, groups)
    return batches


def write_rows(path: Path, planned: list[Planned], done: dict[str, str], batch_of: dict[str, int]) -> None:
    """What the plan decided for every manifest row, in manifest order (for publishing)."""
    columns: list[list[Any]] = [[] for _ in ROWS_SCHEMA]
    for p in planned:
        identity = p.identity
        for column, value in zip(columns, (
            p.ref.row, p.ref.source, identity, p.error.kind if p.error else None,
            p.error.message if p.error else None, done.get(identity) if identity else None,
            batch_of.get(identity) if identity else None, p.ref.form, p.ref.filed,
        ), strict=True):
            column.append(value)
    table = pa.table([pa.array(c, f.type) for c, f in zip(columns, ROWS_SCHEMA, strict=True)], schema=ROWS_SCHEMA)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


@dataclass(slots=True)
class PlannedRows:
    """A plan's rows file read back: every row as planned, and what was done then."""

    planned: list[Planned]
    done: dict[str, str]  # identity → records file, as the index said when planning
    batch_of: dict[str, int]  # identity → the batch that was to parse it


def read_rows(path: Path) -> PlannedRows:
    table = pq.read_table(path)
    planned, done, batch_of = [], {}, {}
    for row, source, identity, kind, message, key, batch, form, filed in zip(
        *(table.column(f.name).to_pylist() for f in ROWS_SCHEMA), strict=True
    ):
        # Publishing uses only the row, the source, the form, the date, the identity and the error.
        planned.append(Planned(FilingRef(row, source, source, form, filed), identity,
                               PlannedError(kind, message) if kind else None))
        if key is not None:
            done[identity] = key
        if batch is not None:
            batch_of[identity] = batch
    return PlannedRows(planned, done, batch_of)


def _rows_fingerprint(planned: list[Planned], done: dict[str, str], lost: dict[str, str], header: str) -> str:
    digest = hashlib.sha256(f"parser {PARSER_VERSION}\n{header}".encode())
    for p in planned:
        error = f"{p.error.kind}:{p.error.message}" if p.error else ""
        identity = p.identity or ""
        line = (f"{p.ref.row}\t{p.ref.source}\t{identity}\t{done.get(identity)}\t{error}\t"
                f"{lost.get(identity, '')}\t{p.ref.form or ''}\n")
        digest.update(line.encode())
    return digest.hexdigest()


@dataclass(slots=True, frozen=True)
class Partitions:
    """The rows of each partition of the quarterly layout (``flows.outputs.quarter_of``), in
    manifest order, partitions in order, and the fingerprint of each one's inputs."""

    rows: dict[str, list[Planned]]
    fingerprints: dict[str, str]

    @property
    def fingerprint(self) -> str:
        """``outputs_fingerprint`` of the whole quarterly set."""
        return hashlib.sha256(
            f"layout {QUARTERLY}\n".encode()
            + "".join(f"{q} {fp}\n" for q, fp in self.fingerprints.items()).encode()
        ).hexdigest()


def partitions(planned: list[Planned], done: dict[str, str], lost: dict[str, str]) -> Partitions:
    """``planned`` split by filing quarter, with each partition's fingerprint."""
    rows: dict[str, list[Planned]] = {}
    for p in planned:
        rows.setdefault(quarter_of(p.ref.filed), []).append(p)
    rows = dict(sorted(rows.items()))
    return Partitions(rows, {q: _rows_fingerprint(r, done, lost, f"quarter {q}\n") for q, r in rows.items()})


def outputs_fingerprint(
    planned: list[Planned], done: dict[str, str], lost: dict[str, str], layout: str = SINGLE,
) -> str:
    """A digest of everything the output files are made from: if it matches the last run's,
    the files would come out byte-identical, so they need not be written again. In the
    quarterly layout, a digest of its partitions' (``Partitions.fingerprint``)."""
    if layout == SINGLE:
        return _rows_fingerprint(planned, done, lost, "")
    return partitions(planned, done, lost).fingerprint


@dataclass(slots=True, frozen=True)
class Plan:
    """What a run will do, small enough for the flow process at any size: counts, and one
    reference per batch; the per-row decisions are in ``rows_path``."""

    manifest: str
    filings: int  # manifest rows, duplicates dropped
    done: int  # rows whose filing is checkpointed already
    pending: int  # filings in the batches
    batches: tuple[Batch, ...]
    batch_size: int
    rows_path: str  # "" when there is nothing to publish (see reusable_outputs)
    items_path: str
    fingerprint: str = ""  # the outputs', when the run has no batch (else known after them)
    # Nothing to parse and the last run's outputs are made from exactly these inputs: their
    # facts (flows.outputs.reusable_outputs), and publishing reads no row.
    reusable_outputs: dict[str, Any] | None = None

    def remove_files(self) -> None:
        for path in (self.rows_path, self.items_path):
            if path:
                Path(path).unlink(missing_ok=True)


def _remove_old_plans(plans_dir: Path) -> None:
    cutoff = time.time() - PLAN_MAX_AGE_SECONDS
    for path in plans_dir.glob("*.parquet"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def plan_run(settings: RunSettings, workers: int, logger: Any) -> Plan:
    """Step 1 of the flow: read and check the manifest, identify, drop what is done, batch."""
    manifest = read_manifest(settings.manifest, settings.column)
    check_url_sources(manifest, settings.user_agent, settings.max_requests_per_second)
    if manifest.duplicates_dropped:
        logger.warning("manifest: %d duplicate rows ignored", manifest.duplicates_dropped)
    logger.info("manifest %s: %d filings", manifest.path, len(manifest.filings))
    store = CheckpointStore(settings.checkpoint_dir)
    _remove_old_plans(store.plans_dir)
    fetch = None
    if any(is_url(f.location) for f in manifest.filings):
        ensure_rate_limit(settings.max_requests_per_second)
        fetch = settings.fetch_plan(RATE_LIMIT_NAME)
        logger.info(
            "URL filings: at most %g requests/s for all workers; kept in %s",
            settings.max_requests_per_second, fetch.filings_dir,
        )
    planned = identify_all(manifest.filings, settings.max_filing_bytes)
    del manifest
    done = store.load_index()
    pending, first_row = pending_work(planned, done)
    size = settings.batch_size_for(len(pending), workers)
    plan_id = uuid.uuid4().hex
    items_path = store.plans_dir / f"{plan_id}.items.parquet"
    batches = make_batches(
        pending, size, items_path, str(store.batches_dir), settings.max_filing_bytes, first_row, fetch,
    )
    done_rows = sum(1 for p in planned if p.identity in done)
    logger.info(
        "%d filings already checkpointed, %d to parse in %d batches of up to %d",
        done_rows, len(pending), len(batches), size,
    )
    plan = Plan(
        str(settings.manifest), len(planned), done_rows, len(pending), tuple(batches), size,
        "", str(items_path),
    )
    if not batches:
        if recover(settings.results_dir):
            logger.warning("finished publishing the outputs a killed run left half-renamed")
        layout = run_layout(settings)
        fingerprint = outputs_fingerprint(planned, done, {}, layout)
        reusable = reusable_outputs(settings.results_dir, fingerprint, layout)
        plan = dataclasses.replace(plan, fingerprint=fingerprint, reusable_outputs=reusable)
        if reusable is not None:
            return plan
    batch_of = {identity: i // size for i, (identity, _) in enumerate(pending)}  # make_batches' groups
    rows_path = store.plans_dir / f"{plan_id}.rows.parquet"
    write_rows(rows_path, planned, done, batch_of)
    return dataclasses.replace(plan, rows_path=str(rows_path))

