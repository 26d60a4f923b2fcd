#!/usr/bin/env bash
# The standard benchmark (docs/performance.md): whole scenarios through the release binary,
# medians of RUNS runs, then SimPy on workloads 1 and 2 for comparison.
#
#   scripts/bench.sh            # 5 runs each (about 6 minutes on 2 cores)
#   RUNS=1 scripts/bench.sh     # a quick look
#   SKIP_SIMPY=1 scripts/bench.sh
#
# Prints a Markdown table: wall time, events/s, simulated requests/s, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
OUT=target/bench
mkdir -p "$OUT"
cargo build --release --quiet
BIN=target/release/dsim
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time (Debian package: time)" >&2; exit 2; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "# dsim benchmark"
echo
echo "$(date -u +%F) · $(nproc) cores · ${cpu:-unknown CPU} · $(free -g | awk '/Mem:/ {print $2}') GiB · commit $(git rev-parse --short HEAD) · $RUNS run(s) each, medians"
echo
echo "| workload | wall s | events | M events/s | requests | wall µs per request | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"

# bench NAME FILE: RUNS runs; one table row of medians.
bench() {
    local name=$1 file=$2
    for i in $(seq "$RUNS"); do
        $TIME -f '%e %M' -o "$OUT/time.txt" "$BIN" run "$file" --no-write --format json > "$OUT/summary.json" 2> /dev/null
        python3 - "$OUT/summary.json" "$OUT/time.txt" >> "$OUT/rows.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, rss_kb = open(sys.argv[2]).read().split()[-2:]
print(float(wall), s["engine"]["events"], s["requests"]["total"], int(rss_kb))
PY
    done
    python3 - "$name" "$OUT/rows.txt" <<'PY'
import statistics, sys
name, rows = sys.argv[1], [l.split() for l in open(sys.argv[2])]
med = lambda i: statistics.median(float(r[i]) for r in rows)
wall, events, requests, rss = max(med(0), 0.01), med(1), med(2), med(3)
print(f"| {name} | {wall:.2f} | {events:,.0f} | {events / wall / 1e6:.1f} | {requests:,.0f} | {wall / requests * 1e6:.2f} | {rss / 1024:.0f} |")
PY
    rm -f "$OUT/rows.txt"
}

bench "1 · open M/M/10, ~10M completions" benches/scenarios/mmc-10m.json
bench "2 · closed, 2M users, 64 workers, 60 s" benches/scenarios/closed-2m.json
bench "3 · full architecture, 2M users, 60 s" benches/scenarios/full-2m.json
for users in 20 2000 200000 2000000; do
    python3 - "$users" > "$OUT/ladder-$users.json" <<'PY'
import json, sys
d = json.load(open("benches/scenarios/full-2m.json"))
users = int(sys.argv[1])
d["name"] = f"bench-ladder-{users}"
d["workload"]["model"]["closed"]["users"] = users
print(json.dumps(d))
PY
    bench "4 · ladder: workload 3 at $users users" "$OUT/ladder-$users.json"
done

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
mmc_customers=1000000
read -r done_mmc wall_mmc < <("$PY_BIN" benches/simpy/mmc.py "$mmc_customers" 1)
simpy_horizon=3
read -r done_closed wall_closed < <("$PY_BIN" benches/simpy/closed.py 2000000 "$simpy_horizon" 1)
python3 - "$done_mmc" "$wall_mmc" "$done_closed" "$wall_closed" "$simpy_horizon" "$BIN" <<'PY'
import json, subprocess, sys, time
done_mmc, wall_mmc, done_closed, wall_closed, horizon, binary = sys.argv[1:]
simpy_mmc = float(done_mmc) / float(wall_mmc)
t = time.perf_counter()
s = json.loads(subprocess.run([binary, "run", "benches/scenarios/mmc-10m.json", "--no-write", "--format", "json"],
                              capture_output=True, check=True).stdout)  # stderr captured too
dsim_mmc = s["requests"]["completed"] / (time.perf_counter() - t)
print("| comparison (same run) | SimPy | dsim | dsim / SimPy |")
print("|---|---:|---:|---:|")
print(f"| workload 1: M/M/10 customers per wall second | {simpy_mmc:,.0f} | {dsim_mmc:,.0f} | {dsim_mmc / simpy_mmc:.0f}× |")
t = time.perf_counter()
subprocess.run([binary, "run", "benches/scenarios/closed-2m.json", "--no-write", "--quiet"], check=True)
dsim_closed = time.perf_counter() - t
simpy_closed = float(wall_closed) * 60.0 / float(horizon)
print(f"| workload 2: wall seconds for 60 s of 2M users | {simpy_closed:,.0f} (from {horizon} s simulated) | {dsim_closed:.1f} | {simpy_closed / dsim_closed:.0f}× |")
PY
