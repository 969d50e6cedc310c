#!/usr/bin/env bash
# Install (if missing) and start a single-node Slurm cluster on this machine:
# munged (as munge), slurmctld (as slurm), slurmd (as root), node "localhost",
# partition "debug". Idempotent: if it is already up and healthy it returns at
# once. Prints "slurm ready" and exits 0 only after a real test job has run.
# Stop it with down.sh. See README.md.
set -Eeuo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root "$@"

START_TIMEOUT=${FORM3_SLURM_START_TIMEOUT:-30}   # seconds per wait step

show_logs() {
    local f
    for f in "$MUNGE_LOG" "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" \
             "$STATE_DIR"/*.start.log; do
        [[ -s $f ]] || continue
        printf '\n===== tail -n 30 %s =====\n' "$f" >&2
        tail -n 30 "$f" >&2 || true
    done
    if command -v sinfo >/dev/null 2>&1; then
        printf '\n===== sinfo / squeue =====\n' >&2
        timeout 5 sinfo -N -l 2>&1 | head -n 5 >&2 || true
        timeout 5 squeue 2>&1 | head -n 20 >&2 || true
    fi
}

die() {
    log "ERROR: $*"
    show_logs
    exit 1
}
trap 'die "command failed (line $LINENO): $BASH_COMMAND"' ERR

# --------------------------------------------------------------------------
# 1. packages
# --------------------------------------------------------------------------
packages_installed() {
    local p status
    for p in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || return 1
        [[ $status == installed ]] || return 1
    done
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
        command -v sinfo >/dev/null && command -v munged >/dev/null
}

install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 "${PACKAGES[@]}")
    # apt-get update only if the package lists don't know the packages, or
    # if installing from the current lists fails (stale lists -> 404).
    local policy
    policy=$(apt-cache policy "${PACKAGES[@]}" 2>/dev/null || true)
    if [[ $(grep -c 'Candidate: [0-9]' <<<"$policy") -ne ${#PACKAGES[@]} ]]; then
        log "apt-get update"
        apt-get update -qq
    fi
    log "installing ${PACKAGES[*]}"
    if ! "${apt[@]}" >"$STATE_DIR/apt.log" 2>&1; then
        log "install failed with current package lists; apt-get update and retry"
        apt-get update -qq
        "${apt[@]}" >"$STATE_DIR/apt.log" 2>&1 || { tail -n 30 "$STATE_DIR/apt.log" >&2; die "apt-get install failed"; }
    fi
}

# A host running systemd may have started the distribution's own units on
# install; they would fight with ours over ports, sockets and pid files.
check_no_systemd_units() {
    [[ $(ps -p 1 -o comm= 2>/dev/null) == systemd ]] || return 0
    local u active=()
    for u in munge slurmctld slurmd; do
        systemctl is-active --quiet "$u" 2>/dev/null && active+=("$u")
    done
    ((${#active[@]} == 0)) && return 0
    if [[ ${FORM3_SLURM_TAKEOVER:-0} == 1 ]]; then
        log "stopping and disabling systemd units: ${active[*]}"
        systemctl disable --now "${active[@]}"
    else
        die "systemd units are running: ${active[*]}. Run 'systemctl disable --now ${active[*]}' (or set FORM3_SLURM_TAKEOVER=1) and retry."
    fi
}

ensure_user() {
    local user=$1 home=$2
    id -u "$user" >/dev/null 2>&1 && return 0
    log "creating system user $user"
    useradd --system --user-group --home-dir "$home" --no-create-home \
        --shell /usr/sbin/nologin "$user"
}

# --------------------------------------------------------------------------
# 2. munge key, directories, slurm.conf
# --------------------------------------------------------------------------
setup_munge() {
    ensure_user munge /nonexistent
    install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
    install -d -o munge -g munge -m 0755 "$MUNGE_RUN_DIR" "$(dirname "$MUNGED_PIDFILE")"
    if [[ ! -s $MUNGE_KEY ]]; then
        log "creating munge key $MUNGE_KEY"
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$MUNGE_KEY" --force
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
        fi
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
}

setup_slurm_dirs() {
    ensure_user slurm /nonexistent
    install -d -o root -g root -m 0755 "$SLURM_CONF_DIR" "$STATE_DIR"
    install -d -o slurm -g slurm -m 0755 "$LOG_DIR" "$SPOOL_CTLD"
    install -d -o root -g root -m 0755 "$SPOOL_D"
    [[ -e $LOG_DIR/jobcomp.log ]] || install -o slurm -g slurm -m 0644 /dev/null "$LOG_DIR/jobcomp.log"
}

# Renders slurm.conf to stdout with CPUs/RealMemory from `slurmd -C`.
render_conf() {
    local hw cpus mem reserve real defmem
    hw=$(slurmd -C 2>/dev/null | head -n1)
    cpus=$(grep -o 'CPUs=[0-9]*' <<<"$hw" | cut -d= -f2)
    mem=$(grep -o 'RealMemory=[0-9]*' <<<"$hw" | cut -d= -f2)
    [[ -n $cpus && -n $mem ]] || die "cannot parse 'slurmd -C' output: $hw"
    # Keep memory back for the OS, the daemons and the Dask scheduler/client:
    # FORM3_SLURM_RESERVED_MEM_MB, else 10% of the node but at least 1 GiB.
    reserve=${FORM3_SLURM_RESERVED_MEM_MB:-$(( mem / 10 > 1024 ? mem / 10 : 1024 ))}
    real=$(( mem - reserve ))
    (( real >= 256 )) || real=$(( mem > 512 ? mem / 2 : mem ))
    # Default 1 GiB per CPU so a job without --mem doesn't take the whole node.
    defmem=$(( real / cpus < 1024 ? real / cpus : 1024 ))
    sed -e "s|@CPUS@|$cpus|g" \
        -e "s|@REAL_MEMORY@|$real|g" \
        -e "s|@DEF_MEM_PER_CPU@|$defmem|g" \
        -e "s|@STATE_DIR@|$STATE_DIR|g" \
        -e "s|@LOG_DIR@|$LOG_DIR|g" \
        -e "s|@SPOOL_CTLD@|$SPOOL_CTLD|g" \
        -e "s|@SPOOL_D@|$SPOOL_D|g" \
        "$SLURM_TEMPLATE"
}

# --------------------------------------------------------------------------
# 3. daemons
# --------------------------------------------------------------------------
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

node_ready() {
    local s
    s=$(node_state) || return 1
    case $s in
        idle|mixed|allocated|completing) return 0 ;;
    esac
    return 1
}

wait_node_ready() {
    local deadline=$(( $(date +%s) + START_TIMEOUT )) resumed=0 s
    until node_ready; do
        s=$(node_state || true)
        # A node left DOWN/DRAINED by an earlier run: slurmd is up, so resume it.
        if (( !resumed )) && [[ $s == down || $s == drain* || $s == drained ]]; then
            log "node state '$s': resuming"
            scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true
            resumed=1
        fi
        (( $(date +%s) < deadline )) || die "node not idle after ${START_TIMEOUT}s (state: ${s:-unknown})"
        sleep 0.3
    done
}

all_running() {
    daemon_pid munged "$MUNGED_PIDFILE" >/dev/null &&
        daemon_pid slurmctld "$SLURMCTLD_PIDFILE" >/dev/null &&
        daemon_pid slurmd "$SLURMD_PIDFILE" >/dev/null
}

# --------------------------------------------------------------------------
main() {
    take_lock
    install -d -m 0755 "$STATE_DIR"

    if ! packages_installed; then
        local t0=$SECONDS
        install_packages
        log "packages installed in $(( SECONDS - t0 ))s"
    fi
    check_no_systemd_units
    setup_munge
    setup_slurm_dirs

    local new_conf
    new_conf=$(render_conf)
    if [[ ! -f $SLURM_CONF ]] || [[ $(cat "$SLURM_CONF") != "$new_conf" ]]; then
        if daemon_pid slurmctld "$SLURMCTLD_PIDFILE" >/dev/null ||
           daemon_pid slurmd "$SLURMD_PIDFILE" >/dev/null; then
            log "slurm.conf changed: restarting the cluster"
            bash "$FORM3_SLURM_DIR/down.sh" --no-lock >&2
        fi
        log "writing $SLURM_CONF"
        printf '%s\n' "$new_conf" >"$SLURM_CONF.tmp"
        chmod 0644 "$SLURM_CONF.tmp"
        mv -f "$SLURM_CONF.tmp" "$SLURM_CONF"
    fi

    # Fast path: everything already running and the node usable.
    if all_running && munge_works && controller_up && node_ready; then
        echo "slurm ready (already running)"
        return 0
    fi

    if ! daemon_pid munged "$MUNGED_PIDFILE" >/dev/null; then
        start_daemon munged "$MUNGED_PIDFILE" munged \
            runuser -u munge -- /usr/sbin/munged \
                --pid-file="$MUNGED_PIDFILE" --log-file="$MUNGE_LOG"
    fi
    wait_for 10 "munge to answer" munge_works

    if ! daemon_pid slurmctld "$SLURMCTLD_PIDFILE" >/dev/null; then
        local clear=()
        if ! daemon_pid slurmd "$SLURMD_PIDFILE" >/dev/null; then
            # Cold start: no slurmd, so no job from the saved state can still be
            # running (e.g. the machine's processes were killed). Recovering
            # them would leave ghost RUNNING jobs holding CPUs/memory until
            # their time limit; -c starts with an empty job queue instead.
            clear=(-c)
        fi
        # Started as root; drops to SlurmUser=slurm after writing its pid file.
        start_daemon slurmctld "$SLURMCTLD_PIDFILE" slurmctld /usr/sbin/slurmctld "${clear[@]}" -f "$SLURM_CONF"
    fi
    wait_for "$START_TIMEOUT" "slurmctld to answer (scontrol ping)" controller_up

    if ! daemon_pid slurmd "$SLURMD_PIDFILE" >/dev/null; then
        start_daemon slurmd "$SLURMD_PIDFILE" slurmd /usr/sbin/slurmd -f "$SLURM_CONF" -N localhost
    fi
    wait_node_ready

    log "running a test job"
    local out
    # shellcheck disable=SC2016  # $SLURM_JOB_ID expands inside the job
    if ! out=$(timeout "$START_TIMEOUT" srun -N1 -n1 -t 1 --mem=16 -J form3-up-check \
                   bash -c 'echo "ok $SLURM_JOB_ID"' 2>&1) || [[ $out != ok* ]]; then
        die "test job failed: $out"
    fi
    log "test job ran: $out"
    echo "slurm ready"
}

main "$@"
