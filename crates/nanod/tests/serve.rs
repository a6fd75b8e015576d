//! `nanod serve` end to end: the example, modules, bindings, service-worker syntax, module
//! state, concurrency and failure isolation, all through the real binary on 127.0.0.1.

mod support;

use std::time::{Duration, Instant};

use support::{example, Server, TestDir};

fn check_example(server: &Server) {
    let home = server.get("/");
    assert_eq!(home.status, 200);
    assert_eq!(home.text(), "nanod nanoservices example\nbindings: AUTH, STORAGE, SITE\n");

    let auth = [("authorization", "Bearer demo-token")];
    let put = server.request("PUT", "/data/greeting", &auth, Some(b"hello, nanod"));
    assert_eq!(put.status, 204);
    let got = server.request("GET", "/data/greeting", &auth, None);
    assert_eq!((got.status, got.text().as_str()), (200, "hello, nanod"));
    assert_eq!(got.header("x-stored-by"), Some("demo-user"));

    let denied = server.request("GET", "/data/greeting", &[("authorization", "Bearer wrong")], None);
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("www-authenticate"), Some("Bearer"));
    assert_eq!(server.get("/data/greeting").status, 401);
    assert_eq!(server.request("GET", "/data/missing", &auth, None).status, 404);
    assert_eq!(server.get("/site").text(), r#"{"name":"nanod example","version":1}"#);
}

#[test]
fn example_capnp_serves() {
    // One thread, so the storage Worker's module state is shared by every request.
    let server = Server::start(&example("nanoservices/config.capnp"), &["--threads", "1"]);
    check_example(&server);
}

#[test]
fn example_toml_serves() {
    let server = Server::start(&example("nanoservices/nanod.toml"), &["--threads", "1"]);
    check_example(&server);
}

#[test]
fn example_token_from_environment() {
    let server = Server::start_with_env(
        &example("nanoservices/config.capnp"),
        &["--threads", "1"],
        &[("NANOD_EXAMPLE_TOKEN", "s3cret")],
    );
    assert_eq!(server.request("GET", "/data/k", &[("authorization", "Bearer demo-token")], None).status, 401);
    assert_eq!(server.request("GET", "/data/k", &[("authorization", "Bearer s3cret")], None).status, 404);
}

const MODULES_CONFIG: &str = r#"
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [
        (name = "src/main.js", esModule = embed "src/main.js"),
        (name = "src/lib/util.js", esModule = "import base from '../base.js'; export const twice = (s) => base + s + s;"),
        (name = "src/base.js", esModule = "export default '>';"),
        (name = "data/info.json", json = "{\"list\": [1, 2, 3]}"),
        (name = "data/note.txt", text = "a note"),
        (name = "data/blob.bin", data = 0x"00 01 02 ff"),
      ],
      compatibilityDate = "2024-09-01",
      bindings = [
        (name = "TEXT", text = "some text"),
        (name = "DATA", data = 0x"de ad be ef"),
        (name = "JSON", json = "{\"nested\": {\"ok\": true}}"),
        (name = "OTHER", service = "other"),
        (name = "FROM_ENV", fromEnvironment = "NANOD_TEST_VAR"),
        (name = "MISSING_ENV", fromEnvironment = "NANOD_TEST_UNSET_VAR"),
      ],
    )),
    (name = "other", worker = (
      modules = [(name = "other.js", esModule = "export default { fetch(r) { return new Response('other:' + new URL(r.url).pathname); } };")],
      compatibilityDate = "2024-09-01",
    )),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);
"#;

const MODULES_MAIN: &str = r#"
import { twice } from "./lib/util.js";
import info from "../data/info.json";
import note from "../data/note.txt";
import blob from "../data/blob.bin";
let hits = 0;
export default {
  async fetch(request, env) {
    hits++;
    const other = await env.OTHER.fetch("http://other/path");
    return Response.json({
      twice: twice("x"),
      info, note,
      blob: [...new Uint8Array(blob)],
      keys: Object.keys(env),
      text: env.TEXT,
      data: env.DATA instanceof ArrayBuffer ? [...new Uint8Array(env.DATA)] : "not an ArrayBuffer",
      json: env.JSON,
      fromEnv: env.FROM_ENV,
      missing: env.MISSING_ENV,
      hasMissing: "MISSING_ENV" in env,
      other: await other.text(),
      hits,
    });
  },
};
"#;

#[test]
fn modules_and_bindings() {
    let dir = TestDir::new("modules");
    let config = dir.write("config.capnp", MODULES_CONFIG);
    dir.write("src/main.js", MODULES_MAIN);
    let server = Server::start_with_env(&config, &["--threads", "1"], &[("NANOD_TEST_VAR", "from the environment")]);
    let first = server.get("/");
    assert_eq!(first.status, 200, "{}", server.stderr());
    assert_eq!(
        first.text(),
        concat!(
            r#"{"twice":">xx","info":{"list":[1,2,3]},"note":"a note","blob":[0,1,2,255],"#,
            r#""keys":["TEXT","DATA","JSON","OTHER","FROM_ENV","MISSING_ENV"],"text":"some text","data":[222,173,190,239],"#,
            r#""json":{"nested":{"ok":true}},"fromEnv":"from the environment","missing":null,"hasMissing":true,"other":"other:/path","hits":1}"#
        )
    );
    // Module state persists between requests in the same isolate.
    assert!(server.get("/").text().ends_with(r#""hits":2}"#));
}

#[test]
fn service_worker_syntax() {
    let dir = TestDir::new("sw");
    let config = dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "sw", worker = (
    serviceWorkerScript = embed "sw.js",
    compatibilityDate = "2024-09-01",
    bindings = [(name = "GREETING", text = "hello"), (name = "PEER", service = "peer")],
  )),
  (name = "peer", worker = (modules = [(name = "p.js", esModule = "export default { fetch() { return new Response('peer'); } };")], compatibilityDate = "2024-09-01"))],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "sw")],
);"#,
    );
    dir.write(
        "sw.js",
        r#"var count = 0;
addEventListener("fetch", (event) => {
  count++;
  event.respondWith((async () => {
    const peer = await PEER.fetch("http://peer/");
    return new Response(`${GREETING} ${event.request.method} ${count} ${await peer.text()} ${typeof addEventListener}`);
  })());
});"#,
    );
    let server = Server::start(&config, &["--threads", "1"]);
    assert_eq!(server.get("/").text(), "hello GET 1 peer function");
    assert_eq!(server.request("POST", "/", &[], Some(b"x")).text(), "hello POST 2 peer function");
}

/// The runtime's own modules import by name, as in workerd; a missing one is workerd's error.
#[test]
fn cloudflare_workers_is_importable() {
    let dir = TestDir::new("builtin-modules");
    let config = support::single_worker(
        &dir,
        r#"import { WorkerEntrypoint, DurableObject, RpcTarget } from "cloudflare:workers";
           class Auth extends WorkerEntrypoint {}
           export default {
             fetch(request, env, ctx) {
               const auth = new Auth(ctx, env);
               return new Response([typeof DurableObject, typeof RpcTarget, auth.env === env, auth.ctx === ctx].join());
             },
           };"#,
    );
    let server = Server::start(&config, &["--threads", "1"]);
    assert_eq!(server.get("/").text(), "function,function,true,true");

    // `node:` modules need nodejs_compat.
    let config = support::single_worker(&dir, r#"import assert from "node:assert"; export default {};"#);
    let output = support::nanod().arg("check").arg(&config).output().expect("run nanod");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("service main: Uncaught Error: No such module \"node:assert\"."), "{stderr}");
}

#[test]
fn one_worker_serves_concurrent_requests() {
    let dir = TestDir::new("concurrent");
    let config = support::single_worker(
        &dir,
        "export default { async fetch() { await new Promise((r) => setTimeout(r, 200)); return new Response('done'); } };",
    );
    let server = Server::start(&config, &["--threads", "1"]);
    let port = server.port;
    let started = Instant::now();
    let clients: Vec<_> = (0..100)
        .map(|_| std::thread::spawn(move || support::Conn::open(port).request("GET", "/", &[], None)))
        .collect();
    for client in clients {
        let response = client.join().expect("client thread");
        assert_eq!(response.text(), "done");
    }
    let elapsed = started.elapsed();
    // Serially this would take 100 × 200 ms = 20 s; concurrently, about 200 ms.
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "100 concurrent 200 ms waits took {elapsed:?}");
}

#[test]
fn failures_answer_500_and_the_server_keeps_serving() {
    let dir = TestDir::new("failures");
    let config = dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "main.js", esModule = embed "main.js")], compatibilityDate = "2024-09-01",
       bindings = [(name = "THROWS", service = "throws"), (name = "NO_FETCH", service = "nofetch"), (name = "FINE", service = "fine")])),
    (name = "throws", worker = (modules = [(name = "throws.js", esModule = "export default { fetch() { throw new RangeError('callee threw'); } };")], compatibilityDate = "2024-09-01")),
    (name = "nofetch", worker = (modules = [(name = "nofetch.js", esModule = "export default { notFetch() {} };")], compatibilityDate = "2024-09-01")),
    (name = "fine", worker = (modules = [(name = "fine.js", esModule = "export default { fetch() { return new Response('fine'); } };")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);"#,
    );
    dir.write(
        "main.js",
        r#"export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/throw") throw new TypeError("thrown on purpose");
    if (path === "/reject") return Promise.reject(new RangeError("rejected on purpose"));
    if (path === "/not-a-response") return "just a string";
    if (path === "/hang-dropped") return new Promise(() => {});
    if (path === "/hang-kept") { globalThis.kept = new Promise(() => {}); return globalThis.kept; }
    if (path === "/slow-but-fine") { await new Promise((r) => setTimeout(r, 50)); return new Response("fine after a timer"); }
    if (path === "/callee-throws") return env.THROWS.fetch("http://throws/");
    if (path === "/no-fetch") return env.NO_FETCH.fetch("http://nofetch/");
    if (path === "/fine") return env.FINE.fetch("http://fine/");
    if (path === "/catch") {
      try { await env.THROWS.fetch("http://throws/"); } catch (e) { return new Response(`caught ${e.name}: ${e.message}`); }
    }
    return new Response("ok");
  },
};"#,
    );
    let server = Server::start(&config, &["--threads", "1"]);
    for path in ["/throw", "/reject", "/not-a-response", "/callee-throws", "/no-fetch", "/hang-dropped", "/hang-kept"] {
        let response = server.get(path);
        assert_eq!((response.status, response.text().as_str()), (500, "Internal Server Error"), "{path}");
        assert_eq!(server.get("/").text(), "ok", "the next request after {path} is served normally");
    }
    assert_eq!(server.get("/fine").text(), "fine", "other Workers are unaffected");
    assert_eq!(server.get("/slow-but-fine").text(), "fine after a timer", "a pending timer is not a hang");
    assert_eq!(server.get("/catch").text(), "caught RangeError: callee threw");
    let log = server.wait_for_stderr("not a Response");
    assert!(log.contains("main: Uncaught TypeError: thrown on purpose"), "{log}");
    assert!(log.contains("at fetch (main.js:4:"), "the JS stack is logged:\n{log}");
    assert!(log.contains("main: Uncaught RangeError: rejected on purpose"), "{log}");
    assert!(log.contains("main: Uncaught RangeError: callee threw"), "{log}");
    assert!(log.contains("main: Uncaught Error: Handler does not export a fetch() function."), "{log}");
    assert!(log.contains("did not resolve to 'Response'"), "{log}");
    assert!(log.contains("main: Uncaught Error: The script will never generate a response"), "{log}");
}

#[test]
fn every_thread_serves() {
    let server = Server::start(&example("nanoservices/config.capnp"), &["--threads", "2"]);
    for _ in 0..20 {
        assert_eq!(server.get("/").status, 200);
    }
}

#[test]
fn console_goes_to_stderr_prefixed_with_the_service_name_and_request_id() {
    let dir = TestDir::new("console");
    let config = dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "greeter", worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2024-09-01"))],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "greeter")],
);"#,
    );
    dir.write(
        "w.js",
        r#"console.log("top level");
export default { fetch() {
  console.log("hello", { a: [1, 2] }, 42, null);
  console.warn("careful");
  console.error(new Error("shown with its stack"));
  console.info("two\nlines");
  return new Response("logged");
} };"#,
    );
    let server = Server::start(&config, &["--threads", "1"]);
    assert_eq!(server.get("/").text(), "logged");
    let log = server.wait_for_stderr("]: lines");
    // Output outside a request (module evaluation) has no request id.
    assert!(log.contains("greeter: top level\n"), "{log}");
    let id = log.split_once("greeter [req ").and_then(|(_, rest)| rest.split_once(']')).map(|(id, _)| id);
    let who = format!("greeter [req {}]", id.unwrap_or_else(|| panic!("no request id in\n{log}")));
    assert!(log.contains(&format!("{who}: hello {{\"a\":[1,2]}} 42 null\n")), "{log}");
    assert!(log.contains(&format!("{who}: warn: careful\n")), "{log}");
    assert!(log.contains(&format!("{who}: error: Error: shown with its stack\n")), "{log}");
    assert!(log.contains(&format!("{who}: error:     at fetch (w.js:5:")), "{log}");
    assert!(log.contains(&format!("{who}: two\n{who}: lines\n")), "{log}");
}
