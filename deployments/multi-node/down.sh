#!/usr/bin/env bash
# Stop the multi-node cluster started by up.sh: cancel its jobs, stop every slurmd, slurmctld
# and munged by the PIDs in their pid files, end any process left in a node's namespace (by
# PID, from `ip netns pids`), then remove the namespaces and the bridge.
# --keep-network keeps the network (used by up.sh on a configuration change).
# Idempotent: exits 0 when nothing is running. Packages and configuration stay.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root "$@"

STOP_TIMEOUT=${FORM3_SLURM_STOP_TIMEOUT:-10}

# stop_pid NAME PID: SIGTERM, up to STOP_TIMEOUT s, then SIGKILL
stop_pid() {
    local name=$1 pid=$2 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
        [[ -e /proc/$pid ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null || return 0
        sleep 0.2
    done
    log "$name (pid $pid) still running after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

# stop_daemon COMM PIDFILE
stop_daemon() {
    local comm=$1 pidfile=$2 pid
    if pid=$(daemon_pid "$comm" "$pidfile"); then
        log "stopping $comm (pid $pid, $(basename "$pidfile"))"
        stop_pid "$comm" "$pid"
    fi
    rm -f "$pidfile"
}

main() {
    local keep_network=0 lock=1 arg
    for arg in "$@"; do
        case $arg in
            --no-lock) lock=0 ;;
            --keep-network) keep_network=1 ;;
        esac
    done
    ((lock)) && take_lock
    cancel_jobs
    local i name pids=()
    for ((i = 1; i <= NODES; i++)); do
        stop_daemon slurmd "$(slurmd_pidfile "$(node_name "$i")")" & pids+=($!)
    done
    stop_daemon slurmctld "$SLURMCTLD_PIDFILE" & pids+=($!)
    for arg in "${pids[@]}"; do wait "$arg"; done
    stop_daemon munged "$MUNGED_PIDFILE"
    # Anything still in a node (a job's process whose slurmd was killed in a fault test).
    for ((i = 1; i <= NODES; i++)); do
        name=$(node_name "$i")
        [[ -e /run/netns/$name ]] || continue
        for arg in $(ip netns pids "$name" 2>/dev/null); do
            log "ending pid $arg left in $name ($(cat "/proc/$arg/comm" 2>/dev/null))"
            stop_pid "leftover" "$arg" &
        done
        wait
    done
    if ((!keep_network)); then
        for ((i = 1; i <= NODES; i++)); do
            name=$(node_name "$i")
            ip link del "$(node_veth "$i")" 2>/dev/null || true
            [[ -e /run/netns/$name ]] && ip netns del "$name"
        done
        ip link show "$IFACE" >/dev/null 2>&1 && ip link del "$IFACE"
    fi
    rm -f "$STATE_DIR"/*.start.log
    echo "multi-node down"
}

main "$@"
