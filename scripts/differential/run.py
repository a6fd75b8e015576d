#!/usr/bin/env python3
"""Differential check: serve the same configs under nanod and workerd and compare the answers.

    scripts/differential/run.py [--nanod PATH] [--workerd PATH]

workerd comes from the npm registry (`cd bench && npm ci` installs the pinned version). Every
request goes to 127.0.0.1. Prints one line per request: `same` or the two answers side by side,
and exits 1 if any answer differs in status, body or content-type.
"""
import argparse
import http.client
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

CASES = {
    os.path.join(ROOT, "examples/nanoservices/config.capnp"): [
        ("GET", "/", {}, None),
        ("GET", "/site", {}, None),
        ("PUT", "/data/k", {"authorization": "Bearer demo-token"}, b"value"),
        ("GET", "/data/k", {"authorization": "Bearer demo-token"}, None),
        ("GET", "/data/k", {"authorization": "Bearer nope"}, None),
        ("GET", "/data/missing", {"authorization": "Bearer demo-token"}, None),
        ("GET", "/nowhere", {}, None),
        ("HEAD", "/", {}, None),
    ],
    os.path.join(ROOT, "scripts/differential/failures.capnp"): [
        ("GET", "/throw", {}, None),
        ("GET", "/reject", {}, None),
        ("GET", "/not-a-response", {}, None),
        ("GET", "/undefined", {}, None),
        ("GET", "/callee-throws", {}, None),
        ("GET", "/no-fetch", {}, None),
        ("GET", "/catch-callee", {}, None),
        ("GET", "/headers", {}, None),
        ("POST", "/echo-method", {"content-type": "text/x"}, b"payload"),
        ("GET", "/status", {}, None),
        ("GET", "/json-error", {}, None),
        ("GET", "/url?a=1", {}, None),
        ("GET", "/", {}, None),
    ],
    os.path.join(ROOT, "scripts/differential/outbound.capnp"): [
        ("GET", "/follow", {}, None),
        ("GET", "/manual", {}, None),
        ("GET", "/error", {}, None),
        ("GET", "/no-location-fetch", {}, None),
        ("GET", "/bad-location-fetch", {}, None),
        ("GET", "/loop-fetch", {}, None),
        ("GET", "/post?to=/r301", {}, None),
        ("GET", "/post?to=/r302", {}, None),
        ("GET", "/post?to=/r303", {}, None),
        ("GET", "/post?to=/r307", {}, None),
        ("GET", "/post?to=/r308", {}, None),
        ("GET", "/stream-post", {}, None),
        ("GET", "/abort", {}, None),
        ("GET", "/external", {}, None),
        ("GET", "/external-redirect", {}, None),
        ("GET", "/passthrough", {}, None),
        ("POST", "/passthrough", {"content-type": "text/y"}, b"posted"),
    ],
}

# Extra arguments per config; {port} is the server's own socket port.
EXTRA_ARGS = {
    os.path.join(ROOT, "scripts/differential/outbound.capnp"): ["--external-addr", "self=127.0.0.1:{port}"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, port):
    proc = subprocess.Popen([arg.format(port=port) for arg in argv] + ["--socket-addr", f"http=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{argv[0]} exited: {proc.stderr.read().decode()}")
            time.sleep(0.02)
    proc.kill()
    raise SystemExit(f"{argv[0]} did not start")


def ask(port, method, path, headers, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        # Each server has its own port; it shows up in request.url.
        text = data.decode("utf-8", "replace").replace(f"127.0.0.1:{port}", "127.0.0.1:PORT")
        return r.status, r.getheader("content-type"), text
    except OSError as e:
        return "no answer", type(e).__name__, ""
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nanod", default=os.path.join(ROOT, "target/release/nanod"))
    ap.add_argument("--workerd", default=os.path.join(ROOT, "bench/node_modules/@cloudflare/workerd-linux-64/bin/workerd"))
    a = ap.parse_args()
    differ = 0
    for config, requests in CASES.items():
        print(f"# {os.path.relpath(config, ROOT)}")
        servers = {}
        extra = EXTRA_ARGS.get(config, [])
        for name, argv in (("nanod", [a.nanod, "serve", config, "--threads", "1"] + extra),
                           ("workerd", [a.workerd, "serve", config] + extra)):
            port = free_port()
            servers[name] = (start(argv, port), port)
        try:
            for method, path, headers, body in requests:
                answers = {name: ask(port, method, path, headers, body) for name, (_, port) in servers.items()}
                if answers["nanod"] == answers["workerd"]:
                    print(f"same     {method} {path}: {answers['nanod'][0]} {answers['nanod'][2][:60]!r}")
                else:
                    differ += 1
                    print(f"DIFFERS  {method} {path}\n  nanod:   {answers['nanod']}\n  workerd: {answers['workerd']}")
        finally:
            for proc, _ in servers.values():
                proc.kill()
                proc.wait()
    print(f"{differ} differences")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
