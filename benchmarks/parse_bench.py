"""Parser speed per form on the real corpora, each next to its floor (bare lxml parse + full
iteration) on the same files.

Forms 3 come from the Form 3 corpus (its 104 Form 3 / 3/A files, the set measured before Forms
4/5 were read), Forms 4 and 5 (with their amendments) from the Form 4/5 corpus; files that fail
(paper-era, malformed) are left out of both sides. Parse and floor are measured in the same
process and run, interleaved form by form, so each ratio is meaningful on a noisy 2-core
machine even when the absolute figures drift. ``--baseline REF`` also measures the Form 3
files with the parser of a git ref (e.g. ``main``), in the same process and rounds. Prints
figures; asserts nothing. The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tasks.errors import FilingError  # noqa: E402
from tasks.extract import parse_filing  # noqa: E402
from tasks.output_digest import corpus_files, form3_files  # noqa: E402
from tasks.submission import split_submission  # noqa: E402

FORMS = {"3": "form3", "3/A": "form3", "4": "form4", "4/A": "form4", "5": "form5", "5/A": "form5"}


def _floor(xml: bytes) -> None:
    for _ in etree.fromstring(xml).iter():
        pass


def ms_per_item(runs: list[tuple[Callable[[bytes], object], list[bytes]]], rounds: int) -> list[float]:
    """Mean over items of each item's best-of-``rounds`` time, in ms, for each (function,
    items) run (the runs' items correspond one to one). Every item is timed by each run in
    turn, so a burst of load from the machine's other users hits both sides of a ratio alike;
    the best of an item's rounds is its least disturbed time. (Best-of a whole pass over the
    files proved useless at a load of 6-9 on 2 cores: hardly a pass of several ms escaped.)"""
    n = len(runs[0][1])
    best = [[float("inf")] * n for _ in runs]
    clock = time.perf_counter
    for _ in range(rounds):
        for i in range(n):
            for j, (fn, items) in enumerate(runs):
                start = clock()
                fn(items[i])
                elapsed = clock() - start
                if elapsed < best[j][i]:
                    best[j][i] = elapsed
    return [sum(b) / n * 1e3 for b in best]


def _by_form(files: list[Path]) -> dict[str, list[bytes]]:
    groups: dict[str, list[bytes]] = {}
    for path in files:
        data = path.read_bytes()
        try:
            form = FORMS[parse_filing(data).document.document_type]
        except FilingError:
            continue
        groups.setdefault(form, []).append(data)
    return groups


def baseline_parser(ref: str, where: Path) -> Callable[[bytes], object]:
    """``parse_filing`` of git ref ``ref``, importable next to ours: its ``tasks/`` package is
    extracted under ``where`` as ``baseline_tasks`` (its own imports renamed to match), so both
    parsers are timed in one process, round by round."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "tasks"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    package = where / "baseline_tasks"
    (where / "tasks").rename(package)
    for module in package.glob("*.py"):
        text = module.read_text()
        module.write_text(text.replace("from tasks.", "from baseline_tasks.").replace("import tasks.", "import baseline_tasks."))
    sys.path.insert(0, str(where))
    from baseline_tasks.extract import parse_filing as baseline  # type: ignore[import-not-found]

    return baseline


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=Path(os.environ.get("FORM3_CORPUS", REPO.parent / "shared" / "form3-corpus")))
    ap.add_argument("--corpus345", type=Path, default=Path(os.environ.get("FORM345_CORPUS", REPO.parent / "shared" / "form345-corpus")))
    ap.add_argument("--rounds", type=int, default=30, help="passes over each form's files per measure")
    ap.add_argument("--baseline", metavar="REF", help="also time the Form 3 files with this git ref's parser")
    args = ap.parse_args()

    groups = _by_form(form3_files(args.corpus))
    groups.update({k: v for k, v in _by_form(corpus_files(args.corpus345)).items() if k != "form3"})
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        baseline = baseline_parser(args.baseline, Path(tmp)) if args.baseline else None
    for form in ("form3", "form4", "form5"):
        items = groups[form]
        xmls = [split_submission(d)[1] for d in items]
        runs = [(parse_filing, items), (_floor, xmls)]
        if baseline is not None and form == "form3":
            runs.append((baseline, items))
        parse_ms, floor_ms, *base = ms_per_item(runs, args.rounds)
        figures[f"{form}_ms"], figures[f"{form}_floor_ms"] = parse_ms, floor_ms
        kib = sum(map(len, items)) / len(items) / 1024
        print(
            f"{form}: {len(items)} filings, {kib:.1f} KiB mean: parse {parse_ms:.4f} ms/filing, "
            f"floor {floor_ms:.4f} ms/filing, ratio {parse_ms / floor_ms:.2f}x"
        )
        if base:
            print(f"{form} with {args.baseline}'s parser: {base[0]:.4f} ms/filing, ratio {base[0] / floor_ms:.2f}x; "
                  f"this parser / {args.baseline}'s: {parse_ms / base[0]:.2f}x")
    print("parse = split header + lxml + full record + sha256; floor = lxml.etree.fromstring + iterate every element")
    print(" ".join(f"{k}={v:.4f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
