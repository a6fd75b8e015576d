#!/usr/bin/env bash
# Serves a Worker module under workerd (from bench/'s npm install) and prints its answer to
# GET / — the workerd side of crates/nanod/tests/web/*.expected (see scripts/node-oracle.mjs).
#
#   scripts/workerd-oracle.sh crates/nanod/tests/web/events.js
set -euo pipefail
module=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
workerd="$root/bench/node_modules/@cloudflare/workerd-linux-64/bin/workerd"
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cp "$module" "$dir/w.js"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$dir/config.capnp" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2024-09-01"))],
  sockets = [(name = "http", address = "127.0.0.1:$port", http = (), service = "main")],
);
CAPNP
"$workerd" serve "$dir/config.capnp" >/dev/null 2>"$dir/err" &
pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
curl -s "http://127.0.0.1:$port/"
