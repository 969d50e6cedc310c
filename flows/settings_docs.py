"""The settings reference, ``docs/settings.md``: its generated section, from the declarations.

One table per settings model (``flows.settings``, the daily update's included: flag, variable, type, default, help) and one
of the cluster profile's keys (``flows.cluster.ClusterProfile``). ``make docs`` rewrites the
section between its markers (``python -m flows.settings_docs --write docs/settings.md``); a
test fails while the page differs from what this module writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flows.cluster import ClusterProfile
from flows.settings import (
    REPO_ROOT, RunSettings, ScheduleSettings, ServerSettings, ServeSettings, UpdateSettings,
)
from flows.settings_sources import key_table, markdown_table

def settings_tables() -> str:
    """The settings reference's generated body (docs/settings.md): one table per settings
    model, then the cluster profile's keys."""
    parts = []
    for title, model in (
        ("`form3 run` (and `form3 serve`: the defaults of runs started from the UI)", RunSettings),
        ("`form3 serve`", ServeSettings),
        ("`form3 server`", ServerSettings),
        ("`form3 update`, `form3 submit --update`, `form3 scrontab` and `form3 serve --cron` "
         "(the scheduled runs' defaults; their runs also take `form3 run`'s)", UpdateSettings),
        ("`form3 serve --cron` and `form3 scrontab`: the daily update's schedule", ScheduleSettings),
    ):
        parts.append(f"{title}:\n\n{markdown_table(model)}")
    parts.append(
        "Cluster profile keys (`deployments/profiles.yaml`, or a file named by `FORM3_PROFILES`; "
        f"`form3 profile show NAME` prints one resolved):\n\n{key_table(ClusterProfile)}"
    )
    return "\n".join(parts)


SECTION_START, SECTION_END = "<!-- settings:start -->\n", "<!-- settings:end -->"
SETTINGS_DOC = REPO_ROOT / "docs" / "settings.md"  # where the generated section lives


def write_section(readme: Path) -> None:
    """Replace the page's generated settings section with the current tables."""
    text = readme.read_text()
    head, _, rest = text.partition(SECTION_START)
    _, _, tail = rest.partition(SECTION_END)
    readme.write_text(head + SECTION_START + settings_tables() + SECTION_END + tail)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        write_section(Path(sys.argv[2]) if sys.argv[2:] else SETTINGS_DOC)
    else:
        sys.stdout.write(settings_tables())
