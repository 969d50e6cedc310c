"""The resubmission loop, driven by a fake submitter that loses workers: no Dask, no Prefect."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.execution import SUBMIT_ROUNDS, Outcome, run_batches
from flows.planning import make_batches
from tasks.checkpoint_format import BatchRecords
from tasks.batch import Batch

pytestmark = pytest.mark.fast
LOG = logging.getLogger("test")


class LosingSubmitter:
    """Completes each batch (writing its records file) unless told to lose it in a round."""

    def __init__(self, lose: dict[str, int], fail: set[str] = frozenset()) -> None:
        self.lose, self.fail = dict(lose), fail  # batch label → rounds to lose it in
        self.calls: list[tuple[list[str], bool]] = []

    def __call__(self, batches: list[Batch], refresh: bool) -> Iterator[Outcome]:
        self.calls.append(([b.label for b in batches], refresh))
        for batch in reversed(batches):  # completion order is not submission order
            if batch.label in self.fail:
                yield Outcome(batch, None, reason="Failed: boom", final=True)
            elif self.lose.get(batch.label, 0) > 0:
                self.lose[batch.label] -= 1
                yield Outcome(batch, None, reason="worker lost (task run left Running)")
            else:
                BatchRecords.empty().write(batch.records_path)
                yield Outcome(batch, {
                    "records": batch.records_path.name, "filings": batch.count,
                    "io_errors": {}, "hostname": "node1", "slurm_job_id": "42",
                })


def _batches(tmp_path: Path, n: int = 4) -> list[Batch]:
    pending = [(f"id{i}", f"/f/{i}") for i in range(n * 2)]
    return make_batches(pending, 2, tmp_path / "items.parquet", str(tmp_path), 100, {f"id{i}": i + 2 for i in range(n * 2)})


def test_lost_batches_are_resubmitted_and_finish_once(tmp_path: Path) -> None:
    batches = _batches(tmp_path)
    submitter = LosingSubmitter({batches[1].label: 1, batches[3].label: 2})
    progress: list[int] = []
    out = run_batches(batches, submitter, LOG, progress.append)
    assert [refresh for _, refresh in submitter.calls] == [False, True, True]
    assert submitter.calls[1][0] == [batches[3].label, batches[1].label]
    assert submitter.calls[2][0] == [batches[3].label]
    assert out.resubmitted == [batches[3].label, batches[1].label, batches[3].label]
    assert out.finished == {b.index: b.records_path.name for b in batches}
    assert out.failed == {} and sum(progress) == 8
    assert out.workers == {"42": 4} and out.parsed == {0, 1, 2, 3}


def test_a_batch_lost_every_round_is_not_processed_and_a_failed_one_is_not_retried(tmp_path: Path) -> None:
    batches = _batches(tmp_path, 3)
    submitter = LosingSubmitter({batches[0].label: SUBMIT_ROUNDS}, fail={batches[2].label})
    out = run_batches(batches, submitter, LOG)
    assert len(submitter.calls) == SUBMIT_ROUNDS
    assert all(batches[2].label not in labels for labels, _ in submitter.calls[1:])
    assert out.failed[0].startswith(f"lost {SUBMIT_ROUNDS} times; last: worker lost")
    assert out.failed[2] == "Failed: boom"
    assert out.parsed == {1} and list(out.finished) == [1]


def test_a_cached_batch_whose_file_is_gone_is_recomputed(tmp_path: Path) -> None:
    (batch,) = _batches(tmp_path, 1)

    calls: list[bool] = []

    def submit(batches: list[Batch], refresh: bool) -> Iterator[Outcome]:
        calls.append(refresh)
        if refresh:
            BatchRecords.empty().write(batch.records_path)
        summary = {"records": batch.records_path.name, "io_errors": {}, "hostname": "h", "slurm_job_id": None}
        yield Outcome(batch, summary, cached=not refresh)

    out = run_batches([batch], submit, LOG)
    assert calls == [False, True] and out.parsed == {0} and out.workers == {"h": 1}
