#!/usr/bin/env bash
# nanod vs workerd on identical generated configs. See bench/README.md.
#   bench/run.sh                      # full run (~4-5 min)
#   BENCH_SECONDS=3 bench/run.sh      # shorter hello runs
# Env: BENCH_SECONDS (hello wrk duration, default 10), BENCH_CHAIN_SECONDS (default 5),
#      BENCH_COLD_RUNS (default 3), NANOD (binary, default target/release/nanod, built if missing),
#      WORKERD (binary, default bench/node_modules/@cloudflare/workerd-linux-64/bin/workerd),
#      BENCH_NO_BUILD=1 (don't run cargo build),
#      BENCH_ONLY=proxy,hello (run only these sections: hello,chain,memory,cold,json,stream,proxy,rpc,metrics).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
GEN="$BENCH_DIR/generated"
PIDFILE="$GEN/servers.pid"
NANOD="${NANOD:-$ROOT/target/release/nanod}"
WORKERD="${WORKERD:-$BENCH_DIR/node_modules/@cloudflare/workerd-linux-64/bin/workerd}"

cleanup() {
  # The driver kills its servers itself; this is the safety net if it was killed hard.
  if [[ -f "$PIDFILE" ]]; then
    while read -r pid; do
      [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
    done <"$PIDFILE"
    rm -f "$PIDFILE"
  fi
  if [[ -n "${DRIVER_PID:-}" ]]; then kill "$DRIVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v wrk >/dev/null 2>&1; then
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "wrk not found; installing it with apt-get" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  fi
  if ! command -v wrk >/dev/null 2>&1; then
    echo "error: wrk is required (Debian/Ubuntu: sudo apt-get install -y wrk)" >&2
    exit 1
  fi
fi

if [[ ! -x "$WORKERD" ]]; then
  echo "workerd not found at $WORKERD; running npm ci in bench/" >&2
  (cd "$BENCH_DIR" && npm ci --no-audit --no-fund) || {
    echo "error: could not install workerd (cd bench && npm install)" >&2; exit 1; }
fi

if [[ -z "${BENCH_NO_BUILD:-}" && "$NANOD" == "$ROOT/target/release/nanod" ]]; then
  echo "building nanod (release)" >&2
  (cd "$ROOT" && cargo build --release -p nanod --quiet)
fi
[[ -x "$NANOD" ]] || { echo "error: nanod binary not found at $NANOD" >&2; exit 1; }

rm -rf "$GEN"
mkdir -p "$GEN" "$BENCH_DIR/results"

python3 "$BENCH_DIR/lib/bench.py" \
  --nanod "$NANOD" --workerd "$WORKERD" \
  --seconds "${BENCH_SECONDS:-10}" --chain-seconds "${BENCH_CHAIN_SECONDS:-5}" \
  --cold-runs "${BENCH_COLD_RUNS:-3}" --only "${BENCH_ONLY:-}" \
  --generated "$GEN" --out "$BENCH_DIR/results/latest.md" &
DRIVER_PID=$!
status=0
wait "$DRIVER_PID" || status=$?
DRIVER_PID=
echo "saved to bench/results/latest.md" >&2
exit $status
