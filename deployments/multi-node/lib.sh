# Shared settings and helpers for the multi-node cluster's up.sh, down.sh and status.sh
# (sourced, not run). Reuses the single-node cluster's helpers (pid files, root, lock).
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are used by the scripts sourcing this

FORM3_MULTI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../local-slurm/lib.sh
source "$FORM3_MULTI_DIR/../local-slurm/lib.sh"

# The cluster network. Only these namespaces use this /24: no default route, no NAT.
NODES=${FORM3_MULTI_NODES:-3}                 # compute nodes node1..nodeN
NET_PREFIX=${FORM3_MULTI_NET:-10.213.7}       # /24
LOGIN_ADDR="$NET_PREFIX.1"                    # the login node's address (on the bridge)
IFACE=ib0                                     # the cluster interface's name on every host
LOGIN_NAME=$(hostname -s)                     # slurmctld must run on the host it names

node_name() { printf 'node%d\n' "$1"; }
node_addr() { printf '%s.%d\n' "$NET_PREFIX" $((10 + $1)); }
node_veth() { printf 'f3-node%d\n' "$1"; }     # the login side of node N's link

# Where things live; everything separate from the single-node cluster, which may run too.
STATE_DIR="${FORM3_MULTI_STATE_DIR:-/run/form3-multi}"
LOCK_FILE="${STATE_DIR}.lock"
SLURM_CONF_DIR=/etc/form3-multi
SLURM_CONF="$SLURM_CONF_DIR/slurm.conf"
export SLURM_CONF                              # sinfo, squeue, srun below use this cluster
HOSTS_FILE="$SLURM_CONF_DIR/hosts"            # bind-mounted on /etc/hosts for the daemons
SLURM_TEMPLATE="$FORM3_MULTI_DIR/slurm.conf.in"
LOG_ROOT=/var/log/form3-multi                 # root-owned: munged checks the ancestors of its log
LOG_DIR=$LOG_ROOT/slurm                       # slurmctld (as slurm), slurmd logs, job completions
SPOOL_CTLD=/var/spool/form3-multi/ctld
SPOOL_D=/var/spool/form3-multi               # slurmd: $SPOOL_D/<node>
CTLD_PORT=6827                                 # the single-node cluster has 6817/6818
SLURMD_PORT=6828

MUNGED_PIDFILE="$STATE_DIR/munge/munged.pid"
MUNGE_SOCKET="$STATE_DIR/munge/munge.socket.2"
MUNGE_SEED="$STATE_DIR/munge/munged.seed"
MUNGE_LOG="$LOG_ROOT/munge/munged.log"
SLURMCTLD_PIDFILE="$STATE_DIR/slurmctld.pid"
slurmd_pidfile() { printf '%s/slurmd.%s.pid\n' "$STATE_DIR" "$1"; }

log() { printf '[multi-node] %s\n' "$*" >&2; }

controller_up() {
    [[ $(timeout 10 scontrol ping 2>/dev/null) == *'is UP'* ]]
}

# "node1 idle" lines, one per node
node_states() {
    timeout 10 sinfo -h -N -o '%N %T' 2>/dev/null
}
