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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flows.settings import form3_home

ENV_FILE_NAME = "server.env"
AUTH_USER = "form3"
# The UI users are sent to (see the module docstring: V1 shows an error toast at login).
UI_PATH = "/v2"


def default_database() -> Path:
    """Local disk that survives a reboot (FHS: /var/tmp), one per user."""
    return Path("/var/tmp") / f"form3-prefect-{getpass.getuser()}" / "prefect.db"


def server_env_file() -> Path:
    return form3_home() / ENV_FILE_NAME


def public_host(host: str) -> str:
    """The name clients (browsers, Slurm workers) use for a server bound to ``host``."""
    if host in ("0.0.0.0", "::", ""):
        return socket.getfqdn()
    return host


@dataclass(slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 4200
    database: Path | None = None  # None: default_database()
    auth: bool = True

    @property
    def api_url(self) -> str:
        return f"http://{public_host(self.host)}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{public_host(self.host)}:{self.port}{UI_PATH}/"


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError:
        return values
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _auth_string(previous: dict[str, str]) -> str:
    """Keep the team's existing auth string across restarts; else make one."""
    given = os.environ.get("PREFECT_SERVER_API_AUTH_STRING")
    if given:
        return given
    return previous.get("PREFECT_API_AUTH_STRING") or f"{AUTH_USER}:{secrets.token_urlsafe(24)}"


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Atomically, never readable by others (it holds the auth string)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".server.env.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("# Written by `form3 server`; `set -a; source this; set +a` on other hosts.\n")
            for name, value in values.items():
                fh.write(f"export {name}='{value}'\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def server_environment(settings: ServerSettings, auth_string: str | None) -> dict[str, str]:
    database = settings.database or default_database()
    database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)  # the server is not a client of some other API
    env.update(
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        # "/" enters V2 for a browser without a saved choice (V1's login shows an error
        # toast, upstream #18518); no "Upgrade to Cloud" prompts for researchers.
        PREFECT_SERVER_UI_V2_ENABLED="true",
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
        PREFECT_UI_API_URL=settings.api_url,
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{database}",
    )
    if auth_string:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
    else:
        env.pop("PREFECT_SERVER_API_AUTH_STRING", None)
    return env


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens there (on a shared login node: maybe a colleague's
    server, whose URL must not end up in this user's server.env)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def run_server(settings: ServerSettings, timeout: float = 120.0) -> int:
    """Run ``prefect server start`` until it exits or is signalled; write the clients' env
    file only once this server answers, so it never names someone else's server."""
    from flows.local_api import api_healthy

    if port_in_use(settings.host, settings.port):
        print(f"form3 server: port {settings.port} on {settings.host} is in use (another "
              f"server, maybe a colleague's): choose another with --port", file=sys.stderr)
        return 2
    env_file = server_env_file()
    auth_string = _auth_string(read_env_file(env_file)) if settings.auth else None
    env = server_environment(settings, auth_string)
    argv = [sys.executable, "-m", "prefect", "server", "start",
            "--host", settings.host, "--port", str(settings.port)]
    proc = subprocess.Popen(argv, env=env)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda n, _frame: proc.send_signal(n))
    local = "127.0.0.1" if settings.host in ("0.0.0.0", "") else "[::1]" if settings.host == "::" else settings.host
    deadline = time.monotonic() + timeout
    while not api_healthy(f"http://{local}:{settings.port}/api"):
        if proc.poll() is not None:
            return proc.returncode
        if time.monotonic() > deadline:
            print(f"form3 server: no answer after {timeout:.0f}s; stopping", file=sys.stderr)
            proc.terminate()
            return proc.wait() or 1
        time.sleep(0.5)
    # PREFECT_UI_URL: the "View at …" links of runs open in V2 (see UI_PATH).
    client = {"PREFECT_API_URL": settings.api_url, "PREFECT_UI_URL": settings.ui_url.rstrip("/")}
    if auth_string:
        client["PREFECT_API_AUTH_STRING"] = auth_string
    write_env_file(env_file, client)
    database = env["PREFECT_API_DATABASE_CONNECTION_URL"].split("///", 1)[1]
    print(
        f"form3 server: UI {settings.ui_url}  API {settings.api_url}\n"
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
