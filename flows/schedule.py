"""The daily update as a Slurm ``scrontab`` line, for clusters whose login nodes end
long-lived processes (where ``form3 serve`` cannot stay up).

The line runs ``form3 submit --update`` on the cron schedule: the scrontab job itself is a
small batch job on a compute node, which submits the allocation that runs the update (flow,
scheduler and workers in one ``srun``, as any ``form3 submit``). Settings are written out as
flags (those not at their default), so the line does not depend on the environment of the
shell that printed it. The Prefect API comes from ``form3 server``'s client settings in
FORM3_HOME (the auth string stays in that 0600 file, never in the crontab).
"""

from __future__ import annotations

import shlex
import sys

from flows.settings import REPO_ROOT, RunSettings, ScheduleSettings, UpdateSettings, form3_home
from flows.settings_sources import as_flags

SCRON_JOB_NAME = "form3-update"


def scrontab_line(schedule: ScheduleSettings, update: UpdateSettings, settings: RunSettings,
                  python: str | None = None) -> str:
    """The scrontab entry (its ``#SCRON`` options and the cron line) for ``scrontab -e``.
    Slurm opens the ``-o`` log before the job starts: its directory must exist
    (``form3 scrontab`` makes it)."""
    if not schedule.cron:
        raise ValueError("--cron is required: the schedule of the update (e.g. '0 7 * * 1-5')")
    q = shlex.quote
    command = [python or sys.executable, "-m", "flows.cli", "submit", "--update",
               *as_flags(update, skip=("today",)), *as_flags(settings, skip=("manifest",))]
    logs = settings.results_dir / "logs"
    return "\n".join([
        f"# form3 daily update. scrontab reads the cron in slurmctld's local time zone; the "
        f"schedule was asked in {schedule.timezone}.",
        f"#SCRON -J {SCRON_JOB_NAME}",
        f"#SCRON -o {q(str(logs / 'form3-update-scron-%j.out'))}",
        f"{schedule.cron} cd {q(str(REPO_ROOT))} && "
        f"FORM3_HOME={q(str(form3_home()))} {' '.join(q(c) for c in command)}",
    ])
