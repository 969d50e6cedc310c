"""``form3 parse``: one JSON line per file, exit status 1 if any failed."""

from __future__ import annotations

import pytest

import json
import subprocess
import sys
from pathlib import Path

pytestmark = pytest.mark.fast


def _form3(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_parse_prints_one_object_per_file(corpus: Path) -> None:
    good = corpus / "filings" / "0000100493-20-000092.txt"
    proc = _form3("parse", str(good))
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    record = json.loads(line)
    assert record["insider_name"] == "BRONCZEK DAVID J"
    assert record["source"] == str(good)


def test_parse_reports_errors_and_exits_1(corpus: Path, tmp_path: Path) -> None:
    # A real Form 4 whose documentType was changed to one outside the six ownership forms.
    real = (corpus / "filings" / "0001062993-23-012371.xml").read_bytes()
    other = tmp_path / "other.xml"
    other.write_bytes(real.replace(b"<documentType>4<", b"<documentType>10-K<"))
    form4 = corpus / "filings" / "0001062993-23-012371.xml"
    good = corpus / "filings" / "0000721371-20-000061.txt"
    proc = _form3("parse", str(other), str(tmp_path / "missing.txt"), str(good), str(form4))
    assert proc.returncode == 1
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x.get("error") for x in lines] == ["not_ownership_form", "unreadable", None, None]
    assert lines[0]["source"] == str(other)
    assert lines[2]["company_name"] == "CARDINAL HEALTH INC"
    assert lines[3]["document_type"] == "4" and lines[3]["source"] == str(form4)
