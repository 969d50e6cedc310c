"""Every setting a user can change, declared once: type, default, flag, environment variable, help.

From these declarations come the ``form3 run`` / ``form3 serve`` / ``form3 server`` flags
(:func:`flows.settings_sources.add_arguments`), the environment variables, the flow's one
parameter (``settings: RunSettings``, which the UI renders as a form in its custom-run
dialog), the served deployment's default parameters, and the settings reference in
``docs/settings.md`` (``flows.settings_docs``). Settings are resolved
once, in the process that starts a run (flag > environment > default), and the values used
are recorded in ``run_summary.json``.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.settings_sources import Source
from tasks.daily_index import EDGAR_TIME_ZONE
from tasks.edgar_index import DEFAULT_FORMS, DEFAULT_PREFIX, FORM_GROUPS, EdgarIndexError, parse_forms
from tasks.edgar_names import is_url
from tasks.fetch import SEC_MAX_RPS, FetchPlan, FetchSettings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = REPO_ROOT / "data" / "form_3_10.csv"
DEFAULT_PORT = 4200  # Prefect's own default API port
_FETCH = FetchSettings()


# Shared by `form3 run` and `form3 manifest` (index files from sec.gov need it too).
UserAgent = Annotated[
    str | None,
    Source("--user-agent", "FORM3_USER_AGENT", "UA"),
    Field(description="User-Agent of HTTP requests, with your contact; sec.gov requires one, "
          "e.g. 'Jane Doe jane@example.org'"),
]


# How results/ is laid out (flows/outputs.py writes both).
Layout = Literal["single", "quarterly"]
SINGLE: Layout = "single"
QUARTERLY: Layout = "quarterly"


# A batch is the unit Prefect orchestrates (~50-65 ms of overhead each on Dask) and the unit
# of loss on a crash; a filing costs ~0.1 ms. Auto size aims at a few batches per worker.
MIN_BATCH, MAX_BATCH, BATCHES_PER_WORKER = 25, 2000, 4


def auto_batch_size(pending: int, workers: int) -> int:
    """Enough batches to keep every worker busy and bound crash loss; few enough to stay cheap."""
    target = -(-pending // max(1, workers * BATCHES_PER_WORKER))
    return max(MIN_BATCH, min(MAX_BATCH, target))


def default_store_dir(results_dir: Path) -> Path:
    """The checkpoint store when ``--store`` is not given: inside the results directory."""
    return results_dir / ".checkpoints"


def logs_dir(results_dir: Path) -> Path:
    """Where a run's own Prefect server (flows.local_api) writes its log."""
    return results_dir / "logs"


def _absolute(value: Path | None) -> Path | None:
    return None if value is None else value.expanduser().resolve()


class RunSettings(BaseModel):
    """What one run of the flow does: which filings, where results go, where the work runs."""

    # validate_default: relative default paths become absolute in the process that resolves.
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    manifest: Annotated[Path, Source(None, "FORM3_MANIFEST", "MANIFEST", positional=True)] = Field(
        DEFAULT_MANIFEST, description="CSV naming one filing per row (a path or an http(s) URL)",
        json_schema_extra={"default_help": "the bundled sample, data/form_3_10.csv"},
    )
    results_dir: Annotated[Path, Source("--results", "FORM3_RESULTS", "DIR")] = Field(
        Path("results"), description="where parsed_form3.json, the tables, failures.csv and "
        "run_summary.json go",
    )
    store_dir: Annotated[Path | None, Source("--store", "FORM3_STORE", "DIR")] = Field(
        None, description="checkpoint store; on a cluster a path every worker can reach",
        json_schema_extra={"default_help": "RESULTS/.checkpoints"},
    )
    cluster: Annotated[Literal["local", "slurm"] | None, Source("--cluster", "FORM3_CLUSTER")] = Field(
        None, description="where the batches run: Dask on this machine, or Slurm jobs",
        json_schema_extra={"default_help": "the profile's kind"},
    )
    profile: Annotated[str | None, Source("--profile", "FORM3_PROFILE", "NAME")] = Field(
        None, description="cluster profile in deployments/profiles.yaml (or FORM3_PROFILES)",
        json_schema_extra={"default_help": "named like the cluster kind"},
    )
    batch_size: Annotated[int | None, Source("--batch-size", "FORM3_BATCH_SIZE", "N")] = Field(
        None, ge=1, description="filings per task run",
        json_schema_extra={"default_help": f"automatic, ~{BATCHES_PER_WORKER} batches per worker, "
                           f"{MIN_BATCH}-{MAX_BATCH}"},
    )
    column: Annotated[str | None, Source("--column", "FORM3_COLUMN", "NAME")] = Field(
        None, description="the manifest column naming the filing",
        json_schema_extra={"default_help": "the first of path, url, filing, file, location, filename"},
    )
    user_agent: UserAgent = None
    mirror: Annotated[Path | None, Source("--mirror", "FORM3_MIRROR", "DIR")] = Field(
        None, description="keep fetched filings here in EDGAR's layout and read them from "
        "here first",
        json_schema_extra={"default_help": "STORE/downloads"},
    )
    max_requests_per_second: Annotated[
        float, Source("--max-requests-per-second", "FORM3_MAX_RPS", "N")
    ] = Field(
        SEC_MAX_RPS, gt=0, description="HTTP requests per second for all workers together "
        "(the SEC allows 10)",
    )
    max_filing_bytes: Annotated[int, Source("--max-filing-bytes", "FORM3_MAX_FILING_BYTES", "N")] = Field(
        _FETCH.max_bytes, ge=0, description="size cap of one filing, local or fetched "
        "(larger: too_large)", json_schema_extra={"default_help": f"{_FETCH.max_bytes // 2**20} MiB"},
    )
    fetch_timeout: Annotated[float, Source("--fetch-timeout", "FORM3_FETCH_TIMEOUT", "SECONDS")] = Field(
        _FETCH.timeout, gt=0, description="seconds per HTTP connect or read",
    )
    fetch_attempts: Annotated[int, Source("--fetch-attempts", "FORM3_FETCH_ATTEMPTS", "N")] = Field(
        _FETCH.attempts, ge=1, description="HTTP requests per filing and task run before it is "
        "an I/O error",
    )
    fetch_backoff: Annotated[float, Source("--fetch-backoff", "FORM3_FETCH_BACKOFF", "SECONDS")] = Field(
        _FETCH.backoff, ge=0, description="first HTTP retry's delay, doubling",
    )
    layout: Annotated[Layout | None, Source("--layout", "FORM3_LAYOUT")] = Field(
        None, description="results/ as one file per output (single), or every output partitioned "
        "by the quarter of the manifest's date_filed and rewritten only where it changed "
        "(quarterly; docs/results.md)",
        json_schema_extra={"default_help": "the layout of the results already there, else single "
                           "(quarterly for form3 update)"},
    )

    _resolve_paths = field_validator("manifest", "results_dir", "store_dir", "mirror")(_absolute)

    @property
    def checkpoint_dir(self) -> Path:
        return self.store_dir if self.store_dir is not None else default_store_dir(self.results_dir)

    def batch_size_for(self, pending: int, workers: int) -> int:
        """``--batch-size`` if given, else the automatic size for this much work."""
        return self.batch_size or auto_batch_size(pending, workers)

    @property
    def downloads_dir(self) -> Path:
        """Fetched filings when there is no mirror (same layout), and URLs that name no
        accession (always here: a mirror holds EDGAR's layout only)."""
        return self.checkpoint_dir / "downloads"

    @property
    def profile_name(self) -> str:
        """``--profile`` if given, else the profile named like the cluster kind."""
        return self.profile or self.cluster or "local"

    def fetch_plan(self, rate_limit: str | None) -> FetchPlan:
        settings = FetchSettings(
            user_agent=self.user_agent,
            timeout=self.fetch_timeout,
            max_bytes=self.max_filing_bytes,
            attempts=self.fetch_attempts,
            backoff=self.fetch_backoff,
        )
        filings = self.mirror if self.mirror is not None else self.downloads_dir
        return FetchPlan(
            settings, str(filings), str(self.downloads_dir), rate_limit, self.max_requests_per_second
        )


class ServeSettings(BaseModel):
    """``form3 serve``: how the deployment is served (its runs' defaults are RunSettings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Source("--name", "FORM3_DEPLOYMENT", "NAME")] = Field(
        "form3", min_length=1, description="deployment name",
    )
    limit: Annotated[int, Source("--limit", "FORM3_SERVE_LIMIT", "N")] = Field(
        1, ge=1, description="flow runs at a time (runs that share a results dir must not overlap)",
    )


class ServerSettings(BaseModel):
    """``form3 server``: the Prefect API and UI for a user or a team."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: Annotated[str, Source("--host", "FORM3_SERVER_HOST", "HOST")] = Field(
        "127.0.0.1", description="bind address; the login node's cluster address (or "
        "0.0.0.0) for Slurm workers on other nodes",
    )
    port: Annotated[int, Source("--port", "FORM3_SERVER_PORT", "PORT")] = Field(
        DEFAULT_PORT, ge=1, le=65535, description="port of the API and the UI",
    )
    database: Annotated[Path | None, Source("--db", "FORM3_SERVER_DB", "PATH")] = Field(
        None, description="SQLite database, on local disk (not NFS)",
        json_schema_extra={"default_help": "/var/tmp/form3-prefect-$USER/prefect.db"},
    )
    auth: Annotated[bool, Source("--no-auth", "FORM3_SERVER_AUTH", const="false")] = Field(
        True, description="require an auth string (--no-auth only on a single-user machine)",
    )

    _resolve_paths = field_validator("database")(_absolute)


class IndexSettings(BaseModel):
    """``form3 manifest``: the settings it shares with runs (the rest are its arguments)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_agent: UserAgent = None
    forms: Annotated[str, Source("--forms", "FORM3_FORMS", "TYPES")] = Field(
        ",".join(DEFAULT_FORMS), description="form types to keep, comma-separated (3,3/A,4,4/A,"
        f"5,5/A), or {' / '.join(FORM_GROUPS)} for every ownership form",
    )

    @field_validator("forms")
    @classmethod
    def _known_forms(cls, value: str) -> str:
        try:
            return ",".join(parse_forms(value))
        except EdgarIndexError as exc:
            raise ValueError(str(exc)) from None

    @property
    def form_types(self) -> tuple[str, ...]:
        return tuple(self.forms.split(","))


class UpdateSettings(BaseModel):
    """``form3 update``: which days of EDGAR's daily indexes to bring in, and from where. The
    run's own settings (results dir, cluster, User-Agent, request rate…) are RunSettings; the
    manifest is the results dir's cumulative ``update-manifest.csv``."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    since: Annotated[date, Source("--since", "FORM3_UPDATE_SINCE", "YYYY-MM-DD")] = Field(
        description="first day whose filings to bring in (days already read are not read again)",
        json_schema_extra={"default_help": "required"},
    )
    today: Annotated[date | None, Source("--today", "FORM3_UPDATE_TODAY", "YYYY-MM-DD")] = Field(
        None, description="last day to read: a simulated today (tests, or a catch-up up to a "
        "chosen day)", json_schema_extra={"default_help": "today in New York (EDGAR's day)"},
    )
    archive: Annotated[str, Source("--archive", "FORM3_ARCHIVE", "URL_OR_DIR")] = Field(
        DEFAULT_PREFIX, description="EDGAR's Archives/: a URL, or a local mirror directory "
        "(as `form3 manifest --prefix`)",
    )
    recheck_days: Annotated[int, Source("--recheck-days", "FORM3_RECHECK_DAYS", "N")] = Field(
        7, ge=0, description="days before today whose indexes are read again for late filings",
    )

    @field_validator("archive")
    @classmethod
    def _absolute_archive(cls, value: str) -> str:
        return value if is_url(value) else str(Path(value).expanduser().resolve())


class ScheduleSettings(BaseModel):
    """``form3 serve``'s schedule for the daily update (no cron: the update is not served)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cron: Annotated[str | None, Source("--cron", "FORM3_UPDATE_CRON", "CRON")] = Field(
        None, description="serve `form3 update` too, as deployment update-form3/NAME-daily on "
        "this cron schedule (e.g. '0 7 * * 1-5'); needs --since",
    )
    timezone: Annotated[str, Source("--timezone", "FORM3_UPDATE_TIMEZONE", "TZ")] = Field(
        EDGAR_TIME_ZONE, description="IANA time zone the cron schedule is read in",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. Europe/Paris)") from None
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        from prefect.schedules import validate_cron_string

        return None if value is None else validate_cron_string(value)


def form3_home() -> Path:
    """Per-user state that is not results: the team server's client settings (FORM3_HOME)."""
    return Path(os.environ.get("FORM3_HOME") or "~/.form3").expanduser()
