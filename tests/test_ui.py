"""The team server, the served deployment, and retrying only the failed work.

Everything is real: ``form3 server`` (Prefect API + UI, auth string on), ``form3 serve`` (the
flow served as a deployment, picking up runs created through the REST API), Dask workers,
files. Infrastructure errors are injected with FORM3_FAULT_DIR (an EIO on every read of one
filing until the count runs out: 4 = the task's first try and its 3 retries).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deployments.server import UI_PATH
from flows.server_env import read_env_file
from flows.server_process import api_healthy, free_port
from flows.settings import RunSettings
from tests.conftest import REPO, require_slurm
from tests.test_flow import SAMPLE, _digests

ATTEMPTS = 4  # extract_batch: 1 try + 3 retries


def _sample_rows() -> dict[int, Path]:
    """Manifest row number (as the flow counts: header = 1) → the sample filing on it."""
    import csv

    with open(SAMPLE, newline="") as fh:
        return {i: SAMPLE.parent / r["path"] for i, r in enumerate(csv.DictReader(fh), start=2)}


ROWS = _sample_rows()


@dataclass
class Team:
    """A running ``form3 server`` and ``form3 serve``, and a REST client for both."""

    api_url: str
    auth: str
    home: Path  # FORM3_HOME holding server.env
    fault_dir: Path
    deployment_id: str
    serve_log: Path

    def client(self, auth: bool = True) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url, timeout=30, transport=_RetryBusy(),
            auth=tuple(self.auth.split(":", 1)) if auth else None,
        )

    def env(self, **extra: str) -> dict[str, str]:
        """A client's environment: only FORM3_HOME says where the server is."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")}
        return env | {"FORM3_HOME": str(self.home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"} | extra

    def inject(self, filing: Path, reads: int = ATTEMPTS) -> None:
        (self.fault_dir / f"{filing.name}.ioerror").write_text(str(reads))

    def start_run(self, **settings: str) -> str:
        """A run as the UI's custom-run form starts it: the flow's one parameter, settings."""
        with self.client() as c:
            r = c.post(f"/deployments/{self.deployment_id}/create_flow_run",
                       json={"parameters": {"settings": settings}})
            r.raise_for_status()
            return r.json()["id"]

    def flow_run(self, run_id: str) -> dict:
        with self.client() as c:
            r = c.get(f"/flow_runs/{run_id}")
            r.raise_for_status()
            return r.json()

    def wait_final(self, run_id: str, timeout: float = 300, after: float = 0.0) -> dict:
        """Poll until the run is in a final state entered after ``after`` (epoch seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.flow_run(run_id)
            state = run["state"]
            final = state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
            if final and _epoch(state["timestamp"]) > after:
                return run
            time.sleep(1)
        raise AssertionError(f"flow run {run_id} not final after {timeout}s: {run['state']}\n"
                             + self.serve_log.read_text()[-4000:])

    def task_runs(self, run_id: str) -> list[dict]:
        with self.client() as c:
            r = c.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}})
            r.raise_for_status()
            return r.json()

    def artifacts(self, run_id: str) -> dict[str, dict]:
        """The run's artifacts by key, the newest version of each (a retry adds versions)."""
        with self.client() as c:
            r = c.post("/artifacts/filter",
                       json={"artifacts": {"flow_run_id": {"any_": [run_id]}}, "sort": "CREATED_DESC"})
            r.raise_for_status()
            newest: dict[str, dict] = {}
            for a in r.json():
                newest.setdefault(a["key"], a)
            return newest

    def retry_as_the_ui_does(self, run_id: str) -> None:
        """The request behind the UI's Retry button (prefect-ui-library retryFlowRun)."""
        with self.client() as c:
            r = c.post(f"/flow_runs/{run_id}/set_state", json={
                "state": {"type": "SCHEDULED", "name": "AwaitingRetry", "message": "Retry from the UI"},
                "force": True,
            })
            r.raise_for_status()
            assert r.json()["status"] == "ACCEPT", r.json()


class _RetryBusy(httpx.HTTPTransport):
    """Retry 503 (SQLite busy under load) and 429 as Prefect's own client does; the tests
    are about our behaviour, not about a busy 2-core machine."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(6):
            response = super().handle_request(request)
            if response.status_code not in (429, 503) or attempt == 5:
                return response
            response.close()
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")


def _epoch(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def _stop(proc: subprocess.Popen) -> None:
    # SIGTERM, not SIGINT: a shell starting the suite in the background (CI) makes its
    # children ignore SIGINT; Prefect's runner and server stop cleanly on SIGTERM.
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Iterator[Team]:
    """``form3 server`` on a free port, then ``form3 serve`` finding it through FORM3_HOME."""
    root = tmp_path_factory.mktemp("team")
    home, faults = root / "form3-home", root / "faults"
    faults.mkdir()
    port = free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")}
    base_env.pop("PREFECT_SERVER_API_AUTH_STRING", None)
    base_env |= {"FORM3_HOME": str(home), "PREFECT_HOME": str(root / "prefect-home")}
    server_log = open(root / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "server", "--port", str(port), "--db",
         str(root / "db" / "prefect.db")],
        stdout=server_log, stderr=subprocess.STDOUT, env=base_env, cwd=REPO,
    )
    serve = None
    try:
        api_url = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 120
        # Up, and (only then) the clients' settings written.
        while not (api_healthy(api_url) and (home / "server.env").exists()):
            assert server.poll() is None, (root / "server.log").read_text()
            assert time.monotonic() < deadline, "form3 server did not start"
            time.sleep(0.5)
        client_env = read_env_file(home / "server.env")
        assert client_env["PREFECT_API_URL"] == api_url
        auth = client_env["PREFECT_API_AUTH_STRING"]
        serve_log = root / "serve.log"
        serve = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", "--results", str(root / "default-results")],
            stdout=open(serve_log, "wb"), stderr=subprocess.STDOUT, cwd=root,
            env=base_env | {"FORM3_FAULT_DIR": str(faults), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
        )
        team = Team(api_url, auth, home, faults, "", serve_log)
        deadline = time.monotonic() + 120
        while True:
            assert serve.poll() is None, serve_log.read_text()
            assert time.monotonic() < deadline, "form3 serve did not register the deployment"
            with team.client() as c:
                r = c.get("/deployments/name/extract-form3/form3")
            if r.status_code == 200:
                team.deployment_id = r.json()["id"]
                break
            time.sleep(0.5)
        yield team
    finally:
        if serve is not None:
            _stop(serve)
        _stop(server)


@pytest.mark.slow
def test_server_settings_for_a_cluster_and_serve_without_a_server(tmp_path: Path) -> None:
    """Bound to all interfaces, the UI and clients are told the host's name, not 0.0.0.0;
    `form3 serve` with no server to serve to says how to start one."""
    import socket

    from deployments.server import api_url, server_environment
    from flows.settings import ServerSettings

    settings = ServerSettings(host="0.0.0.0", port=4302, database=tmp_path / "db" / "p.db")
    assert api_url(settings) == f"http://{socket.getfqdn()}:4302/api"
    env = server_environment(settings, "form3:secret")
    assert env["PREFECT_UI_API_URL"] == api_url(settings)
    assert env["PREFECT_API_DATABASE_CONNECTION_URL"] == f"sqlite+aiosqlite:///{tmp_path}/db/p.db"
    assert env["PREFECT_SERVER_API_AUTH_STRING"] == "form3:secret"
    assert "PREFECT_SERVER_API_AUTH_STRING" not in server_environment(settings, None)

    if api_healthy("http://127.0.0.1:4200/api"):
        pytest.skip("a Prefect server answers on 127.0.0.1:4200 here")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")}
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "serve"], capture_output=True, text=True,
        env=env | {"FORM3_HOME": str(tmp_path / "no-server"), "PREFECT_HOME": str(tmp_path / "ph")},
        cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 2
    assert "no Prefect server: start one with `form3 server`" in proc.stderr


@pytest.mark.slow
def test_a_second_server_on_a_taken_port_leaves_the_clients_settings_alone(
    team: Team, tmp_path: Path
) -> None:
    """On a shared login node the port may be a colleague's: refuse, and never write their
    server's URL into this user's server.env."""
    port = team.api_url.rsplit(":", 1)[1].split("/")[0]
    home = tmp_path / "other-user"
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "server", "--port", port], capture_output=True,
        text=True, env=team.env(FORM3_HOME=str(home)), cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in proc.stderr
    assert not (home / "server.env").exists()
    assert api_healthy(team.api_url)  # the first server is untouched


@pytest.mark.slow
def test_server_refuses_requests_without_the_auth_string(team: Team) -> None:
    with team.client(auth=False) as c:
        assert c.post("/flows/filter", json={}).status_code == 401
        assert c.get(f"/deployments/{team.deployment_id}").status_code == 401
    with httpx.Client(base_url=team.api_url, auth=("form3", "wrong")) as c:
        assert c.post("/flows/filter", json={}).status_code == 401
    with team.client() as c:
        r = c.get(f"/deployments/{team.deployment_id}")
        assert r.status_code == 200
        # The deployment's parameters a UI run starts from, editable there.
        params = r.json()["parameters"]["settings"]
        assert params["manifest"] == str(SAMPLE)
        # The settings model is the form: every field of RunSettings, with its help text.
        schema = r.json()["parameter_openapi_schema"]
        assert list(schema["properties"]) == ["settings"]
        fields = schema["definitions"]["RunSettings"]["properties"]
        assert list(fields) == list(RunSettings.model_fields)
        assert fields["batch_size"]["description"] == RunSettings.model_fields["batch_size"].description
    # The UI is served and told to call this port's API, not 4200's.
    ui_settings = httpx.get(team.api_url.removesuffix("/api") + "/ui-settings").json()
    assert ui_settings["api_url"] == team.api_url


@pytest.mark.slow
def test_deployment_run_then_ui_retry_recomputes_only_the_failed_filings(
    team: Team, tmp_path: Path
) -> None:
    # A clean run through the API: the reference outputs.
    clean = tmp_path / "clean"
    run_id = team.start_run(manifest=str(SAMPLE), results_dir=str(clean))
    assert team.wait_final(run_id)["state"]["type"] == "COMPLETED"
    assert json.loads((clean / "run_summary.json").read_text())["parsed"] == 10

    # The same manifest elsewhere, with two filings failing on I/O errors all 4 attempts.
    results = tmp_path / "results"
    broken = ROWS[4], ROWS[9]
    for f in broken:
        team.inject(f)
    run_id = team.start_run(manifest=str(SAMPLE), results_dir=str(results))
    run = team.wait_final(run_id)
    assert run["state"]["type"] == "FAILED"
    assert "2 filings were not processed" in run["state"]["message"]
    summary = json.loads((results / "run_summary.json").read_text())
    assert (summary["parsed"], summary["not_processed"], summary["flow_run_id"]) == (8, 2, run_id)

    # What the UI shows: task runs named by the manifest rows they hold, the summary artifact.
    names = sorted(t["name"] for t in team.task_runs(run_id))
    assert names == ["extract rows 2-11 (10 filings)", "plan", "publish"]
    artifacts = team.artifacts(run_id)
    markdown = artifacts["form3-run-summary"]["data"]
    assert "| parsed in this run | 8 |" in markdown
    assert "| not processed (infrastructure errors; retry the run) | 2 |" in markdown
    assert str(results / "failures.csv") in markdown
    assert "| `not_processed` | 2 |" in markdown
    # The settings the run used, as the UI's form sent them and the flow validated them.
    assert f"| `results_dir` | `{results}` |" in markdown and "| `fetch_attempts` | `4` |" in markdown
    table = json.loads(artifacts["form3-error-types"]["data"])
    assert table == [{"error_type": "not_processed", "filings": 2}]
    # The failed filings themselves, as a table, with the counts by kind.
    failures = json.loads(artifacts["form3-failures"]["data"])
    assert [(f["row"], f["error"]) for f in failures] == [("4", "not_processed"), ("9", "not_processed")]
    assert "| `not_processed` | 2 |" in artifacts["form3-failures"]["description"]
    assert artifacts["form3-progress"]["type"] == "progress"
    assert artifacts["form3-progress"]["data"] == 100

    # Retry, as the UI's button does: the same flow run goes back to `form3 serve`.
    retried_at = time.time()
    team.retry_as_the_ui_does(run_id)
    run = team.wait_final(run_id, after=retried_at)
    assert run["state"]["type"] == "COMPLETED", run["state"]
    assert run["run_count"] == 2
    summary = json.loads((results / "run_summary.json").read_text())
    assert (summary["parsed"], summary["cached"], summary["failed"]) == (2, 8, 0)
    assert summary["flow_run_id"] == run_id
    assert sorted(t["name"] for t in team.task_runs(run_id)) == [
        "extract rows 2-11 (10 filings)", "extract rows 4-9 (2 filings)", "plan", "plan", "publish", "publish",
    ]
    latest = team.artifacts(run_id)["form3-run-summary"]["data"]
    assert "| parsed in this run | 2 |" in latest
    assert _digests(results) == _digests(clean)  # complete, and exactly a clean run's bytes


@pytest.mark.slow
def test_form3_retry_runs_a_deployment_less_run_here(team: Team, tmp_path: Path) -> None:
    """``form3 run`` (no deployment) against the team server found via FORM3_HOME, then
    ``form3 retry`` executes the same flow run in its own process."""
    results = tmp_path / "results"
    team.inject(ROWS[7])

    def form3(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True,
            env=team.env(FORM3_FAULT_DIR=str(team.fault_dir)), cwd=REPO, timeout=600,
        )

    first = form3("run", str(SAMPLE), "--results", str(results))
    assert first.returncode == 1, first.stderr[-3000:]
    assert f"Prefect API {team.api_url}" in first.stderr
    run_id = json.loads((results / "run_summary.json").read_text())["flow_run_id"]
    assert team.flow_run(run_id)["deployment_id"] is None

    again = form3("retry", run_id)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "executing it here" in again.stderr
    summary = json.loads(again.stdout)
    assert (summary["flow_run_id"], summary["parsed"], summary["cached"]) == (run_id, 1, 9)
    assert team.flow_run(run_id)["state"]["type"] == "COMPLETED"

    refused = form3("retry", "not-a-uuid")
    assert refused.returncode == 2 and "not a flow run id" in refused.stderr


@pytest.mark.slow
def test_form3_retry_of_a_deployment_run_waits_for_the_served_run(team: Team, tmp_path: Path) -> None:
    results = tmp_path / "results"
    team.inject(ROWS[2])
    run_id = team.start_run(manifest=str(SAMPLE), results_dir=str(results))
    assert team.wait_final(run_id)["state"]["type"] == "FAILED"
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "retry", run_id], capture_output=True, text=True,
        env=team.env(), cwd=REPO, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "waiting for `form3 serve`" in proc.stderr and "Completed" in proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["parsed"], summary["cached"], summary["not_processed"]) == (1, 9, 0)


@pytest.mark.slurm
def test_a_served_run_on_the_slurm_profile(team: Team, tmp_path: Path) -> None:
    """A UI-started run with cluster=slurm: workers are sbatch jobs that report to the
    authenticated server (they inherit the API URL and auth string from the flow process)."""
    require_slurm()
    results = tmp_path / "results"
    run_id = team.start_run(manifest=str(SAMPLE), results_dir=str(results), cluster="slurm",
                            profile="single-node")
    assert team.wait_final(run_id)["state"]["type"] == "COMPLETED"
    summary = json.loads((results / "run_summary.json").read_text())
    assert (summary["profile"], summary["parsed"], summary["failed"]) == ("single-node", 10, 0)
    (job_id,) = summary["batches_by_worker"]
    assert job_id.isdigit()  # a SLURM_JOB_ID, not a host name
    assert [t["state"]["type"] for t in team.task_runs(run_id)] == ["COMPLETED"] * 3  # plan, batch, publish


# --- the UI in a real browser ------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]
SCREENSHOTS = REPO / "tests-output" / "ui"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = "Chromium is not installed (make test installs it as root: tests/install-browser.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# An error toast of either UI: V2's sonner toasts of type error, V1's prefect-design toasts,
# and the text of the generic one ("Oops. Something went wrong." / "Something went wrong").
ERROR_TOASTS = (
    '[data-sonner-toast][data-type="error"], .p-toast--error, .p-toast, '
    ':text("went wrong")'
)


class PageChecks:
    """What the browser test asserts on every page it checks after the login: no error toast
    and no API response >= 400 to a request made after the login (the test causes none on
    purpose); then a screenshot named for the page."""

    def __init__(self, page) -> None:
        self.page = page
        self.logged_in = False
        self.after_login: set = set()  # requests made after the login
        self.api_errors: list[str] = []
        self.external: set[str] = set()  # hosts other than the server the UI tried to reach
        self.shots: list[str] = []
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, request) -> None:
        host = request.url.split("/")[2] if "://" in request.url else ""
        if request.url.startswith("http") and not host.startswith("127.0.0.1"):
            self.external.add(host)
        if self.logged_in:
            self.after_login.add(request)

    def _response(self, response) -> None:
        if response.request in self.after_login and "/api/" in response.url and response.status >= 400:
            self.api_errors.append(f"{response.status} {response.request.method} {response.url} "
                                   f"{response.request.post_data}")

    def check(self, name: str) -> None:
        self.page.wait_for_timeout(1500)  # let the page's queries settle (a toast comes after)
        toasts = self.page.locator(ERROR_TOASTS)
        assert toasts.count() == 0, f"{name}: error toast {toasts.all_inner_texts()}"
        assert self.api_errors == [], f"{name}: API errors {self.api_errors}"
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        self.shots.append(path.name)


@pytest.mark.ui
def test_browser_shows_the_run_and_its_retry_button_reruns_only_the_failed_filing(
    team: Team, browser, tmp_path: Path
) -> None:
    """The path a user takes: the URL `form3 server` prints, its login, the run's logs, task
    runs and artifacts, the deployment, the Retry dialog; no error toast, no refused call."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    results = tmp_path / "results"
    team.inject(ROWS[11])
    run_id = team.start_run(manifest=str(SAMPLE), results_dir=str(results))
    run = team.wait_final(run_id)
    assert run["state"]["type"] == "FAILED"
    base = team.api_url.removesuffix("/api")
    ui = base + UI_PATH

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    checks = PageChecks(page)
    # The URL `form3 server` prints; it asks for the auth string `form3 server` printed.
    page.goto(ui + "/")
    page.locator("input[type=password]").fill(team.auth)
    # Before the login the UI's first calls are refused (401): by design, and no toast.
    assert page.locator(ERROR_TOASTS).count() == 0
    checks.logged_in = True
    page.get_by_role("button", name="Login").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.get_by_text("Dashboard").first.wait_for()
    checks.check("0-after-login")

    page.goto(f"{ui}/runs/flow-run/{run_id}")
    page.get_by_text(run["name"]).first.wait_for()
    page.get_by_text("Failed", exact=True).first.wait_for()
    page.get_by_role("tab", name="Logs").click()
    # The run's logs, with the flow's progress lines and its final word.
    page.get_by_text("progress: 10/10 filings parsed (100%)", exact=False).first.wait_for()
    page.get_by_text("done: 10 filings, 9 parsed, 0 cached, 1 failed", exact=False).first.wait_for()
    checks.check("1-failed-run-logs")

    page.get_by_role("tab", name="Task Runs").click()
    page.get_by_text("extract rows 2-11 (10 filings)").first.wait_for()
    checks.check("2-task-runs")

    page.get_by_role("tab", name="Artifacts").click()
    for key in ("form3-run-summary", "form3-failures", "form3-progress"):
        page.get_by_text(key).first.wait_for()
    checks.check("3-artifacts")

    # Not opened: an artifact's own page (/artifacts/artifact/ID or /artifacts/key/KEY) in
    # Prefect 3.9.1's V2 UI asks for the task run of an artifact a flow made (it has none)
    # with an empty id: POST /api/task_runs/filter {"id": {"any_": [""]}} -> 422, no toast.
    # Upstream UI bug (no Prefect issue found for it yet); the table's contents are checked
    # through the REST API in test_deployment_run_then_ui_retry_recomputes_only_the_failed_filings.

    page.goto(f"{ui}/deployments/deployment/{team.deployment_id}")
    page.get_by_text("form3", exact=True).first.wait_for()
    page.get_by_text("extract-form3").first.wait_for()
    checks.check("4-deployment")

    page.goto(f"{ui}/runs/flow-run/{run_id}")
    page.get_by_text(run["name"]).first.wait_for()
    retried_at = time.time()
    page.get_by_role("button", name="Open menu").last.click()
    page.get_by_role("menuitem", name="Retry").click()
    dialog = page.get_by_role("alertdialog")  # V2's confirmation is a Radix AlertDialog
    dialog.get_by_text("Retry Flow Run").wait_for()
    checks.check("5-retry-dialog")
    dialog.get_by_role("button", name="Retry").click()

    final = team.wait_final(run_id, after=retried_at)
    assert final["state"]["type"] == "COMPLETED"
    page.reload()
    page.get_by_text("Completed", exact=True).first.wait_for(timeout=60_000)
    page.get_by_role("tab", name="Task Runs").click()
    page.get_by_text("extract row 11 (1 filing)").first.wait_for()
    checks.check("6-retried-run-completed")

    summary = json.loads((results / "run_summary.json").read_text())
    assert (summary["flow_run_id"], summary["parsed"], summary["cached"], summary["failed"]) == (
        run_id, 1, 9, 0,
    )
    shutil.copy(results / "run_summary.json", SCREENSHOTS / "run_summary.json")
    # Offline (a cluster's login node) the UI's only outside call is V2's analytics client
    # fetching its config: it fails without a toast (analytics are off on the server).
    (SCREENSHOTS / "checked.txt").write_text(
        "\n".join(checks.shots) + f"\nexternal hosts tried: {sorted(checks.external)}\n"
    )
