"""A ``prefect server`` started by form3 never outlives the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.server_process import api_healthy
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # a real Prefect server

CHILD = """
import sys, time
from pathlib import Path
from flows.local_api import loopback_server
with loopback_server(Path(sys.argv[1])) as url:
    print(url, flush=True)
    time.sleep(600)
"""


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_loopback_server_dies_with_a_sigkilled_parent(tmp_path: Path) -> None:
    """An OOM kill of the flow process once left its server running for 40 minutes."""
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "server.log")], cwd=REPO,
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PREFECT_API_URL=""),
    )
    try:
        url = parent.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and api_healthy(url), (tmp_path / "server.log").read_text()[-2000:]
        (server,) = _children(parent.pid)
        os.kill(parent.pid, signal.SIGKILL)  # no cleanup code of ours runs
        parent.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (os.path.exists(f"/proc/{server}") or api_healthy(url)):
            time.sleep(0.2)
        gone_after = 30 - (deadline - time.monotonic())
        assert not api_healthy(url), "the server still answers after its parent was SIGKILLed"
        assert not os.path.exists(f"/proc/{server}") or "zombie" in open(f"/proc/{server}/status").read().lower()
        assert gone_after < 30
    finally:
        if parent.poll() is None:
            parent.kill()
