//! Per-Worker limits through the real binary: CPU time (an endless loop is stopped, its
//! isolate replaced, a neighbour on the same thread keeps answering), heap (an allocation bomb
//! is stopped and its memory returned), concurrency, request bodies, subrequests, and bad
//! limit values in both config formats.

mod support;

use std::time::{Duration, Instant};

use support::{nanod, Conn, Server, TestDir};

const HEAD: &str = "using Workerd = import \"/workerd/workerd.capnp\";\nconst config :Workerd.Config = (\n";

/// A capnp Worker service `name` with module `file` and the extra Worker fields `fields`.
fn worker(name: &str, file: &str, fields: &str) -> String {
    format!(
        "(name = \"{name}\", worker = (modules = [(name = \"{file}\", esModule = embed \"{file}\")], compatibilityDate = \"2024-09-01\"{fields}))"
    )
}

/// A config of `services`, with socket `http` on the first one and each `(socket, service)`
/// of `more` on a port of its own.
fn config(dir: &TestDir, services: &[String], more: &[(&str, &str)]) -> std::path::PathBuf {
    let first = services[0].split('"').nth(1).unwrap_or("main").to_owned();
    let mut sockets = vec![format!("(name = \"http\", address = \"127.0.0.1:0\", http = (), service = \"{first}\")")];
    for (socket, service) in more {
        sockets.push(format!("(name = \"{socket}\", address = \"127.0.0.1:0\", http = (), service = \"{service}\")"));
    }
    let text =
        format!("{HEAD}  services = [{}],\n  sockets = [{}],\n);\n", services.join(",\n    "), sockets.join(", "));
    dir.write("config.capnp", &text)
}

/// The port nanod reports for socket `name`.
fn port_of(server: &Server, name: &str) -> u16 {
    let needle = format!("nanod: listening on {name}=127.0.0.1:");
    let log = server.wait_for_stderr(&needle);
    let at = log.find(&needle).unwrap_or_else(|| panic!("no {needle} in:\n{log}")) + needle.len();
    let digits: String = log[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("port")
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS line");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmRSS value")
}

const LOOPER: &str = r#"
let served = 0;
export default {
  async fetch(request) {
    served++;
    const path = new URL(request.url).pathname;
    if (path === "/loop") {
      // The interrupt is uncatchable: neither the catch nor the finally answers.
      try { while (true) {} } catch (e) { return new Response("caught " + e); }
    }
    if (path === "/later") {
      // Loops after an await, in an entry of its own.
      await new Promise((resolve) => setTimeout(resolve, 10));
      while (true) {}
    }
    if (path === "/wait") {
      await new Promise((resolve) => setTimeout(resolve, 20000));
      return new Response("waited");
    }
    return new Response("served " + served);
  },
};
"#;

#[test]
fn an_endless_loop_gets_503_its_isolate_is_replaced_and_its_neighbour_keeps_answering() {
    let dir = TestDir::new("limits-cpu");
    dir.write("looper.js", LOOPER);
    dir.write("neighbour.js", "export default { fetch() { return new Response('neighbour'); } };");
    let services = [worker("looper", "looper.js", ", limits = (cpuMs = 50)"), worker("neighbour", "neighbour.js", "")];
    let server = Server::start(&config(&dir, &services, &[("side", "neighbour")]), &["--threads", "1"]);
    let side = port_of(&server, "side");

    assert_eq!(server.get("/").text(), "served 1");
    assert_eq!(server.get("/").text(), "served 2");
    assert_eq!(Conn::open(side).request("GET", "/", &[], None).text(), "neighbour");

    // A request parked in the same isolate, which the breach must end too.
    let port = server.port;
    let parked = std::thread::spawn(move || {
        let started = Instant::now();
        let response = Conn::open(port).request("GET", "/wait", &[], None);
        (response.status, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(200));

    let looping = std::thread::spawn(move || {
        let started = Instant::now();
        let response = Conn::open(port).request("GET", "/loop", &[], None);
        (response.status, response.text(), started.elapsed())
    });
    // The neighbour, on the same thread, while the loop runs (the loop holds the thread for
    // its 50 ms, so some of these wait for it).
    std::thread::sleep(Duration::from_millis(10));
    let mut latencies = Vec::new();
    while !looping.is_finished() || latencies.len() < 3 {
        let started = Instant::now();
        let response = Conn::open(side).request("GET", "/", &[], None);
        assert_eq!((response.status, response.text().as_str()), (200, "neighbour"));
        latencies.push(started.elapsed());
        if latencies.len() > 500 {
            break;
        }
    }
    let (status, body, took) = looping.join().expect("loop thread");
    println!("loop answered {status} after {took:?}; neighbour latencies during it: {latencies:?}");
    assert_eq!((status, body.as_str()), (503, "Service Unavailable"));
    assert!(took < Duration::from_secs(5), "the loop took {took:?}");

    let (parked_status, parked_took) = parked.join().expect("parked thread");
    println!("the parked request answered {parked_status} after {parked_took:?}");
    assert_eq!(parked_status, 503, "the other request of the discarded isolate");
    assert!(parked_took < Duration::from_secs(10), "{parked_took:?}");

    // A fresh isolate: module state starts over.
    assert_eq!(server.get("/").text(), "served 1");
    // A loop after an await breaks the limit just the same.
    assert_eq!(server.get("/later").status, 503);
    assert_eq!(server.get("/").text(), "served 1");

    let log = server.wait_for_stderr("limit exceeded (cpu)");
    assert!(
        log.contains("looper: limit exceeded (cpu): Worker \"looper\" exceeded its CPU time limit of 50 ms"),
        "{log}"
    );
}

#[test]
fn an_allocation_bomb_gets_503_and_its_memory_goes_back() {
    let dir = TestDir::new("limits-memory");
    dir.write(
        "bomb.js",
        r#"
export default {
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/bomb") {
      const a = [];
      while (true) a.push(new Array(1e6).fill(1));
    }
    if (path === "/objects") {
      // Small objects: the heap fills so exactly that QuickJS throws `null`.
      const keep = [];
      while (true) keep.push({ n: keep.length, s: "y".repeat(200) + keep.length });
    }
    return new Response("ok");
  },
};
"#,
    );
    let services = [worker("bomb", "bomb.js", ", limits = (memoryMb = 32)")];
    let server = Server::start(&config(&dir, &services, &[]), &["--threads", "1"]);
    assert_eq!(server.get("/").text(), "ok");
    std::thread::sleep(Duration::from_millis(300));
    let baseline = vm_rss_kib(server.pid());

    // QuickJS allocates from glibc's malloc (mimalloc serves Rust only): the arrays' large
    // blocks are mmapped and unmapped at once, the small objects' arena is trimmed when the isolate's heap
    // is freed in one go. (Medium blocks, ~100 KiB strings, after a large mmapped block has
    // raised glibc's dynamic trim threshold, can stay in the arena: see the limits report.)
    for path in ["/bomb", "/objects"] {
        let response = server.get(path);
        assert_eq!(response.status, 503, "{path}: {}", response.text());
        let peak = vm_rss_kib(server.pid());
        let margin = 16 * 1024;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut now = peak;
        while now > baseline + margin && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            now = vm_rss_kib(server.pid());
        }
        println!("{path}: VmRSS baseline {baseline} KiB, right after the 503 {peak} KiB, later {now} KiB");
        assert!(now <= baseline + margin, "{path}: RSS {now} KiB stayed above {baseline} + {margin} KiB");
        assert_eq!(server.get("/").text(), "ok");
    }
    let log = server.wait_for_stderr("limit exceeded (memory)");
    assert!(
        log.contains("bomb: limit exceeded (memory): Worker \"bomb\" exceeded its memory limit of 32 MiB"),
        "{log}"
    );
}

#[test]
fn a_request_over_the_concurrency_limit_gets_503_at_once() {
    let dir = TestDir::new("limits-concurrency");
    dir.write(
        "slow.js",
        "export default { async fetch() { await new Promise((r) => setTimeout(r, 1500)); return new Response('slow'); } };",
    );
    let services = [worker("slow", "slow.js", ", limits = (concurrentRequests = 2)")];
    let server = Server::start(&config(&dir, &services, &[]), &["--threads", "1"]);
    let port = server.port;
    let slow: Vec<_> =
        (0..2).map(|_| std::thread::spawn(move || Conn::open(port).request("GET", "/", &[], None).status)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let third = server.get("/");
    let took = started.elapsed();
    println!("the third request was answered {} after {took:?}", third.status);
    assert_eq!(third.status, 503);
    assert!(took < Duration::from_secs(1), "the third request waited {took:?}: it must not be queued");
    for handle in slow {
        assert_eq!(handle.join().expect("slow request"), 200);
    }
    // Capacity is back.
    assert_eq!(server.get("/").status, 200);
    assert!(server.wait_for_stderr("limit exceeded (concurrency)").contains("slow: limit exceeded (concurrency)"));
}

/// Sends `chunks` as a chunked POST to `path` and reads the answer.
fn chunked_post(port: u16, path: &str, chunks: &[Vec<u8>]) -> support::Response {
    let mut conn = Conn::open(port);
    conn.write_raw(
        format!("POST {path} HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes(),
    );
    for chunk in chunks {
        conn.write_raw(format!("{:x}\r\n", chunk.len()).as_bytes());
        conn.write_raw(chunk);
        conn.write_raw(b"\r\n");
    }
    conn.write_raw(b"0\r\n\r\n");
    conn.read_response(false)
}

#[test]
fn request_bodies_over_the_limit_get_413() {
    let dir = TestDir::new("limits-body");
    dir.write(
        "body.js",
        r#"
let runs = 0;
export default {
  async fetch(request) {
    runs++;
    const path = new URL(request.url).pathname;
    if (path === "/runs") return new Response(String(runs));
    if (path === "/catch") {
      try { await request.text(); return new Response("read"); }
      catch (e) { return new Response(e.name + ": " + e.message); }
    }
    return new Response("length " + (await request.text()).length);
  },
};
"#,
    );
    let services = [worker("body", "body.js", ", limits = (requestBodyBytes = 1000)")];
    let server = Server::start(&config(&dir, &services, &[]), &["--threads", "1"]);

    assert_eq!(server.request("POST", "/", &[], Some(&[b'a'; 1000])).text(), "length 1000");
    // Over by its Content-Length: refused before any JS runs.
    let refused = server.request("POST", "/", &[], Some(&[b'a'; 1001]));
    assert_eq!((refused.status, refused.text().as_str()), (413, "Payload Too Large"));
    assert_eq!(server.get("/runs").text(), "2", "JS ran for the refused request");

    let chunks = vec![vec![b'b'; 600]; 3];
    assert_eq!(chunked_post(server.port, "/", &chunks[..1]).text(), "length 600");
    let over = chunked_post(server.port, "/", &chunks);
    assert_eq!(over.status, 413, "{}", over.text());
    // A Worker that catches the failed read answers for itself.
    let caught = chunked_post(server.port, "/catch", &chunks);
    assert_eq!(
        (caught.status, caught.text().as_str()),
        (200, "TypeError: The request body is larger than this Worker's limit of 1000 bytes.")
    );
    let log = server.wait_for_stderr("limit exceeded (request_body)");
    assert!(log.contains("body: limit exceeded (request_body): Worker \"body\": the request body is larger"), "{log}");
}

#[test]
fn the_call_after_the_subrequest_limit_rejects_with_workerds_message() {
    let dir = TestDir::new("limits-subrequests");
    dir.write(
        "main.js",
        r#"
export default {
  async fetch(request, env) {
    const results = [];
    const calls = [
      () => env.B.fetch("http://b/").then((r) => r.text()),
      () => env.B.ping(),
      () => env.B.fetch("http://b/").then((r) => r.text()),
      () => env.B.ping(),
      () => env.B.fetch("http://b/").then((r) => r.text()),
    ];
    for (const call of calls) {
      try { results.push(await call()); } catch (e) { results.push(e.name + ": " + e.message); }
    }
    if (new URL(request.url).pathname === "/uncaught") await env.B.ping();
    return Response.json(results);
  },
};
"#,
    );
    dir.write(
        "b.js",
        r#"import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  fetch() { return new Response("fetched"); }
  ping() { return "pong"; }
}
"#,
    );
    let services = [
        worker("main", "main.js", ", bindings = [(name = \"B\", service = \"b\")], limits = (subrequests = 3)"),
        worker("b", "b.js", ""),
    ];
    let server = Server::start(&config(&dir, &services, &[]), &["--threads", "1"]);
    let too_many = "Error: Too many subrequests by single Worker invocation.";
    let want = format!(r#"["fetched","pong","fetched","{too_many}","{too_many}"]"#);
    assert_eq!(server.get("/").text(), want);
    // Each request has its own count.
    assert_eq!(server.get("/").text(), want);
    // Uncaught, it is the Worker's exception: a 500, as any other.
    assert_eq!(server.get("/uncaught").status, 500);
    assert!(server.wait_for_stderr("Uncaught Error: Too many subrequests").contains(too_many));
}

#[test]
fn a_worker_calling_itself_is_stopped_at_the_depth_limit_and_the_breach_is_logged() {
    let dir = TestDir::new("limits-depth");
    dir.write(
        "main.js",
        r#"
export default {
  async fetch(request, env) {
    const depth = Number(new URL(request.url).searchParams.get("d") ?? 0);
    try {
      return await env.SELF.fetch(`http://self/?d=${depth + 1}`);
    } catch (e) {
      return new Response(`${depth}: ${e.message}`);
    }
  },
};
"#,
    );
    let services = [worker("main", "main.js", ", bindings = [(name = \"SELF\", service = \"main\")]")];
    let server = Server::start(&config(&dir, &services, &[]), &["--threads", "1"]);
    let response = server.get("/");
    // The Worker at depth 16 (the 17th in the chain) is refused its call; every level above
    // passes that answer up.
    assert_eq!(response.status, 200);
    assert!(response.text().starts_with("16: Subrequest depth limit exceeded."), "{}", response.text());
    assert!(server.wait_for_stderr("17 hops deep refused").contains("main: a call 17 hops deep refused"));
}

#[test]
fn a_response_still_streaming_its_body_counts_against_the_concurrency_limit() {
    let dir = TestDir::new("limits-stream");
    dir.write(
        "main.js",
        r#"
export default {
  fetch(request) {
    if (new URL(request.url).pathname !== "/stream") return new Response("ok");
    // The head goes out at once; the body's JS runs for a while after it.
    let sent = 0;
    return new Response(new ReadableStream({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        if (sent++ < 3) controller.enqueue(new TextEncoder().encode("chunk\n"));
        else controller.close();
      },
    }));
  },
};
"#,
    );
    let services = [worker("main", "main.js", ", limits = (concurrentRequests = 1)")];
    let server = Server::start(&config(&dir, &services, &[]), &["--threads", "1"]);
    let port = port_of(&server, "http");
    let mut streaming = Conn::open(port);
    streaming.write_raw(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let (status, _) = streaming.read_head();
    assert_eq!(status, 200);
    // The first call is still producing its body: it is still in flight.
    assert_eq!(server.get("/").status, 503);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut streaming.reader, &mut rest).expect("the rest of the body");
    assert_eq!(rest.matches("chunk\n").count(), 3, "{rest}");
    assert_eq!(server.get("/").text(), "ok");
}

#[test]
fn a_subrequest_breach_is_logged_with_the_service() {
    let dir = TestDir::new("limits-subrequest-log");
    dir.write("main.js", "export default { async fetch(r, env) { for (let i = 0; i < 3; i++) await env.B.fetch('http://b/'); return new Response('no'); } };");
    dir.write("b.js", "export default { fetch() { return new Response('b'); } };");
    let services = [
        worker("main", "main.js", ", bindings = [(name = \"B\", service = \"b\")], limits = (subrequests = 2)"),
        worker("b", "b.js", ""),
    ];
    let server = Server::start(&config(&dir, &services, &[]), &["--threads", "1"]);
    assert_eq!(server.get("/").status, 500);
    assert!(server.wait_for_stderr("limit exceeded (subrequests)").contains("main: limit exceeded (subrequests)"));
}

/// Runs `nanod serve` on a config and returns its stderr, asserting exit code 1.
fn serve_fails(dir: &TestDir, name: &str, text: &str) -> String {
    let path = dir.write(name, text);
    let output = nanod().arg("serve").arg(&path).current_dir(&dir.0).output().expect("run nanod");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "exit status; stderr:\n{stderr}");
    stderr.replace(&format!("{}/", dir.0.display()), "")
}

#[test]
fn bad_limit_values_are_config_errors_with_their_place() {
    let dir = TestDir::new("limits-config");
    dir.write("w.js", "export default {};");
    let capnp = |limits: &str| {
        format!(
            "{HEAD}  services = [(name = \"main\", worker = (modules = [(name = \"w.js\", esModule = embed \"w.js\")],\n    limits = ({limits})))],\n  sockets = [(name = \"http\", address = \"127.0.0.1:0\", http = (), service = \"main\")],\n);\n"
        )
    };
    assert_eq!(
        serve_fails(&dir, "a.capnp", &capnp("cpuMs = -5")).trim(),
        "a.capnp:4:23: -5 is out of range for 'cpuMs' (UInt32: 0..=4294967295)"
    );
    assert_eq!(
        serve_fails(&dir, "b.capnp", &capnp("memoryMb = 5000000000")).trim(),
        "b.capnp:4:26: 5000000000 is out of range for 'memoryMb' (UInt32: 0..=4294967295)"
    );
    let unknown = serve_fails(&dir, "c.capnp", &capnp("cpu = 5"));
    assert!(unknown.starts_with("c.capnp:4:15: Struct 'Worker.Limits' has no field named 'cpu'"), "{unknown}");

    let toml = |limits: &str| {
        format!(
            "[service.main]\nmodules = [\"w.js\"]\ncompatibility_date = \"2024-09-01\"\nlimits = {{ {limits} }}\n\n[[socket]]\nname = \"http\"\naddress = \"127.0.0.1:0\"\nservice = \"main\"\n"
        )
    };
    assert_eq!(
        serve_fails(&dir, "a.toml", &toml("cpu_ms = 50, subrequests = -1")).trim(),
        "a.toml:4:39: expected an integer from 0 to 4294967295 for 'subrequests'"
    );
    let unknown = serve_fails(&dir, "b.toml", &toml("memory = 5"));
    assert!(unknown.starts_with("b.toml:4:12: unknown key 'memory' in 'limits'"), "{unknown}");
}
