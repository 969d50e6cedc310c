#!/usr/bin/env bash
# Print whether the multi-node cluster from up.sh is up: network, daemons, node states.
# Exit 0 if it is (every daemon running, controller answering, every node usable), else 1.
set -uo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

up=1
if [[ $(ip addr show dev "$IFACE" 2>/dev/null) == *"inet $LOGIN_ADDR/"* ]]; then
    printf '%-16s %s\n' "login $IFACE" "$LOGIN_ADDR"
else
    printf '%-16s %s\n' "login $IFACE" "missing"; up=0
fi
check() {  # check LABEL COMM PIDFILE
    if pid=$(daemon_pid "$2" "$3"); then
        printf '%-16s running (pid %s)\n' "$1" "$pid"
    else
        printf '%-16s not running\n' "$1"; up=0
    fi
}
check munged munged "$MUNGED_PIDFILE"
check slurmctld slurmctld "$SLURMCTLD_PIDFILE"
for ((i = 1; i <= NODES; i++)); do
    check "slurmd $(node_name "$i")" slurmd "$(slurmd_pidfile "$(node_name "$i")")"
done
if controller_up; then
    states=$(node_states)
    printf '%s\n' "$states" | sed 's/^/node /'
    [[ $(grep -cE ' (idle|mixed|allocated|completing)$' <<<"$states") -eq $NODES ]] || up=0
else
    printf '%-16s not answering\n' slurmctld; up=0
fi
echo "SLURM_CONF=$SLURM_CONF"
if ((up)); then echo "multi-node up"; exit 0; else echo "multi-node down"; exit 1; fi
