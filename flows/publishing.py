"""Publishing a run: every manifest row's outcome, in manifest order, into ``results/``.

Runs as a task on a Dask worker (``flows.steps``), like planning: the flow process never
reads a checkpoint. It indexes the run's finished batches first, then writes the outputs
(unless the last run's were made from exactly the same inputs). Records are read back from the batches' Parquet checkpoints and moved with Arrow (``take``,
``list_flatten``): the flow process never parses or re-serializes a record, it only splices in
what the manifest alone knows (the row's ``source``, and the accession number a bare XML
file's name gives). Filings are published in chunks, so memory is bounded by a chunk's
batches, not by the run.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from flows.checkpoints import CheckpointStore
from flows.execution import Extracted
from flows.outputs import (
    FAILURES_NAME, JOURNAL_NAME, JSON_DIR, QUARTERLY, README_NAME, SINGLE, SUMMARY_NAME, Layout, OutputFiles,
    ResultsWriter, output_names, output_sizes, publish_set, read_failure_rows, read_summary, recover,
    reusable_outputs, run_layout, write_failures,
)
from flows.planning import (
    Partitions, Plan, Planned, outputs_fingerprint, partitions, read_rows,
)
from flows.results_readme import render as render_readme
from flows.settings import RunSettings, default_store_dir
from tasks.edgar_names import accession_from_name
from tasks.files import temp_beside
from tasks.tables import SCHEMAS, TABLE_COLUMNS
from tasks.version import PARSER_VERSION

# Filings published per step. Memory is a few copies of a chunk's records (the batches read,
# concatenated, taken in order, their JSON text as Python strings): 50,000 took the flow
# process to 2.4 GB at 100,000 filings, 5,000 to 0.7 GB, with byte-identical outputs.
CHUNK_FILINGS = 5_000
_SOURCE = "source"


def _chunks(items: list[Planned], size: int) -> Iterator[list[Planned]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _records_of(chosen: list[tuple[str, Planned]], store: CheckpointStore) -> pa.Table:
    """One checkpoint row per chosen filing, in the given order."""
    keys = list(dict.fromkeys(key for key, _ in chosen))
    tables, offsets, rows_of = [], {}, {}
    total = 0
    for key in keys:
        table = store.load(key)
        offsets[key] = total
        rows_of[key] = {identity: i for i, identity in enumerate(table.column("identity").to_pylist())}
        tables.append(table)
        total += table.num_rows
    indices = pa.array([offsets[key] + rows_of[key][p.identity] for key, p in chosen], pa.int64())
    return pa.concat_tables(tables).take(indices)


def _table_rows(records: pa.Table, name: str, accessions: pa.Array, sources: pa.Array) -> pa.Table:
    """The rows of one output table for these records, with the manifest's facts spliced in."""
    column = records.column(name)
    structs = pc.list_flatten(column).combine_chunks()
    if not len(structs):
        return SCHEMAS[name].empty_table()
    parents = pc.list_parent_indices(column)
    table = pa.Table.from_batches([pa.RecordBatch.from_struct_array(structs)])
    table = table.set_column(0, "accession_number", accessions.take(parents))
    if _SOURCE in TABLE_COLUMNS[name]:
        at = TABLE_COLUMNS[name].index(_SOURCE)
        table = table.set_column(at, _SOURCE, sources.take(parents))
    # Parquet has no timestamp[s]: checkpoints come back as [ms]; the outputs keep the schema.
    return table.cast(SCHEMAS[name])


class FormCounts:
    """Filings by form type, as ``run_summary.json`` and the UI report them: a success's form is
    its ``documentType``; a failure's the form its bytes name (SEC header, ``documentType``),
    else the manifest's form column, else ``unknown``."""

    UNKNOWN = "unknown"

    def __init__(self) -> None:
        self.succeeded: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()

    def add_succeeded(self, document_types: list[str | None]) -> None:
        self.succeeded.update(t or self.UNKNOWN for t in document_types)

    def add_failed(self, form: str | None) -> None:
        self.failed[form or self.UNKNOWN] += 1

    def add_summary(self, summary: dict[str, dict[str, int]]) -> None:
        """Add the counts of another ``summary()`` (a partition kept from the last set)."""
        for form, counts in summary.items():
            self.succeeded[form] += counts["succeeded"]
            self.failed[form] += counts["failed"]

    def summary(self) -> dict[str, dict[str, int]]:
        """``{form: {"filings", "succeeded", "failed"}}``, most filings first."""
        totals = self.succeeded + self.failed
        return {
            form: {"filings": n, "succeeded": self.succeeded[form], "failed": self.failed[form]}
            for form, n in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        }


def _document_types(records: pa.Table) -> list[str | None]:
    """Each record's form type: its one ``submissions`` row's ``document_type``."""
    submissions = pc.list_flatten(records.column("submissions"))
    types = pc.struct_field(submissions, "document_type").to_pylist()
    assert len(types) == records.num_rows, "one submissions row per record"
    return types


class Tally:
    """What publishing counts of the rows it writes (all of them, or one partition's)."""

    def __init__(self) -> None:
        self.filings = 0
        self.succeeded = 0
        self.failed = 0
        self.errors: Counter[str] = Counter()
        self.forms = FormCounts()
        self.not_processed = 0

    def add(self, facts: dict[str, Any]) -> None:
        """Add another tally's ``facts()`` (a partition kept from the last set)."""
        self.filings += facts["filings"]
        self.succeeded += facts["succeeded"]
        self.failed += facts["failed"]
        self.errors.update(facts["error_types"])
        self.forms.add_summary(facts["forms"])
        self.not_processed += facts["not_processed"]

    def facts(self) -> dict[str, Any]:
        return {
            "filings": self.filings,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "data_errors": sum(self.errors.values()),
            "not_processed": self.not_processed,
            "error_types": dict(self.errors.most_common()),
            "forms": self.forms.summary(),
        }


def _write_rows(
    writer: ResultsWriter, planned: list[Planned], done: dict[str, str], store: CheckpointStore,
    lost: dict[str, str], tally: Tally,
) -> None:
    """Every row's outcome into ``writer``, in the given (manifest) order, ``CHUNK_FILINGS`` at
    a time: its record, or its failure."""
    tally.filings += len(planned)
    for chunk in _chunks(planned, CHUNK_FILINGS):
        failures: list[tuple[int, str, str, str, str | None]] = []
        chosen: list[tuple[str, Planned]] = []
        for p in chunk:
            if p.error is not None:
                failures.append((p.ref.row, p.ref.source, p.error.kind, p.error.message, p.ref.form))
                continue
            key = done.get(p.identity) if p.identity else None
            if key is None:
                why = lost.get(p.identity or "", "not processed")
                failures.append((p.ref.row, p.ref.source, "not_processed", why, p.ref.form))
                continue
            chosen.append((key, p))
        if chosen:
            records = _records_of(chosen, store)
            kinds = records.column("error_kind").to_pylist()
            messages = records.column("error_message").to_pylist()
            filed = records.column("form_type").to_pylist()  # null in batches before it
            ok = []
            for (_, p), kind, message, form in zip(chosen, kinds, messages, filed, strict=True):
                if kind is None:
                    ok.append(p)
                else:
                    failures.append((p.ref.row, p.ref.source, kind, message, form or p.ref.form))
            records = records.filter(pc.is_null(records.column("error_kind")))
            tally.forms.add_succeeded(_document_types(records))
            sources = [p.ref.source for p in ok]
            accessions = [
                a if a is not None else accession_from_name(s)
                for a, s in zip(records.column("accession_number").to_pylist(), sources, strict=True)
            ]
            lines = [
                '{"source": ' + json.dumps(s, ensure_ascii=False) + ', "accession_number": '
                + json.dumps(a) + ", " + tail
                for s, a, tail in zip(sources, accessions, records.column("json_tail").to_pylist(), strict=True)
            ]
            acc_array, src_array = pa.array(accessions, pa.string()), pa.array(sources, pa.string())
            tables = {name: _table_rows(records, name, acc_array, src_array) for name in TABLE_COLUMNS}
            writer.add_records(lines, tables)
            tally.succeeded += len(lines)
        for failure in sorted(failures, key=lambda f: f[0]):
            writer.add_failure(*failure)
            tally.forms.add_failed(failure[4])
            tally.failed += 1
            if failure[2] == "not_processed":
                tally.not_processed += 1
            else:
                tally.errors[failure[2]] += 1


# Makes the summary and README texts from the facts ``publish`` counted, the set's files and
# their rows (``flows.outputs.Documenter``, with the facts first).
Documents = Callable[[dict[str, Any], dict[str, Path], dict[str, int]], dict[str, str]]


def publish(
    results_dir: Path,
    planned: list[Planned],
    done: dict[str, str],
    store: CheckpointStore,
    lost: dict[str, str],
    documents: Documents,
    layout: Layout = SINGLE,
    parts: Partitions | None = None,
) -> dict[str, Any]:
    """Write every row's outcome into the results files of ``layout`` and publish them with
    ``documents``; return the facts about them that go into the run summary. ``parts``: the
    quarterly layout's ``partitions`` of ``planned``, if the caller has them already."""
    if layout == QUARTERLY:
        parts = parts or partitions(planned, done, lost)
        return _publish_quarterly(results_dir, parts, done, store, lost, documents)
    writer = ResultsWriter(results_dir)
    tally = Tally()
    try:
        _write_rows(writer, planned, done, store, lost, tally)
        writer.name_json(tally.forms.succeeded)
        summary = tally.facts() | {
            "json_file": writer.json_name,
            "results_dir": str(results_dir),
            "checkpoint_dir": str(store.directory),
            "layout": SINGLE,
        }
        writer.commit(lambda files, rows: documents(summary, files, rows))
    except BaseException:
        writer.abort()
        raise
    return summary


def _kept_partitions(results_dir: Path, fingerprints: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The partitions of the last (quarterly) set that are made from exactly these inputs and
    whose files are all still there, untouched in size: their facts, by quarter."""
    previous = read_summary(results_dir)
    if previous is None or previous.get("layout") != QUARTERLY:
        return {}
    sizes, rows = previous.get("output_bytes") or {}, previous.get("rows_by_file") or {}
    kept = {}
    for quarter, facts in (previous.get("partitions") or {}).items():
        names = OutputFiles.partition(quarter).names()
        if fingerprints.get(quarter) != facts.get("fingerprint") or not all(n in rows for n in names):
            continue
        if {n: sizes.get(n) for n in names} == output_sizes(results_dir, {n: results_dir / n for n in names}):
            kept[quarter] = facts | {"rows_by_file": {n: rows[n] for n in names}}
    return kept


def _publish_quarterly(
    results_dir: Path,
    parts: Partitions,
    done: dict[str, str],
    store: CheckpointStore,
    lost: dict[str, str],
    documents: Documents,
) -> dict[str, Any]:
    """``publish`` in the quarterly layout: only the partitions whose inputs changed are
    written (see ``flows.outputs``); ``failures.csv`` is the kept partitions' rows of the last
    one with the written partitions' rows, in manifest order."""
    fingerprints = parts.fingerprints
    kept = _kept_partitions(results_dir, fingerprints)
    # The kept partitions' rows of the last failures.csv (a partition whose rows there are not
    # all found is written again).
    previous = read_failure_rows(results_dir / FAILURES_NAME)
    rows_failed = {f[0] for f in previous}
    quarter_of_row = {p.ref.row: q for q in kept for p in parts.rows[q] if p.ref.row in rows_failed}
    found = Counter(quarter_of_row[f[0]] for f in previous if f[0] in quarter_of_row)
    kept = {q: facts for q, facts in kept.items() if found[q] == facts["failed"]}
    failures = [f for f in previous if quarter_of_row.get(f[0]) in kept]
    total = Tally()
    files: dict[str, Path] = {}
    rows: dict[str, int] = {}
    quarters: dict[str, dict[str, Any]] = {}  # each quarter's facts, for run_summary.json
    writer: ResultsWriter | None = None
    try:
        for quarter, part in parts.rows.items():
            if quarter in kept:
                facts = kept[quarter]
                files |= {n: results_dir / n for n in facts["rows_by_file"]}
                rows |= facts["rows_by_file"]
            else:
                writer = ResultsWriter(results_dir, OutputFiles.partition(quarter))
                tally = Tally()
                _write_rows(writer, part, done, store, lost, tally)
                written, written_rows = writer.finish()
                failures += writer.failure_rows
                writer = None
                files |= written
                rows |= written_rows
                facts = tally.facts()
            quarters[quarter] = {k: v for k, v in facts.items() if k != "rows_by_file"} | {
                "fingerprint": fingerprints[quarter]}
            total.add(facts)
        files[FAILURES_NAME] = temp_beside(results_dir / FAILURES_NAME)
        rows[FAILURES_NAME] = write_failures(files[FAILURES_NAME], sorted(failures, key=lambda f: f[0]))
        summary = total.facts() | {
            "json_file": f"{JSON_DIR}/",
            "results_dir": str(results_dir),
            "checkpoint_dir": str(store.directory),
            "layout": QUARTERLY,
            "partitions": quarters,
            "partitions_written": sorted(set(parts.rows) - set(kept)),
        }
        publish_set(results_dir, files, rows, lambda fs, rs: documents(summary, fs, rs))
    except BaseException:
        if writer is not None:
            writer.abort()
        if not (results_dir / JOURNAL_NAME).exists():  # else the set is committed: recover finishes it
            for name, path in files.items():
                if path != results_dir / name:
                    path.unlink(missing_ok=True)
        raise
    return summary


def publish_files(
    results_dir: Path, paths: list[Path], batch_size: int = 2000, layout: Layout = SINGLE,
    dates: list[str | None] | None = None,
) -> dict[str, Any]:
    """Parse local files in this process and publish them as a run would, without Prefect or
    Dask: the same batches, checkpoint files and publishing code (for tests and benchmarks).
    ``dates``: each file's manifest ``date_filed``."""
    from flows.manifest import FilingRef
    from flows.planning import identify_all, make_batches, pending_work
    from tasks.batch import extract_items
    from tasks.reading import DEFAULT_MAX_BYTES

    store = CheckpointStore(default_store_dir(results_dir))
    dates = dates or [None] * len(paths)
    refs = [FilingRef(i + 2, str(p), str(p), None, d) for i, (p, d) in enumerate(zip(paths, dates, strict=True))]
    planned = identify_all(refs, DEFAULT_MAX_BYTES)
    done = store.load_index()
    pending, rows = pending_work(planned, done)
    lost: dict[str, str] = {}
    items_path = store.plans_dir / "publish_files.items.parquet"
    for batch in make_batches(pending, batch_size, items_path, str(store.batches_dir), DEFAULT_MAX_BYTES, rows):
        records, io_errors = extract_items(batch)
        records.write(batch.records_path)
        finished = [i for i, _ in batch.read_items() if i not in io_errors]
        store.record(batch.records_path.name, finished)
        done.update((i, batch.records_path.name) for i in finished)
        lost.update(io_errors)
    items_path.unlink(missing_ok=True)
    return publish(results_dir, planned, done, store, lost, lambda facts, files, rows: {
        SUMMARY_NAME: json.dumps(facts | {"rows_by_file": rows, "output_bytes": output_sizes(results_dir, files)},
                                 indent=2) + "\n",
    }, layout)


def publish_outputs(
    settings: RunSettings, plan: Plan, extracted: Extracted, run: dict[str, Any], logger: Any,
) -> dict[str, Any]:
    """Step 3 of the flow: index the run's finished batches; write the results files, unless
    the last run's are made from exactly the same inputs; publish them with the run summary,
    ``README.md`` and ``SHA256SUMS`` as one set (``flows.outputs``). ``run`` holds what only
    the flow process knows (``run_summary``). Returns the summary as published."""
    started = time.monotonic()
    results_dir, layout = settings.results_dir, run_layout(settings)
    if recover(results_dir):
        logger.warning("finished publishing the outputs a killed run left half-renamed")
    summary: dict[str, Any] = {}

    def documents(outputs: dict[str, Any], files: dict[str, Path], rows: dict[str, int]) -> dict[str, str]:
        facts = outputs | {
            "outputs_fingerprint": fingerprint, "output_bytes": output_sizes(results_dir, files),
            "rows_by_file": rows,
        }
        summary.update(run_summary(settings, plan, extracted, counts, facts, run, time.monotonic() - started))
        return {
            SUMMARY_NAME: json.dumps(summary, indent=2) + "\n",
            README_NAME: render_readme(summary, run["host"]),
        }

    if plan.reusable_outputs is not None:  # nothing to parse, and the outputs are up to date
        fingerprint, outputs = plan.fingerprint, plan.reusable_outputs
        counts = {"parsed": 0, "cached": plan.done, "cache_hits_in_run": 0}
    else:
        store = CheckpointStore(settings.checkpoint_dir)
        rows = read_rows(Path(plan.rows_path))
        by_batch: dict[int, list[str]] = {}
        for identity, n in rows.batch_of.items():
            by_batch.setdefault(n, []).append(identity)
        done, lost = rows.done, dict(extracted.io_errors)
        parsed_ids: set[str] = set()
        cache_hits = 0
        for n, identities in by_batch.items():
            key = extracted.finished.get(n)
            if key is None:
                reason = extracted.failed.get(n, "not processed")
                lost.update((i, reason) for i in identities)
                continue
            finished = [i for i in identities if i not in extracted.io_errors]
            store.record(key, finished)
            done.update((i, key) for i in finished)
            if n in extracted.parsed:
                parsed_ids.update(finished)
            else:
                cache_hits += len(finished)
        parts = partitions(rows.planned, done, lost) if layout == QUARTERLY else None
        fingerprint = parts.fingerprint if parts else outputs_fingerprint(rows.planned, done, lost, layout)
        parsed = sum(1 for p in rows.planned if p.identity in parsed_ids)
        counts = {
            "parsed": parsed,
            "cached": sum(1 for p in rows.planned if p.identity in done) - parsed,
            "cache_hits_in_run": cache_hits,
        }
        outputs = reusable_outputs(results_dir, fingerprint, layout)
        if outputs is None:
            publish(results_dir, rows.planned, done, store, lost, documents, layout, parts)
            if parts is not None:
                written = summary["partitions_written"]
                logger.info("quarterly layout: wrote %d of %d quarters (%s), kept the others",
                            len(written), len(parts.rows), ", ".join(written) or "none")
            return summary
    logger.info("outputs in %s are up to date: not rewritten", results_dir)
    if layout == QUARTERLY:
        outputs = outputs | {"partitions_written": []}
    publish_set(
        results_dir, {n: results_dir / n for n in output_names(results_dir, layout)}, outputs["rows_by_file"],
        lambda files, rows: documents(outputs, files, rows),
    )
    return summary


def run_summary(
    settings: RunSettings,
    plan: Plan,
    extracted: Extracted,
    counts: dict[str, int],
    outputs: dict[str, Any],
    run: dict[str, Any],
    publish_seconds: float,
) -> dict[str, Any]:
    """``run_summary.json``: what the run did, with the settings it used. ``run`` comes from
    the flow process: ``profile``, ``flow_run_id``, ``flow_run_url``, ``slurm_job_ids``,
    ``host`` (where to copy the results from), ``phase_seconds`` and ``seconds`` so far.
    ``seconds`` ends when the set is published (it is part of the set)."""
    return {
        "filings": plan.filings,
        "parsed": counts["parsed"],
        "cached": counts["cached"],
    } | outputs | {
        "manifest": plan.manifest,
        "cache_hits_in_run": counts["cache_hits_in_run"],
        "batches_by_worker": dict(extracted.workers),
        "batches_resubmitted": extracted.resubmitted,
        "phase_seconds": {k: round(v, 3) for k, v in run["phase_seconds"].items()}
        | {"publish": round(publish_seconds, 3)},
        "batches": len(plan.batches),
        "batch_size": plan.batch_size,
        "parser_version": PARSER_VERSION,
        "settings": settings.model_dump(mode="json"),
        "profile": run["profile"],
        "flow_run_id": run["flow_run_id"],
        "flow_run_url": run["flow_run_url"],
        "slurm_job_ids": run["slurm_job_ids"],
        "host": run["host"],
        "seconds": round(run["seconds"] + publish_seconds, 3),
    }
