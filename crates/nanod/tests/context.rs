//! The Worker context through the real binary: `ctx.waitUntil` (the response is not delayed,
//! the work finishes afterwards, may call a service binding, a rejection is only logged),
//! `ctx.passThroughOnException()` (a failing request falls through to `globalOutbound`, as in
//! workerd) and `scheduled()` through `serve --test-scheduled`'s `/__scheduled?cron=...`.

mod support;

use std::time::{Duration, Instant};

use support::{Server, TestDir};

const MAIN: &str = r#"
let done = [];
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/slow":
        ctx.waitUntil(new Promise((resolve) => setTimeout(() => { done.push("slow"); resolve(); }, 300)));
        return new Response("sent");
      case "/binding":
        ctx.waitUntil(env.LOG.fetch("http://log/record?what=from-waitUntil").then((r) => r.text()).then((t) => done.push(t)));
        return new Response("sent");
      case "/reject":
        ctx.waitUntil(Promise.reject(new Error("waitUntil went wrong")));
        return new Response("sent");
      case "/done":
        return new Response(done.join(","));
      case "/log":
        return env.LOG.fetch("http://log/list");
      case "/pt":
        ctx.passThroughOnException();
        throw new Error("pass me through");
      case "/pt-read":
        ctx.passThroughOnException();
        await request.text();
        throw new Error("pass me through");
      case "/pt-ok":
        ctx.passThroughOnException();
        return new Response("handled");
      case "/no-pt":
        throw new Error("no pass-through");
    }
    return new Response("fetch " + url.pathname);
  },
  async scheduled(controller, env, ctx) {
    if (controller.cron === "fail") throw new Error("scheduled failed");
    controller.noRetry();
    done.push(`cron=${controller.cron};time=${typeof controller.scheduledTime};recent=${Math.abs(Date.now() - controller.scheduledTime) < 60000}`);
    ctx.waitUntil(env.LOG.fetch("http://log/record?what=from-scheduled"));
  },
};
"#;

const LOG: &str = r#"
const seen = [];
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/record") { seen.push(url.searchParams.get("what")); return new Response("recorded"); }
    return new Response(seen.join(","));
  },
};
"#;

const UPSTREAM: &str = r#"
export default {
  async fetch(request) {
    return new Response(`upstream ${request.method} ${new URL(request.url).pathname} body=${await request.text()} x=${request.headers.get("x-a")}`, { status: 201 });
  },
};
"#;

fn config(dir: &TestDir) -> std::path::PathBuf {
    dir.write("main.js", MAIN);
    dir.write("log.js", LOG);
    dir.write("up.js", UPSTREAM);
    dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "main.js", esModule = embed "main.js")], compatibilityDate = "2024-09-01",
      bindings = [(name = "LOG", service = "log")], globalOutbound = "up")),
    (name = "log", worker = (modules = [(name = "log.js", esModule = embed "log.js")], compatibilityDate = "2024-09-01")),
    (name = "up", worker = (modules = [(name = "up.js", esModule = embed "up.js")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);"#,
    )
}

/// Polls `path` until its body is `want` (the work runs after the response).
fn eventually(server: &Server, path: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = server.get(path).text();
        if got == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn wait_until_does_not_delay_the_response_and_its_effect_is_visible_later() {
    let dir = TestDir::new("ctx-slow");
    let server = Server::start(&config(&dir), &["--threads", "1"]);
    server.get("/warm-up");
    let started = Instant::now();
    let response = server.get("/slow");
    let elapsed = started.elapsed();
    assert_eq!((response.status, response.text().as_str()), (200, "sent"));
    assert!(elapsed < Duration::from_millis(150), "the response waited for waitUntil: {elapsed:?}");
    // Not finished yet right after the response...
    assert_eq!(server.get("/done").text(), "");
    // ...and visible to a later request once the 300 ms are up.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(eventually(&server, "/done", "slow"), "slow");
    eprintln!("response with a 300 ms waitUntil took {elapsed:?}");
}

#[test]
fn wait_until_may_call_a_service_binding() {
    let dir = TestDir::new("ctx-binding");
    let server = Server::start(&config(&dir), &["--threads", "1"]);
    assert_eq!(server.get("/binding").text(), "sent");
    assert_eq!(eventually(&server, "/log", "from-waitUntil"), "from-waitUntil");
    assert_eq!(eventually(&server, "/done", "recorded"), "recorded");
}

#[test]
fn a_rejected_wait_until_is_logged_and_harmless() {
    let dir = TestDir::new("ctx-reject");
    let server = Server::start(&config(&dir), &["--threads", "1"]);
    let response = server.get("/reject");
    assert_eq!((response.status, response.text().as_str()), (200, "sent"));
    let log = server.wait_for_stderr("waitUntil went wrong");
    assert!(log.contains("main: Uncaught (in waitUntil) Error: waitUntil went wrong"), "{log}");
    let next = server.get("/after");
    assert_eq!((next.status, next.text().as_str()), (200, "fetch /after"));
}

#[test]
fn pass_through_on_exception_falls_through_to_global_outbound() {
    let dir = TestDir::new("ctx-pass");
    let server = Server::start(&config(&dir), &["--threads", "1"]);
    // As in workerd: the original request (method, headers, unread body) goes to globalOutbound.
    let through = server.request("POST", "/pt", &[("x-a", "hi")], Some(b"hello"));
    assert_eq!((through.status, through.text().as_str()), (201, "upstream POST /pt body=hello x=hi"));
    // A body the Worker read is gone: workerd sends it empty.
    let read = server.request("POST", "/pt-read", &[("x-a", "hi")], Some(b"hello"));
    assert_eq!((read.status, read.text().as_str()), (201, "upstream POST /pt-read body= x=hi"));
    // A handler that succeeds answers itself; one that never asked fails with a 500.
    assert_eq!(server.get("/pt-ok").text(), "handled");
    assert_eq!(server.get("/no-pt").status, 500);
}

#[test]
fn scheduled_runs_through_the_test_scheduled_endpoint() {
    let dir = TestDir::new("ctx-scheduled");
    let config = config(&dir);
    let server = Server::start(&config, &["--threads", "1", "--test-scheduled"]);
    let ran = server.get("/__scheduled?cron=*%2F5+*+*+*+*");
    assert_eq!((ran.status, ran.text().as_str()), (200, "Ran scheduled event"));
    assert_eq!(ran.header("content-type"), Some("text/plain;charset=UTF-8"));
    assert_eq!(server.get("/done").text(), "cron=*/5 * * * *;time=number;recent=true");
    assert_eq!(eventually(&server, "/log", "from-scheduled"), "from-scheduled");
    assert_eq!(server.get("/__scheduled?cron=fail").status, 500);
    drop(server);

    // Without the option, `/__scheduled` is an ordinary request, as in workerd.
    let plain = Server::start(&config, &["--threads", "1"]);
    assert_eq!(plain.get("/__scheduled?cron=x").text(), "fetch /__scheduled");
}
