"""``form3 compare-sec``: our SEC-layout TSVs against a downloaded SEC data set, value by value.

For the accessions both hold, rows are paired inside each accession (the SEC's ``*_SK`` keys
are its own numbering, so rows are paired by the most agreeing columns, ties in file order),
then every column is compared as text, in the SEC's own format. The report says, per table and
column, how many values agree, and shows the first differences; surrogate keys are not
compared. Pure: files in, a report out.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tasks.sec_tsv import sec_header
from tasks.tables import SEC_FILES

SHOW_DIFFERENCES = 5
_KEY = "ACCESSION_NUMBER"


@dataclass
class TableReport:
    name: str
    columns: tuple[str, ...]
    rows_ours: int = 0
    rows_sec: int = 0
    paired: int = 0
    agree: dict[str, int] = field(default_factory=dict)
    differences: list[tuple[str, str, str, str]] = field(default_factory=list)  # col, acc, ours, sec

    @property
    def all_agree(self) -> bool:
        return self.paired == self.rows_ours == self.rows_sec and all(
            self.agree.get(c, 0) == self.paired for c in self.columns
        )


def find_sec_files(sec_dir: Path, name: str) -> list[Path]:
    """``NAME.tsv`` in a data set directory, else every sample of it (``NAME.sample.tsv``,
    ``NAME.form4.sample.tsv``: parts of one table, read as one)."""
    exact = sec_dir / f"{name}.tsv"
    if exact.is_file():
        return [exact]
    return sorted(sec_dir.glob(f"{name}.*tsv"))


def _read(paths: list[Path], accessions: set[str] | None = None) -> dict[str, list[dict[str, str]]]:
    """Rows of ``paths`` by accession number (of ``accessions`` only, when given)."""
    csv.field_size_limit(sys.maxsize)
    by_acc: dict[str, list[dict[str, str]]] = {}
    for path in paths:
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                acc = row[_KEY]
                if accessions is None or acc in accessions:
                    by_acc.setdefault(acc, []).append(row)
    return by_acc


def _pair(ours: list[dict[str, str]], sec: list[dict[str, str]], columns: tuple[str, ...]):
    left = list(range(len(ours)))
    for s in sec:
        if not left:
            return
        best = max(left, key=lambda i: (sum(ours[i].get(c) == s.get(c) for c in columns), -i))
        left.remove(best)
        yield ours[best], s


def compare_table(name: str, ours_path: Path, sec_paths: list[Path], accessions: set[str]) -> TableReport:
    table = next(t for t, f in SEC_FILES.items() if f == name)
    columns = tuple(c for c in sec_header(table) if c != _KEY and not c.endswith("_SK"))
    report = TableReport(name, columns)
    ours = _read([ours_path], accessions)
    sec = _read(sec_paths, accessions)
    report.rows_ours = sum(map(len, ours.values()))
    report.rows_sec = sum(map(len, sec.values()))
    for acc in sorted(accessions):
        for o, s in _pair(ours.get(acc, []), sec.get(acc, []), columns):
            report.paired += 1
            for c in columns:
                if o.get(c) == s.get(c):
                    report.agree[c] = report.agree.get(c, 0) + 1
                elif len(report.differences) < SHOW_DIFFERENCES:
                    report.differences.append((c, acc, o.get(c, ""), s.get(c, "")))
    return report


def compare(results: Path, sec_dir: Path) -> tuple[list[TableReport], set[str], set[str]]:
    """Compare ``results/sec`` (or ``results`` itself, if it holds the TSVs) with ``sec_dir``."""
    ours_dir = results / "sec" if (results / "sec" / "SUBMISSION.tsv").is_file() else results
    ours_sub = ours_dir / "SUBMISSION.tsv"
    sec_sub = find_sec_files(sec_dir, "SUBMISSION")
    if not ours_sub.is_file():
        raise FileNotFoundError(f"no SUBMISSION.tsv in {ours_dir} (run form3 run first)")
    if not sec_sub:
        raise FileNotFoundError(f"no SUBMISSION.tsv in {sec_dir}")
    ours_acc = set(_read([ours_sub])) - {""}  # a bare XML without accession cannot be matched
    sec_acc = set(_read(sec_sub, ours_acc))
    both = ours_acc & sec_acc
    reports = []
    for name in SEC_FILES.values():
        sec_paths = find_sec_files(sec_dir, name)
        if not sec_paths or not (ours_dir / f"{name}.tsv").is_file():
            continue  # a sample set without the table (the SEC's samples have no NONDERIV_TRANS)
        reports.append(compare_table(name, ours_dir / f"{name}.tsv", sec_paths, both))
    return reports, ours_acc, both


def format_report(reports: list[TableReport], ours_acc: set[str], both: set[str]) -> str:
    lines = [f"accessions: ours {len(ours_acc)}, in both {len(both)}"]
    if not both:
        return lines[0] + "\nno accession in common: nothing to compare\n"
    for r in reports:
        lines.append(
            f"{r.name}: {r.paired} rows paired (ours {r.rows_ours}, SEC {r.rows_sec})"
            + ("" if r.all_agree else "  << differences")
        )
        for c in r.columns:
            lines.append(f"  {c:<30} {r.agree.get(c, 0):>6}/{r.paired} agree")
        for c, acc, o, s in r.differences:
            lines.append(f"  first differences: {c} {acc}: ours {o!r} SEC {s!r}")
    return "\n".join(lines) + "\n"


def main(results: Path, sec_dir: Path) -> int:
    """Print the report; exit status 0 when every value agrees, 1 when some differ."""
    reports, ours_acc, both = compare(results, sec_dir)
    sys.stdout.write(format_report(reports, ours_acc, both))
    return 0 if both and all(r.all_agree for r in reports) else 1
