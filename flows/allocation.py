"""The scheduler of a ``form3 submit`` allocation, as the flow running inside it connects to it.

``form3 submit`` (``flows.submit``) runs the whole flow inside one Slurm allocation: its
SLURMRunner makes one rank the Dask scheduler, which writes its address to a scheduler file
in the job's session directory next to the session's TLS credentials. The flow's rank finds
both here, through ``SESSION_ENV``, instead of starting a cluster of its own. Nothing of the
rest of the project is imported, so ``flows.cluster`` can ask without an import circle.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SESSION_ENV = "FORM3_SUBMIT_SESSION"
SCHEDULER_FILE = "scheduler.json"
CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "cert.pem", "key.pem"


def security(session: Path) -> Any:
    """The session's credentials for every role: scheduler, workers and the flow's client."""
    from distributed.security import Security

    ca, cert, key = (str(session / name) for name in (CA_FILE, CERT_FILE, KEY_FILE))
    return Security(
        tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, tls_scheduler_cert=cert,
        tls_scheduler_key=key, tls_worker_cert=cert, tls_worker_key=key, require_encryption=True,
    )


def connected_task_runner() -> Any | None:
    """Inside a ``form3 submit`` job: a DaskTaskRunner on the allocation's scheduler (no
    cluster started); elsewhere None."""
    session = os.environ.get(SESSION_ENV)
    if not session:
        return None
    from prefect_dask import DaskTaskRunner

    address = json.loads((Path(session) / SCHEDULER_FILE).read_text())["address"]
    return DaskTaskRunner(address=address, client_kwargs={"security": security(Path(session))})
