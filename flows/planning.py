"""Planning a run: check it can start, identify every filing without reading it, batch the rest.

The flow process (on a cluster: the login node) never reads a filing's bytes. A filing is
identified by the EDGAR accession its name carries (EDGAR never changes a filing; a copy of
an EDGAR-named corpus in another folder is the same work), else by path, size and mtime (as
make and rsync decide), else, for a URL that names no accession, by the URL. A ``stat`` also
catches what no worker should open: a device, a FIFO, a directory, a file over the size cap.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from typing import Any

from flows.checkpoints import CheckpointStore
from flows.cluster import ClusterProfile, check_api_reachable, get_profile
from flows.manifest import FilingRef, Manifest, check_url_sources, read_manifest
from flows.outputs import recover
from flows.settings import RunSettings
from tasks.edgar_names import edgar_name, is_url
from tasks.errors import FilingError, UnreadableFilingError
from tasks.fetch import FetchPlan
from tasks.batch import Batch, file_identity
from tasks.rate_limit import RATE_LIMIT_NAME, ensure_rate_limit
from tasks.reading import check_stat

# A batch is the unit Prefect orchestrates (~50-65 ms of overhead each on Dask) and the unit
# of loss on a crash; a filing costs ~0.1 ms. Auto size aims at a few batches per worker.
MIN_BATCH, MAX_BATCH, BATCHES_PER_WORKER = 25, 2000, 4
# stat() is I/O bound (an NFS round trip on a cluster): threads in the flow process, each
# given a slice of rows (one future per row would cost ~2 KB each: 2 GB for a million rows).
STAT_THREADS = 8
STAT_SLICE = 4096


def preflight(settings: RunSettings, api_url: str | None) -> tuple[Manifest, ClusterProfile]:
    """Everything that can make the whole run fail, checked before any work: the manifest,
    polite URL settings, the cluster profile, an API the workers can reach."""
    profile = get_profile(settings.profile_name, settings.cluster)
    check_api_reachable(profile, api_url)
    manifest = read_manifest(settings.manifest, settings.column)
    check_url_sources(manifest, settings.user_agent, settings.max_requests_per_second)
    return manifest, profile


@dataclass(slots=True, frozen=True)
class Planned:
    """A manifest row and what it is: an identity to look up and parse, or an error found by
    ``stat`` (decided anew on every run, never checkpointed)."""

    ref: FilingRef
    identity: str | None
    error: FilingError | None = None


def identify(ref: FilingRef, max_bytes: int) -> Planned:
    location = ref.location
    name = edgar_name(location)
    if is_url(location):
        return Planned(ref, name.identity if name else f"url:{location}")
    try:
        st = os.stat(location)
        check_stat(st, location, max_bytes)
    except FilingError as exc:
        return Planned(ref, None, exc.with_source(ref.source))
    except OSError as exc:
        return Planned(ref, None, UnreadableFilingError(f"cannot read file: {exc.strerror}", ref.source))
    if name is not None:
        return Planned(ref, name.identity)
    return Planned(ref, file_identity(location, st.st_size, st.st_mtime_ns))


def identify_all(refs: list[FilingRef], max_bytes: int) -> list[Planned]:
    """``identify`` of every row, in manifest order."""
    slices = [refs[start : start + STAT_SLICE] for start in range(0, len(refs), STAT_SLICE)]
    with ThreadPoolExecutor(STAT_THREADS) as pool:
        done = pool.map(lambda part: [identify(r, max_bytes) for r in part], slices)
        return [planned for part in done for planned in part]


def auto_batch_size(pending: int, workers: int) -> int:
    """Enough batches to keep every worker busy and bound crash loss; few enough to stay cheap."""
    target = -(-pending // max(1, workers * BATCHES_PER_WORKER))
    return max(MIN_BATCH, min(MAX_BATCH, target))


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
    pending: list[tuple[str, str]],
    size: int,
    records_dir: str,
    max_bytes: int,
    rows: dict[str, int] | None = None,
    fetch: FetchPlan | None = None,
) -> list[Batch]:
    """Consecutive groups of ``size``. A batch is labelled by the manifest rows it spans (its
    task run's name in the UI), so a user can tell which filings a failed task run held."""
    rows = rows or {}
    batches = []
    for start in range(0, len(pending), size):
        items = tuple(pending[start : start + size])
        first, last = rows.get(items[0][0]), rows.get(items[-1][0])
        span = (
            f"row {first}" if first is not None and first == last
            else f"rows {first}-{last}" if first is not None and last is not None
            else f"filings {start + 1}-{start + len(items)}"
        )
        count = f"{len(items)} filing" + ("s" if len(items) != 1 else "")
        batches.append(Batch(f"{span} ({count})", items, records_dir, max_bytes, fetch))
    return batches


@dataclass(slots=True)
class Plan:
    """What a run will do: every manifest row identified, what is done, the batches to run."""

    manifest: Manifest
    profile: ClusterProfile
    store: CheckpointStore
    planned: list[Planned]
    done: dict[str, str]  # identity → records file; the run adds to it as batches finish
    batches: list[Batch]
    batch_size: int
    pending: int  # filings in the batches


def plan_run(settings: RunSettings, api_url: str | None, logger: Any) -> Plan:
    """Step 1 of the flow: check, finish what a killed run left, identify, batch."""
    manifest, profile = preflight(settings, api_url)
    if manifest.duplicates_dropped:
        logger.warning("manifest: %d duplicate rows ignored", manifest.duplicates_dropped)
    logger.info("manifest %s: %d filings", manifest.path, len(manifest.filings))
    if recover(settings.results_dir):
        logger.warning("finished publishing the outputs a killed run left half-renamed")
    store = CheckpointStore(settings.checkpoint_dir)
    fetch = None
    if any(is_url(f.location) for f in manifest.filings):
        ensure_rate_limit(settings.max_requests_per_second)
        fetch = settings.fetch_plan(RATE_LIMIT_NAME)
        logger.info(
            "URL filings: at most %g requests/s for all workers; kept in %s",
            settings.max_requests_per_second, fetch.filings_dir,
        )
    planned = identify_all(manifest.filings, settings.max_filing_bytes)
    done = store.load_index()
    pending, first_row = pending_work(planned, done)
    size = settings.batch_size or auto_batch_size(len(pending), profile.workers)
    batches = make_batches(
        pending, size, str(store.batches_dir), settings.max_filing_bytes, first_row, fetch
    )
    logger.info(
        "%d filings already checkpointed, %d to parse in %d batches of up to %d (profile %s)",
        sum(1 for p in planned if p.identity in done), len(pending), len(batches), size,
        profile.name,
    )
    return Plan(manifest, profile, store, planned, done, batches, size, len(pending))
