"""Starting and stopping a ``prefect server`` process: the one place that does it.

Both the loopback server ``form3 run`` starts for itself (``flows.local_api``) and the team
server of ``form3 server`` (``deployments.server``) are a child ``python -m prefect server start``
that must answer ``/api/health`` before anyone uses it, and must not outlive its parent: on
Linux the child is started with ``PR_SET_PDEATHSIG`` = SIGTERM, so when the parent dies, even
by SIGKILL (an OOM kill), the kernel stops the server instead of leaving it on the port.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
HEALTH_POLL_SECONDS = 0.25


class ServerStartError(RuntimeError):
    """The server exited or did not answer in time."""


def api_healthy(url: str, timeout: float = 1.0) -> bool:
    """Whether a Prefect API answers its health check at ``url`` (…/api)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens there (on a shared login node: maybe a colleague's
    server, whose URL must not end up in this user's settings)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when the parent thread dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's own cleanup still stops it
        pass


def start(
    host: str,
    port: int,
    env: Mapping[str, str],
    stdout: IO[bytes] | None = None,
    new_session: bool = False,
) -> subprocess.Popen:
    """``prefect server start`` on ``host:port``, tied to this process's life (see module doc)."""
    argv = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    return subprocess.Popen(
        argv, env=dict(env), stdout=stdout, stderr=subprocess.STDOUT if stdout else None,
        start_new_session=new_session, preexec_fn=_die_with_parent,
    )


def wait_healthy(
    proc: subprocess.Popen,
    url: str,
    timeout: float,
    what: str,
    still_waiting: Callable[[], bool] = lambda: True,
) -> None:
    """Return once ``url`` answers; raise :class:`ServerStartError` if ``proc`` exits first or
    ``timeout`` passes (the process is then terminated)."""
    deadline = time.monotonic() + timeout
    while not api_healthy(url):
        if proc.poll() is not None:
            raise ServerStartError(f"prefect server exited early (code {proc.returncode}); {what}")
        if time.monotonic() > deadline or not still_waiting():
            stop(proc)
            raise ServerStartError(f"prefect server did not answer within {timeout:.0f}s; {what}")
        time.sleep(HEALTH_POLL_SECONDS)


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> int:
    """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def loopback_environment(database: Path | None = None) -> dict[str, str]:
    """The environment of a server for this user alone: no analytics, no outer API."""
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)  # the server is not a client of some other API
    if database is not None:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{database}"
    return env
