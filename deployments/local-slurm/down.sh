#!/usr/bin/env bash
# Stop the local single-node Slurm cluster started by up.sh: cancel remaining
# jobs (if the controller answers), then stop slurmd, slurmctld and munged by
# the PIDs in their pid files (SIGTERM, up to ~10 s, then SIGKILL).
# Idempotent: exits 0 if nothing is running. Packages and config stay.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root "$@"

STOP_TIMEOUT=${FORM3_SLURM_STOP_TIMEOUT:-10}

# stop_daemon NAME PIDFILE
stop_daemon() {
    local name=$1 pidfile=$2 pid i
    if ! pid=$(daemon_pid "$name" "$pidfile"); then
        [[ -e $pidfile ]] && log "$name not running (removing stale $pidfile)"
        rm -f "$pidfile"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
        pid_is "$pid" "$name" || break
        sleep 0.2
    done
    if pid_is "$pid" "$name"; then
        log "$name (pid $pid) still running after ${STOP_TIMEOUT}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 25; i++)); do
            pid_is "$pid" "$name" || break
            sleep 0.2
        done
    fi
    pid_is "$pid" "$name" && { log "WARNING: $name (pid $pid) did not exit"; return 1; }
    # It has exited; give init a moment to reap it so ps shows nothing.
    for ((i = 0; i < 10; i++)); do
        [[ -e /proc/$pid ]] || break
        sleep 0.2
    done
    rm -f "$pidfile"
}

main() {
    [[ ${1:-} == --no-lock ]] || take_lock
    local rc=0
    cancel_jobs
    # slurmd and slurmctld in parallel (each takes ~1-2 s to exit and be
    # reaped), munged last since both use it while shutting down.
    local p1 p2
    stop_daemon slurmd "$SLURMD_PIDFILE" & p1=$!
    stop_daemon slurmctld "$SLURMCTLD_PIDFILE" & p2=$!
    wait "$p1" || rc=1
    wait "$p2" || rc=1
    stop_daemon munged "$MUNGED_PIDFILE" || rc=1
    rm -f "$STATE_DIR"/*.start.log
    if ((rc == 0)); then echo "slurm down"; fi
    return "$rc"
}

main "$@"
