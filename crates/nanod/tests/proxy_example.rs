//! `examples/proxy` through the real binary: the reverse proxy forwards `/api/*` to its
//! `external` backend (an upstream started by the test on 127.0.0.1, named with
//! `--external-addr`), and the forward proxy socket (`style = proxy`) refuses denied hosts
//! itself and loopback through its `internet` service, with the upstream's log proving that no
//! connection was opened. All traffic stays on 127.0.0.1; no name is ever resolved.

mod support;

use std::net::Ipv4Addr;

use support::upstream::Upstream;
use support::{example, Conn, Server};

fn start(upstream: &Upstream) -> (Server, u16) {
    let backend = format!("backend=127.0.0.1:{}", upstream.port);
    let server = Server::start(
        &example("proxy/config.capnp"),
        &["--socket-addr", "forward=127.0.0.1:0", "--external-addr", &backend, "--threads", "1"],
    );
    let log = server.wait_for_stderr("listening on forward=127.0.0.1:");
    let forward = log
        .lines()
        .find_map(|line| line.strip_prefix("nanod: listening on forward=127.0.0.1:"))
        .and_then(|port| port.trim().parse().ok())
        .unwrap_or_else(|| panic!("no forward socket in:\n{log}"));
    (server, forward)
}

#[test]
fn the_reverse_proxy_forwards_api_requests_to_its_backend() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let (server, _) = start(&upstream);
    let response = server.request("GET", "/api/items?x=1", &[("Cookie", "session=secret")], None);
    assert_eq!(response.status, 201, "{}", server.stderr());
    assert_eq!(response.header("x-proxied-by"), Some("nanod"));
    assert_eq!(response.header("x-upstream"), Some("yes"));
    assert_eq!(response.text(), "hello from upstream");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let sent = requests[0].to_ascii_lowercase();
    assert!(sent.starts_with("get /items?x=1 http/1.1\r\n"), "{sent}");
    assert!(!sent.contains("cookie"), "{sent}");
    assert!(sent.contains("x-request-id: "), "{sent}");

    assert_eq!(server.get("/").text(), "reverse proxy: try /api/...\n");
    assert_eq!(upstream.requests().len(), 1);
}

#[test]
fn the_forward_proxy_refuses_denied_hosts_and_this_machine() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let (_server, forward) = start(&upstream);
    let ask = |target: &str, host: &str| {
        let mut conn = Conn::open(forward);
        conn.write_raw(format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
        conn.read_response(false)
    };
    let denied = ask("http://blocked.example/page", "blocked.example");
    assert_eq!((denied.status, denied.text().as_str()), (403, "forward proxy: blocked.example is blocked\n"));

    // The proxy cannot be turned against this machine: `internet` allows public addresses only.
    let port = upstream.port;
    let local = ask(&format!("http://127.0.0.1:{port}/secret"), &format!("127.0.0.1:{port}"));
    assert_eq!(local.status, 502, "{}", local.text());
    assert!(local.text().contains("network service \"internet\" refused"), "{}", local.text());
    assert!(upstream.connections().is_empty(), "{:?}", upstream.connections());

    let not_proxy = ask("/", "127.0.0.1");
    assert_eq!(not_proxy.status, 400, "{}", not_proxy.text());
}
