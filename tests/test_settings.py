"""Settings: one declaration, flag > environment > default, honest about zeros and bad values."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import build_parser, main, package_version
from flows.settings import README_END, README_START, RunSettings, ServerSettings, settings_tables
from flows.settings_sources import SettingsError, flag_values, resolve
from tests.conftest import REPO

pytestmark = pytest.mark.fast


def _run_settings(argv: list[str], environ: dict[str, str]) -> RunSettings:
    args = build_parser().parse_args(["run", *argv])
    return resolve(RunSettings, flag_values(args, RunSettings), environ)


def test_flag_beats_environment_beats_default(tmp_path: Path) -> None:
    env = {"FORM3_BATCH_SIZE": "7", "FORM3_RESULTS": str(tmp_path / "env"), "FORM3_PROFILE": "slurm"}
    s = _run_settings(["--batch-size", "9"], env)
    assert (s.batch_size, s.results_dir, s.profile) == (9, tmp_path / "env", "slurm")
    s = _run_settings([], {})
    assert (s.batch_size, s.profile, s.max_requests_per_second) == (None, None, 10.0)
    assert s.results_dir == Path.cwd() / "results" and s.results_dir.is_absolute()
    assert s.checkpoint_dir == s.results_dir / ".checkpoints"
    assert s.manifest == REPO / "data" / "form_3_10.csv"


def test_explicit_zero_and_empty_values_are_honoured() -> None:
    s = _run_settings(["--fetch-backoff", "0", "--max-filing-bytes", "0"], {"FORM3_MAX_FILING_BYTES": "9"})
    assert (s.fetch_backoff, s.max_filing_bytes) == (0.0, 0)
    s = _run_settings([], {"FORM3_FETCH_BACKOFF": "0", "FORM3_COLUMN": ""})
    assert (s.fetch_backoff, s.column) == (0.0, None)
    assert s.fetch_plan(None).settings.backoff == 0.0


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        ([], {"FORM3_BATCH_SIZE": "x"}, "FORM3_BATCH_SIZE=x: Input should be a valid integer"),
        (["--batch-size", "0"], {}, "--batch-size=0: Input should be greater than or equal to 1"),
        (["--max-requests-per-second", "-1"], {}, "--max-requests-per-second=-1: Input should be greater than 0"),
        ([], {"FORM3_MAX_RPS": ""}, "FORM3_MAX_RPS=: Input should be a valid number"),
        (["--cluster", "pbs"], {}, "--cluster=pbs: Input should be 'local' or 'slurm'"),
    ],
)
def test_bad_values_name_their_flag_or_variable(argv, environ, message) -> None:
    with pytest.raises(SettingsError) as info:
        _run_settings(argv, environ)
    assert str(info.value).startswith(message)


def test_bad_value_exits_2_with_one_line(monkeypatch, capsys) -> None:
    monkeypatch.setenv("FORM3_BATCH_SIZE", "x")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "form3 run: FORM3_BATCH_SIZE=x: Input should be a valid integer, unable to parse string as an integer"
    monkeypatch.delenv("FORM3_BATCH_SIZE")
    monkeypatch.setenv("FORM3_SERVER_PORT", "70000")
    assert main(["server"]) == 2
    assert "FORM3_SERVER_PORT=70000: Input should be less than or equal to 65535" in capsys.readouterr().err


def test_server_settings_from_flags() -> None:
    args = build_parser().parse_args(["server", "--no-auth", "--port", "4302"])
    s = resolve(ServerSettings, flag_values(args, ServerSettings), {})
    assert (s.auth, s.port, s.host) == (False, 4302, "127.0.0.1")
    assert resolve(ServerSettings, {}, {"FORM3_SERVER_AUTH": "false"}).auth is False


def test_every_field_is_a_flag_with_its_help() -> None:
    help_text = build_parser()._subparsers._group_actions[0].choices["run"].format_help()
    for name, field in RunSettings.model_fields.items():
        flag = next(m for m in field.metadata if hasattr(m, "env"))
        assert flag.env in help_text, name
        if flag.flag:
            assert flag.flag in help_text, name


def test_readme_settings_table_is_generated_from_the_model() -> None:
    readme = (REPO / "README.md").read_text()
    match = re.search(f"{README_START}(.*?){README_END}", readme, re.S)
    assert match, "README has no generated settings section"
    assert match.group(1).strip() == settings_tables().strip(), (
        "README settings table differs from flows/settings.py: regenerate it with "
        "`make docs` (python -m flows.settings --readme README.md)"
    )


def test_version_from_the_package_metadata() -> None:
    out = subprocess.run([sys.executable, "-m", "flows.cli", "--version"], capture_output=True,
                         text=True, cwd=REPO, check=True).stdout
    pyproject = (REPO / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert out.strip() == f"form3 {declared}" == f"form3 {package_version()}"


@pytest.mark.fast
def test_daily_update_doc_settings_tables_are_generated() -> None:
    from flows.settings import DAILY_DOC, update_settings_tables

    text = DAILY_DOC.read_text()
    match = re.search(re.escape(README_START) + "(.*?)" + re.escape(README_END), text, re.S)
    assert match and match.group(1).strip() == update_settings_tables().strip(), (
        "docs/daily-update.md's settings tables are stale: run `make docs`"
    )
