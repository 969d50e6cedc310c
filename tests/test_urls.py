"""Manifests of URLs, end to end: the real CLI, Prefect server and Dask workers, fetching from
a real HTTP server on 127.0.0.1 that serves the EDGAR corpus under EDGAR's paths and
misbehaves on request (429 with Retry-After, 503, slow answers, truncated bodies, 404)."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.filing_server import FilingServer

pytestmark = pytest.mark.slow  # a real Prefect server and Dask workers

UA = "Form3 Tests tests@example.org"
TABLES = (
    "submissions", "reporting_owners", "nonderiv_holdings", "deriv_holdings", "footnotes",
    "owner_signatures",
)
# Short timeouts and backoff so the faults cost seconds, not minutes.
FAST = {"FORM3_USER_AGENT": UA, "FORM3_FETCH_TIMEOUT": "1.5", "FORM3_FETCH_BACKOFF": "0.2"}


def edgar_path(row: dict[str, str]) -> str:
    """Where EDGAR serves a corpus file: the submission under the CIK, a document in the
    accession's folder."""
    name = Path(row["file"]).name
    cik = int(row["issuer_cik"])
    if name.endswith(".txt"):
        return f"/Archives/edgar/data/{cik}/{name}"
    return f"/Archives/edgar/data/{cik}/{row['accession_number'].replace('-', '')}/{name}"


@pytest.fixture
def edgar(corpus: Path, corpus_manifest: list[dict[str, str]]):
    """The corpus on a local HTTP server: (server, [(local path, url, path) per corpus row])."""
    with FilingServer() as server:
        rows = []
        for i, row in enumerate(corpus_manifest):
            local = corpus / row["file"]
            path = edgar_path(row)
            rows.append((local, server.serve(path, local, gzip=i % 3 == 0), path))
        yield server, rows


def write_manifest(path: Path, column: str, values: list[str]) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([column])
        writer.writerows([v] for v in values)
    return path


def records(results: Path) -> list[dict]:
    # The JSON is named for its forms (the Form 3 corpus holds 9 Forms 4/5): the summary says which.
    name = json.loads((results / "run_summary.json").read_text())["json_file"]
    out = json.loads((results / name).read_text())
    for r in out:
        del r["source"]
    return out


def table(results: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(results / f"{name}.parquet").drop(columns=["source"], errors="ignore")


def failures(results: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(open(results / "failures.csv", newline="")))


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times, best, j = sorted(times), 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_url_manifest_gives_the_local_results_and_rerun_fetches_nothing(form3, edgar, tmp_path: Path) -> None:
    server, rows = edgar
    urls = [url for _, url, _ in rows]
    # Three submissions under names that carry no accession: identified by their content.
    plain = [i for i, (local, _, _) in enumerate(rows) if local.suffix == ".txt"][-3:]
    for n, i in enumerate(plain):
        urls[i] = server.serve(f"/files/form3-{n}.txt", rows[i][0]) + "?download=1"
    faults = {
        rows[0][2]: [("status", 429, {"Retry-After": "1"})],
        rows[1][2]: [("status", 503, {})],
        rows[2][2]: [("slow", 3.0)],  # longer than FORM3_FETCH_TIMEOUT once
        rows[3][2]: [("truncate",)],  # Content-Length larger than the body, once
    }
    for path, script in faults.items():
        server.script(path, *script)
    missing = [server.base + "/Archives/edgar/data/1/0000000001-24-000001.txt",
               server.base + "/Archives/edgar/data/2/0000000002-24-000002.txt"]
    manifest = write_manifest(tmp_path / "urls.csv", "url", urls + missing)
    results = tmp_path / "results"
    env = FAST | {"FORM3_MAX_RPS": "20"}

    form3("run", str(manifest), "--results", str(results), env=env)
    summary = form3.summary(results)
    assert (summary["filings"], summary["parsed"], summary["not_processed"]) == (115, 115, 0)
    assert summary["error_types"] == {"http_error": 2}  # the corpus' 9 Forms 4/5 parse (parser 3)
    assert summary["json_file"] == "parsed_form345.json"
    assert {f["source"]: f["error"] for f in failures(results) if f["error"] == "http_error"} == {
        m: "http_error" for m in missing
    }
    assert all("HTTP 404" in f["message"] for f in failures(results) if f["error"] == "http_error")
    seen = server.seen()
    assert {r.user_agent for r in seen} == {UA}
    for path in faults:
        assert len(server.seen(path)) == 2, path  # the failure, then one retry that worked
    first, second = server.seen(rows[0][2])
    assert second.time - first.time >= 1.0  # Retry-After: 1 honoured
    counts = pd.Series([r.path for r in seen]).value_counts()
    assert set(counts[counts > 1].index) == set(faults)  # nothing else fetched twice

    local = write_manifest(tmp_path / "local.csv", "path", [str(p) for p, _, _ in rows])
    local_results = tmp_path / "local-results"
    form3("run", str(local), "--results", str(local_results))
    assert records(results) == records(local_results)
    for name in TABLES:
        pd.testing.assert_frame_equal(table(results, name), table(local_results, name), check_dtype=False)
    ignore_source = lambda fs: [(f["error"], f["message"]) for f in fs]  # noqa: E731
    assert ignore_source(failures(results))[:-2] == ignore_source(failures(local_results))

    server.clear()
    form3("run", str(manifest), "--results", str(results), env=env)
    again = form3.summary(results)
    assert (again["parsed"], again["cached"]) == (0, 115)
    assert server.seen() == []  # accession URLs by name, the others from the download cache


def test_a_filing_the_server_keeps_failing_is_not_processed_and_rerun_fetches_only_it(
    form3, edgar, tmp_path: Path
) -> None:
    server, rows = edgar
    rows = [r for r in rows if r[0].suffix == ".txt"][:5]
    bad = rows[2][2]
    server.always(bad, 503)
    manifest = write_manifest(tmp_path / "urls.csv", "url", [url for _, url, _ in rows])
    results = tmp_path / "results"
    env = FAST | {"FORM3_FETCH_ATTEMPTS": "2"}
    proc = form3("run", str(manifest), "--results", str(results), env=env, check=False)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "1 filings were not processed" in proc.stderr
    summary = form3.summary(results)
    assert (summary["succeeded"], summary["not_processed"]) == (4, 1)
    (failure,) = failures(results)
    assert failure["error"] == "not_processed" and "503" in failure["message"]
    # 2 requests per task run; the task run and its 3 retries
    assert len(server.seen(bad)) == 2 * 4

    server.always(bad, None)  # the server recovers
    server.clear()
    form3("run", str(manifest), "--results", str(results), env=env)
    summary = form3.summary(results)
    assert (summary["parsed"], summary["cached"], summary["failed"]) == (1, 4, 0)
    assert [r.path for r in server.seen()] == [bad]


def test_rate_limit_holds_across_workers_and_a_mirror_serves_later_runs(
    form3, edgar, prefect_api: str, tmp_path: Path
) -> None:
    server, rows = edgar
    rows = [r for r in rows if r[0].suffix == ".txt"][:40]
    manifest = write_manifest(tmp_path / "urls.csv", "url", [url for _, url, _ in rows])
    mirror = tmp_path / "mirror"
    rate = 5
    form3(
        "run", str(manifest), "--results", str(tmp_path / "r1"), "--batch-size", "5",
        "--mirror", str(mirror), "--max-requests-per-second", str(rate), env=FAST,
    )
    summary = form3.summary(tmp_path / "r1")
    assert (summary["parsed"], summary["batches"]) == (40, 8)
    seen = server.seen()
    times = [r.time for r in seen]
    assert len(seen) == 40
    span = max(times) - min(times)
    peak = max_in_window(times)
    print(f"{len(times)} requests in {span:.2f}s ({len(times) / span:.2f}/s), peak {peak} in 1s")
    assert peak <= rate
    assert _batches_overlapped(prefect_api, summary["flow_run_id"])  # both workers fetched

    for local, _, path in rows:  # EDGAR's layout: edgar/data/<CIK>/<accession>.txt
        assert (mirror / path.removeprefix("/Archives/")).read_bytes() == local.read_bytes()

    server.clear()  # a colleague's run: new results and checkpoints, the same mirror
    form3("run", str(manifest), "--results", str(tmp_path / "r2"), "--mirror", str(mirror), env=FAST)
    assert form3.summary(tmp_path / "r2")["parsed"] == 40
    assert server.seen() == []
    assert records(tmp_path / "r2") == records(tmp_path / "r1")


def _batches_overlapped(api: str, flow_run_id: str) -> bool:
    """Whether two of the run's task runs were running at the same time (two workers)."""
    import urllib.request

    body = json.dumps({"flow_runs": {"id": {"any_": [flow_run_id]}}}).encode()
    request = urllib.request.Request(
        api + "/task_runs/filter", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        runs = json.load(response)
    when = datetime.fromisoformat
    spans = sorted(
        (when(r["start_time"]), when(r["end_time"])) for r in runs if r["start_time"] and r["end_time"]
    )
    assert len(spans) >= 2
    return any(b[0] < a[1] for a, b in zip(spans, spans[1:]))


def test_sec_gov_needs_a_user_agent_with_a_contact(form3, tmp_path: Path) -> None:
    url = "https://www.sec.gov/Archives/edgar/data/100493/0000100493-20-000092.txt"
    manifest = write_manifest(tmp_path / "sec.csv", "url", [url])
    results = tmp_path / "r"
    for extra, message in [
        ([], "requires a User-Agent naming you and an e-mail address"),
        (["--user-agent", "form3"], "(got 'form3')"),
        (["--user-agent", UA, "--max-requests-per-second", "20"], "at most 10 requests/s"),
    ]:
        proc = form3("run", str(manifest), "--results", str(results), *extra,
                     env={"FORM3_USER_AGENT": ""}, check=False)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and "row 2" in proc.stderr
    assert not results.exists()  # refused before any work
