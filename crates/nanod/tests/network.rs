//! `network` services through the real binary: a Worker's global `fetch()` goes to its
//! `globalOutbound` (by default the implicit `internet`, public addresses only), which checks
//! every resolved address before connecting. The upstream is a tiny HTTP server started by the
//! test on 127.0.0.1, 127.0.0.2 or [::1] that logs every accepted connection, so a refused fetch is
//! proven to have opened no connection. `https` goes to a TLS upstream (hyper + rustls, ALPN
//! `h2` and `http/1.1`) with a certificate from a CA made at test time; it logs each connection
//! and the HTTP version of each request, so pooling and HTTP/2 are visible. All traffic stays
//! on loopback (127.0.0.0/8 and ::1).

mod support;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use support::test_ca::TestCa;
use support::tls_upstream::TlsUpstream;
use support::upstream::{fixed_response, Upstream};
use support::{nanod, Server, TestDir};

/// Fetches `?u=` (with `?m=POST`, posts a body) and answers what came back, or the error;
/// with `?n=N`, fetches `u` N times at once and answers the bodies joined by `|`.
const WORKER: &str = r#"
export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    const n = Number(params.get("n") || 0);
    if (n) {
      const texts = await Promise.all(Array.from({ length: n }, () => fetch(params.get("u")).then((r) => r.text())));
      return new Response(texts.join("|"));
    }
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

/// An `internet` that allows `local` and trusts `ca.pem` (written into `dir`).
fn local_tls_internet(dir: &TestDir, ca_pem: &str) -> String {
    dir.write("ca.pem", ca_pem);
    config(
        "",
        r#"(name = "internet", network = (allow = ["local"], tlsOptions = (trustedCertificates = [embed "ca.pem"]))),"#,
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
    get_text(server, &path)
}

fn get_text(server: &Server, path: &str) -> String {
    let response = server.get(path);
    assert_eq!(response.status, 200, "{}", response.text());
    response.text()
}

/// Every loopback spelling of the SSRF matrix: `v4` is the port of an upstream on 127.0.0.1,
/// `v6` of one on [::1]. The URL parser turns the decimal and octal forms into `127.0.0.1`.
fn loopback_spellings(v4: u16, v6: u16) -> [String; 6] {
    [
        format!("http://127.0.0.1:{v4}/"),
        format!("http://2130706433:{v4}/"),
        format!("http://0177.0.0.1:{v4}/"),
        format!("http://[::ffff:127.0.0.1]:{v4}/"),
        format!("http://localhost:{v4}/"),
        format!("http://[::1]:{v6}/"),
    ]
}

#[test]
fn default_internet_refuses_loopback_in_every_spelling_without_connecting() {
    let v4 = Upstream::start(Ipv4Addr::LOCALHOST);
    let v6 = Upstream::start(Ipv6Addr::LOCALHOST);
    let dir = TestDir::new("net-default");
    let server = serve(&dir, &config("", ""));
    for url in loopback_spellings(v4.port, v6.port) {
        let answer = fetch_via(&server, &url, false);
        assert!(answer.starts_with("error Error: "), "{url}: {answer}");
        assert!(answer.contains("network service \"internet\" refused"), "{url}: {answer}");
    }
    let log = server.wait_for_stderr("internet: fetch refused: ::1 ");
    assert!(log.contains("internet: fetch refused: 127.0.0.1 is a local address"), "{log}");
    assert!(log.contains("internet: fetch refused: ::ffff:127.0.0.1 is a local address"), "{log}");
    assert!(log.contains("internet: fetch refused: ::1 is a local address"), "{log}");
    assert!(v4.connections().is_empty(), "connections: {:?}", v4.connections());
    assert!(v6.connections().is_empty(), "connections: {:?}", v6.connections());
}

#[test]
fn internet_allowing_local_reaches_the_upstream_in_every_spelling() {
    let v4 = Upstream::start(Ipv4Addr::LOCALHOST);
    let v6 = Upstream::start(Ipv6Addr::LOCALHOST);
    let dir = TestDir::new("net-local");
    let server = serve(&dir, &config("", r#"(name = "internet", network = (allow = ["local"])),"#));
    for url in loopback_spellings(v4.port, v6.port) {
        assert_eq!(fetch_via(&server, &url, false), "201 yes hello from upstream", "{url}");
    }
    assert_eq!(v4.requests().len(), 5, "{:?}", v4.requests());
    assert_eq!(v6.requests().len(), 1, "{:?}", v6.requests());

    let port = v4.port;
    let answer = fetch_via(&server, &format!("http://127.0.0.1:{port}/some/path?q=1"), false);
    assert_eq!(answer, "201 yes hello from upstream");
    let answer = fetch_via(&server, &format!("http://127.0.0.1:{port}/submit"), true);
    assert_eq!(answer, "201 yes hello from upstream");
    let requests = v4.requests();
    let (get, post) = (&requests[5], &requests[6]);
    assert!(get.starts_with("GET /some/path?q=1 HTTP/1.1\r\n"), "{get}");
    assert!(get.to_ascii_lowercase().contains(&format!("host: 127.0.0.1:{port}\r\n")), "{get}");
    assert!(post.starts_with("POST /submit HTTP/1.1\r\n"), "{post}");
    assert!(post.to_ascii_lowercase().contains("x-test: yes\r\n"), "{post}");
    assert!(post.ends_with("\r\n\r\nposted body"), "{post}");
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

#[test]
fn https_with_a_trusted_ca_negotiates_http2_and_reuses_the_connection() {
    let ca = TestCa::new();
    let upstream = TlsUpstream::start(Ipv4Addr::LOCALHOST, &ca.leaf(&["localhost", "127.0.0.1"]));
    let dir = TestDir::new("net-https-h2");
    let server = serve(&dir, &local_tls_internet(&dir, &ca.cert_pem));
    let port = upstream.port;
    for path in ["/a", "/b?q=1", "/c"] {
        let answer = fetch_via(&server, &format!("https://127.0.0.1:{port}{path}"), false);
        assert_eq!(answer, format!("200 tls HTTP/2.0 GET https://127.0.0.1:{port}{path} host=127.0.0.1:{port}"));
    }
    assert_eq!(upstream.connections(), ["h2"], "three sequential fetches, one HTTP/2 connection");

    // Concurrent fetches multiplex on the pooled HTTP/2 connection.
    let answer = get_text(&server, &format!("/?n=5&u=https%3A%2F%2F127.0.0.1%3A{port}%2Fmany"));
    let expected = format!("HTTP/2.0 GET https://127.0.0.1:{port}/many host=127.0.0.1:{port}");
    assert_eq!(answer, vec![expected; 5].join("|"));
    assert_eq!(upstream.connections(), ["h2"]);
    assert_eq!(upstream.requests().len(), 8);

    // A name: its certificate name is checked (SNI `localhost`); a new server name is a new
    // pool key, so a new connection. `localhost` may resolve to ::1 first, where nothing
    // listens: the next admitted address is tried.
    let answer = fetch_via(&server, &format!("https://localhost:{port}/named"), false);
    assert_eq!(answer, format!("200 tls HTTP/2.0 GET https://localhost:{port}/named host=localhost:{port}"));
    assert_eq!(upstream.connections(), ["h2", "h2"]);
}

#[test]
fn https_to_an_http1_only_upstream_pools_keep_alive_connections() {
    let ca = TestCa::new();
    let upstream = TlsUpstream::start_with_alpn(Ipv4Addr::LOCALHOST, &ca.leaf(&["127.0.0.1"]), &[b"http/1.1"]);
    let dir = TestDir::new("net-https-h1");
    let server = serve(&dir, &local_tls_internet(&dir, &ca.cert_pem));
    let port = upstream.port;
    for _ in 0..3 {
        let answer = fetch_via(&server, &format!("https://127.0.0.1:{port}/x"), false);
        assert_eq!(answer, format!("200 tls HTTP/1.1 GET /x host=127.0.0.1:{port}"));
    }
    assert_eq!(upstream.connections(), ["http/1.1"]);
    let answer = get_text(&server, &format!("/?n=4&u=https%3A%2F%2F127.0.0.1%3A{port}%2Fy"));
    assert_eq!(answer.split('|').count(), 4, "{answer}");
    assert!(answer.split('|').all(|a| a == format!("HTTP/1.1 GET /y host=127.0.0.1:{port}")), "{answer}");
    assert!(upstream.connections().len() <= 4, "{:?}", upstream.connections());
}

#[test]
fn https_with_an_untrusted_certificate_rejects_and_logs_why() {
    let ca = TestCa::new();
    let other = TestCa::new();
    let upstream = TlsUpstream::start(Ipv4Addr::LOCALHOST, &ca.leaf(&["127.0.0.1"]));
    let dir = TestDir::new("net-https-untrusted");
    let server = serve(&dir, &local_tls_internet(&dir, &other.cert_pem));
    let port = upstream.port;
    let answer = fetch_via(&server, &format!("https://127.0.0.1:{port}/"), false);
    // Both test CAs share a name, so webpki finds the "issuer" and reports its bad signature
    // (UnknownIssuer when the names differ).
    let expected = format!(
        "error Error: network service \"internet\": TLS handshake with 127.0.0.1:{port} (server name \"127.0.0.1\") \
         failed: invalid peer certificate: "
    );
    assert!(answer.starts_with(&expected), "{answer}");
    assert!(answer.ends_with("BadSignature") || answer.ends_with("UnknownIssuer"), "{answer}");
    let log = server.wait_for_stderr("internet: fetch of");
    assert!(
        log.contains(&format!(
            "internet: fetch of https://127.0.0.1:{port}/ failed: TLS handshake with 127.0.0.1:{port}"
        )),
        "{log}"
    );
    assert!(log.contains("invalid peer certificate"), "{log}");
    // A certificate for another name fails too, with its own reason.
    let wrong_name = TlsUpstream::start(Ipv4Addr::LOCALHOST, &other.leaf(&["elsewhere.test"]));
    let answer = fetch_via(&server, &format!("https://127.0.0.1:{}/", wrong_name.port), false);
    assert!(
        answer.contains("failed: invalid peer certificate: certificate not valid for name \"127.0.0.1\""),
        "{answer}"
    );
}

#[test]
fn default_internet_refuses_https_to_loopback_without_connecting() {
    let ca = TestCa::new();
    let upstream = TlsUpstream::start(Ipv4Addr::LOCALHOST, &ca.leaf(&["localhost", "127.0.0.1"]));
    let dir = TestDir::new("net-https-default");
    let server = serve(&dir, &config("", ""));
    for url in [format!("https://127.0.0.1:{}/", upstream.port), format!("https://localhost:{}/", upstream.port)] {
        let answer = fetch_via(&server, &url, false);
        assert!(answer.starts_with("error Error: network service \"internet\" refused"), "{url}: {answer}");
    }
    assert!(upstream.connections().is_empty(), "{:?}", upstream.connections());
}

#[test]
fn plain_http_keep_alive_connections_are_pooled() {
    let upstream = Upstream::start_with(Ipv4Addr::LOCALHOST, Arc::new(|_: &str| fixed_response("pooled", false)));
    let dir = TestDir::new("net-pool");
    let server = serve(&dir, &config("", r#"(name = "internet", network = (allow = ["local"])),"#));
    let port = upstream.port;
    for n in 0..3 {
        let answer = fetch_via(&server, &format!("http://127.0.0.1:{port}/seq{n}"), n == 1);
        assert_eq!(answer, "201 yes pooled");
    }
    let connections = upstream.connections();
    assert_eq!(connections.len(), 1, "{connections:?}");
    assert_eq!(upstream.requests().len(), 3);

    let answer = get_text(&server, &format!("/?n=6&u=http%3A%2F%2F127.0.0.1%3A{port}%2Fpar"));
    assert_eq!(answer, ["pooled"; 6].join("|"));
    assert_eq!(upstream.requests().len(), 9);
    assert!(upstream.connections().len() <= 6, "{:?}", upstream.connections());
}

#[test]
fn hop_by_hop_request_headers_are_not_forwarded() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let dir = TestDir::new("net-hop");
    dir.write(
        "w.js",
        r#"export default {
  async fetch(request) {
    const u = new URL(request.url).searchParams.get("u");
    const r = await fetch(u, { headers: { "x-private": "1", connection: "x-private", "keep-alive": "5", "x-kept": "yes" } });
    return new Response(await r.text());
  },
};"#,
    );
    let config = dir.write("config.capnp", &config("", r#"(name = "internet", network = (allow = ["local"])),"#));
    let server = Server::start(&config, &["--threads", "1"]);
    let response = server.get(&format!("/?u=http%3A%2F%2F127.0.0.1%3A{}%2F", upstream.port));
    assert_eq!(response.text(), "hello from upstream");
    let request = upstream.requests().concat().to_ascii_lowercase();
    assert!(request.contains("x-kept: yes\r\n"), "{request}");
    assert!(!request.contains("x-private"), "{request}");
    assert!(!request.contains("keep-alive: 5"), "{request}");
}

#[test]
fn bad_tls_options_fail_start_up_naming_the_service() {
    let dir = TestDir::new("net-bad-pem");
    dir.write("w.js", WORKER);
    dir.write("ca.pem", "this is not a certificate");
    for (network, expected) in [
        (
            r#"(name = "internet", network = (tlsOptions = (trustedCertificates = [embed "ca.pem"]))),"#,
            "service \"internet\": tlsOptions.trustedCertificates[0]: no PEM certificate",
        ),
        (
            r#"(name = "internet", network = (tlsOptions = (keypair = (privateKey = "x", certificateChain = embed "ca.pem")))),"#,
            "service \"internet\": tlsOptions.keypair.certificateChain: no PEM certificate",
        ),
    ] {
        let path = dir.write("config.capnp", &config("", network));
        let output = nanod().arg("serve").arg(&path).current_dir(&dir.0).output().expect("run nanod");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}
