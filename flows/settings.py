"""Every setting of a run, resolved in one place: CLI flag, then environment, then default.

Anything a user might need to change on a cluster (where results and checkpoints go, which
cluster profile, which Prefect API) lives here and nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tasks.fetch import FetchPlan, FetchSettings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = REPO_ROOT / "data" / "form_3_10.csv"
DEFAULT_RESULTS = Path("results")
# A batch is the unit Prefect orchestrates (~50-65 ms of overhead each on Dask) and the unit
# of loss on a crash; a filing costs ~0.1 ms. Auto size aims at a few batches per worker.
MIN_BATCH, MAX_BATCH, BATCHES_PER_WORKER = 25, 2000, 4
# Columns that may name the filing in a manifest, in order of preference.
FILING_COLUMNS = ("path", "url", "filing", "file", "location", "filename")
# Filings named by URL: the SEC's published limit is 10 requests/s (per client, all workers),
# and the default. Timeouts, attempts, backoff and the size cap default to FetchSettings'.
SEC_MAX_RPS = 10.0
DEFAULT_MAX_RPS = SEC_MAX_RPS
_FETCH = FetchSettings()


def form3_home() -> Path:
    """Per-user state that is not results: the team server's client settings (FORM3_HOME)."""
    return Path(os.environ.get("FORM3_HOME") or "~/.form3").expanduser()


def user_agent_setting(flag: str | None = None) -> str | None:
    """The User-Agent for HTTP requests (filings, index files): --user-agent, FORM3_USER_AGENT."""
    return flag or _env("FORM3_USER_AGENT")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(slots=True)
class RunSettings:
    """What ``form3 run`` and the flow's parameters resolve to."""

    manifest: Path = DEFAULT_MANIFEST
    results_dir: Path = DEFAULT_RESULTS
    # Checkpoints (Prefect's persisted results). On a cluster: a path every worker can reach.
    store_dir: Path | None = None
    cluster: str = "local"
    cluster_explicit: bool = False  # given by flag or environment, not defaulted
    profile: str | None = None
    batch_size: int | None = None  # None: automatic
    column: str | None = None  # None: first of FILING_COLUMNS present
    # Filings named by URL (tasks/fetch.py). sec.gov needs a User-Agent with a contact.
    user_agent: str | None = None
    mirror: Path | None = None  # EDGAR-layout directory of fetched filings, kept across runs
    max_rps: float = DEFAULT_MAX_RPS  # requests/s for the whole run, all workers together
    max_filing_bytes: int = _FETCH.max_bytes
    fetch_timeout: float = _FETCH.timeout  # seconds per connect or read
    fetch_attempts: int = _FETCH.attempts  # requests per filing and task run, then an I/O error
    fetch_backoff: float = _FETCH.backoff  # first retry delay, doubling

    @property
    def downloads_dir(self) -> Path:
        """Fetched filings when there is no mirror (same layout), and URLs that name no
        accession (always here: a mirror holds EDGAR's layout only)."""
        return self.checkpoint_dir / "downloads"

    def fetch_plan(self, rate_limit: str | None) -> FetchPlan:
        settings = FetchSettings(
            user_agent=self.user_agent,
            timeout=self.fetch_timeout,
            max_bytes=self.max_filing_bytes,
            attempts=self.fetch_attempts,
            backoff=self.fetch_backoff,
        )
        filings = self.mirror if self.mirror is not None else self.downloads_dir
        return FetchPlan(settings, str(filings), str(self.downloads_dir), rate_limit, self.max_rps)

    @property
    def checkpoint_dir(self) -> Path:
        return self.store_dir if self.store_dir is not None else self.results_dir / ".checkpoints"

    @property
    def profile_name(self) -> str:
        """``--profile`` if given, else the profile named like the cluster kind."""
        return self.profile or self.cluster

    @classmethod
    def resolve(
        cls,
        manifest: str | Path | None = None,
        results_dir: str | Path | None = None,
        store_dir: str | Path | None = None,
        cluster: str | None = None,
        profile: str | None = None,
        batch_size: int | None = None,
        column: str | None = None,
        *,
        user_agent: str | None = None,
        mirror: str | Path | None = None,
        max_rps: float | None = None,
        max_filing_bytes: int | None = None,
    ) -> "RunSettings":
        store = store_dir or _env("FORM3_STORE")
        batch = batch_size or _env("FORM3_BATCH_SIZE")
        mirror = mirror or _env("FORM3_MIRROR")
        return cls(
            manifest=Path(manifest or _env("FORM3_MANIFEST", str(DEFAULT_MANIFEST))).resolve(),
            results_dir=Path(results_dir or _env("FORM3_RESULTS", str(DEFAULT_RESULTS))).resolve(),
            store_dir=Path(store).resolve() if store else None,
            cluster=cluster or _env("FORM3_CLUSTER", "local"),
            cluster_explicit=bool(cluster or _env("FORM3_CLUSTER")),
            profile=profile or _env("FORM3_PROFILE"),
            batch_size=int(batch) if batch else None,
            column=column or _env("FORM3_COLUMN"),
            user_agent=user_agent_setting(user_agent),
            mirror=Path(mirror).expanduser().resolve() if mirror else None,
            max_rps=float(max_rps or _env("FORM3_MAX_RPS", str(DEFAULT_MAX_RPS))),
            max_filing_bytes=int(
                max_filing_bytes or _env("FORM3_MAX_FILING_BYTES", str(_FETCH.max_bytes))
            ),
            fetch_timeout=float(_env("FORM3_FETCH_TIMEOUT", str(_FETCH.timeout))),
            fetch_attempts=int(_env("FORM3_FETCH_ATTEMPTS", str(_FETCH.attempts))),
            fetch_backoff=float(_env("FORM3_FETCH_BACKOFF", str(_FETCH.backoff))),
        )


def auto_batch_size(pending: int, workers: int) -> int:
    """Enough batches to keep every worker busy and bound crash loss; few enough to stay cheap."""
    target = -(-pending // max(1, workers * BATCHES_PER_WORKER))
    return max(MIN_BATCH, min(MAX_BATCH, target))
