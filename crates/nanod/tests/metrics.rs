//! The admin socket (`serve --admin`): exact request, error, latency and binding counts in
//! `/metrics` after a known mix of requests, the isolate and JS-time gauges, `/healthz`,
//! `/readyz` (also while draining), 404s; no admin socket without the flag; and
//! `--log-format json`: every line an object, access lines with their fields, console lines
//! tagged with the request id that a service binding carries to the callee. Also: the JS time
//! of isolates discarded for a broken limit, RPC calls and timed-out calls in the callee's
//! request metrics, series in label order, and the request id on limit and fallback lines.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::{Conn, Server, TestDir};

/// Worker A (socket `http`) and B, bound as `env.B`.
fn two_workers(dir: &TestDir) -> std::path::PathBuf {
    dir.write(
        "a.js",
        r#"export default { async fetch(request, env) {
  const path = new URL(request.url).pathname;
  if (path === "/ok") return new Response("ok");
  if (path === "/throw") throw new Error("thrown on purpose");
  if (path === "/call") {
    console.log("A calls B");
    return env.B.fetch(request);
  }
  if (path === "/refused") {
    try { await fetch("http://127.0.0.1:9/"); } catch (e) { return new Response("refused"); }
    return new Response("not refused?", { status: 500 });
  }
  if (path === "/slow") {
    await new Promise(resolve => setTimeout(resolve, 1500));
    return new Response("slow");
  }
  if (path === "/burn") {
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += i % 7;
    return new Response(String(x));
  }
  return new Response("no such page", { status: 404 });
} };"#,
    );
    dir.write(
        "b.js",
        r#"export default { fetch(request) {
  console.log("B answers");
  return new Response("from B");
} };"#,
    );
    dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "A", worker = (modules = [(name = "a.js", esModule = embed "a.js")], compatibilityDate = "2024-09-01",
                           bindings = [(name = "B", service = "B")])),
    (name = "B", worker = (modules = [(name = "b.js", esModule = embed "b.js")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "A")],
);"#,
    )
}

/// The admin port that `server` printed.
fn admin_port(server: &Server) -> u16 {
    let log = server.wait_for_stderr("nanod: admin listening on ");
    let line = log.lines().find_map(|l| l.split_once("nanod: admin listening on ")).map(|(_, rest)| rest);
    let addr = line.unwrap_or_else(|| panic!("no admin line in\n{log}"));
    let port = addr.trim().rsplit(':').next().unwrap_or_default();
    port.parse().unwrap_or_else(|_| panic!("bad admin address {addr:?}"))
}

/// Samples of an OpenMetrics text: `name{k="v",...}` → value, labels sorted.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut labels: Vec<&str> = if labels.is_empty() { Vec::new() } else { labels.split(',').collect() };
        labels.sort();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
        out.insert(format!("{name}{{{}}}", labels.join(",")), value);
    }
    out
}

/// The sample `name` with `labels` (0 when absent: a counter never incremented may not exist).
fn sample(samples: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    labels.sort();
    samples.get(&format!("{name}{{{}}}", labels.join(","))).copied().unwrap_or(0.0)
}

fn get(port: u16, path: &str) -> support::Response {
    Conn::open(port).request("GET", path, &[], None)
}

#[test]
fn metrics_count_a_known_mix_of_requests_exactly() {
    let dir = TestDir::new("metrics-mix");
    let config = two_workers(&dir);
    let server = Server::start(&config, &["--threads", "1", "--admin", "127.0.0.1:0"]);
    let admin = admin_port(&server);

    for (path, status, times) in [("/ok", 200, 7), ("/nope", 404, 3), ("/throw", 500, 2), ("/call", 200, 4)] {
        for _ in 0..times {
            assert_eq!(server.get(path).status, status, "{path}: {}", server.stderr());
        }
    }
    assert_eq!(server.get("/refused").text(), "refused", "{}", server.stderr());
    assert_eq!(server.get("/burn").status, 200);

    let response = get(admin, "/metrics");
    assert_eq!(response.status, 200);
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let s = samples(&text);
    let requests = |service, status| sample(&s, "nanod_requests_total", &[("service", service), ("status", status)]);
    // A: 7 + 4 calls + /refused + /burn answered 200, 3 × 404, 2 exceptions (500).
    assert_eq!(requests("A", "2xx"), 13.0, "{text}");
    assert_eq!(requests("A", "4xx"), 3.0, "{text}");
    assert_eq!(requests("A", "5xx"), 2.0, "{text}");
    assert_eq!(requests("A", "1xx") + requests("A", "3xx"), 0.0, "{text}");
    assert_eq!(sample(&s, "nanod_request_errors_total", &[("service", "A")]), 2.0, "{text}");
    assert_eq!(sample(&s, "nanod_request_duration_seconds_count", &[("service", "A")]), 18.0, "{text}");
    assert_eq!(
        sample(&s, "nanod_request_duration_seconds_bucket", &[("service", "A"), ("le", "+Inf")]),
        18.0,
        "{text}"
    );
    // B: only the 4 calls through A's binding.
    assert_eq!(requests("B", "2xx"), 4.0, "{text}");
    assert_eq!(sample(&s, "nanod_request_errors_total", &[("service", "B")]), 0.0, "{text}");
    assert_eq!(sample(&s, "nanod_request_duration_seconds_count", &[("service", "B")]), 4.0, "{text}");
    assert_eq!(
        sample(&s, "nanod_binding_calls_total", &[("caller", "A"), ("binding", "B"), ("callee", "B")]),
        4.0,
        "{text}"
    );
    // The refused fetch went through A's globalOutbound to `internet`, which refused it.
    assert_eq!(
        sample(
            &s,
            "nanod_binding_calls_total",
            &[("caller", "A"), ("binding", "globalOutbound"), ("callee", "internet")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(&s, "nanod_outbound_fetches_total", &[("service", "internet"), ("caller", "A"), ("outcome", "refused")]),
        1.0,
        "{text}"
    );
    assert_eq!(requests("internet", "5xx"), 1.0, "the refusal is an exception of `internet`: {text}");
    // One thread: one isolate of each Worker, with a heap, and A ran JS.
    assert_eq!(sample(&s, "nanod_isolates", &[("service", "A")]), 1.0, "{text}");
    assert_eq!(sample(&s, "nanod_isolates", &[("service", "B")]), 1.0, "{text}");
    assert!(sample(&s, "nanod_isolate_heap_bytes", &[("service", "A")]) > 100_000.0, "{text}");
    let cpu = sample(&s, "nanod_js_cpu_seconds_total", &[("service", "A")]);
    assert!(cpu > 0.0, "{text}");

    // A second scrape sees nothing new but the JS time, which never goes back.
    assert_eq!(server.get("/ok").status, 200);
    let again = samples(&get(admin, "/metrics").text());
    assert_eq!(sample(&again, "nanod_requests_total", &[("service", "A"), ("status", "2xx")]), 14.0);
    assert!(sample(&again, "nanod_js_cpu_seconds_total", &[("service", "A")]) >= cpu);

    let health = get(admin, "/healthz");
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
    assert_eq!(get(admin, "/readyz").status, 200);
    assert_eq!(get(admin, "/nope").status, 404);
    assert_eq!(Conn::open(admin).request("POST", "/metrics", &[], Some(b"x")).status, 404);
}

#[test]
fn readyz_turns_503_while_draining() {
    let dir = TestDir::new("metrics-drain");
    let config = two_workers(&dir);
    let server = Server::start(&config, &["--threads", "1", "--admin", "127.0.0.1:0"]);
    let admin = admin_port(&server);
    assert_eq!(get(admin, "/readyz").status, 200);

    // A request in flight keeps the drain (and the process) going for a while.
    let mut slow = server.connect();
    slow.write_raw(b"GET /slow HTTP/1.1\r\nHost: example.com\r\n\r\n");
    std::thread::sleep(Duration::from_millis(200));
    let status = std::process::Command::new("kill").arg("-TERM").arg(server.pid().to_string()).status();
    assert!(status.is_ok_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut ready = get(admin, "/readyz");
    while ready.status != 503 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        ready = get(admin, "/readyz");
    }
    assert_eq!((ready.status, ready.text().as_str()), (503, "not ready\n"), "{}", server.stderr());
    assert_eq!(get(admin, "/healthz").status, 200, "alive while draining");
    assert_eq!(slow.read_response(false).text(), "slow");
}

#[test]
fn no_admin_socket_without_the_flag() {
    let dir = TestDir::new("metrics-off");
    let config = two_workers(&dir);
    let server = Server::start(&config, &["--threads", "1"]);
    assert_eq!(server.get("/ok").status, 200);
    // The admin routes are nowhere: the socket's Worker answers them.
    assert_eq!(server.get("/metrics").text(), "no such page");
    assert_eq!(server.get("/healthz").status, 404);
    assert!(!server.stderr().contains("admin listening"), "{}", server.stderr());
}

#[test]
fn json_logs_are_one_object_a_line_and_the_request_id_crosses_bindings() {
    let dir = TestDir::new("metrics-json-logs");
    let config = two_workers(&dir);
    let server = Server::start(&config, &["--threads", "1", "--log-format", "json"]);
    let mix = [("/ok", 200), ("/call", 200), ("/nope", 404), ("/throw", 500)];
    for (path, status) in mix {
        assert_eq!(server.get(path).status, status, "{path}");
    }
    // Access lines are written as responses go out; wait for the last one.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut lines: Vec<serde_json::Value>;
    loop {
        let log = server.stderr();
        lines = log
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{log}")))
            .collect();
        let access = lines.iter().filter(|l| l["target"] == "nanod::access").count();
        if access == mix.len() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let access: Vec<&serde_json::Value> = lines.iter().filter(|l| l["target"] == "nanod::access").collect();
    assert_eq!(access.len(), mix.len(), "{lines:#?}");
    for ((path, status), line) in mix.iter().zip(&access) {
        assert_eq!(line["service"], "A", "{line}");
        assert_eq!(line["method"], "GET", "{line}");
        assert_eq!(line["path"], *path, "{line}");
        assert_eq!(line["status"], *status, "{line}");
        assert!(line["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
        assert!(line["time"].is_string() && line["level"] == "info", "{line}");
        assert_eq!(line["request_id"].as_str().map(str::len), Some(16), "{line}");
    }
    let ids: std::collections::HashSet<&str> = access.iter().filter_map(|l| l["request_id"].as_str()).collect();
    assert_eq!(ids.len(), mix.len(), "request ids are distinct: {access:#?}");

    let call_id = access[1]["request_id"].as_str().unwrap_or_default();
    let console = |service: &str, message: &str| {
        lines
            .iter()
            .find(|l| l["target"] == "nanod::console" && l["service"] == service && l["message"] == message)
            .unwrap_or_else(|| panic!("no console line {service}: {message} in {lines:#?}"))
    };
    let caller = console("A", "A calls B");
    assert_eq!(caller["request_id"], call_id, "{caller}");
    assert_eq!(caller["level"], "info");
    let callee = console("B", "B answers");
    assert_eq!(callee["request_id"], call_id, "the callee's console line has the caller's id: {callee}");

    let thrown = lines
        .iter()
        .find(|l| l["message"].as_str().is_some_and(|m| m.starts_with("A: Uncaught Error: thrown on purpose")))
        .unwrap_or_else(|| panic!("no Uncaught line in {lines:#?}"));
    assert_eq!(thrown["level"], "error");
    assert_eq!(thrown["request_id"], access[3]["request_id"], "{thrown}");
}

#[test]
fn pretty_access_lines_and_console_lines_carry_the_request_id() {
    let dir = TestDir::new("metrics-pretty-logs");
    let config = two_workers(&dir);
    let server = Server::start(&config, &["--threads", "1"]);
    assert_eq!(server.get("/call").status, 200);
    let log = server.wait_for_stderr(" GET /call 200 ");
    let access = log.lines().find(|l| l.contains(" GET /call 200 ")).unwrap_or_default();
    // `A [req 0123456789abcdef]: GET /call 200 0.123ms`
    let id = access.strip_prefix("A [req ").and_then(|rest| rest.split_once("]: ")).map(|(id, _)| id);
    let id = id.unwrap_or_else(|| panic!("bad access line {access:?}\n{log}"));
    assert_eq!(id.len(), 16, "{access}");
    assert!(access.ends_with("ms"), "{access}");
    assert!(log.contains(&format!("A [req {id}]: A calls B\n")), "{log}");
    assert!(log.contains(&format!("B [req {id}]: B answers\n")), "{log}");

    let quiet = Server::start(&config, &["--threads", "1", "--access-log", "off"]);
    assert_eq!(quiet.get("/call").status, 200);
    quiet.wait_for_stderr("B answers");
    assert!(!quiet.stderr().contains(" GET /call "), "{}", quiet.stderr());
}

/// Worker `flaky` (socket `http`) with `cpuMs = 50`: `/spin` loops until the CPU limit stops
/// it; `/bomb` goes to Worker `bomb` (`memoryMb = 32`, no CPU limit to hit first), which
/// allocates until the heap limit stops it.
fn limited_worker(dir: &TestDir) -> std::path::PathBuf {
    dir.write(
        "flaky.js",
        r#"export default { fetch(request, env) {
  const path = new URL(request.url).pathname;
  if (path === "/spin") for (;;) {}
  if (path === "/bomb") return env.BOMB.fetch(request);
  return new Response("ok");
} };"#,
    );
    dir.write(
        "bomb.js",
        r#"export default { fetch() { const a = []; while (true) a.push(new Array(1e6).fill(1)); } };"#,
    );
    dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "flaky", worker = (modules = [(name = "flaky.js", esModule = embed "flaky.js")],
                               compatibilityDate = "2024-09-01", limits = (cpuMs = 50),
                               bindings = [(name = "BOMB", service = "bomb")])),
    (name = "bomb", worker = (modules = [(name = "bomb.js", esModule = embed "bomb.js")],
                              compatibilityDate = "2024-09-01", limits = (memoryMb = 32))),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "flaky")],
);"#,
    )
}

/// The request id of the pretty access line `NAME [req ID]: GET path ...` in `log`.
fn access_id<'a>(log: &'a str, service: &str, path: &str) -> &'a str {
    let tail = format!("]: GET {path} ");
    let prefix = format!("{service} [req ");
    log.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()).filter(|rest| rest.contains(&tail)))
        .and_then(|rest| rest.split_once("]: ").map(|(id, _)| id))
        .unwrap_or_else(|| panic!("no access line for {path} in\n{log}"))
}

#[test]
fn a_cpu_bomb_shows_in_js_time_and_limit_lines_carry_the_request_id() {
    let dir = TestDir::new("metrics-cpu-bomb");
    let config = limited_worker(&dir);
    let server = Server::start(&config, &["--threads", "1", "--admin", "127.0.0.1:0"]);
    let admin = admin_port(&server);

    // Each spin runs ~50 ms before its isolate is condemned and dropped, well within the
    // fold interval: only the isolate's clock, read after it is gone, has that time.
    let spins = 5;
    for _ in 0..spins {
        assert_eq!(server.get("/spin").status, 503, "{}", server.stderr());
    }
    let text = get(admin, "/metrics").text();
    let s = samples(&text);
    assert_eq!(sample(&s, "nanod_limit_exceeded_total", &[("service", "flaky"), ("limit", "cpu")]), 5.0, "{text}");
    let cpu = sample(&s, "nanod_js_cpu_seconds_total", &[("service", "flaky")]);
    assert!(cpu >= f64::from(spins) * 0.04, "{spins} CPU bombs of 50 ms ran {cpu} s of JS:\n{text}");
    assert_eq!(server.get("/").text(), "ok", "a fresh isolate answers");

    // Pretty lines: the limit is said once, and the request id ends the first line.
    let log = server.wait_for_stderr(" GET /spin 503 ");
    let id = access_id(&log, "flaky", "/spin");
    let limit_line =
        format!("flaky: limit exceeded (cpu): Worker \"flaky\" exceeded its CPU time limit of 50 ms [req {id}]\n");
    assert!(log.contains(&limit_line), "no {limit_line:?} in\n{log}");
    assert!(log.contains(&format!("flaky: isolate discarded: it broke its cpu limit [req {id}]\n")), "{log}");
    assert!(!log.contains("limit=cpu"), "{log}");

    // A heap found exhausted after the call (outside any entry) names its request too: the
    // socket request's, which the binding carried to `bomb`.
    assert_ne!(server.get("/bomb").status, 200, "{}", server.stderr());
    let log = server.wait_for_stderr(" GET /bomb ");
    let id = access_id(&log, "flaky", "/bomb");
    assert!(log.contains(&format!("bomb: isolate discarded: it broke its memory limit [req {id}]\n")), "{log}");
}

#[test]
fn json_limit_lines_keep_the_limit_and_the_request_id() {
    let dir = TestDir::new("metrics-cpu-json");
    let config = limited_worker(&dir);
    let server = Server::start(&config, &["--threads", "1", "--log-format", "json"]);
    assert_eq!(server.get("/spin").status, 503);
    let log = server.wait_for_stderr("\"target\":\"nanod::access\"");
    let lines: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let find = |start: &str| {
        lines
            .iter()
            .find(|l| l["message"].as_str().is_some_and(|m| m.starts_with(start)))
            .unwrap_or_else(|| panic!("no {start:?} line in {lines:#?}"))
    };
    let access = lines.iter().find(|l| l["target"] == "nanod::access").unwrap_or_else(|| panic!("{log}"));
    for line in [find("flaky: limit exceeded (cpu)"), find("flaky: isolate discarded")] {
        assert_eq!(line["limit"], "cpu", "{line}");
        assert_eq!(line["service"], "flaky", "{line}");
        assert_eq!(line["request_id"], access["request_id"], "{line}");
    }
}

/// Worker `front` (socket `http`) calls `callee` by RPC (`API`), with a 100 ms timeout
/// (`SLOW`) and with a fallback to `rescue` (`FALLS`).
fn rpc_workers(dir: &TestDir) -> std::path::PathBuf {
    dir.write(
        "front.js",
        r#"export default { async fetch(request, env) {
  const path = new URL(request.url).pathname;
  const show = async (f) => {
    try { return new Response(String(await f())); }
    catch (e) { return new Response(`${e.name}: ${e.message}`, { status: 502 }); }
  };
  if (path === "/rpc-ok") return show(() => env.API.ok());
  if (path === "/rpc-fail") return show(() => env.API.fail());
  if (path === "/timeout") return show(async () => (await env.SLOW.fetch(request)).text());
  if (path === "/fallback") return env.FALLS.fetch(request);
  return new Response("no such page", { status: 404 });
} };"#,
    );
    dir.write(
        "callee.js",
        r#"import { WorkerEntrypoint } from "cloudflare:workers";
export default { async fetch(request) {
  if (new URL(request.url).pathname === "/timeout") {
    await new Promise(resolve => setTimeout(resolve, 1500));
    return new Response("late");
  }
  throw new Error("callee broke");
} };
export class Api extends WorkerEntrypoint {
  ok() { return "rpc ok"; }
  fail() { throw new Error("rpc failed"); }
}"#,
    );
    dir.write("rescue.js", r#"export default { fetch() { return new Response("rescued", { status: 503 }); } };"#);
    dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "front", worker = (modules = [(name = "front.js", esModule = embed "front.js")],
       compatibilityDate = "2024-09-01",
       bindings = [
         (name = "API", service = (name = "callee", entrypoint = "Api")),
         (name = "SLOW", service = (name = "callee", timeoutMs = 100)),
         (name = "FALLS", service = (name = "callee", fallback = "rescue")),
       ])),
    (name = "callee", worker = (modules = [(name = "callee.js", esModule = embed "callee.js")],
                                compatibilityDate = "2024-09-01")),
    (name = "rescue", worker = (modules = [(name = "rescue.js", esModule = embed "rescue.js")],
                                compatibilityDate = "2024-09-01")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "front")],
);"#,
    )
}

#[test]
fn rpc_and_timed_out_calls_count_as_requests_of_the_callee() {
    let dir = TestDir::new("metrics-rpc");
    let config = rpc_workers(&dir);
    let server = Server::start(&config, &["--threads", "1", "--admin", "127.0.0.1:0"]);
    let admin = admin_port(&server);

    for _ in 0..3 {
        assert_eq!(server.get("/rpc-ok").text(), "rpc ok");
    }
    for _ in 0..2 {
        assert_eq!(server.get("/rpc-fail").text(), "Error: rpc failed");
    }
    let timed_out = server.get("/timeout");
    assert_eq!(timed_out.status, 502);
    assert!(timed_out.text().contains("did not answer within 100 ms"), "{}", timed_out.text());
    let rescued = server.get("/fallback");
    assert_eq!((rescued.status, rescued.text().as_str()), (503, "rescued"));

    let text = get(admin, "/metrics").text();
    let s = samples(&text);
    let requests = |service, status| sample(&s, "nanod_requests_total", &[("service", service), ("status", status)]);
    // callee: 3 RPC results; 2 RPC exceptions, 1 call cut off, 1 fetch that threw.
    assert_eq!(requests("callee", "2xx"), 3.0, "{text}");
    assert_eq!(requests("callee", "5xx"), 4.0, "{text}");
    assert_eq!(sample(&s, "nanod_request_errors_total", &[("service", "callee")]), 4.0, "{text}");
    assert_eq!(sample(&s, "nanod_request_duration_seconds_count", &[("service", "callee")]), 7.0, "{text}");
    // The cut-off call took its whole timeout: the only one of callee's over 50 ms.
    assert_eq!(
        sample(&s, "nanod_request_duration_seconds_bucket", &[("service", "callee"), ("le", "0.05")]),
        6.0,
        "{text}"
    );
    let binding = |name| [("caller", "front"), ("binding", name), ("callee", "callee")];
    assert_eq!(sample(&s, "nanod_binding_calls_total", &binding("API")), 5.0, "{text}");
    assert_eq!(sample(&s, "nanod_binding_timeouts_total", &binding("SLOW")), 1.0, "{text}");
    assert_eq!(sample(&s, "nanod_binding_timeouts_total", &binding("FALLS")), 0.0, "{text}");
    let fallback = [("caller", "front"), ("binding", "FALLS"), ("callee", "rescue"), ("reason", "exception")];
    assert_eq!(sample(&s, "nanod_binding_fallbacks_total", &fallback), 1.0, "{text}");
    assert_eq!(requests("rescue", "5xx"), 1.0, "{text}");
    assert_eq!(sample(&s, "nanod_request_errors_total", &[("service", "rescue")]), 0.0, "{text}");
    assert_eq!(requests("front", "2xx") + requests("front", "5xx"), 7.0, "{text}");

    // Series in label order, and the same order on the next scrape.
    let series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("nanod_requests_total{"))
            .map(|l| l.rsplit_once(' ').map_or(l, |(series, _)| series).to_owned())
            .collect()
    };
    let first = series(&text);
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(first, sorted, "{text}");
    assert_eq!(first.len(), 15, "5 classes × front, callee, rescue: {text}");
    assert_eq!(series(&get(admin, "/metrics").text()), first);

    // The fallback's log line has the request id of the socket request it happened in.
    let log = server.wait_for_stderr(" GET /fallback 503 ");
    let id = access_id(&log, "front", "/fallback");
    let line = format!(
        "front: binding FALLS: \"rescue\" answers for service \"callee\", which threw Error: callee broke [req {id}]"
    );
    assert!(log.contains(&line), "no {line:?} in\n{log}");
}
