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
    timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'
}
