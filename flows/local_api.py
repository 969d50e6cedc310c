"""One Prefect API for the flow and all its Dask workers.

With no ``PREFECT_API_URL``, Prefect starts an ephemeral server per *process*, so every Dask
worker would get its own and task runs would scatter or vanish. When no API is configured the
run therefore starts one ``prefect server`` on loopback (same database the UI reads later),
points this process and its workers at it, and stops it when the run ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flows import server_process
from flows.server_env import read_env_file, server_env_file
from flows.server_process import api_healthy, free_port
from flows.settings import DEFAULT_PORT

DEFAULT_LOCAL_URL = f"http://127.0.0.1:{DEFAULT_PORT}/api"
LOOPBACK_START_TIMEOUT = 90.0


def configured_api_url() -> str | None:
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


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


def drain_workers(client: Any, logger: Any) -> None:
    """``drain_to_api`` on every worker of a Dask client, before the cluster closes. A worker
    that cannot be reached (its node's link is down, its job ended) is skipped with a warning:
    the UI may then miss some of its task runs' events, but the run's results stand."""
    drained = client.run(drain_to_api, on_error="return")
    unreachable = sorted(w for w, r in drained.items() if isinstance(r, BaseException))
    if unreachable:
        logger.warning(
            "could not send the buffered events and logs of %d worker(s) to the Prefect API "
            "(%s): the UI may miss some of their task runs", len(unreachable), ", ".join(unreachable),
        )


@contextlib.contextmanager
def loopback_server(log_path: Path) -> Iterator[str]:
    """A ``prefect server`` on a free loopback port while the block runs; yields its API URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = server_process.start(
            "127.0.0.1", port, server_process.loopback_environment(), stdout=log, new_session=True
        )
    try:
        server_process.wait_healthy(proc, url, LOOPBACK_START_TIMEOUT, f"see {log_path}")
        yield url
    finally:
        server_process.stop(proc)


def team_server() -> dict[str, str] | None:
    """The client settings ``form3 server`` wrote, if that server is up; else None."""
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

