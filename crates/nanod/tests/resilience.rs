//! Per-binding resilience through the real binary: a service binding's (or globalOutbound's)
//! `timeoutMs` and `fallback` (nanod extensions). A target that throws, is too slow, or breaks
//! its CPU limit is answered by the fallback, which sees why in `nanod-fallback-*` headers and
//! gets the original method, URL, headers and body; fallbacks chain; RPC falls back too; a
//! timeout without a fallback is an error; a binding with neither behaves as before; a bad
//! fallback name stops start-up with `file:line:col`. Also `examples/resilience`.

mod support;

use std::time::{Duration, Instant};

use support::{example, nanod, Server, TestDir};

const MAIN_JS: &str = r#"
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const show = async (f) => {
      try { return await f(); } catch (e) { return new Response(`${e.name}: ${e.message}`, { status: 502 }); }
    };
    switch (url.pathname) {
      case "/throws": return show(() => env.THROWS.fetch(request));
      case "/slow": return show(() => env.SLOW.fetch(request));
      case "/slow-bare": return show(() => env.SLOW_BARE.fetch(request));
      case "/cpu": return show(() => env.CPU.fetch(request));
      case "/chain": return show(() => env.CHAIN.fetch(request));
      case "/plain": return show(() => env.PLAIN.fetch(request));
      case "/plain-throws": return show(() => env.PLAIN_THROWS.fetch(request));
      case "/global": return show(() => fetch("http://upstream.example/g?x=1", { method: "PUT", body: "put body" }));
      case "/rpc": {
        const out = [];
        for (const args of [[1, 2], [-1, 2]]) {
          try { out.push(await env.RPC.add(...args)); } catch (e) { out.push(`${e.name}: ${e.message}`); }
        }
        try { out.push(await env.RPC_SLOW.add(1, 2)); } catch (e) { out.push(`${e.name}: ${e.message}`); }
        try { out.push(await env.RPC_SLOW_BARE.add(1, 2)); } catch (e) { out.push(`${e.name}: ${e.message}`); }
        try { out.push(await env.RPC_PLAIN.add(-1, 2)); } catch (e) { out.push(`${e.name}: ${e.message}`); }
        return new Response(out.join("\n"));
      }
    }
    return new Response("no route", { status: 404 });
  },
};
"#;

/// Answers with everything it was sent, as JSON.
const HANDLER_JS: &str = r#"
import { WorkerEntrypoint } from "cloudflare:workers";
export default {
  async fetch(request) {
    const h = (n) => request.headers.get(n);
    return new Response(JSON.stringify({
      reason: h("nanod-fallback-reason"), from: h("nanod-fallback-from"), limit: h("nanod-fallback-limit"),
      method: request.method, url: request.url, custom: h("x-custom"), length: h("content-length"),
      body: await request.text(),
    }), { status: 503, headers: { "content-type": "application/json" } });
  },
};
export class Api extends WorkerEntrypoint {
  add(a, b) { return "fallback " + (a + b); }
}
"#;

const THROWER_JS: &str = r#"
import { WorkerEntrypoint } from "cloudflare:workers";
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.searchParams.has("read")) await request.text();
    if (url.searchParams.has("ok")) return new Response("thrower ok");
    throw new Error("boom");
  },
};
export class Api extends WorkerEntrypoint {
  add(a, b) { if (a < 0) throw new RangeError("negative"); return "primary " + (a + b); }
}
"#;

const SLOW_JS: &str = r#"
import { WorkerEntrypoint } from "cloudflare:workers";
const later = () => new Promise((resolve) => setTimeout(resolve, 2000));
export default {
  async fetch() { await later(); return new Response("slow answered"); },
};
export class Api extends WorkerEntrypoint {
  async add(a, b) { await later(); return a + b; }
}
"#;

const BURNER_JS: &str = "export default { fetch() { for (;;) {} } };";

const ECHO_JS: &str = r#"
export default {
  async fetch(request) {
    return new Response(`echo ${request.method} ${request.url} ${request.headers.get("nanod-fallback-reason")} ${await request.text()}`);
  },
};
"#;

fn config(dir: &TestDir) -> std::path::PathBuf {
    for (name, source) in [
        ("main.js", MAIN_JS),
        ("handler.js", HANDLER_JS),
        ("thrower.js", THROWER_JS),
        ("slow.js", SLOW_JS),
        ("burner.js", BURNER_JS),
        ("echo.js", ECHO_JS),
    ] {
        dir.write(name, source);
    }
    dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [(name = "main.js", esModule = embed "main.js")],
      compatibilityDate = "2024-09-01",
      globalOutbound = (name = "thrower", fallback = "handler"),
      bindings = [
        (name = "THROWS", service = (name = "thrower", fallback = "handler")),
        (name = "SLOW", service = (name = "slow", timeoutMs = 100, fallback = "handler")),
        (name = "SLOW_BARE", service = (name = "slow", timeoutMs = 100)),
        (name = "CPU", service = (name = "burner", fallback = "handler")),
        (name = "CHAIN", service = (name = "thrower",
                                   fallback = (name = "slow", timeoutMs = 100, fallback = "handler"))),
        (name = "PLAIN", service = "echo"),
        (name = "PLAIN_THROWS", service = "thrower"),
        (name = "RPC", service = (name = "thrower", entrypoint = "Api",
                                 fallback = (name = "handler", entrypoint = "Api"))),
        (name = "RPC_SLOW", service = (name = "slow", entrypoint = "Api", timeoutMs = 100,
                                      fallback = (name = "handler", entrypoint = "Api"))),
        (name = "RPC_SLOW_BARE", service = (name = "slow", entrypoint = "Api", timeoutMs = 100)),
        (name = "RPC_PLAIN", service = (name = "thrower", entrypoint = "Api")),
      ])),
    (name = "handler", worker = (modules = [(name = "handler.js", esModule = embed "handler.js")], compatibilityDate = "2024-09-01")),
    (name = "thrower", worker = (modules = [(name = "thrower.js", esModule = embed "thrower.js")], compatibilityDate = "2024-09-01")),
    (name = "slow", worker = (modules = [(name = "slow.js", esModule = embed "slow.js")], compatibilityDate = "2024-09-01")),
    (name = "burner", worker = (modules = [(name = "burner.js", esModule = embed "burner.js")], compatibilityDate = "2024-09-01",
                                limits = (cpuMs = 50))),
    (name = "echo", worker = (modules = [(name = "echo.js", esModule = embed "echo.js")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);"#,
    )
}

fn start(name: &str) -> (TestDir, Server) {
    let dir = TestDir::new(name);
    let path = config(&dir);
    let server = Server::start(&path, &["--threads", "1"]);
    (dir, server)
}

/// A JSON string field of the handler's answer (`null` → `None`), without a JSON parser.
fn field(json: &str, name: &str) -> Option<String> {
    let rest = json.split_once(&format!("\"{name}\":"))?.1;
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

#[test]
fn a_target_that_throws_is_answered_by_the_fallback_with_the_original_request() {
    let (_dir, server) = start("res-throws");
    // The target never read the streamed body: the fallback gets all of it.
    let response = server.request("POST", "/throws?a=1", &[("X-Custom", "kept")], Some(b"hello body"));
    assert_eq!(response.status, 503, "{}\n{}", response.text(), server.stderr());
    let json = response.text();
    assert_eq!(field(&json, "reason").as_deref(), Some("exception"), "{json}");
    assert_eq!(field(&json, "from").as_deref(), Some("thrower"), "{json}");
    assert_eq!(field(&json, "limit"), None, "{json}");
    assert_eq!(field(&json, "method").as_deref(), Some("POST"), "{json}");
    assert_eq!(field(&json, "url").as_deref(), Some("http://example.com/throws?a=1"), "{json}");
    assert_eq!(field(&json, "custom").as_deref(), Some("kept"), "{json}");
    assert_eq!(field(&json, "length").as_deref(), Some("10"), "{json}");
    assert_eq!(field(&json, "body").as_deref(), Some("hello body"), "{json}");

    // The target read the whole body before throwing: the fallback still gets it.
    let response = server.request("POST", "/throws?read", &[], Some(b"read then thrown"));
    assert_eq!(field(&response.text(), "body").as_deref(), Some("read then thrown"), "{}", response.text());

    // A target that answers is not second-guessed.
    let response = server.request("POST", "/throws?read&ok", &[], Some(b"fine"));
    assert_eq!((response.status, response.text().as_str()), (200, "thrower ok"));

    let log = server.wait_for_stderr("binding THROWS");
    assert!(
        log.contains("main: binding THROWS: \"handler\" answers for service \"thrower\", which threw Error: boom"),
        "{log}"
    );
}

#[test]
fn a_slow_target_is_answered_by_the_fallback_after_its_timeout() {
    let (_dir, server) = start("res-slow");
    let started = Instant::now();
    let response = server.get("/slow");
    let elapsed = started.elapsed();
    assert_eq!(response.status, 503, "{}", response.text());
    let json = response.text();
    assert_eq!(field(&json, "reason").as_deref(), Some("timeout"), "{json}");
    assert_eq!(field(&json, "from").as_deref(), Some("slow"), "{json}");
    // The target would take 2 s; the 100 ms timeout hands over well before that.
    assert!(elapsed < Duration::from_millis(1500), "the fallback answered after {elapsed:?}");
}

#[test]
fn a_timeout_without_a_fallback_fails_the_call() {
    let (_dir, server) = start("res-bare");
    let started = Instant::now();
    let response = server.get("/slow-bare");
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    assert_eq!(response.status, 502);
    assert_eq!(response.text(), "Error: service \"slow\" did not answer within 100 ms");
}

#[test]
fn a_target_over_its_cpu_limit_is_answered_by_the_fallback() {
    let (_dir, server) = start("res-cpu");
    let response = server.get("/cpu");
    let json = response.text();
    assert_eq!(response.status, 503, "{json}\n{}", server.stderr());
    assert_eq!(field(&json, "reason").as_deref(), Some("limit"), "{json}");
    assert_eq!(field(&json, "limit").as_deref(), Some("cpu"), "{json}");
    assert_eq!(field(&json, "from").as_deref(), Some("burner"), "{json}");
    // The burner's isolate was discarded; the next call breaks the limit again, and is answered again.
    assert_eq!(field(&server.get("/cpu").text(), "reason").as_deref(), Some("limit"));
}

#[test]
fn fallbacks_chain_each_hearing_about_the_step_before() {
    let (_dir, server) = start("res-chain");
    // thrower throws → slow (timeoutMs = 100) times out → handler answers.
    let response = server.request("POST", "/chain", &[], Some(b"chained"));
    let json = response.text();
    assert_eq!(response.status, 503, "{json}");
    assert_eq!(field(&json, "reason").as_deref(), Some("timeout"), "{json}");
    assert_eq!(field(&json, "from").as_deref(), Some("slow"), "{json}");
    assert_eq!(field(&json, "body").as_deref(), Some("chained"), "{json}");
    let log = server.wait_for_stderr("which did not answer within 100 ms");
    assert!(log.contains("main: binding CHAIN: \"slow\" answers for service \"thrower\", which threw"), "{log}");
    assert!(log.contains("main: binding CHAIN: \"handler\" answers for service \"slow\", which did not"), "{log}");
}

#[test]
fn the_global_fetch_falls_back_when_its_global_outbound_has_a_fallback() {
    let (_dir, server) = start("res-global");
    let response = server.get("/global");
    let json = response.text();
    assert_eq!(response.status, 503, "{json}");
    assert_eq!(field(&json, "reason").as_deref(), Some("exception"), "{json}");
    assert_eq!(field(&json, "from").as_deref(), Some("thrower"), "{json}");
    assert_eq!(field(&json, "method").as_deref(), Some("PUT"), "{json}");
    assert_eq!(field(&json, "url").as_deref(), Some("http://upstream.example/g?x=1"), "{json}");
    assert_eq!(field(&json, "body").as_deref(), Some("put body"), "{json}");
    assert!(server.wait_for_stderr("binding globalOutbound").contains("main: binding globalOutbound: \"handler\""));
}

#[test]
fn rpc_through_a_binding_falls_back_on_a_throw_and_on_a_timeout() {
    let (_dir, server) = start("res-rpc");
    let response = server.get("/rpc");
    assert_eq!(response.status, 200, "{}", server.stderr());
    assert_eq!(
        response.text(),
        [
            "primary 3",
            "fallback 1",
            "fallback 3",
            "Error: service \"slow\" did not answer within 100 ms",
            // Without a fallback the exception reaches the caller as before.
            "RangeError: negative",
        ]
        .join("\n")
    );
}

#[test]
fn a_binding_without_timeout_or_fallback_behaves_as_before() {
    let (_dir, server) = start("res-plain");
    let response = server.request("POST", "/plain", &[], Some(b"as before"));
    assert_eq!(response.text(), "echo POST http://example.com/plain null as before");
    // Its target's exception reaches the caller.
    let response = server.get("/plain-throws");
    assert_eq!((response.status, response.text().as_str()), (502, "Error: boom"));
    assert!(!server.stderr().contains("answers for service"), "{}", server.stderr());
}

#[test]
fn a_bad_fallback_name_stops_start_up_at_its_position() {
    let dir = TestDir::new("res-bad");
    let path = dir.write(
        "c.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = (modules = [(name = "w.js", esModule = "export default {}")], compatibilityDate = "2024-09-01",
    bindings = [(name = "API", service = (name = "main", timeoutMs = 5, fallback = "main-fallbak"))]))],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
"#,
    );
    let output = nanod().arg("serve").arg(&path).current_dir(&dir.0).output().expect("run nanod");
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&format!("{}/", dir.0.display()), "");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim(), "c.capnp:4:84: the fallback of binding 'API' refers to undefined service 'main-fallbak'");
}

#[test]
fn a_fallback_with_a_missing_entrypoint_stops_start_up() {
    let dir = TestDir::new("res-bad-entry");
    dir.write("w.js", "export default { fetch() { return new Response('x'); } };");
    let path = dir.write(
        "c.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2024-09-01",
      bindings = [(name = "API", service = (name = "other", fallback = (name = "other2", entrypoint = "Nope")))])),
    (name = "other", worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2024-09-01")),
    (name = "other2", worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
"#,
    );
    let output = nanod().arg("serve").arg(&path).current_dir(&dir.0).output().expect("run nanod");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "Worker \"main\"'s binding \"API\"'s fallback refers to service \"other2\" with a named entrypoint \"Nope\", but \"other2\" has no such named entrypoint."
        ),
        "{stderr}"
    );
}

#[test]
fn a_toml_binding_with_a_timeout_and_a_fallback() {
    let dir = TestDir::new("res-toml");
    dir.write("main.js", "export default { fetch(request, env) { return env.API.fetch(request); } };");
    dir.write("slow.js", SLOW_JS);
    dir.write("handler.js", HANDLER_JS);
    let path = dir.write(
        "nanod.toml",
        r#"
[[socket]]
name = "http"
address = "127.0.0.1:0"
service = "main"

[service.main]
compatibility_date = "2024-09-01"
modules = ["main.js"]

[service.main.bindings]
API = { service = { name = "slow", timeout_ms = 100, fallback = "handler" } }

[service.slow]
compatibility_date = "2024-09-01"
modules = ["slow.js"]

[service.handler]
compatibility_date = "2024-09-01"
modules = ["handler.js"]
"#,
    );
    let server = Server::start(&path, &["--threads", "1"]);
    let json = server.get("/t").text();
    assert_eq!(field(&json, "reason").as_deref(), Some("timeout"), "{json}");
    assert_eq!(field(&json, "from").as_deref(), Some("slow"), "{json}");
}

#[test]
fn the_resilience_example_answers_for_its_flaky_backend() {
    let server = Server::start(&example("resilience/config.capnp"), &["--threads", "1"]);
    let ok = server.get("/api/ok");
    assert_eq!((ok.status, ok.text().as_str()), (200, "flaky: ok\n"));
    for (path, reason) in [("/api/fail", "exception"), ("/api/slow", "timeout"), ("/api/spin", "limit (cpu)")] {
        let response = server.get(path);
        assert_eq!(response.status, 503, "{path}: {}", response.text());
        assert_eq!(response.header("retry-after"), Some("1"));
        assert_eq!(
            response.text(),
            format!("{{\"error\":\"service unavailable\",\"reason\":\"{reason}\",\"from\":\"flaky\",\"path\":\"{path}\"}}\n")
        );
    }
    assert_eq!(server.get("/quote").text(), "flaky: simplicity is prerequisite for reliability\n");
    assert_eq!(server.get("/quote?fail").text(), "errors: no quote right now, try again later\n");
}
