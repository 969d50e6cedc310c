#!/usr/bin/env bash
# Print whether the local Slurm cluster from up.sh is up. Exit 0 if it is
# (all three daemons running, controller answering, node usable), else 1.
set -uo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

up=1
for d in munged:"$MUNGED_PIDFILE" slurmctld:"$SLURMCTLD_PIDFILE" slurmd:"$SLURMD_PIDFILE"; do
    name=${d%%:*} file=${d#*:}
    if pid=$(daemon_pid "$name" "$file"); then
        printf '%-10s running (pid %s)\n' "$name" "$pid"
    else
        printf '%-10s not running\n' "$name"; up=0
    fi
done
if command -v sinfo >/dev/null 2>&1 && controller_up; then
    state=$(node_state)
    printf '%-10s %s\n' node "${state:-unknown}"
    case $state in idle|mixed|allocated|completing) ;; *) up=0 ;; esac
else
    printf '%-10s not answering\n' slurmctld; up=0
fi
if ((up)); then echo "slurm up"; exit 0; else echo "slurm down"; exit 1; fi
