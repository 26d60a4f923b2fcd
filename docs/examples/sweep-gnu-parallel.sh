#!/usr/bin/env bash
# A dsim sweep in slices with GNU parallel: on this machine, or over ssh on several.
#
#   docs/examples/sweep-gnu-parallel.sh 8                          # 8 slices here
#   docs/examples/sweep-gnu-parallel.sh 8 '2/alice@n1,2/alice@n2'  # 2 at a time on n1 and n2
#
# Each machine needs `dsim` on its PATH (or set DSIM to its path there) and ssh without a
# password; the scenario is copied to each one (--basefile) and every slice file is fetched
# back (--return), then `dsim merge` writes sweep.json, sweep.csv and the charts, as one
# unsharded sweep would. Run from the repository root with a relative SCENARIO path.
# Needs GNU parallel (apt-get install parallel).
set -euo pipefail
SLICES=${1:-4}
LOGINS=${2:-:}                      # ":" is this machine
DSIM=${DSIM:-dsim}
SCENARIO=${SCENARIO:-scenarios/09-horizontal-scaling.json}
SLICE_DIR=${SLICE_DIR:-output/slices}
MERGED=${MERGED:-output/horizontal-scaling-sweep}
USERS=20000,50000,100000,150000,200000,250000,300000
PARAMS="--param workload.model.closed.users=$USERS --param components.app.replicas=8,16"

mkdir -p "$SLICE_DIR"
# Remote jobs run in the login's home folder: the scenario is copied there first, each slice
# file comes back, and both are removed afterwards; on this machine alone, jobs run here.
REMOTE=()
if [ "$LOGINS" != ":" ]; then
    REMOTE=(--basefile "$SCENARIO" --cleanup --return "$SLICE_DIR/sweep-shard-{}-of-$SLICES.json")
fi
# One job per slice, one thread each: parallel runs as many jobs at once as a machine has
# cores (or the N of N/login).
seq 1 "$SLICES" | parallel --halt now,fail=1 --sshlogin "$LOGINS" "${REMOTE[@]}" \
    "mkdir -p $SLICE_DIR && $DSIM sweep $SCENARIO $PARAMS --shard {}/$SLICES --threads 1 --out $SLICE_DIR --quiet"
"$DSIM" merge "$SLICE_DIR" --out "$MERGED"
