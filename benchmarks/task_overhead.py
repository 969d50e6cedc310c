"""What one Prefect task run costs on Dask, with nothing to do: the orchestration overhead per batch.

A flow maps a no-op task over N inputs on a DaskTaskRunner with one worker process and one
thread (so task runs do not overlap and the wall time per task run is the overhead), against
one Prefect server started here first. A first map of 20 warms the worker up (imports, the
API client) and is not counted. Prints figures; asserts nothing.
Last line: ms_per_task_run=… prefect=…
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WARM_UP = 20


def measure(n: int) -> float:
    """Seconds per task run, over ``n`` no-op task runs (run inside a flow run)."""
    from prefect import flow, task
    from prefect_dask import DaskTaskRunner

    @task(name="noop", persist_result=False)
    def noop(i: int) -> int:
        return i

    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 1, "threads_per_worker": 1,
                                            "processes": True})

    @flow(name="task-overhead", task_runner=runner, persist_result=False)
    def bench(n: int) -> float:
        for f in noop.map(range(WARM_UP)):
            f.wait()
        start = time.perf_counter()
        futures = noop.map(range(n))
        for f in futures:
            f.wait()
        return (time.perf_counter() - start) / n

    return bench(n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=300, help="task runs to time")
    args = ap.parse_args()
    import prefect

    from flows.local_api import loopback_server

    home = Path(tempfile.mkdtemp(prefix="prefect-home-"))
    os.environ.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    with loopback_server(home / "server.log") as api_url:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            per = measure(args.n)
    print(f"{args.n} no-op task runs on 1 Dask worker (1 thread): {per * 1e3:.1f} ms each")
    print(f"ms_per_task_run={per * 1e3:.1f} prefect={prefect.__version__}")


if __name__ == "__main__":
    main()
