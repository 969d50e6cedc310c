"""Settings: one declaration, flag > environment > default, honest about zeros and bad values."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import build_parser, main, package_version
from flows.settings import RunSettings, ServerSettings
from flows.settings_docs import SECTION_END, SECTION_START, SETTINGS_DOC, settings_tables
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


def test_retry_takes_its_results_dir_from_the_settings_model(tmp_path: Path) -> None:
    """`form3 retry --results` is RunSettings' field: same flag, same variable, same default."""
    args = build_parser().parse_args(["retry", "0b6e4a52-0000-0000-0000-000000000000"])
    environ = {"FORM3_RESULTS": str(tmp_path / "team")}
    assert resolve(RunSettings, flag_values(args, RunSettings), environ).results_dir == tmp_path / "team"
    args = build_parser().parse_args(["retry", "x", "--results", str(tmp_path / "mine")])
    assert resolve(RunSettings, flag_values(args, RunSettings), environ).results_dir == tmp_path / "mine"
    assert resolve(RunSettings, flag_values(args, RunSettings), {}).results_dir == tmp_path / "mine"
    help_text = build_parser()._subparsers._group_actions[0].choices["retry"].format_help()
    assert "(default: results; env FORM3_RESULTS)" in " ".join(help_text.split())


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


def test_settings_reference_is_generated_from_the_models() -> None:
    page = SETTINGS_DOC.read_text()
    match = re.search(f"{SECTION_START}(.*?){SECTION_END}", page, re.S)
    assert match, "docs/settings.md has no generated settings section"
    assert match.group(1).strip() == settings_tables().strip(), (
        "docs/settings.md differs from flows/settings.py or the cluster profile model: "
        "regenerate it with `make docs`"
    )
    assert "| `worker_start_timeout` | float | 120.0 |" in page


@pytest.mark.parametrize("profile, message", [
    ("soon:\n  kind: slurm\n  worker_start_timeout: soon\n",
     "profile 'soon' in {file}: worker_start_timeout: Input should be a valid number, unable to "
     "parse string as a number (got 'soon')"),
    ("soon:\n  kind: local\n  workers: 3\n",
     "profile 'soon' in {file}: unknown key 'workers'; a profile has kind, cluster, adapt, "
     "same_host, slurm_conf, worker_start_timeout (Dask's settings go under `cluster:`)"),
    ("soon:\n  kind: kubernetes\n",
     "profile 'soon' in {file}: kind: Input should be 'local' or 'slurm' (got 'kubernetes')"),
])
def test_a_bad_profile_is_one_line_naming_the_key_and_the_file(profile, message, tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(profile)
    env = {"PATH": "/usr/bin:/bin", "FORM3_PROFILES": str(mine)}
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "profile", "show", "soon"],
                          capture_output=True, text=True, cwd=REPO, env=env)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"form3 profile: {message.format(file=mine)}\n"


def test_version_from_the_package_metadata() -> None:
    out = subprocess.run([sys.executable, "-m", "flows.cli", "--version"], capture_output=True,
                         text=True, cwd=REPO, check=True).stdout
    pyproject = (REPO / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert out.strip() == f"form3 {declared}" == f"form3 {package_version()}"

