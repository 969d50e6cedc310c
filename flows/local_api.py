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


def drain_to_api(timeout: float = 10.0) -> None:
    """Send buffered run logs and events before the server they go to is stopped, or before
    the process that holds them is killed (a Slurm worker job is scancelled at cluster close).

    Otherwise Prefect's background workers keep retrying a stopped server when the process
    exits (measured: a 74 s hang, then "Error logging to API"), or the events are lost (task
    runs of Slurm workers missing from the UI).
    """
    import asyncio
    import threading

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    def drain() -> None:
        for worker in (APILogWorker, EventsWorker):
            try:
                worker.drain_all(timeout=timeout)
            except Exception:  # noqa: BLE001 - logs are best effort; results are written
                pass

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        drain()
        return
    # Called in an event loop (a Dask worker runs Client.run functions in its own loop),
    # drain_all would return a coroutine instead of draining: drain from a plain thread.
    thread = threading.Thread(target=drain, name="drain-to-api")
    thread.start()
    thread.join(2 * timeout + 1)


@contextlib.contextmanager
def loopback_server(log_path: Path) -> Iterator[str]:
    """A ``prefect server`` on a free loopback port while the block runs; yields its API URL."""
    port = free_port()
    proc = start_server("127.0.0.1", port, log_path)
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        stop_server(proc)


def team_server() -> dict[str, str] | None:
    """The client settings ``form3 server`` wrote, if that server is up; else None."""
    from flows.server import read_env_file, server_env_file

    values = read_env_file(server_env_file())
    url = values.get("PREFECT_API_URL")
    return values if url and api_healthy(url) else None


def planned_api_url() -> str | None:
    """The API a run would use without starting one: configured, or the team server's."""
    url = configured_api_url()
    if url:
        return url
    team = team_server()
    return team["PREFECT_API_URL"] if team else None


@contextlib.contextmanager
def _use_api(values: dict[str, str]) -> Iterator[None]:
    """Point this process, and the worker processes it starts, at an API (URL, auth string,
    and the UI URL its run links use)."""
    from prefect.settings import (
        PREFECT_API_AUTH_STRING, PREFECT_API_URL, PREFECT_UI_URL, temporary_settings,
    )

    names = {"PREFECT_API_URL": PREFECT_API_URL, "PREFECT_API_AUTH_STRING": PREFECT_API_AUTH_STRING,
             "PREFECT_UI_URL": PREFECT_UI_URL}
    previous = {name: os.environ.get(name) for name in names}
    os.environ.update({k: v for k, v in values.items() if k in names})  # inherited by workers
    try:
        with temporary_settings({names[k]: v for k, v in values.items() if k in names}):
            yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def client_api(log_dir: Path | None = None) -> Iterator[str]:
    """Yield the API URL to use: the configured one, else a running ``form3 server``, else a
    server on 127.0.0.1:4200, else (only if ``log_dir`` is given) a loopback server started
    for this command and stopped after it."""
    url = configured_api_url()
    if url:
        yield url
        return
    team = team_server()
    if team is not None:
        with _use_api(team):
            yield team["PREFECT_API_URL"]
        return
    if api_healthy(DEFAULT_LOCAL_URL):
        with _use_api({"PREFECT_API_URL": DEFAULT_LOCAL_URL}):
            yield DEFAULT_LOCAL_URL
        return
    if log_dir is None:
        raise NoApiError(
            "no Prefect server: start one with `form3 server` (e.g. in tmux), or set "
            "PREFECT_API_URL (and PREFECT_API_AUTH_STRING)"
        )
    with loopback_server(log_dir / "prefect-server.log") as url:
        try:
            with _use_api({"PREFECT_API_URL": url}):
                yield url
        finally:
            drain_to_api()  # before the server stops


class NoApiError(RuntimeError):
    """A command that needs a long-lived Prefect server found none."""

