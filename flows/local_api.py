"""One Prefect API for the flow and all its Dask workers.

With no ``PREFECT_API_URL``, Prefect starts an ephemeral server per *process*, so every Dask
worker would get its own and task runs would scatter or vanish. When no API is configured the
run therefore starts one ``prefect server`` on loopback (same database the UI reads later),
points this process and its workers at it, and stops it when the run ends.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

DEFAULT_LOCAL_URL = "http://127.0.0.1:4200/api"


def api_healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configured_api_url() -> str | None:
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


def start_server(host: str, port: int, log_path: Path, timeout: float = 90.0) -> subprocess.Popen:
    """Start ``prefect server start`` and wait until its API answers."""
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    url = f"http://{host}:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited early (code {proc.returncode}); see {log_path}")
        if api_healthy(url):
            return proc
        time.sleep(0.25)
    proc.terminate()
    raise RuntimeError(f"prefect server did not answer within {timeout:.0f}s; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _drain_to_api(timeout: float = 10.0) -> None:
    """Send buffered run logs and events before the server they go to is stopped.

    Otherwise Prefect's background workers keep retrying the stopped server when the process
    exits (measured: a 74 s hang, then "Error logging to API").
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=timeout)
        except Exception:  # noqa: BLE001 - logs are best effort; results are already written
            pass


@contextlib.contextmanager
def loopback_server(log_path: Path) -> Iterator[str]:
    """A ``prefect server`` on a free loopback port while the block runs; yields its API URL."""
    port = free_port()
    proc = start_server("127.0.0.1", port, log_path)
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        stop_server(proc)


@contextlib.contextmanager
def run_api(log_dir: Path) -> Iterator[str]:
    """Yield the API URL this run uses, starting a loopback server only if none is set up."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = configured_api_url()
    if url:
        yield url
        return
    with contextlib.ExitStack() as stack:
        owned = not api_healthy(DEFAULT_LOCAL_URL)  # else e.g. `form3 server` is running
        url = (
            stack.enter_context(loopback_server(log_dir / "prefect-server.log"))
            if owned else DEFAULT_LOCAL_URL
        )
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = url  # inherited by LocalCluster worker processes
        try:
            with temporary_settings({PREFECT_API_URL: url}):
                yield url
        finally:
            if owned:
                _drain_to_api()  # before the server stops, when the stack unwinds
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous
