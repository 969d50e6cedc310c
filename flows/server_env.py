"""The team server's client settings file, ``FORM3_HOME/server.env``: written by
``form3 server``, read by every other form3 command on the host (and ``source``-able in a
shell elsewhere). It holds the auth string, so it is written atomically and mode 0600."""

from __future__ import annotations

from pathlib import Path

from flows.settings import form3_home
from tasks.files import write_atomic_text

ENV_FILE_NAME = "server.env"
PRIVATE_MODE = 0o600


def server_env_file() -> Path:
    return form3_home() / ENV_FILE_NAME


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


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Atomically, never readable by others (it holds the auth string)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = ["# Written by `form3 server`; `set -a; source this; set +a` on other hosts."]
    lines += [f"export {name}='{value}'" for name, value in values.items()]
    write_atomic_text(path, "\n".join(lines) + "\n", mode=PRIVATE_MODE)
