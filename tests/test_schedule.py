"""The daily update's schedule: ``form3 serve --cron`` as a Prefect deployment read back through
Prefect's client (a real local server), and the ``scrontab`` line for Slurm sites."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env, stop_group

CRON, ZONE = "30 6 * * 1-5", "Europe/Paris"


async def _deployments(api: str, name: str) -> tuple[object, object]:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api) as client:
        return (await client.read_deployment_by_name(f"update-form3/{name}-daily"),
                await client.read_deployment_by_name(f"extract-form3/{name}"))


async def _pause(api: str, deployment_id: object) -> object:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api) as client:
        await client.pause_deployment(deployment_id)
        return await client.read_deployment(deployment_id)


@pytest.mark.slow
def test_served_update_has_its_cron_schedule_in_its_time_zone(
    prefect_api: str, tmp_path: Path,
) -> None:
    from prefect.exceptions import ObjectNotFound

    results = tmp_path / "results"
    log = open(tmp_path / "serve.log", "wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--name", "sched", "--cron", CRON,
         "--timezone", ZONE, "--since", "2024-07-01", "--archive", str(tmp_path / "mirror"),
         "--results", str(results)],
        cwd=REPO, env=cli_env(prefect_api), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-4000:]
            try:
                update, extract = asyncio.run(_deployments(prefect_api, "sched"))
                break
            except ObjectNotFound:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-4000:]
                time.sleep(0.5)
        (schedule,) = update.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
            CRON, ZONE, True)
        assert update.parameters["update"] == {
            "since": "2024-07-01", "today": None, "archive": str(tmp_path / "mirror"),
            "recheck_days": 7}
        assert update.parameters["settings"]["results_dir"] == str(results)
        assert update.paused is False and extract.schedules == []
        # Pausable, as the UI's toggle does it.
        assert asyncio.run(_pause(prefect_api, update.id)).paused is True
    finally:
        stop_group(serve)
        log.close()


@pytest.mark.fast
def test_scrontab_line_runs_the_update_through_form3_submit(tmp_path: Path) -> None:
    from flows.schedule import scrontab_line
    from flows.settings import RunSettings, ScheduleSettings, UpdateSettings, form3_home

    line = scrontab_line(
        ScheduleSettings(cron="0 7 * * 1-5"),
        UpdateSettings(since="2024-07-01", today="2024-07-03", archive=str(tmp_path / "m")),
        RunSettings(results_dir=tmp_path / "r", profile="slurm", user_agent="Jane Doe j@x.org"),
        python="/opt/py",
    ).splitlines()
    assert line[1:3] == ["#SCRON -J form3-update", f"#SCRON -o {tmp_path}/r/logs/form3-update-scron-%j.out"]
    # --today is never written (each run is its own today); settings at their default neither.
    assert line[3] == (
        f"0 7 * * 1-5 cd {REPO} && FORM3_HOME={form3_home()} /opt/py -m "
        f"flows.cli submit --update --since 2024-07-01 --archive {tmp_path}/m --results "
        f"{tmp_path}/r --profile slurm --user-agent 'Jane Doe j@x.org'"
    )
