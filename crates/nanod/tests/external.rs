//! `external` services through the real binary: a Worker's service binding to an external
//! service sends every request to the one configured address (127.0.0.1 here), whatever the
//! URL's host, keeping that host in `Host`; `http` options (`style = proxy`,
//! `forwardedProtoHeader`, `cfBlobHeader`, injected headers) and `https` with
//! `certificateHost` against a TLS upstream with a test CA. The URLs name `backend.example`, a
//! reserved name that does not resolve: a fetch that looked it up would fail. All traffic stays
//! in 127.0.0.0/8.

mod support;

use std::net::Ipv4Addr;

use support::test_ca::TestCa;
use support::tls_upstream::TlsUpstream;
use support::upstream::Upstream;
use support::{nanod, Server, TestDir};

/// Fetches `?u=` through `env.BACKEND` with a few headers the options act on, and answers the
/// status, two response headers and the body.
const WORKER: &str = r#"
export default {
  async fetch(request, env) {
    const u = new URL(request.url).searchParams.get("u");
    try {
      const r = await env.BACKEND.fetch(u, {
        headers: { cookie: "c=1", "cf-blob": "{}", "x-forwarded-proto": "spoofed", "x-token": "mine" },
      });
      return new Response(`${r.status} ${r.headers.get("x-upstream")} ${r.headers.get("x-injected")} ${await r.text()}`);
    } catch (e) {
      return new Response(`error ${e.name}: ${e.message}`);
    }
  },
};
"#;

fn config(backend: &str) -> String {
    format!(
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2024-09-01",
      bindings = [(name = "BACKEND", service = "backend")])),
    (name = "backend", external = {backend}),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);
"#
    )
}

fn serve(dir: &TestDir, backend: &str) -> Server {
    dir.write("w.js", WORKER);
    Server::start(&dir.write("config.capnp", &config(backend)), &["--threads", "1"])
}

fn fetch_via(server: &Server, url: &str) -> String {
    let encoded = url.replace(':', "%3A").replace('/', "%2F").replace('?', "%3F").replace('=', "%3D");
    let response = server.get(&format!("/?u={encoded}"));
    assert_eq!(response.status, 200, "{}", response.text());
    response.text()
}

fn has_header(request: &str, line: &str) -> bool {
    request.to_ascii_lowercase().contains(&format!("\r\n{line}\r\n"))
}

#[test]
fn every_request_goes_to_the_configured_address_keeping_its_host() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let dir = TestDir::new("ext-host");
    let server = serve(&dir, &format!(r#"(address = "127.0.0.1:{}", http = ())"#, upstream.port));
    assert_eq!(fetch_via(&server, "http://backend.example/x?y=1"), "201 yes null hello from upstream");
    assert_eq!(fetch_via(&server, "https://other.example:8443/z"), "201 yes null hello from upstream");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[0].starts_with("GET /x?y=1 HTTP/1.1\r\n"), "{}", requests[0]);
    assert!(has_header(&requests[0], "host: backend.example"), "{}", requests[0]);
    assert!(requests[1].starts_with("GET /z HTTP/1.1\r\n"), "{}", requests[1]);
    assert!(has_header(&requests[1], "host: other.example:8443"), "{}", requests[1]);
    // Without the options, the Worker's headers pass as they are.
    assert!(has_header(&requests[0], "cookie: c=1"), "{}", requests[0]);
    assert!(has_header(&requests[0], "x-forwarded-proto: spoofed"), "{}", requests[0]);
}

#[test]
fn proxy_style_puts_the_absolute_url_on_the_request_line() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let dir = TestDir::new("ext-proxy");
    let server = serve(
        &dir,
        &format!(
            r#"(address = "127.0.0.1:{}", http = (style = proxy, forwardedProtoHeader = "X-Forwarded-Proto"))"#,
            upstream.port
        ),
    );
    assert_eq!(fetch_via(&server, "http://backend.example/x?y=1"), "201 yes null hello from upstream");
    let requests = upstream.requests();
    assert!(requests[0].starts_with("GET http://backend.example/x?y=1 HTTP/1.1\r\n"), "{}", requests[0]);
    assert!(has_header(&requests[0], "host: backend.example"), "{}", requests[0]);
    // forwardedProtoHeader is ignored with style = proxy (workerd's HttpRewriter).
    assert!(has_header(&requests[0], "x-forwarded-proto: spoofed"), "{}", requests[0]);
}

#[test]
fn http_options_rewrite_requests_and_responses() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let dir = TestDir::new("ext-options");
    let server = serve(
        &dir,
        &format!(
            r#"(address = "127.0.0.1:{}", http = (
                forwardedProtoHeader = "X-Forwarded-Proto",
                cfBlobHeader = "CF-Blob",
                injectRequestHeaders = [(name = "X-Token", value = "secret"), (name = "Cookie")],
                injectResponseHeaders = [(name = "X-Injected", value = "yes"), (name = "X-Upstream")]))"#,
            upstream.port
        ),
    );
    assert_eq!(fetch_via(&server, "https://backend.example/x"), "201 null yes hello from upstream");
    assert_eq!(fetch_via(&server, "http://backend.example/y"), "201 null yes hello from upstream");
    let requests = upstream.requests();
    let first = &requests[0];
    assert!(first.starts_with("GET /x HTTP/1.1\r\n"), "{first}");
    assert!(has_header(first, "x-forwarded-proto: https"), "{first}");
    assert!(has_header(first, "x-token: secret"), "{first}");
    assert!(!first.to_ascii_lowercase().contains("x-token: mine"), "{first}");
    assert!(!first.to_ascii_lowercase().contains("cookie:"), "{first}");
    assert!(!first.to_ascii_lowercase().contains("cf-blob:"), "{first}");
    assert!(has_header(&requests[1], "x-forwarded-proto: http"), "{}", requests[1]);
}

#[test]
fn https_external_checks_the_certificate_host() {
    let ca = TestCa::new();
    let upstream = TlsUpstream::start(Ipv4Addr::LOCALHOST, &ca.leaf(&["backend.internal"]));
    let dir = TestDir::new("ext-https");
    dir.write("ca.pem", &ca.cert_pem);
    let server = serve(
        &dir,
        &format!(
            r#"(address = "127.0.0.1:{}", https = (tlsOptions = (trustedCertificates = [embed "ca.pem"]),
                certificateHost = "backend.internal"))"#,
            upstream.port
        ),
    );
    for path in ["/x", "/y"] {
        let answer = fetch_via(&server, &format!("http://backend.example{path}"));
        assert_eq!(answer, format!("200 tls null HTTP/2.0 GET https://backend.example{path} host=backend.example"));
    }
    assert_eq!(upstream.connections(), ["h2"]);

    // Without certificateHost the certificate must match the address, 127.0.0.1: it does not.
    let dir = TestDir::new("ext-https-mismatch");
    dir.write("ca.pem", &ca.cert_pem);
    let server = serve(
        &dir,
        &format!(
            r#"(address = "127.0.0.1:{}", https = (tlsOptions = (trustedCertificates = [embed "ca.pem"])))"#,
            upstream.port
        ),
    );
    let answer = fetch_via(&server, "http://backend.example/x");
    assert!(answer.starts_with("error Error: external service \"backend\": TLS handshake with 127.0.0.1:"), "{answer}");
    assert!(
        answer.contains("(server name \"127.0.0.1\") failed: invalid peer certificate: certificate not valid for name \"127.0.0.1\""),
        "{answer}"
    );
    let log = server.wait_for_stderr("backend: request to");
    assert!(log.contains("backend: request to http://backend.example/x failed: TLS handshake"), "{log}");
}

#[test]
fn an_unreachable_external_server_rejects_the_fetch() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = TestDir::new("ext-down");
    let server = serve(&dir, &format!(r#"(address = "127.0.0.1:{port}", http = ())"#));
    let answer = fetch_via(&server, "http://backend.example/");
    assert!(
        answer
            .starts_with(&format!("error Error: external service \"backend\": connection to 127.0.0.1:{port} failed:")),
        "{answer}"
    );
}

/// workerd's `--external-addr NAME=ADDR` gives an external service without `address` one (and
/// replaces one the config has).
#[test]
fn external_addr_on_the_command_line_sets_the_address() {
    let upstream = Upstream::start(Ipv4Addr::LOCALHOST);
    let dir = TestDir::new("ext-cli-addr");
    dir.write("w.js", WORKER);
    let path = dir.write("config.capnp", &config("(http = ())"));
    let addr = format!("backend=127.0.0.1:{}", upstream.port);
    let server = Server::start(&path, &["--threads", "1", "--external-addr", &addr]);
    assert_eq!(fetch_via(&server, "http://backend.example/cli"), "201 yes null hello from upstream");
    assert!(upstream.requests()[0].starts_with("GET /cli HTTP/1.1\r\n"), "{:?}", upstream.requests());

    for (flag, expected) in [
        ("nowhere=127.0.0.1:1", "--external-addr nowhere=...: no service named \"nowhere\" in the config"),
        ("main=127.0.0.1:1", "--external-addr main=...: service \"main\" is not an external service"),
        ("backend", "--external-addr expects NAME=ADDR, got \"backend\""),
    ] {
        let output = nanod().args(["check"]).arg(&path).args(["--external-addr", flag]).output().expect("run nanod");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{flag}: {stderr}");
        assert!(stderr.contains(expected), "{flag}: {stderr}");
    }
}

#[test]
fn bad_external_config_fails_start_up_naming_the_service() {
    let dir = TestDir::new("ext-bad");
    dir.write("w.js", WORKER);
    dir.write("bad.pem", "not a certificate");
    for (backend, expected) in [
        (
            r#"(address = "127.0.0.1:99999", http = ())"#,
            "service \"backend\": address \"127.0.0.1:99999\": invalid port \"99999\"",
        ),
        (
            r#"(address = "unix:/tmp/nanod-none.sock", http = ())"#,
            "service \"backend\": address \"unix:/tmp/nanod-none.sock\": Unix sockets are not supported yet",
        ),
        (r#"(http = ())"#, "service \"backend\": an external service needs an address"),
        (
            r#"(address = "127.0.0.1:1", https = (tlsOptions = (trustedCertificates = [embed "bad.pem"])))"#,
            "service \"backend\": tlsOptions.trustedCertificates[0]: no PEM certificate",
        ),
        (
            r#"(address = "127.0.0.1:1", http = (injectRequestHeaders = [(name = "bad name", value = "x")]))"#,
            "service \"backend\": injectRequestHeaders: invalid header name \"bad name\"",
        ),
    ] {
        let path = dir.write("config.capnp", &config(backend));
        let output = nanod().arg("serve").arg(&path).current_dir(&dir.0).output().expect("run nanod");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{backend}: {stderr}");
        assert!(stderr.contains(expected), "{backend}: {stderr}");
    }
}
