"""How much of the shared HTTP rate limit a run can use: requests/s and the busiest second.

Several processes (as Dask workers would) each send "requests" (a sleep standing in for the
HTTP round trip) through the throttle ``url_fetcher`` uses, against one real Prefect server.
Prints, per throttle and process count: requests/s reached and the most requests seen in any
1-second window (which must not exceed the rate).

    .venv/bin/python benchmarks/rate_bench.py [--rate 10] [--requests 60] [--processes 2 4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.local_api import loopback_server  # noqa: E402


def one_slot(name: str, rate: float):
    """The throttle before PacedSlots: one slot of a limit of 1 per request."""
    from prefect.concurrency.sync import rate_limit

    return lambda: rate_limit(name, occupy=1, strict=True)


def _worker(api: str, throttle_kind: str, name: str, rate: float, n: int, latency: float,
            out: mp.Queue) -> None:
    os.environ["PREFECT_API_URL"] = api
    from tasks.rate_limit import PacedSlots

    throttle = PacedSlots(name, rate) if throttle_kind == "paced" else one_slot(name, rate)
    stamps = []
    for _ in range(n):
        throttle()
        stamps.append(time.time())
        time.sleep(latency)
    out.put(stamps)


def measure(api: str, kind: str, rate: float, processes: int, per_process: int,
            latency: float) -> tuple[float, int]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from tasks.rate_limit import slots_per_grant

    name = f"bench-{kind}-{processes}-{time.time_ns()}"
    limit = slots_per_grant(rate) if kind == "paced" else 1
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(
            name=name, limit=limit, slot_decay_per_second=rate, active=True))
    out: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_worker, args=(api, kind, name, rate, per_process, latency, out))
             for _ in range(processes)]
    for p in procs:
        p.start()
    stamps = sorted(t for _ in procs for t in out.get())
    for p in procs:
        p.join()
    span = stamps[-1] - stamps[0]
    busiest = max(sum(1 for t in stamps[i:] if t < s + 1.0) for i, s in enumerate(stamps))
    return (len(stamps) - 1) / span if span > 0 else float("inf"), busiest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=60, help="per process")
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["PREFECT_HOME"] = home
        with loopback_server(Path(home) / "server.log") as api:
            os.environ["PREFECT_API_URL"] = api
            print(f"rate {args.rate:g}/s, {args.requests} requests per process, "
                  f"{args.latency * 1000:.0f} ms each")
            print(f"{'throttle':<10} {'processes':>9} {'requests/s':>11} {'of rate':>8} {'busiest 1 s':>12}")
            for processes in args.processes:
                for kind in ("one-slot", "paced"):
                    reached, busiest = measure(api, kind, args.rate, processes, args.requests,
                                               args.latency)
                    print(f"{kind:<10} {processes:>9} {reached:>11.2f} "
                          f"{reached / args.rate:>7.0%} {busiest:>12}")


if __name__ == "__main__":
    main()
