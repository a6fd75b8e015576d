#!/usr/bin/env bash
# Runs a `.wd-test` suite under `nanod test` and `workerd test` and compares their
# `[ TEST ]`/`[ PASS ]`/`[ FAIL ]` lines (prefixes and durations stripped) and exit statuses.
# Usage: scripts/wd-test-both.sh [CONFIG [FILTER]]   (default: examples/testing/suite.wd-test)
# workerd comes from bench/'s npm install (`cd bench && npm ci`); nanod from target/debug
# (built if missing). Everything runs locally; the suites open no sockets.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
config="${1:-$root/examples/testing/suite.wd-test}"
filter=("${@:2}")
workerd="$root/bench/node_modules/@cloudflare/workerd-linux-64/bin/workerd"
nanod="$root/target/debug/nanod"
[ -x "$workerd" ] || { echo "workerd not installed: cd bench && npm ci" >&2; exit 2; }
[ -x "$nanod" ] || (cd "$root" && cargo build -q -p nanod) || exit 2

lines() { grep -oE '\[ (TEST|PASS|FAIL) \] [^ ]+' | sed 's/ *$//'; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$nanod" test "$config" "${filter[@]}" >"$work/nanod.out" 2>"$work/nanod.err"; nanod_rc=$?
"$workerd" test "$config" "${filter[@]}" >"$work/workerd.out" 2>"$work/workerd.err"; workerd_rc=$?
lines <"$work/nanod.err" >"$work/nanod.lines"
lines <"$work/workerd.err" >"$work/workerd.lines"

echo "== nanod test (exit $nanod_rc)"; cat "$work/nanod.lines"; grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/nanod.err"
echo "== workerd test (exit $workerd_rc)"; cat "$work/workerd.lines"
status=0
if ! diff -u "$work/workerd.lines" "$work/nanod.lines" >"$work/diff"; then
  echo "== DIFFERENT lines (- workerd, + nanod):"; cat "$work/diff"; status=1
fi
if [ $((nanod_rc != 0)) -ne $((workerd_rc != 0)) ]; then
  echo "== DIFFERENT exit status: nanod $nanod_rc, workerd $workerd_rc"; status=1
fi
[ $status -eq 0 ] && echo "== same $(wc -l <"$work/nanod.lines") lines and exit status"
exit $status
