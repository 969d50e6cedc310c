"""``form3 server``: one Prefect server (API + UI) for a user or a team, set up for this project.

Plain ``prefect server start`` gets four things wrong for us on a shared login node:

* the UI calls the API at ``PREFECT_UI_API_URL``, which defaults to port 4200 whatever
  ``--port`` says (measured: ``--port 4302`` alone gives "Oops. Something went wrong.");
* anyone who can reach the port can read and start runs: the server takes an auth string
  (``PREFECT_SERVER_API_AUTH_STRING``), clients send ``PREFECT_API_AUTH_STRING``;
* its SQLite database lives in ``~/.prefect``, often an NFS home where SQLite locking is
  unreliable: we put it on local disk;
* analytics are on;
* its default entry, V1's ``/login``, greets every user with a red "Oops. Something went
  wrong." toast: that page calls ``/api/admin/version`` before the login, the server refuses
  it (401) and the toast stays on every page opened from there (upstream:
  https://github.com/PrefectHQ/prefect/issues/18518, open). The V2 UI logs in without a
  refused call that shows an error, so ``form3 server`` prints V2's URL (``/v2/``), makes V2
  the default entry and the run links Prefect logs (``PREFECT_UI_URL``) point into V2.

Once the server answers, the command writes the URL and auth string clients need to
``FORM3_HOME/server.env`` (mode 0600) so ``form3 run``, ``form3 serve`` and ``form3 retry`` on this machine find the server
without any setup; elsewhere, ``source`` that file.
"""

from __future__ import annotations

import getpass
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

from flows import server_process
from flows.server_env import read_env_file, server_env_file, write_env_file
from flows.settings import ServerSettings

AUTH_USER = "form3"
START_TIMEOUT = 120.0
# The UI users are sent to (see the module docstring: V1 shows an error toast at login).
UI_PATH = "/v2"


def default_database() -> Path:
    """Local disk that survives a reboot (FHS: /var/tmp), one per user."""
    return Path("/var/tmp") / f"form3-prefect-{getpass.getuser()}" / "prefect.db"


def public_host(host: str) -> str:
    """The name clients (browsers, Slurm workers) use for a server bound to ``host``."""
    if host in ("0.0.0.0", "::", ""):
        return socket.getfqdn()
    return host


def api_url(settings: ServerSettings) -> str:
    return f"http://{public_host(settings.host)}:{settings.port}/api"


def ui_url(settings: ServerSettings) -> str:
    return f"http://{public_host(settings.host)}:{settings.port}{UI_PATH}/"


def _auth_string(previous: dict[str, str]) -> str:
    """Keep the team's existing auth string across restarts; else make one."""
    given = os.environ.get("PREFECT_SERVER_API_AUTH_STRING")
    if given:
        return given
    return previous.get("PREFECT_API_AUTH_STRING") or f"{AUTH_USER}:{secrets.token_urlsafe(24)}"


def server_environment(settings: ServerSettings, auth_string: str | None) -> dict[str, str]:
    database = settings.database or default_database()
    database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = server_process.loopback_environment(database)
    env["PREFECT_UI_API_URL"] = api_url(settings)
    # "/" enters V2 for a browser without a saved choice (V1's login shows an error toast,
    # upstream #18518); no "Upgrade to Cloud" prompts for researchers.
    env["PREFECT_SERVER_UI_V2_ENABLED"] = "true"
    env["PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT"] = "false"
    if auth_string:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
    else:
        env.pop("PREFECT_SERVER_API_AUTH_STRING", None)
    return env


def run_server(settings: ServerSettings, timeout: float = START_TIMEOUT) -> int:
    """Run ``prefect server start`` until it exits or is signalled; write the clients' env
    file only once this server answers, so it never names someone else's server."""
    if server_process.port_in_use(settings.host, settings.port):
        print(f"form3 server: port {settings.port} on {settings.host} is in use (another "
              f"server, maybe a colleague's): choose another with --port", file=sys.stderr)
        return 2
    env_file = server_env_file()
    auth_string = _auth_string(read_env_file(env_file)) if settings.auth else None
    env = server_environment(settings, auth_string)
    proc = server_process.start(settings.host, settings.port, env)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda n, _frame: proc.send_signal(n))
    local = "127.0.0.1" if settings.host in ("0.0.0.0", "") else "[::1]" if settings.host == "::" else settings.host
    try:
        server_process.wait_healthy(proc, f"http://{local}:{settings.port}/api", timeout, "stopped")
    except server_process.ServerStartError as exc:
        print(f"form3 server: {exc}", file=sys.stderr)
        return proc.returncode or 1
    # PREFECT_UI_URL: the "View at …" links of runs open in V2 (see UI_PATH).
    client = {"PREFECT_API_URL": api_url(settings), "PREFECT_UI_URL": ui_url(settings).rstrip("/")}
    if auth_string:
        client["PREFECT_API_AUTH_STRING"] = auth_string
    write_env_file(env_file, client)
    database = env["PREFECT_API_DATABASE_CONNECTION_URL"].split("///", 1)[1]
    print(
        f"form3 server: UI {ui_url(settings)}  API {api_url(settings)}\n"
        f"form3 server: database {database}\n"
        f"form3 server: clients' settings in {env_file} (form3 commands on this host read it; "
        f"elsewhere: set -a; source {env_file}; set +a)\n"
        + (
            f"form3 server: auth string (the UI asks for it once): {auth_string}"
            if auth_string else "form3 server: WARNING: no auth (--no-auth): anyone who can "
            "reach the port can start runs"
        ),
        file=sys.stderr, flush=True,
    )
    return proc.wait()
