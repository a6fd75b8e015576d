#!/usr/bin/env bash
# Three nanod processes of examples/nanoservices behind haproxy, all on 127.0.0.1: shows how
# requests spread over them, then SIGKILLs one in the middle of a run and shows that no client
# request failed (haproxy retried them on the others). See deploy/README.md.
#   deploy/cluster.sh
# Env: NANOD (binary, default target/release/nanod, built if missing; CLUSTER_BUILD=1 rebuilds),
#      REQUESTS (per run, default 3000), CONCURRENCY (parallel client connections, default 8),
#      RATE (client requests a second in all, default 2000),
#      BASE_PORT (default 18080: haproxy BASE, stats BASE+9, nanod BASE+1..3, admin BASE+1011..1013),
#      THREADS (per nanod, default 1), HAPROXY_CFG (default deploy/haproxy/haproxy.cfg),
#      KEEP_LOGS=1 (keep the work directory).
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$DEPLOY_DIR/.." && pwd)"
NANOD="${NANOD:-$ROOT/target/release/nanod}"
CONFIG="$ROOT/examples/nanoservices/config.capnp"
HAPROXY_CFG="${HAPROXY_CFG:-$DEPLOY_DIR/haproxy/haproxy.cfg}"
REQUESTS="${REQUESTS:-3000}"
CONCURRENCY="${CONCURRENCY:-8}"
RATE="${RATE:-2000}"
BASE_PORT="${BASE_PORT:-18080}"
THREADS="${THREADS:-1}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nanod-cluster.XXXXXX")"
PIDS=()

cleanup() {
  # Only the processes this script started, by pid.
  for pid in "${PIDS[@]}"; do
    { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  if [[ -n "${KEEP_LOGS:-}" ]]; then echo "logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in haproxy curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "$tool not found; installing it with apt-get" >&2
      apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null
    fi
    command -v "$tool" >/dev/null 2>&1 || {
      echo "error: $tool is required (Debian/Ubuntu: sudo apt-get install -y $tool)" >&2; exit 1; }
  fi
done

if [[ "$NANOD" == "$ROOT/target/release/nanod" && ( ! -x "$NANOD" || -n "${CLUSTER_BUILD:-}" ) ]]; then
  echo "building nanod (release)" >&2
  (cd "$ROOT" && cargo build --release --locked -p nanod --quiet)
fi
[[ -x "$NANOD" ]] || { echo "error: nanod binary not found at $NANOD" >&2; exit 1; }

export HAPROXY_PORT="$BASE_PORT" HAPROXY_STATS_PORT=$((BASE_PORT + 9))
export NANOD1_PORT=$((BASE_PORT + 1)) NANOD2_PORT=$((BASE_PORT + 2)) NANOD3_PORT=$((BASE_PORT + 3))
ADMIN_PORTS=($((BASE_PORT + 1011)) $((BASE_PORT + 1012)) $((BASE_PORT + 1013)))
HTTP_PORTS=("$NANOD1_PORT" "$NANOD2_PORT" "$NANOD3_PORT")

# `--admin` gives nanod a /readyz for the health checks; an older binary without it is checked
# with `GET /` on its http socket instead.
if "$NANOD" serve --help | grep -q -- '--admin'; then
  HAVE_ADMIN=1
  export NANOD_CHECK_PATH=/readyz
  export NANOD1_CHECK="${ADMIN_PORTS[0]}" NANOD2_CHECK="${ADMIN_PORTS[1]}" NANOD3_CHECK="${ADMIN_PORTS[2]}"
else
  HAVE_ADMIN=
  echo "note: this nanod has no --admin; health checks use GET / on the http socket" >&2
  export NANOD_CHECK_PATH=/
  export NANOD1_CHECK="$NANOD1_PORT" NANOD2_CHECK="$NANOD2_PORT" NANOD3_CHECK="$NANOD3_PORT"
fi

ports_in_use=()
for port in "$HAPROXY_PORT" "$HAPROXY_STATS_PORT" "${HTTP_PORTS[@]}" ${HAVE_ADMIN:+"${ADMIN_PORTS[@]}"}; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then ports_in_use+=("$port"); fi
done
if ((${#ports_in_use[@]})); then
  echo "error: 127.0.0.1 port(s) ${ports_in_use[*]} already in use; set BASE_PORT" >&2; exit 1
fi

# Polls `curl URL` until it answers 200, for up to 10 s.
wait_ok() {
  for _ in $(seq 100); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

NANOD_PIDS=()
for i in 0 1 2; do
  args=(serve "$CONFIG" --threads "$THREADS" --socket-addr "http=127.0.0.1:${HTTP_PORTS[$i]}")
  [[ -n "$HAVE_ADMIN" ]] && args+=(--admin "127.0.0.1:${ADMIN_PORTS[$i]}")
  "$NANOD" "${args[@]}" >"$WORK/nanod$((i + 1)).log" 2>&1 &
  PIDS+=($!)
  NANOD_PIDS+=($!)
done
for i in 0 1 2; do
  if [[ -n "$HAVE_ADMIN" ]]; then url="http://127.0.0.1:${ADMIN_PORTS[$i]}/readyz"; else url="http://127.0.0.1:${HTTP_PORTS[$i]}/"; fi
  wait_ok "$url" || { echo "error: nanod$((i + 1)) did not start:" >&2; cat "$WORK/nanod$((i + 1)).log" >&2; exit 1; }
  echo "nanod$((i + 1)): pid ${NANOD_PIDS[$i]}, http 127.0.0.1:${HTTP_PORTS[$i]}${HAVE_ADMIN:+, admin 127.0.0.1:${ADMIN_PORTS[$i]}}"
done

haproxy -c -q -f "$HAPROXY_CFG"
haproxy -db -f "$HAPROXY_CFG" >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!
PIDS+=("$HAPROXY_PID")
STATS="http://127.0.0.1:$HAPROXY_STATS_PORT/stats;csv"
wait_ok "$STATS" || { echo "error: haproxy did not start:" >&2; cat "$WORK/haproxy.log" >&2; exit 1; }
for _ in $(seq 100); do
  [[ "$(curl -s "$STATS" | grep -c '^nanod,nanod[123],.*,UP,')" == 3 ]] && break
  sleep 0.1
done
echo "haproxy: pid $HAPROXY_PID, 127.0.0.1:$HAPROXY_PORT -> 3 backends, stats http://127.0.0.1:$HAPROXY_STATS_PORT/stats"

# The backend servers' rows of haproxy's CSV: name, status, requests, 2xx, retries, redispatches.
server_stats() {
  curl -s "$STATS" | awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "nanod" && $2 ~ /^nanod[0-9]$/ {
      print $2, $(col["status"]), $(col["req_tot"]), $(col["hrsp_2xx"]), $(col["wretr"]), $(col["wredis"])
    }'
}

# The backend's request total, to follow a run's progress.
backend_requests() {
  curl -s "$STATS" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "nanod" && $2 == "BACKEND" { print $(col["req_tot"]) }'
}

# Prints each server's share of the requests since snapshot $1 (a server_stats output).
show_spread() {
  local before="$1" after
  after="$(server_stats)"
  printf '  %-7s %-5s %9s %6s %8s %13s\n' server state requests 2xx retries redispatches
  join <(echo "$before") <(echo "$after") | while read -r name _ req0 ok0 retr0 redis0 state req ok retr redis; do
    printf '  %-7s %-5s %9d %6d %8d %13d\n' "$name" "$state" $((req - req0)) $((ok - ok0)) $((retr - retr0)) $((redis - redis0))
  done
}

# REQUESTS GETs of / through haproxy from CONCURRENCY curl processes, each serial on one
# keep-alive connection at RATE/CONCURRENCY requests a second (so a run lasts long enough to
# kill a backend in the middle of it); one status code per line in $1.
run_clients() {
  local urls="$WORK/urls" per=$((REQUESTS / CONCURRENCY)) extra=$((REQUESTS % CONCURRENCY)) pids=() c n
  for c in $(seq "$CONCURRENCY"); do
    n=$((per + (c <= extra ? 1 : 0)))
    for _ in $(seq "$n"); do
      printf 'url = "http://127.0.0.1:%s/"\noutput = "/dev/null"\n' "$HAPROXY_PORT"
    done >"$urls.$c"
    curl -s --no-progress-meter --max-time 10 --rate "$((RATE / CONCURRENCY))/s" -w '%{http_code}\n' \
      --config "$urls.$c" >"$1.$c" 2>>"$WORK/curl.log" &
    pids+=($!)
  done
  for c in "${pids[@]}"; do wait "$c" || true; done
  cat "$1".* >"$1"
}

# Prints the tally of status codes in $1 and fails the script if any is not 200.
tally() {
  local total ok
  total=$(wc -l <"$1")
  ok=$(grep -c '^200$' "$1" || true)
  echo "  client: $total requests, $ok answered 200, $((total - ok)) failed$(
    [[ $ok != "$total" ]] && echo " (codes: $(grep -v '^200$' "$1" | sort | uniq -c | tr -s ' ' | tr '\n' ';'))")"
  [[ "$total" == "$REQUESTS" && "$ok" == "$total" ]]
}

echo
echo "run 1: $REQUESTS requests from $CONCURRENCY clients ($RATE/s), all three backends up"
before="$(server_stats)"
run_clients "$WORK/run1"
tally "$WORK/run1"
show_spread "$before"

echo
KILL_AT=$((REQUESTS / 3))
echo "run 2: $REQUESTS requests; nanod2 gets SIGKILL after $KILL_AT of them"
before="$(server_stats)"
start=$(backend_requests)
run_clients "$WORK/run2" &
CLIENT_PID=$!
PIDS+=("$CLIENT_PID")
while kill -0 "$CLIENT_PID" 2>/dev/null && (($(backend_requests) - start < KILL_AT)); do sleep 0.02; done
done_before=$(($(backend_requests) - start))
kill -0 "$CLIENT_PID" 2>/dev/null || echo "  note: the run ended before the kill; lower RATE to kill in the middle of it"
# Reaped inside the redirect, so bash's "Killed" job notice does not clutter the output.
{ kill -9 "${NANOD_PIDS[1]}" && wait "${NANOD_PIDS[1]}"; } 2>/dev/null || true
echo "  killed nanod2 (pid ${NANOD_PIDS[1]}) with SIGKILL after $done_before requests of the run"
wait "$CLIENT_PID"
tally "$WORK/run2"
show_spread "$before"

echo
echo "stopping: SIGTERM to nanod1, nanod3 and haproxy"
for i in 0 2; do
  pid="${NANOD_PIDS[$i]}"
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  last="$(grep -v '\]: GET / 200' "$WORK/nanod$((i + 1)).log" | tail -n 1)"
  echo "  nanod$((i + 1)) exited with status $status; its last log line: $last"
done
kill -TERM "$HAPROXY_PID"
wait "$HAPROXY_PID" || true
echo "  haproxy stopped"
echo "ok: no client request failed"
