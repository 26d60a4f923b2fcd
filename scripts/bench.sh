#!/usr/bin/env bash
# The standard benchmark (docs/performance.md): whole scenarios through the release binary,
# medians of RUNS runs, then SimPy on workloads 1 and 2 and the replication speed-up.
#
#   scripts/bench.sh            # 5 runs each (about 25 minutes on 2 cores)
#   RUNS=1 scripts/bench.sh     # a quick look (about 5 minutes)
#   SKIP_SIMPY=1 scripts/bench.sh
#
# Prints Markdown tables: wall time, events/s, simulated requests/s, peak RSS. Needs GNU time
# (/usr/bin/time, Debian package `time`) and python3; SimPy goes into a venv under target/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
OUT=target/bench
mkdir -p "$OUT"
rm -f "$OUT"/medians.txt
cargo build --release --quiet
BIN=target/release/dsim
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time (Debian package: time)" >&2; exit 2; }

cpu=$( { grep -m1 'model name' /proc/cpuinfo || true; } | cut -d: -f2 | sed 's/^ *//')
echo "# dsim benchmark"
echo
echo "$(date -u +%F) · $(nproc) cores · ${cpu:-unknown CPU} · $(free -g | awk '/Mem:/ {print $2}') GiB · commit $(git rev-parse --short HEAD) · $RUNS run(s) each, medians"
echo
echo "| workload | wall s | events | M events/s | requests | wall µs per request | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"

# bench KEY NAME FILE: RUNS runs; one table row of medians; "KEY wall requests completed" is
# appended to $OUT/medians.txt for the comparisons below.
bench() {
    local key=$1 name=$2 file=$3
    rm -f "$OUT/rows.txt"
    for _ in $(seq "$RUNS"); do
        if ! $TIME -f '%e %M' -o "$OUT/time.txt" "$BIN" run "$file" --no-write --format json > "$OUT/summary.json" 2> "$OUT/stderr.txt"; then
            echo "dsim failed on $file:" >&2
            cat "$OUT/stderr.txt" >&2
            exit 1
        fi
        python3 - "$OUT/summary.json" "$OUT/time.txt" >> "$OUT/rows.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, rss_kb = open(sys.argv[2]).read().split()[-2:]
print(float(wall), s["engine"]["events"], s["requests"]["total"], int(rss_kb), s["requests"]["completed"])
PY
    done
    python3 - "$key" "$name" "$OUT/rows.txt" "$OUT/medians.txt" <<'PY'
import statistics, sys
key, name, rows, medians = sys.argv[1], sys.argv[2], [l.split() for l in open(sys.argv[3])], sys.argv[4]
med = lambda i: statistics.median(float(r[i]) for r in rows)
wall, events, requests, rss, completed = max(med(0), 0.01), med(1), med(2), med(3), med(4)
print(f"| {name} | {wall:.2f} | {events:,.0f} | {events / wall / 1e6:.1f} | {requests:,.0f} | {wall / requests * 1e6:.2f} | {rss / 1024:.0f} |")
open(medians, "a").write(f"{key} {wall} {requests} {completed}\n")
PY
}

bench mmc "1 · open M/M/10, ~10M completions" benches/scenarios/mmc-10m.json
bench closed "2 · closed, 2M users, 64 workers, 60 s" benches/scenarios/closed-2m.json
bench full "3 · full architecture, 2M users, 60 s" benches/scenarios/full-2m.json
bench drain "4 · a queue: 1M messages sent, then drained by 20 consumers" benches/scenarios/drain-1m.json
bench sync "4s · the same 1M jobs as synchronous calls" benches/scenarios/sync-1m.json
# The ladder keeps the work constant (about 10M requests a rung) so that wall time per request
# compares like with like: fewer users simulate proportionally longer.
for users in 20 2000 200000 2000000; do
    python3 - "$users" > "$OUT/ladder-$users.json" <<'PY'
import json, sys
d = json.load(open("benches/scenarios/full-2m.json"))
users = int(sys.argv[1])
stretch = 2_000_000 / users
d["name"] = f"bench-ladder-{users}"
d["workload"]["model"]["closed"]["users"] = users
d["duration_s"] = d["duration_s"] * stretch
d["warmup_s"] = d["warmup_s"] * stretch
d["interval_s"] = d["duration_s"] / 60
print(json.dumps(d))
PY
    bench "ladder-$users" "4 · ladder: workload 3 at $users users, $((60 * 2000000 / users)) s" "$OUT/ladder-$users.json"
done

echo
echo "| replications: 8 × scenarios/09-horizontal-scaling.json | wall s | speed-up |"
echo "|---|---:|---:|"
# replicate ARGS…: wall seconds of an 8-replication run of scenario 09.
replicate() {
    $TIME -f '%e' -o "$OUT/time.txt" "$BIN" run scenarios/09-horizontal-scaling.json --no-write --quiet --replications 8 "$@"
    tail -1 "$OUT/time.txt"
}
t1=$(replicate --threads 1)
tn=$(replicate)
threads=$(nproc)
echo "| 1 thread | $t1 | 1.00× |"
python3 -c "print(f'| $threads threads (one per core) | $tn | {$t1 / $tn:.2f}× |')"

if [ -n "${SKIP_SIMPY:-}" ]; then
    exit 0
fi
echo
if [ ! -x "$OUT/venv/bin/python" ]; then
    if ! { python3 -m venv "$OUT/venv" && "$OUT/venv/bin/pip" install --quiet simpy; } >&2; then
        echo "SimPy comparison skipped: could not create a venv with simpy (python3 -m venv, pip install simpy)."
        exit 0
    fi
fi
PY_BIN="$OUT/venv/bin/python"
simpy_mmc=$("$PY_BIN" benches/simpy/mmc.py 1000000 1)
# Workload 2 would take SimPy minutes: run 3 and 6 simulated seconds and extrapolate from the
# difference, so the start-up (creating 2M processes) is counted once, not twenty times.
simpy_3=$("$PY_BIN" benches/simpy/closed.py 2000000 3 1)
simpy_6=$("$PY_BIN" benches/simpy/closed.py 2000000 6 1)
# dsim's side is the medians measured above, in this same run of the script.
python3 - "$simpy_mmc" "$simpy_3" "$simpy_6" "$OUT/medians.txt" <<'PY'
import sys
simpy_mmc_line, simpy_3, simpy_6, medians = sys.argv[1:]
done_mmc, wall_mmc = (float(x) for x in simpy_mmc_line.split())
wall_3, wall_6 = float(simpy_3.split()[1]), float(simpy_6.split()[1])
m = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in open(medians)}
simpy_mmc = done_mmc / wall_mmc
mmc_wall, _, mmc_completed = m["mmc"]
dsim_mmc = mmc_completed / mmc_wall
simpy_closed = wall_3 + (wall_6 - wall_3) / 3.0 * (60.0 - 3.0)
horizon = "3 and 6"
dsim_closed = m["closed"][0]
print("| comparison (same run; dsim = the medians above) | SimPy | dsim | dsim / SimPy |")
print("|---|---:|---:|---:|")
print(f"| workload 1: M/M/10 customers per wall second | {simpy_mmc:,.0f} | {dsim_mmc:,.0f} | {dsim_mmc / simpy_mmc:.0f}× |")
print(f"| workload 2: wall seconds for 60 s of 2M users | {simpy_closed:,.0f} (from {horizon} s simulated) | {dsim_closed:.2f} | {simpy_closed / dsim_closed:.0f}× |")
PY
