#!/usr/bin/env bash
# Start a multi-node Slurm cluster on this machine: a login network (bridge ib0, 10.213.7.1)
# and N compute nodes (network namespaces node1..nodeN, each with its own ib0, no route out),
# one munged, slurmctld on the login address, one slurmd per node. Coexists with the
# single-node cluster (own config, ports, state). Idempotent; prints "multi-node ready" only
# after a job step has run on every node. Stop it with down.sh. See README.md.
set -Eeuo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root "$@"

START_TIMEOUT=${FORM3_SLURM_START_TIMEOUT:-30}   # seconds per wait step

show_logs() {
    local f
    for f in "$MUNGE_LOG" "$LOG_DIR"/slurmctld.log "$LOG_DIR"/slurmd.*.log "$STATE_DIR"/*.start.log; do
        [[ -s $f ]] || continue
        printf '\n===== tail -n 20 %s =====\n' "$f" >&2
        tail -n 20 "$f" >&2 || true
    done
    printf '\n===== sinfo =====\n' >&2
    timeout 5 sinfo -N -l 2>&1 | head -n 10 >&2 || true
}

die() {
    log "ERROR: $*"
    show_logs
    exit 1
}
trap 'die "command failed (line $LINENO): $BASH_COMMAND"' ERR

# --------------------------------------------------------------------------
install_packages() {
    local p missing=()
    for p in "${PACKAGES[@]}"; do
        [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" \
        >"$STATE_DIR/apt.log" 2>&1 || {
        apt-get update -qq
        apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" \
            >"$STATE_DIR/apt.log" 2>&1 || die "apt-get install failed: $(tail -n 5 "$STATE_DIR/apt.log")"
    }
}

ensure_user() {
    id -u "$1" >/dev/null 2>&1 && return 0
    useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$1"
}

setup_dirs() {
    ensure_user munge
    ensure_user slurm
    install -d -o munge -g munge -m 0700 /etc/munge
    install -d -o munge -g munge -m 0755 "$(dirname "$MUNGED_PIDFILE")"
    if [[ ! -s $MUNGE_KEY ]]; then
        log "creating munge key $MUNGE_KEY"
        mungekey --create --keyfile="$MUNGE_KEY" --force
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
    install -d -m 0755 "$SLURM_CONF_DIR"
    install -d -o root -g root -m 0755 "$LOG_ROOT"
    install -d -o slurm -g slurm -m 0755 "$LOG_DIR" "$SPOOL_CTLD"
    [[ -e $LOG_DIR/jobcomp.log ]] || install -o slurm -g slurm -m 0644 /dev/null "$LOG_DIR/jobcomp.log"
    install -d -o munge -g munge -m 0700 "$(dirname "$MUNGE_LOG")"
    local i
    for ((i = 1; i <= NODES; i++)); do
        install -d -m 0755 "$SPOOL_D/$(node_name "$i")"
    done
}

# --------------------------------------------------------------------------
# The network: bridge ib0 with the login address; per node a namespace whose end of a veth
# pair is also called ib0. No default route, no NAT: nothing leaves 10.213.7.0/24.
setup_network() {
    if ! ip link show "$IFACE" >/dev/null 2>&1; then
        log "creating bridge $IFACE ($LOGIN_ADDR/24)"
        ip link add "$IFACE" type bridge
    fi
    # Not `ip … | grep -q`: under pipefail, grep -q exiting first can SIGPIPE ip, and the
    # "missing" branch then fails with "Error: ipv4: Address already assigned".
    [[ $(ip addr show dev "$IFACE") == *"inet $LOGIN_ADDR/24"* ]] || ip addr add "$LOGIN_ADDR/24" dev "$IFACE"
    ip link set "$IFACE" up
    local i name addr veth
    for ((i = 1; i <= NODES; i++)); do
        name=$(node_name "$i") addr=$(node_addr "$i") veth=$(node_veth "$i")
        [[ -e /run/netns/$name ]] || ip netns add "$name"
        if ! ip link show "$veth" >/dev/null 2>&1; then
            ip netns exec "$name" ip link del "$IFACE" 2>/dev/null || true
            ip link add "$veth" type veth peer name "$IFACE" netns "$name"
        fi
        ip link set "$veth" master "$IFACE" up
        ip -n "$name" link set lo up
        [[ $(ip -n "$name" addr show dev "$IFACE") == *"inet $addr/24"* ]] ||
            ip -n "$name" addr add "$addr/24" dev "$IFACE"
        ip -n "$name" link set "$IFACE" up
    done
}

# Every node reaches the login address: a TCP connect to a closed port is refused (answered),
# not timed out. (No ping on a minimal system.)
network_ok() {
    local i out
    for ((i = 1; i <= NODES; i++)); do
        out=$(ip netns exec "$(node_name "$i")" timeout 2 bash -c \
              "exec 3<>/dev/tcp/$LOGIN_ADDR/9" 2>&1) && continue
        [[ $out == *refused* ]] || return 1
    done
}

# --------------------------------------------------------------------------
render_hosts() {
    local i
    printf '127.0.0.1 localhost\n%s %s login\n' "$LOGIN_ADDR" "$LOGIN_NAME"
    for ((i = 1; i <= NODES; i++)); do
        printf '%s %s\n' "$(node_addr "$i")" "$(node_name "$i")"
    done
}

render_conf() {
    local cpus mem real defmem i lines=""
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
    # The nodes share this machine's memory: each gets a share, minus room for the login side.
    real=$(( (mem - mem / 5) / NODES ))
    defmem=$(( real / cpus < 1024 ? real / cpus : 1024 ))
    for ((i = 1; i <= NODES; i++)); do
        lines+="NodeName=$(node_name "$i") NodeAddr=$(node_addr "$i") CPUs=$cpus RealMemory=$real State=UNKNOWN"$'\n'
    done
    sed -e "s|@LOGIN_NAME@|$LOGIN_NAME|g" -e "s|@LOGIN_ADDR@|$LOGIN_ADDR|g" \
        -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" \
        -e "s|@MUNGE_SOCKET@|$MUNGE_SOCKET|g" -e "s|@STATE_DIR@|$STATE_DIR|g" \
        -e "s|@LOG_DIR@|$LOG_DIR|g" -e "s|@SPOOL_CTLD@|$SPOOL_CTLD|g" -e "s|@SPOOL_D@|$SPOOL_D|g" \
        -e "s|@DEF_MEM_PER_CPU@|$defmem|g" -e "s|@NODE_LIST@|node[1-$NODES]|g" \
        "$SLURM_TEMPLATE" | awk -v lines="${lines%$'\n'}" '{ if ($0 == "@NODE_LINES@") print lines; else print }'
}

# write_if_changed FILE CONTENT -> 0 if it changed
write_if_changed() {
    local file=$1 content=$2
    [[ -f $file && $(cat "$file") == "$content" ]] && return 1
    printf '%s\n' "$content" >"$file.tmp"
    chmod 0644 "$file.tmp"
    mv -f "$file.tmp" "$file"
}

# --------------------------------------------------------------------------
munge_works() { munge -S "$MUNGE_SOCKET" -n 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; }

all_nodes_idle() {
    local states
    states=$(node_states) || return 1
    [[ $(grep -cE ' (idle|mixed|allocated|completing)$' <<<"$states") -eq $NODES ]]
}

wait_nodes_ready() {
    local deadline=$(( $(date +%s) + START_TIMEOUT )) resumed=0 bad
    until all_nodes_idle; do
        # Nodes left DOWN/DRAINED by an earlier fault (down* while slurmctld has not heard
        # from them again, e.g. after their link was down): their slurmd runs, so resume them.
        bad=$(node_states | awk '$2 ~ /^(down|drain|drained|draining)\*?$/ {print $1}' | paste -sd, -)
        if [[ -n $bad ]] && (( resumed < 3 )); then
            log "nodes $bad not usable: resuming"
            scontrol update NodeName="$bad" State=RESUME >/dev/null 2>&1 || true
            resumed=$((resumed + 1))
        fi
        (( $(date +%s) < deadline )) || die "nodes not idle after ${START_TIMEOUT}s: $(node_states | paste -sd' ' -)"
        sleep 0.3
    done
}

all_running() {
    local i
    daemon_pid munged "$MUNGED_PIDFILE" >/dev/null || return 1
    daemon_pid slurmctld "$SLURMCTLD_PIDFILE" >/dev/null || return 1
    for ((i = 1; i <= NODES; i++)); do
        daemon_pid slurmd "$(slurmd_pidfile "$(node_name "$i")")" >/dev/null || return 1
    done
}

# A job step on every node, reporting the host it ran on.
check_every_node() {
    local out want got
    # shellcheck disable=SC2016
    out=$(timeout "$START_TIMEOUT" srun -N "$NODES" --ntasks-per-node=1 -t 1 --mem=16 \
          -J form3-multi-check hostname 2>&1) || die "check job failed: $out"
    got=$(sort <<<"$out" | paste -sd' ' -)
    want=$(for ((i = 1; i <= NODES; i++)); do node_name "$i"; done | sort | paste -sd' ' -)
    [[ $got == "$want" ]] || die "check job ran on '$got', expected '$want'"
    log "check job ran on: $got"
}

main() {
    take_lock
    install -d -m 0755 "$STATE_DIR"
    install_packages
    setup_dirs
    setup_network
    wait_for 10 "the nodes to reach $LOGIN_ADDR" network_ok

    local changed=0
    write_if_changed "$HOSTS_FILE" "$(render_hosts)" && changed=1
    write_if_changed "$SLURM_CONF" "$(render_conf)" && changed=1
    if ((changed)) && daemon_pid slurmctld "$SLURMCTLD_PIDFILE" >/dev/null; then
        log "configuration changed: restarting the cluster"
        bash "$FORM3_MULTI_DIR/down.sh" --no-lock --keep-network >&2
    fi

    if all_running && munge_works && controller_up && all_nodes_idle; then
        check_every_node
        echo "multi-node ready (already running; SLURM_CONF=$SLURM_CONF)"
        return 0
    fi

    if ! daemon_pid munged "$MUNGED_PIDFILE" >/dev/null; then
        start_daemon munged "$MUNGED_PIDFILE" munged \
            runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCKET" \
                --pid-file="$MUNGED_PIDFILE" --seed-file="$MUNGE_SEED" --log-file="$MUNGE_LOG"
    fi
    wait_for 10 "munge to answer" munge_works

    local i name any_slurmd=0
    for ((i = 1; i <= NODES; i++)); do
        daemon_pid slurmd "$(slurmd_pidfile "$(node_name "$i")")" >/dev/null && any_slurmd=1
    done
    if ! daemon_pid slurmctld "$SLURMCTLD_PIDFILE" >/dev/null; then
        local clear=()
        ((any_slurmd)) || clear=(-c)   # cold start: no job can still run; no ghost jobs
        # /etc/hosts maps this machine's name to 127.0.0.1: the controller gets its own view.
        start_daemon slurmctld "$SLURMCTLD_PIDFILE" slurmctld \
            unshare --mount --propagation private -- sh -c \
            "mount --bind '$HOSTS_FILE' /etc/hosts && exec /usr/sbin/slurmctld ${clear[*]} -f '$SLURM_CONF'"
    fi
    wait_for "$START_TIMEOUT" "slurmctld to answer (scontrol ping)" controller_up

    for ((i = 1; i <= NODES; i++)); do
        name=$(node_name "$i")
        daemon_pid slurmd "$(slurmd_pidfile "$name")" >/dev/null && continue
        # Not `ip netns exec`: it remounts /sys, which hides /sys/fs/cgroup from slurmd.
        start_daemon "slurmd.$name" "$(slurmd_pidfile "$name")" slurmd \
            nsenter --net="/run/netns/$name" unshare --uts --mount --propagation private -- sh -c \
            "hostname '$name' && mount --bind '$HOSTS_FILE' /etc/hosts && exec /usr/sbin/slurmd -f '$SLURM_CONF' -N '$name'"
    done
    wait_nodes_ready
    check_every_node
    echo "multi-node ready (SLURM_CONF=$SLURM_CONF)"
}

main "$@"
