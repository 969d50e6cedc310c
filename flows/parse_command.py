"""``form3 parse FILE...``: the workshop's one-file debug step, without Prefect."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TextIO

from tasks.errors import FilingError
from tasks.extract import parse_file
from tasks.serialize import filing_to_dict


def parse_files(paths: Iterable[str], out: TextIO = sys.stdout) -> int:
    """Print one JSON object per file (record or error); return 1 if any file failed."""
    status = 0
    for path in paths:
        try:
            obj = filing_to_dict(parse_file(path))
        except FilingError as exc:
            obj, status = exc.to_dict(), 1
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return status
