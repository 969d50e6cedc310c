"""Smoke test: Dask workers as Slurm jobs on the local cluster from up.sh.

Run with the project's venv python after `bash deployments/local-slurm/up.sh`:

    .venv/bin/python deployments/local-slurm/check_dask.py

Starts a dask_jobqueue.SLURMCluster with two single-core jobs, checks that
tasks run inside Slurm jobs, closes it and checks the jobs left squeue.
Exits non-zero on failure.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

from dask_jobqueue import SLURMCluster
from distributed import Client

N_JOBS = 2


def job_info() -> dict:
    import os
    import socket

    return {
        "job_id": os.environ.get("SLURM_JOB_ID"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def squeue_ids() -> list[str]:
    out = subprocess.run(
        ["squeue", "-h", "-o", "%A"], capture_output=True, text=True, check=True
    ).stdout
    return out.split()


def main() -> int:
    cluster = SLURMCluster(
        queue="debug",
        cores=1,
        processes=1,
        memory="1GB",
        walltime="00:10:00",
        interface="lo",
        python=sys.executable,
        log_directory=os.environ.get("SLURM_LOG_DIR", "/tmp/slurm-logs"),
    )
    print("---- job script ----")
    print(cluster.job_script())
    print("--------------------")
    try:
        with Client(cluster) as client:
            t0 = time.monotonic()
            cluster.scale(jobs=N_JOBS)
            client.wait_for_workers(1, timeout=120)
            t_first = time.monotonic() - t0
            client.wait_for_workers(N_JOBS, timeout=120)
            t_all = time.monotonic() - t0
            print(f"first worker connected {t_first:.2f}s after scale(), "
                  f"{N_JOBS} workers after {t_all:.2f}s")

            workers = list(client.scheduler_info()["workers"])
            infos = client.gather(
                [client.submit(job_info, pure=False, workers=[w]) for w in workers]
            )
            for w, info in zip(workers, infos):
                print(f"task on {w}: {info}")
            job_ids = {i["job_id"] for i in infos}
            assert None not in job_ids, f"task ran outside a Slurm job: {infos}"
            assert len(job_ids) == N_JOBS, f"expected {N_JOBS} distinct jobs: {infos}"
            running = set(squeue_ids())
            assert job_ids <= running, f"jobs {job_ids} not in squeue {running}"
            assert client.submit(sum, [1, 2, 3]).result() == 6
    finally:
        t0 = time.monotonic()
        cluster.close()
    # scancel runs on close; finished jobs leave squeue after MinJobAge.
    deadline = time.monotonic() + 30
    while (left := set(squeue_ids()) & job_ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    if left:
        print(f"FAIL: jobs still in squeue after close: {left}")
        return 1
    print(f"jobs {sorted(job_ids)} gone from squeue {time.monotonic() - t0:.1f}s after close()")
    print("dask on slurm ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
