# Shared settings and helpers for up.sh, down.sh and status.sh (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are used by the scripts sourcing this

FORM3_SLURM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Where things live. The daemons' pid files are in STATE_DIR; down.sh stops
# exactly those PIDs.
STATE_DIR="${FORM3_SLURM_STATE_DIR:-/run/form3-slurm}"
LOCK_FILE="${STATE_DIR}.lock"
SLURM_CONF_DIR=/etc/slurm
SLURM_CONF="${SLURM_CONF_DIR}/slurm.conf"
SLURM_TEMPLATE="${FORM3_SLURM_DIR}/slurm.conf.in"
LOG_DIR=/var/log/slurm
SPOOL_CTLD=/var/spool/slurmctld
SPOOL_D=/var/spool/slurmd
MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN_DIR=/run/munge
MUNGE_LOG=/var/log/munge/munged.log

MUNGED_PIDFILE="${STATE_DIR}/munge/munged.pid"   # subdir owned by the munge user
SLURMCTLD_PIDFILE="${STATE_DIR}/slurmctld.pid"
SLURMD_PIDFILE="${STATE_DIR}/slurmd.pid"

PACKAGES=(slurmctld slurmd slurm-client munge)

log() { printf '[local-slurm] %s\n' "$*" >&2; }

# Re-run the calling script as root (apt-get, daemons and /etc need it).
require_root() {
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            exec sudo --preserve-env=FORM3_SLURM_STATE_DIR,FORM3_SLURM_RESERVED_MEM_MB bash "$0" "$@"
        fi
        log "must be run as root"
        exit 1
    fi
}

# Serialise up.sh/down.sh runs (e.g. parallel test sessions).
take_lock() {
    mkdir -p "$(dirname "$LOCK_FILE")"
    exec 9>"$LOCK_FILE"
    if ! flock -w 120 9; then
        log "could not get lock $LOCK_FILE within 120 s"
        exit 1
    fi
}

# pid_from_file FILE -> prints the PID if FILE holds a number
pid_from_file() {
    local f=$1 pid
    [[ -r $f ]] || return 1
    read -r pid <"$f" || [[ -n ${pid:-} ]] || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    printf '%s\n' "$pid"
}

# pid_is PID NAME -> true if PID is alive and is the program NAME (guards
# against a stale pid file whose PID was reused by something else).
pid_is() {
    local pid=$1 name=$2 comm
    [[ -r /proc/$pid/comm ]] || return 1
    read -r comm <"/proc/$pid/comm" || return 1
    [[ $comm == "$name" ]] || return 1
    # a zombie is not running
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# daemon_pid NAME PIDFILE -> prints PID and returns 0 if that daemon runs
daemon_pid() {
    local name=$1 file=$2 pid
    pid=$(pid_from_file "$file") || return 1
    pid_is "$pid" "$name" || return 1
    printf '%s\n' "$pid"
}

# Node state of the single node, e.g. "idle", "down*", "drained".
node_state() {
    timeout 10 sinfo -h -n localhost -o %T 2>/dev/null | head -n1
}

controller_up() {
    [[ $(timeout 10 scontrol ping 2>/dev/null) == *'is UP'* ]]
}

# wait_for SECONDS DESCRIPTION CMD... : poll CMD every 0.2 s; `die` (the sourcing script's)
# when it has not succeeded in time.
wait_for() {
    local secs=$1 what=$2; shift 2
    local deadline=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        (( $(date +%s) < deadline )) || die "timed out after ${secs}s waiting for $what"
        sleep 0.2
    done
}

# start_daemon NAME PIDFILE COMM CMD... : CMD must daemonize and write PIDFILE; COMM is the
# process name daemon_pid checks (slurmd for every slurmd.NODE of the multi-node cluster).
start_daemon() {
    local name=$1 pidfile=$2 comm=$3; shift 3
    rm -f "$pidfile"   # stale (the process is not running, checked by caller)
    log "starting $name"
    # stdin/stdout/stderr detached from the caller (CI captures our output;
    # a daemon holding that pipe open would make it hang).
    "$@" </dev/null >"$STATE_DIR/$name.start.log" 2>&1 9>&- ||
        die "$name failed to start: $(cat "$STATE_DIR/$name.start.log")"
    wait_for 10 "$name pid file $pidfile" daemon_pid "$comm" "$pidfile"
}

# Cancel every job of the cluster SLURM_CONF names, and let slurmd kill the job steps
# (KillWait) before slurmd itself goes away, so no job processes are left behind.
cancel_jobs() {
    command -v squeue >/dev/null 2>&1 || return 0
    daemon_pid slurmctld "$SLURMCTLD_PIDFILE" >/dev/null || return 0
    controller_up || { log "controller does not answer: not cancelling jobs"; return 0; }
    local jobs i
    jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | tr '\n' ' ') || true
    [[ -n ${jobs// /} ]] || return 0
    log "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs 2>/dev/null || true
    for ((i = 0; i < 75; i++)); do
        [[ -z $(timeout 5 squeue -h -o %A 2>/dev/null) ]] && return 0
        sleep 0.2
    done
    log "WARNING: jobs still listed after 15s: $(timeout 5 squeue -h -o '%A %T' 2>/dev/null | tr '\n' ' ')"
}
