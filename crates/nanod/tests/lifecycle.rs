//! The server's lifecycle through the real binary: SIGTERM drains (requests in flight are
//! answered, new connections are refused, `ctx.waitUntil` work finishes, `--drain-timeout`
//! bounds it all, a second signal stops at once) and SIGHUP or `--watch` reloads the config
//! under load (no request fails, a changed Worker answers anew, an unchanged one keeps its
//! isolate and module state; a broken config keeps the old one serving).
//!
//! Signals are sent with `kill(1)`, so the tests need no signal crate.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::upstream::{fixed_response, Upstream};
use support::{Conn, TestDir};

/// A running `nanod serve` whose sockets all listen on ephemeral loopback ports; killed on drop.
struct Nanod {
    child: Child,
    ports: HashMap<String, u16>,
    log: Arc<Mutex<String>>,
}

impl Nanod {
    /// Serves `config`, each of `sockets` on `127.0.0.1:0`, with `extra` arguments.
    fn start(config: &Path, sockets: &[&str], extra: &[&str]) -> Nanod {
        let mut command = support::nanod();
        command.arg("serve").arg(config);
        for socket in sockets {
            command.arg("--socket-addr").arg(format!("{socket}=127.0.0.1:0"));
        }
        command.args(extra).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn nanod");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (listening, heard) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("nanod: listening on ") {
                    if let Some((name, port)) = rest.split_once("=127.0.0.1:") {
                        if let Ok(port) = port.trim().parse::<u16>() {
                            let _ = listening.send((name.to_owned(), port));
                        }
                    }
                }
                let mut log = sink.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut ports = HashMap::new();
        while ports.len() < sockets.len() {
            match heard.recv_timeout(Duration::from_secs(20)) {
                Ok((name, port)) => {
                    ports.insert(name, port);
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("nanod did not start; stderr:\n{}", log.lock().expect("log").clone());
                }
            }
        }
        Nanod { child, ports, log }
    }

    fn port(&self, socket: &str) -> u16 {
        self.ports[socket]
    }

    fn stderr(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Sends `signal` (`TERM`, `INT`, `HUP`) with `kill(1)`.
    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits until stderr contains `needle` the `count`th time; panics with the log if not within 20 s.
    fn wait_for_stderr_n(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.stderr();
            if log.matches(needle).count() >= count {
                return log;
            }
            assert!(Instant::now() < deadline, "no {needle:?} (x{count}) on stderr:\n{log}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_for_stderr(&self, needle: &str) -> String {
        self.wait_for_stderr_n(needle, 1)
    }

    /// The exit status, if the process ends within `timeout`.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Nanod {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An upstream on 127.0.0.1 that answers `ok` to every request (connections kept alive).
fn upstream() -> Upstream {
    Upstream::start_with(Ipv4Addr::LOCALHOST, Arc::new(|_: &str| fixed_response("ok", false)))
}

/// A config with Worker `main` (`main.js` = `module`, binding `UP` to the external `upstream`)
/// behind socket `http`.
fn upstream_config(dir: &TestDir, module: &str, upstream: &Upstream) -> std::path::PathBuf {
    dir.write("main.js", module);
    dir.write(
        "config.capnp",
        &format!(
            r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "main.js", esModule = embed "main.js")], compatibilityDate = "2024-09-01",
      bindings = [(name = "UP", service = "upstream")])),
    (name = "upstream", external = (address = "127.0.0.1:{}", http = ())),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);"#,
            upstream.port
        ),
    )
}

/// Waits until the upstream has seen `count` requests.
fn wait_for_requests(upstream: &Upstream, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while upstream.requests().len() < count {
        assert!(Instant::now() < deadline, "upstream saw {} of {count} requests", upstream.requests().len());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a connection to `port` is refused (the listeners are closed).
fn refused(port: u16) -> bool {
    match TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(1)) {
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
    }
}

/// Answers each request after the upstream heard of it and 2 s passed.
const SLOW: &str = r#"
export default {
  async fetch(request, env) {
    await env.UP.fetch("http://upstream/arrived");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return new Response("done");
  },
};
"#;

#[test]
fn sigterm_answers_every_request_in_flight_and_refuses_new_connections() {
    let dir = TestDir::new("drain-in-flight");
    let upstream = upstream();
    let config = upstream_config(&dir, SLOW, &upstream);
    let mut nanod = Nanod::start(&config, &["http"], &["--threads", "2"]);
    let port = nanod.port("http");
    let clients: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let response = Conn::open(port).request("GET", "/", &[], None);
                (response.status, response.text(), response.header("connection").map(str::to_owned))
            })
        })
        .collect();
    // Every request is in its Worker, waiting on the timer.
    wait_for_requests(&upstream, 50);
    nanod.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !refused(port) {
        assert!(Instant::now() < deadline, "connections still accepted after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(nanod.running(), "nanod exited before answering its requests in flight:\n{}", nanod.stderr());
    for client in clients {
        let (status, body, connection) = client.join().expect("client thread");
        assert_eq!((status, body.as_str()), (200, "done"));
        // A keep-alive connection closes after the response it was serving.
        assert_eq!(connection.as_deref(), Some("close"));
    }
    let status = nanod.wait_exit(Duration::from_secs(10)).expect("nanod exits after the drain");
    assert!(status.success(), "exit status {status:?}; stderr:\n{}", nanod.stderr());
    // Its last lines may still be on their way through the pipe.
    let log = nanod.wait_for_stderr("nanod: drained");
    assert!(log.contains("nanod: SIGTERM: draining"), "{log}");
}

#[test]
fn wait_until_work_finishes_before_the_process_exits() {
    let dir = TestDir::new("drain-wait-until");
    let upstream = upstream();
    let module = r#"
export default {
  async fetch(request, env, ctx) {
    ctx.waitUntil((async () => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await env.UP.fetch("http://upstream/after-the-response");
    })());
    return new Response("sent");
  },
};
"#;
    let config = upstream_config(&dir, module, &upstream);
    let mut nanod = Nanod::start(&config, &["http"], &["--threads", "1"]);
    let response = Conn::open(nanod.port("http")).request("GET", "/", &[("connection", "close")], None);
    assert_eq!(response.text(), "sent");
    nanod.signal("TERM");
    let status = nanod.wait_exit(Duration::from_secs(10)).expect("nanod exits after the drain");
    assert!(status.success(), "exit status {status:?}; stderr:\n{}", nanod.stderr());
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].starts_with("GET /after-the-response "), "{requests:?}");
}

const HANG: &str = r#"
export default {
  async fetch(request, env) {
    await env.UP.fetch("http://upstream/arrived");
    // A live ten-minute timer: not a hang the isolate can detect.
    await new Promise((resolve) => setTimeout(resolve, 600000));
    return new Response("never");
  },
};
"#;

#[test]
fn the_drain_timeout_bounds_a_request_that_never_finishes() {
    let dir = TestDir::new("drain-timeout");
    let upstream = upstream();
    let config = upstream_config(&dir, HANG, &upstream);
    let mut nanod = Nanod::start(&config, &["http"], &["--threads", "1", "--drain-timeout", "1"]);
    let port = nanod.port("http");
    let _client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let _ = std::io::Write::write_all(&mut stream, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let _ = std::io::Read::read_to_end(&mut stream, &mut Vec::new());
    });
    wait_for_requests(&upstream, 1);
    let signalled = Instant::now();
    nanod.signal("TERM");
    let status = nanod.wait_exit(Duration::from_secs(10)).expect("nanod exits at the drain timeout");
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status:?}; stderr:\n{}", nanod.stderr());
    // It waited for the request, up to the timeout.
    assert!(took >= Duration::from_millis(900), "exited after {took:?}");
    nanod.wait_for_stderr("nanod: drain timeout (1s) passed");
}

#[test]
fn a_second_signal_during_the_drain_stops_at_once() {
    let dir = TestDir::new("drain-second-signal");
    let upstream = upstream();
    let config = upstream_config(&dir, HANG, &upstream);
    let mut nanod = Nanod::start(&config, &["http"], &["--threads", "1"]);
    let port = nanod.port("http");
    let _client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let _ = std::io::Write::write_all(&mut stream, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let _ = std::io::Read::read_to_end(&mut stream, &mut Vec::new());
    });
    wait_for_requests(&upstream, 1);
    nanod.signal("INT");
    nanod.wait_for_stderr("nanod: SIGINT: draining");
    assert!(nanod.running(), "the first signal only drains");
    nanod.signal("TERM");
    // The default drain timeout is 30 s: exiting well before it is the second signal's doing.
    let status = nanod.wait_exit(Duration::from_secs(10)).expect("nanod stops at the second signal");
    assert!(!status.success(), "a forced stop is a failure: {status:?}");
    nanod.wait_for_stderr("nanod: SIGTERM during the drain: stopping now");
}

const A: &str = r#"
let count = 0;
export default {
  fetch() {
    count += 1;
    return new Response(`A ${count}`);
  },
};
"#;

fn b_module(answer: &str) -> String {
    format!(
        r#"
export default {{
  async fetch() {{
    await new Promise((resolve) => setTimeout(resolve, 5));
    return new Response("{answer}");
  }},
}};
"#
    )
}

/// Services `a` and `b` (`a.js`, `b.js`) behind sockets `sa` and `sb`.
fn two_services(dir: &TestDir, b_answer: &str) -> std::path::PathBuf {
    dir.write("a.js", A);
    dir.write("b.js", &b_module(b_answer));
    dir.write("config.capnp", &two_services_config(r#""127.0.0.1:8080""#))
}

fn two_services_config(sa_address: &str) -> String {
    format!(
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "a", worker = (modules = [(name = "a.js", esModule = embed "a.js")], compatibilityDate = "2024-09-01")),
    (name = "b", worker = (modules = [(name = "b.js", esModule = embed "b.js")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [
    (name = "sa", address = {sa_address}, http = (), service = "a"),
    (name = "sb", address = "127.0.0.1:8081", http = (), service = "b"),
  ],
);"#
    )
}

/// What one client saw: every answer in order, or the first failure.
type Seen = Result<Vec<String>, String>;

/// Requests `/` on `port` until `stop`: over one keep-alive connection, or (`fresh`) over a new
/// connection each time. A status other than 200 or a failed connection is a failure.
fn client(port: u16, fresh: bool, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Seen> {
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut conn: Option<Conn> = None;
        while !stop.load(Ordering::Relaxed) {
            let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let conn = conn.get_or_insert_with(|| Conn::open(port));
                conn.request("GET", "/", &[], None)
            }));
            match answer {
                Ok(response) if response.status == 200 => seen.push(response.text()),
                Ok(response) => return Err(format!("status {} after {seen:?}: {}", response.status, response.text())),
                Err(_) => return Err(format!("request failed after {} answers", seen.len())),
            }
            if fresh {
                conn = None;
                // Bounds the connections (and the client's TIME_WAIT sockets) it makes.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(seen)
    })
}

/// Runs clients of `a` and `b` for about 3 s, calling `change` after 1 s (and waiting for the
/// reload line); then checks that no request failed, `b`'s answer changed from `B1` to `B2` on
/// every client and every thread, and `a` kept its isolate (its counter never went back).
fn reload_under_load(dir: &TestDir, nanod: &Nanod, change: impl FnOnce()) {
    let (a, b) = (nanod.port("sa"), nanod.port("sb"));
    let stop = Arc::new(AtomicBool::new(false));
    let a_clients: Vec<_> = (0..2).map(|_| client(a, false, stop.clone())).collect();
    let b_clients: Vec<_> = (0..2).map(|_| client(b, false, stop.clone())).collect();
    let fresh = vec![client(a, true, stop.clone()), client(b, true, stop.clone())];
    std::thread::sleep(Duration::from_secs(1));
    change();
    nanod.wait_for_stderr("nanod: reloaded");
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    for (index, handle) in a_clients.into_iter().enumerate() {
        let seen = handle.join().expect("client thread").unwrap_or_else(|e| panic!("a client {index}: {e}"));
        let counts: Vec<u64> = seen
            .iter()
            .map(|answer| answer.strip_prefix("A ").and_then(|n| n.parse().ok()).expect("an answer of a"))
            .collect();
        // One connection stays on one thread, whose isolate of `a` counts every request it
        // serves: the count rising throughout means that isolate was never replaced.
        assert!(counts.windows(2).all(|w| w[1] > w[0]), "a client {index}: a's count went back: {counts:?}");
        assert!(counts.len() > 10, "a client {index} made too few requests: {counts:?}");
    }
    for (index, handle) in b_clients.into_iter().enumerate() {
        let seen = handle.join().expect("client thread").unwrap_or_else(|e| panic!("b client {index}: {e}"));
        let switched = seen.iter().position(|answer| answer == "B2").expect("b's new answer");
        assert!(switched > 0, "b client {index}: {seen:?}");
        assert!(seen[..switched].iter().all(|answer| answer == "B1"), "b client {index}: {seen:?}");
        assert!(seen[switched..].iter().all(|answer| answer == "B2"), "b client {index}: {seen:?}");
    }
    for handle in fresh {
        handle.join().expect("client thread").unwrap_or_else(|e| panic!("fresh-connection client: {e}"));
    }
    // New connections, spread over the threads by the kernel: every thread switched.
    for _ in 0..10 {
        assert_eq!(Conn::open(b).request("GET", "/", &[], None).text(), "B2");
        assert!(Conn::open(a).request("GET", "/", &[], None).text().starts_with("A "));
    }
    let log = nanod.stderr();
    let config = dir.path("config.capnp");
    let line = format!("nanod: reloaded {}: 1 service changed (b), 1 unchanged", config.display());
    assert!(log.contains(&line), "{log}");
}

#[test]
fn sighup_reloads_a_changed_worker_under_load_without_failing_a_request() {
    let dir = TestDir::new("reload-sighup");
    let config = two_services(&dir, "B1");
    let nanod = Nanod::start(&config, &["sa", "sb"], &["--threads", "2"]);
    reload_under_load(&dir, &nanod, || {
        dir.write("b.js", &b_module("B2"));
        nanod.signal("HUP");
    });
}

#[test]
fn watch_reloads_when_an_embedded_file_changes() {
    let dir = TestDir::new("reload-watch");
    let config = two_services(&dir, "B1");
    let nanod = Nanod::start(&config, &["sa", "sb"], &["--threads", "2", "--watch"]);
    reload_under_load(&dir, &nanod, || {
        // As editors save: a new file renamed over the old one.
        let temporary = dir.write("b.js.new", &b_module("B2"));
        std::fs::rename(temporary, dir.path("b.js")).expect("rename");
    });
    // Another file in the directory is not the config's business...
    dir.write("notes.txt", "unrelated");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(nanod.stderr().matches("nanod: reloaded").count(), 1, "{}", nanod.stderr());
    // ...but any write to one it embeds reloads (and finds nothing changed).
    dir.write("a.js", A);
    let log = nanod.wait_for_stderr_n("nanod: reloaded", 2);
    assert!(log.contains("0 services changed, 2 unchanged"), "{log}");
}

#[test]
fn a_broken_config_on_sighup_keeps_the_old_one_serving() {
    let dir = TestDir::new("reload-broken");
    let config = two_services(&dir, "B1");
    let nanod = Nanod::start(&config, &["sa", "sb"], &["--threads", "2"]);
    let b = nanod.port("sb");
    let get = |port: u16| Conn::open(port).request("GET", "/", &[], None).text();
    assert_eq!(get(b), "B1");

    // A syntax error in the config file: its position is named.
    dir.write("config.capnp", &two_services_config(r#""127.0.0.1:8080" oops"#));
    dir.write("b.js", &b_module("B2"));
    nanod.signal("HUP");
    let log = nanod.wait_for_stderr("failed, still serving the previous config");
    let position = format!("{}:8:", config.display());
    let line = log.lines().find(|l| l.contains("still serving the previous config")).expect("the error line");
    assert!(line.contains(&position), "no {position}LINE:COL in {line:?}");
    assert_eq!(get(b), "B1");

    // A Worker that throws at the top level fails the reload as it would fail start-up.
    dir.write("config.capnp", &two_services_config(r#""127.0.0.1:8080""#));
    dir.write("b.js", "throw new Error(\"broken at the top\");\nexport default {};\n");
    nanod.signal("HUP");
    let log = nanod.wait_for_stderr_n("failed, still serving the previous config", 2);
    assert!(log.contains("service b: Uncaught Error: broken at the top"), "{log}");
    assert_eq!(get(b), "B1");

    // A socket change is named and not applied; the rest of the reload is.
    dir.write("config.capnp", &two_services_config(r#""127.0.0.1:9""#));
    dir.write("b.js", &b_module("B2"));
    nanod.signal("HUP");
    let log = nanod.wait_for_stderr("nanod: reloaded");
    assert!(log.contains("socket changes need a restart; keeping the sockets as they are: sa (changed)"), "{log}");
    assert_eq!(get(b), "B2");
    assert_eq!(get(nanod.port("sa")), "A 1");
}
