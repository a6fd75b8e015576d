//! `network` services through the real binary: a Worker's global `fetch()` goes to its
//! `globalOutbound` (by default the implicit `internet`, public addresses only), which checks
//! every resolved address before connecting. The upstream is a tiny HTTP server started by the
//! test on 127.0.0.1 or 127.0.0.2 that logs every accepted connection, so a refused fetch is
//! proven to have opened no connection. All traffic stays in 127.0.0.0/8.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Arc, Mutex};

use support::{nanod, Server, TestDir};

/// An HTTP/1.1 upstream that answers every request with a fixed `201` and records each
/// accepted connection (with the request it read) in `log`.
struct Upstream {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Upstream {
    fn start(ip: Ipv4Addr) -> Upstream {
        let listener = TcpListener::bind((ip, 0)).expect("bind upstream");
        let port = listener.local_addr().expect("upstream addr").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let index = {
                    let mut log = sink.lock().expect("log lock");
                    log.push(String::new());
                    log.len() - 1
                };
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let request = read_request(&stream);
                    sink.lock().expect("log lock")[index] = request;
                    let body = "hello from upstream";
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nX-Upstream: yes\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        Upstream { port, log }
    }

    fn connections(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }
}

/// Reads one request: head, then a `Content-Length` or chunked body. Returns it as text.
fn read_request(stream: &std::net::TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut text = String::new();
    let mut length = 0;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return text;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        text.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    if chunked {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            if reader.read_exact(&mut chunk).is_err() {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&chunk[..size]));
            if size == 0 {
                break;
            }
        }
    } else {
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_ok() {
            text.push_str(&String::from_utf8_lossy(&body));
        }
    }
    text
}

/// Fetches `?u=` (with `?m=POST`, posts a body) and answers what came back, or the error.
const WORKER: &str = r#"
export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    const init = params.get("m") === "POST"
      ? { method: "POST", body: "posted body", headers: { "x-test": "yes" } }
      : {};
    try {
      const r = await fetch(params.get("u"), init);
      return new Response(`${r.status} ${r.headers.get("x-upstream")} ${await r.text()}`);
    } catch (e) {
      return new Response(`error ${e.name}: ${e.message}`);
    }
  },
};
"#;

fn config(worker_fields: &str, services: &str) -> String {
    format!(
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2024-09-01"{worker_fields})),
    {services}
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);
"#
    )
}

fn serve(dir: &TestDir, config: &str) -> Server {
    dir.write("w.js", WORKER);
    Server::start(&dir.write("config.capnp", config), &["--threads", "1"])
}

/// `GET /?u=URL` on the Worker, the URL percent-encoded.
fn fetch_via(server: &Server, url: &str, post: bool) -> String {
    let encoded: String = url
        .chars()
        .map(|c| match c {
            ':' => "%3A".to_owned(),
            '/' => "%2F".to_owned(),
            '[' => "%5B".to_owned(),
            ']' => "%5D".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let path = format!("/?u={encoded}{}", if post { "&m=POST" } else { "" });
    let response = server.get(&path);
    assert_eq!(response.status, 200, "{}", response.text());
    response.text()
}

#[test]
fn default_internet_refuses_loopback_in_every_spelling_without_connecting() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let dir = TestDir::new("net-default");
    let server = serve(&dir, &config("", ""));
    let port = upstream.port;
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        let answer = fetch_via(&server, &url, false);
        assert!(answer.starts_with("error Error: "), "{url}: {answer}");
        assert!(answer.contains("network service \"internet\" refused"), "{url}: {answer}");
    }
    let log = server.wait_for_stderr("internet: fetch refused:");
    assert!(log.contains("internet: fetch refused: 127.0.0.1 is a local address"), "{log}");
    assert!(log.contains("internet: fetch refused: ::ffff:127.0.0.1 is a local address"), "{log}");
    assert!(upstream.connections().is_empty(), "connections: {:?}", upstream.connections());
}

#[test]
fn https_is_refused_without_connecting() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let dir = TestDir::new("net-https");
    let server = serve(&dir, &config("", r#"(name = "internet", network = (allow = ["local"])),"#));
    let answer = fetch_via(&server, &format!("https://127.0.0.1:{}/", upstream.port), false);
    assert_eq!(answer, "error Error: https is not supported yet by network services");
    assert!(upstream.connections().is_empty());
}

#[test]
fn internet_allowing_local_reaches_the_upstream() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let dir = TestDir::new("net-local");
    let server = serve(&dir, &config("", r#"(name = "internet", network = (allow = ["local"])),"#));
    let port = upstream.port;

    let answer = fetch_via(&server, &format!("http://127.0.0.1:{port}/some/path?q=1"), false);
    assert_eq!(answer, "201 yes hello from upstream");
    let answer = fetch_via(&server, &format!("http://127.0.0.1:{port}/submit"), true);
    assert_eq!(answer, "201 yes hello from upstream");

    let connections = upstream.connections();
    assert_eq!(connections.len(), 2, "{connections:?}");
    assert!(connections[0].starts_with("GET /some/path?q=1 HTTP/1.1\r\n"), "{}", connections[0]);
    assert!(connections[0].to_ascii_lowercase().contains(&format!("host: 127.0.0.1:{port}\r\n")), "{}", connections[0]);
    assert!(connections[1].starts_with("POST /submit HTTP/1.1\r\n"), "{}", connections[1]);
    assert!(connections[1].to_ascii_lowercase().contains("x-test: yes\r\n"), "{}", connections[1]);
    assert!(connections[1].ends_with("\r\n\r\nposted body"), "{}", connections[1]);
}

#[test]
fn global_outbound_with_a_cidr_allows_only_its_range() {
    let refused = Upstream::start(Ipv4Addr::LOCALHOST);
    let allowed = Upstream::start(Ipv4Addr::new(127, 0, 0, 2));
    let dir = TestDir::new("net-cidr");
    let server =
        serve(&dir, &config(r#", globalOutbound = "lan""#, r#"(name = "lan", network = (allow = ["127.0.0.2/32"])),"#));

    let answer = fetch_via(&server, &format!("http://127.0.0.1:{}/", refused.port), false);
    assert!(answer.starts_with("error Error: network service \"lan\" refused"), "{answer}");
    let log = server.wait_for_stderr("lan: fetch refused:");
    assert!(
        log.contains(
            "lan: fetch refused: 127.0.0.1 is a local address; this network service allows only: 127.0.0.2/32"
        ),
        "{log}"
    );

    let answer = fetch_via(&server, &format!("http://127.0.0.2:{}/", allowed.port), false);
    assert_eq!(answer, "201 yes hello from upstream");
    assert!(refused.connections().is_empty(), "{:?}", refused.connections());
    assert_eq!(allowed.connections().len(), 1);
}

#[test]
fn bad_network_policy_fails_start_up_naming_the_service() {
    let dir = TestDir::new("net-bad-policy");
    dir.write("w.js", WORKER);
    let path = dir.write("config.capnp", &config("", r#"(name = "internet", network = (allow = ["nowhere"])),"#));
    let output = nanod().arg("serve").arg(&path).current_dir(&dir.0).output().expect("run nanod");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("service \"internet\": network allow entry \"nowhere\""), "{stderr}");
}
