"""nanod vs workerd benchmark driver (stdlib only). Run through bench/run.sh."""

import argparse
import datetime
import http.client
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROBLEMS = []
LIVE = {}  # pid -> Popen, for cleanup
PIDFILE = None


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def problem(msg):
    log("PROBLEM: " + msg)
    PROBLEMS.append(msg)


# ---------------------------------------------------------------- processes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_pidfile():
    if PIDFILE:
        with open(PIDFILE, "w") as f:
            f.write("".join(f"{pid}\n" for pid in LIVE))


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return int(fields[11]) + int(fields[12])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def try_get(port, path, timeout=2.0):
    """One GET over a fresh connection; returns the status or None if not reachable."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status
    except (OSError, http.client.HTTPException):
        return None


class Server:
    def __init__(self, label, argv, config, logdir):
        self.label = label
        self.port = free_port()
        self.argv = argv + [config, "--socket-addr", f"http=127.0.0.1:{self.port}"]
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{label}-{os.path.basename(os.path.dirname(config))}")
        self.logpath = os.path.join(logdir, safe + ".log")
        self.proc = None
        self.ready_ms = None

    def start(self, probe="/", timeout=120.0):
        """Spawns the server and polls (tight loop) until `probe` answers 200.

        Returns the ms from spawn to the first successful response, or None on failure."""
        logf = open(self.logpath, "w")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=os.path.dirname(self.argv[-3]))
        LIVE[self.proc.pid] = self.proc
        write_pidfile()
        logf.close()
        deadline = t0 + timeout
        last = None
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                problem(f"{self.label}: exited with {self.proc.returncode} during startup "
                        f"({' '.join(self.argv)}): {self.log_tail()}")
                self.stop()
                return None
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.sendall(f"GET {probe} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                              .encode())
                    data = b""
                    while b"\r\n" not in data:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    last = data.split(b"\r\n", 1)[0].decode(errors="replace")
                    if last.startswith("HTTP/1.1 200"):
                        self.ready_ms = (time.perf_counter() - t0) * 1000.0
                        return self.ready_ms
            except OSError:
                pass
            time.sleep(0.0005)
        problem(f"{self.label}: not ready after {timeout}s (last status line {last!r}); "
                f"log: {self.log_tail()}")
        self.stop()
        return None

    def log_tail(self, n=6):
        try:
            with open(self.logpath, errors="replace") as f:
                lines = [l.rstrip() for l in f if l.strip()]
            return " | ".join(lines[-n:]) or "(empty log)"
        except OSError:
            return "(no log)"

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        LIVE.pop(self.proc.pid, None)
        write_pidfile()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def kill_all():
    for pid, p in list(LIVE.items()):
        if p.poll() is None:
            p.kill()
            p.wait()
    LIVE.clear()
    write_pidfile()


# ---------------------------------------------------------------- load


def run_wrk(srv, seconds, path="/", script=None):
    """Warm-up 1 s, then wrk -t2 -c50 for `seconds`; returns dict(rps, cpu_us, reqs, rss_kib)."""
    url = f"http://127.0.0.1:{srv.port}{path}"
    extra = ["-s", script] if script else []
    subprocess.run(["wrk", "-t2", "-c50", "-d1s"] + extra + [url], capture_output=True, text=True)
    if not srv.alive():
        problem(f"{srv.label}: died during warm-up: {srv.log_tail()}")
        return None
    c0 = cpu_ticks(srv.pid)
    out = subprocess.run(["wrk", "-t2", "-c50", f"-d{seconds}s"] + extra + [url],
                         capture_output=True, text=True).stdout
    if not srv.alive():
        problem(f"{srv.label}: died during wrk run: {srv.log_tail()}")
        return None
    c1 = cpu_ticks(srv.pid)
    m = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m or not rps:
        problem(f"{srv.label}: could not parse wrk output: {out!r}")
        return None
    reqs = int(m.group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    if bad:
        problem(f"{srv.label} {path}: {bad.group(1)} of {reqs} responses were non-2xx/3xx "
                f"(sample: status {try_get(srv.port, path)})")
    if errs:
        problem(f"{srv.label} {path}: wrk socket errors: {errs.group(1).strip()}")
    if reqs == 0:
        problem(f"{srv.label}: wrk completed 0 requests")
        return None
    cpu_us = (c1 - c0) * 1e6 / CLK_TCK
    return {"rps": float(rps.group(1)), "cpu_us": cpu_us / reqs, "reqs": reqs,
            "rss_kib": rss_kib(srv.pid)}


def check_body(srv, label, want=b"Hello World\n"):
    """One GET / on a fresh connection; records a problem unless the body is `want`."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        c.request("GET", "/")
        body = c.getresponse().read()
    except Exception as e:  # noqa: BLE001
        body = repr(e)
    if body != want:
        problem(f"{label}: body was {body!r}")


def stream_uploads(srv, mib=5, rounds=8):
    """POSTs `rounds` bodies of `mib` MiB one after another, reading each echo fully, while a
    thread samples the server's RSS every 5 ms. Returns dict(mb_s, idle_kib, peak_kib)."""
    body = (b"abcdefghijklmnopqrstuvwxyz0123456789" * ((mib << 20) // 36 + 1))[: mib << 20]
    want = body.upper()
    idle = rss_kib(srv.pid)
    peak = [idle]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(srv.pid) or 0)
            time.sleep(0.005)

    t = threading.Thread(target=sample)
    t.start()
    start = time.time()
    try:
        for _ in range(rounds):
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
            c.request("POST", "/", body=body, headers={"Content-Type": "application/octet-stream"})
            r = c.getresponse()
            got = r.read()
            c.close()
            if r.status != 200 or got != want:
                problem(f"{srv.label}: stream echo was wrong: status {r.status}, {len(got)} bytes")
                return None
    finally:
        stop.set()
        t.join()
    elapsed = time.time() - start
    return {"mb_s": rounds * mib / elapsed, "idle_kib": idle, "peak_kib": peak[0]}


def touch_all(port, n, conns):
    """`conns` keep-alive connections in parallel, each GETs /w/0 .. /w/<n-1> once."""
    failures = []

    def worker(k):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        order = list(range(n))
        # Rotate so connections start at different workers.
        order = order[k * n // conns:] + order[:k * n // conns]
        for i in order:
            try:
                c.request("GET", f"/w/{i}")
                r = c.getresponse()
                body = r.read()
                if r.status != 200 or body != f"worker {i}\n".encode():
                    failures.append(f"/w/{i}: {r.status} {body[:80]!r}")
            except (OSError, http.client.HTTPException) as e:
                failures.append(f"/w/{i}: {type(e).__name__}: {e}")
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.close()

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return failures


# ---------------------------------------------------------------- formatting


def f0(x):
    return "FAIL" if x is None else f"{x:,.0f}"


def f1(x):
    return "FAIL" if x is None else f"{x:,.1f}"


def f2(x):
    return "FAIL" if x is None else f"{x:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"**{a / b:.2f}×**"


def mib(kib):
    return None if kib is None else kib / 1024.0


def get(d, k):
    return None if d is None else d.get(k)


# ---------------------------------------------------------------- main


def main():
    global PIDFILE
    ap = argparse.ArgumentParser()
    ap.add_argument("--nanod", required=True)
    ap.add_argument("--workerd", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--chain-seconds", type=int, default=5)
    ap.add_argument("--out", required=True)
    ap.add_argument("--generated", required=True)
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated sections: hello,chain,memory,cold,json,stream,proxy,rpc,metrics")
    a = ap.parse_args()
    only = {x.strip() for x in a.only.split(",") if x.strip()}

    def want(section):
        return not only or section in only

    gdir = os.path.abspath(a.generated)
    logdir = os.path.join(gdir, "logs")
    os.makedirs(logdir, exist_ok=True)
    PIDFILE = os.path.join(gdir, "servers.pid")

    def on_signal(signum, frame):
        kill_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    nanod = lambda threads=None: [a.nanod, "serve"] + (["--threads", str(threads)] if threads else [])
    workerd = lambda: [a.workerd, "serve"]
    ncpu = os.cpu_count()

    def serve(label, argv, config, probe="/"):
        s = Server(label, argv, config, logdir)
        if s.start(probe=probe) is None:
            return None
        return s

    out = []
    hello = {"n2": None, "n1": None, "wd": None}
    try:
        # ---------------- 1. hello
        if want("hello"):
            hello_cfg = gen.hello(gdir)
            hello = {}
            for key, label, argv in [("n2", f"nanod --threads {ncpu}", nanod(ncpu)),
                                     ("n1", "nanod --threads 1", nanod(1)),
                                     ("wd", "workerd", workerd())]:
                log(f"hello: {label}, wrk {a.seconds}s")
                s = serve(label, argv, hello_cfg)
                if s:
                    check_body(s, f"{label} hello")
                    hello[key] = run_wrk(s, a.seconds)
                    s.stop()
                else:
                    hello[key] = None

            out.append(f"### 1. hello (`new Response(\"Hello World\\n\")`), wrk -t2 -c50 -d{a.seconds}s\n")
            out.append("| server | requests/s | CPU µs/request | RSS after run (MiB) |")
            out.append("|---|---:|---:|---:|")
            for key, label in [("n2", f"nanod ({ncpu} threads, default)"), ("n1", "nanod (1 thread)"),
                               ("wd", "workerd")]:
                h = hello[key]
                out.append(f"| {label} | {f0(get(h, 'rps'))} | {f1(get(h, 'cpu_us'))} | "
                           f"{f1(mib(get(h, 'rss_kib')))} |")
            for key, label in [("n2", f"nanod {ncpu}t / workerd"), ("n1", "nanod 1t / workerd")]:
                h, w = hello[key], hello["wd"]
                out.append(f"| {label} | {ratio(get(h, 'rps'), get(w, 'rps'))} | "
                           f"{ratio(get(h, 'cpu_us'), get(w, 'cpu_us'))} | "
                           f"{ratio(get(h, 'rss_kib'), get(w, 'rss_kib'))} |")
            out.append("")

        # ---------------- 2. chains
        if want("chain"):
            chains = {}
            for hops in (1, 5, 10):
                cfg = gen.chain(gdir, hops)
                # One nanod thread: a per-core comparison with workerd's single event loop, and the
                # hop cost is not blurred by two server threads sharing the cores with wrk.
                for key, label, argv in [("n", "nanod --threads 1", nanod(1)),
                                         ("wd", "workerd", workerd())]:
                    log(f"chain {hops}: {label}, wrk {a.chain_seconds}s")
                    s = serve(f"{label} chain-{hops}", argv, cfg)
                    chains[(hops, key)] = run_wrk(s, a.chain_seconds) if s else None
                    if s:
                        s.stop()

            out.append(f"### 2. service-binding hop chain (w0 → … → wN), wrk -t2 -c50 -d{a.chain_seconds}s; "
                       f"nanod 1 thread (per-core, as workerd)\n")
            out.append("| hops | nanod req/s | workerd req/s | nanod CPU µs/req | workerd CPU µs/req | ratio | "
                       "nanod CPU µs/hop | workerd CPU µs/hop | ratio |")
            out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            base = {"n": get(hello["n1"], "cpu_us"), "wd": get(hello["wd"], "cpu_us")}
            out.append(f"| 0 (hello) | {f0(get(hello['n1'], 'rps'))} | {f0(get(hello['wd'], 'rps'))} | "
                       f"{f1(base['n'])} | {f1(base['wd'])} | {ratio(base['n'], base['wd'])} | – | – | – |")
            for hops in (1, 5, 10):
                n, w = chains[(hops, "n")], chains[(hops, "wd")]
                per = {}
                for key, r in (("n", n), ("wd", w)):
                    c = get(r, "cpu_us")
                    per[key] = None if c is None or base[key] is None else (c - base[key]) / hops
                out.append(f"| {hops} | {f0(get(n, 'rps'))} | {f0(get(w, 'rps'))} | {f1(get(n, 'cpu_us'))} | "
                           f"{f1(get(w, 'cpu_us'))} | {ratio(get(n, 'cpu_us'), get(w, 'cpu_us'))} | "
                           f"{f1(per['n'])} | {f1(per['wd'])} | {ratio(per['n'], per['wd'])} |")
            out.append("")

        # ---------------- 3. memory per Worker
        if want("memory"):
            mem = {}
            conns = 8
            for n in (1, 100, 1000):
                cfg = gen.many(gdir, n)
                for key, label, argv in [("n1", "nanod --threads 1", nanod(1)),
                                         ("n2", f"nanod --threads {ncpu}", nanod(ncpu)),
                                         ("wd", "workerd", workerd())]:
                    log(f"memory {n} workers: {label}")
                    s = serve(f"{label} workers-{n}", argv, cfg, probe="/w/0")
                    if not s:
                        mem[(n, key)] = None
                        continue
                    t = time.perf_counter()
                    fails = touch_all(s.port, n, conns)
                    dt = time.perf_counter() - t
                    if fails:
                        problem(f"{label} with {n} workers: {len(fails)} of {n * conns} requests failed, "
                                f"e.g. {fails[:3]}")
                    time.sleep(0.3)
                    mem[(n, key)] = rss_kib(s.pid) if s.alive() else None
                    if not s.alive():
                        problem(f"{label} with {n} workers died: {s.log_tail()}")
                    log(f"  RSS {mem[(n, key)]} KiB, touched in {dt:.1f}s")
                    s.stop()

            def per_worker(n, key):
                r, r1 = mem.get((n, key)), mem.get((1, key))
                return None if r is None or r1 is None else (r - r1) / (n - 1)

            out.append(f"### 3. memory: router Worker + N leaf Workers, RSS after {conns} keep-alive "
                       f"connections each requested every /w/<i> once\n")
            out.append(f"| N Workers | nanod 1 thread (MiB) | nanod {ncpu} threads (MiB) | workerd (MiB) | "
                       f"nanod 1t / workerd | nanod {ncpu}t / workerd |")
            out.append("|---:|---:|---:|---:|---:|---:|")
            for n in (1, 100, 1000):
                r = {k: mem.get((n, k)) for k in ("n1", "n2", "wd")}
                out.append(f"| {n} | {f1(mib(r['n1']))} | {f1(mib(r['n2']))} | {f1(mib(r['wd']))} | "
                           f"{ratio(r['n1'], r['wd'])} | {ratio(r['n2'], r['wd'])} |")
            for n in (100, 1000):
                p = {k: per_worker(n, k) for k in ("n1", "n2", "wd")}
                out.append(f"| KiB per Worker, (RSS({n})−RSS(1))/{n - 1} | {f1(p['n1'])} | {f1(p['n2'])} | "
                           f"{f1(p['wd'])} | {ratio(p['n1'], p['wd'])} | {ratio(p['n2'], p['wd'])} |")
            out.append("")

        # ---------------- 4. cold start
        if want("cold"):
            cfg = gen.many(gdir, 1000)
            cold = {"n": [], "wd": []}
            for run in range(a.cold_runs):
                for key, label, argv in [("n", f"nanod --threads {ncpu}", nanod(ncpu)),
                                         ("wd", "workerd", workerd())]:
                    log(f"cold start 1000 workers #{run + 1}: {label}")
                    s = Server(f"{label} cold", argv, cfg, logdir)
                    ms = s.start(probe="/w/0")
                    s.stop()
                    if ms is not None:
                        cold[key].append(ms)
            med = {k: statistics.median(v) if v else None for k, v in cold.items()}
            out.append(f"### 4. cold start, 1000 Workers: spawn → first 200 for GET /w/0 "
                       f"(median of {a.cold_runs}; nanod {ncpu} threads)\n")
            out.append("| nanod (ms) | workerd (ms) | nanod / workerd | runs nanod | runs workerd |")
            out.append("|---:|---:|---:|---|---|")
            out.append(f"| {f1(med['n'])} | {f1(med['wd'])} | {ratio(med['n'], med['wd'])} | "
                       f"{', '.join(f'{x:.0f}' for x in cold['n'])} | "
                       f"{', '.join(f'{x:.0f}' for x in cold['wd'])} |")
            out.append("")

        # ---------------- 5. JSON POST
        if want("json"):
            cfg = gen.json_api(gdir)
            script = os.path.join(os.path.dirname(cfg), "post.lua")
            jres = {}
            for key, label, argv in [("n2", f"nanod --threads {ncpu}", nanod(ncpu)), ("n1", "nanod --threads 1", nanod(1)),
                                     ("wd", "workerd", workerd())]:
                log(f"json: {label}, wrk {a.seconds}s")
                s = serve(f"{label} json", argv, cfg)
                jres[key] = run_wrk(s, a.seconds, script=script) if s else None
                if s:
                    s.stop()
            out.append(f"### 5. JSON POST (~1 KB parsed, transformed, serialized), wrk -t2 -c50 -d{a.seconds}s\n")
            out.append("| server | requests/s | CPU µs/request | nanod / workerd (CPU) |")
            out.append("|---|---:|---:|---:|")
            for key, label in [("n2", f"nanod ({ncpu} threads)"), ("n1", "nanod (1 thread)"), ("wd", "workerd")]:
                r = jres.get(key)
                out.append(f"| {label} | {f0(get(r, 'rps'))} | {f1(get(r, 'cpu_us'))} | "
                           f"{ratio(get(r, 'cpu_us'), get(jres.get('wd'), 'cpu_us'))} |")
            out.append("")

        # ---------------- 6. streaming through a TransformStream
        if want("stream"):
            cfg = gen.stream(gdir)
            sres = {}
            for key, label, argv in [("n1", "nanod --threads 1", nanod(1)), ("wd", "workerd", workerd())]:
                log(f"stream: {label}, 8 × 5 MiB")
                s = serve(f"{label} stream", argv, cfg)
                sres[key] = stream_uploads(s) if s else None
                if s:
                    s.stop()
            out.append("### 6. 5 MiB request body → TransformStream → response, 8 uploads one after another\n")
            out.append("| server | MB/s | RSS idle (MiB) | RSS peak during the stream (MiB) | peak − idle (MiB) |")
            out.append("|---|---:|---:|---:|---:|")
            for key, label in [("n1", "nanod (1 thread)"), ("wd", "workerd")]:
                r = sres.get(key)
                grow = None if r is None else r["peak_kib"] - r["idle_kib"]
                out.append(f"| {label} | {f1(get(r, 'mb_s'))} | {f1(mib(get(r, 'idle_kib')))} | "
                           f"{f1(mib(get(r, 'peak_kib')))} | {f1(mib(grow))} |")
            out.append("")

        # ---------------- 7. fetch proxy: a Worker forwarding every request to a local upstream
        if want("proxy"):
            # The upstream is nanod's hello on its own thread; only the proxy's CPU is measured.
            upstream = serve("upstream hello", nanod(1), gen.hello(gdir))
            pres = {}
            for via in ("fetch", "external"):
                cfg = gen.proxy(gdir, upstream.port, via) if upstream else None
                for key, label, argv in [("n1", "nanod --threads 1", nanod(1)), ("wd", "workerd", workerd())]:
                    log(f"proxy via {via}: {label}, wrk {a.seconds}s")
                    s = serve(f"{label} proxy-{via}", argv, cfg) if cfg else None
                    if s:
                        check_body(s, f"{label} proxy via {via}")
                    pres[(via, key)] = run_wrk(s, a.seconds) if s else None
                    if s:
                        s.stop()
            if upstream:
                upstream.stop()
            out.append(f"### 7. fetch proxy: a Worker forwards every request to a local upstream (nanod hello, "
                       f"its own process), wrk -t2 -c50 -d{a.seconds}s; CPU of the proxy process only\n")
            out.append("| forwarded with | nanod req/s | workerd req/s | ratio | nanod CPU µs/req | "
                       "workerd CPU µs/req | ratio |")
            out.append("|---|---:|---:|---:|---:|---:|---:|")
            for via, label in [("fetch", "global `fetch()` (network service)"),
                               ("external", "`env.BACKEND.fetch()` (external service)")]:
                n, w = pres.get((via, "n1")), pres.get((via, "wd"))
                out.append(f"| {label} | {f0(get(n, 'rps'))} | {f0(get(w, 'rps'))} | "
                           f"{ratio(get(n, 'rps'), get(w, 'rps'))} | {f1(get(n, 'cpu_us'))} | "
                           f"{f1(get(w, 'cpu_us'))} | {ratio(get(n, 'cpu_us'), get(w, 'cpu_us'))} |")
            out.append("")
        # ---------------- 8. JS RPC vs fetch hop
        if want("rpc"):
            calls = 10
            rres = {}
            for mode, n in (("base", 0), ("fetch", calls), ("rpc", calls)):
                cfg = gen.rpc(gdir, "rpc" if mode == "base" else mode, n)
                for key, label, argv in [("n", "nanod --threads 1", nanod(1)), ("wd", "workerd", workerd())]:
                    log(f"rpc {mode}: {label}, wrk {a.chain_seconds}s")
                    s = serve(f"{label} rpc-{mode}", argv, cfg)
                    rres[(mode, key)] = run_wrk(s, a.chain_seconds) if s else None
                    if s:
                        s.stop()
            out.append(f"### 8. JS RPC vs fetch hop: a Worker makes {calls} calls per request to another "
                       f"(`await env.B.add(i, 1)` or `await (await env.B.fetch(url)).text()`), "
                       f"wrk -t2 -c50 -d{a.chain_seconds}s; nanod 1 thread\n")
            out.append("| call | nanod req/s | workerd req/s | nanod CPU µs/req | workerd CPU µs/req | "
                       "nanod CPU µs/call | workerd CPU µs/call | ratio |")
            out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
            base = {k: get(rres.get(("base", k)), "cpu_us") for k in ("n", "wd")}
            for mode, label in (("base", "none (0 calls)"), ("fetch", "`env.B.fetch()`"), ("rpc", "`env.B.add()` (RPC)")):
                n, w = rres.get((mode, "n")), rres.get((mode, "wd"))
                per = {}
                for key, r in (("n", n), ("wd", w)):
                    c = get(r, "cpu_us")
                    per[key] = None if mode == "base" or c is None or base[key] is None else (c - base[key]) / calls
                out.append(f"| {label} | {f0(get(n, 'rps'))} | {f0(get(w, 'rps'))} | {f1(get(n, 'cpu_us'))} | "
                           f"{f1(get(w, 'cpu_us'))} | {f1(per['n']) if mode != 'base' else '–'} | "
                           f"{f1(per['wd']) if mode != 'base' else '–'} | "
                           f"{ratio(per['n'], per['wd']) if mode != 'base' else '–'} |")
            out.append("")
        # ---------------- 9. metrics and limits on vs off (nanod only)
        if want("metrics"):
            cfg = gen.hello(gdir)
            unlimited = gen.hello(gdir, no_limits=True)
            mres = {}
            for key, label, extra in [("off", "metrics off (default)", []),
                                      ("on", "metrics on (`--admin 127.0.0.1:0`)", ["--admin", "127.0.0.1:0"]),
                                      ("nolimits", "metrics off, limits off", []),
                                      ("quiet", "metrics off, `--access-log off`", ["--access-log", "off"])]:
                log(f"metrics: nanod --threads 1, {label}, wrk {a.seconds}s")
                s = serve(f"nanod --threads 1 metrics-{key}", nanod(1) + extra,
                          unlimited if key == "nolimits" else cfg)
                mres[key] = run_wrk(s, a.seconds) if s else None
                if s and key == "on":
                    # The counters must have seen the run: proof that recording was on.
                    with open(s.logpath, errors="replace") as f:
                        m = re.search(r"admin listening on 127\.0\.0\.1:(\d+)", f.read())
                    text = ""
                    try:
                        c = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=5)
                        c.request("GET", "/metrics")
                        text = c.getresponse().read().decode()
                    except (AttributeError, OSError, http.client.HTTPException) as e:
                        problem(f"metrics on: /metrics failed: {e!r}")
                    seen = re.search(r'nanod_requests_total\{service="main",status="2xx"\} (\d+)', text)
                    if mres[key] and (not seen or int(seen.group(1)) < mres[key]["reqs"]):
                        problem(f"metrics on: /metrics counted {seen and seen.group(1)} requests, "
                                f"wrk made {mres[key]['reqs']}")
                if s:
                    s.stop()
            out.append(f"### 9. metrics and limits cost: hello, nanod 1 thread, wrk -t2 -c50 -d{a.seconds}s, "
                       "one run each\n")
            out.append("| nanod | requests/s | CPU µs/request |")
            out.append("|---|---:|---:|")
            for key, label in [("off", "metrics off, default limits (the default)"),
                               ("on", "metrics on (`--admin`), default limits"),
                               ("nolimits", "metrics off, every limit 0 (off)"),
                               ("quiet", "metrics off, `--access-log off` (reference)")]:
                r = mres.get(key)
                out.append(f"| {label} | {f0(get(r, 'rps'))} | {f2(get(r, 'cpu_us'))} |")
            on, off, free = mres.get("on"), mres.get("off"), mres.get("nolimits")
            out.append(f"| metrics on / off | {ratio(get(on, 'rps'), get(off, 'rps'))} | "
                       f"{ratio(get(on, 'cpu_us'), get(off, 'cpu_us'))} |")
            out.append(f"| limits on / off | {ratio(get(off, 'rps'), get(free, 'rps'))} | "
                       f"{ratio(get(off, 'cpu_us'), get(free, 'cpu_us'))} |")
            out.append("")
    finally:
        kill_all()

    # ---------------- header + problems
    wd_ver = subprocess.run([a.workerd, "--version"], capture_output=True, text=True).stdout.strip()
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        rev = "?"
    head = [
        f"## nanod vs workerd — {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}\n",
        f"nanod @ {rev} (release, working tree), {wd_ver}, {platform.machine()} {ncpu} cores, "
        f"wrk on the same machine (competes for the cores). Ratios are nanod / workerd "
        f"(req/s: higher is better for nanod; CPU, RSS, ms: lower is better).\n",
    ]
    tail = ["### problems\n"]
    tail += [f"- {p}" for p in PROBLEMS] if PROBLEMS else ["- none"]
    text = "\n".join(head + out + tail) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
