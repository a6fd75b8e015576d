//! Sockets through the real binary: `https` sockets (a keypair from a CA made at test time,
//! curl with `--cacert`, client certificates, clients that stall or send garbage), forward-proxy
//! sockets (`http.style = proxy`) and the socket `HttpOptions` (`forwardedProtoHeader`,
//! `cfBlobHeader`, `injectRequestHeaders`, `injectResponseHeaders`), each checked against what
//! workerd does with the same config. Every connection goes to 127.0.0.1; curl's `-x` sends
//! `http://anything.example/...` to our loopback proxy, so that name is never resolved.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::test_ca::TestCa;
use support::{nanod, Conn, Server, TestDir};

/// Answers with what it saw: `{"url":..., "headers":{...}}`, and an `x-out` header.
const ECHO: &str = r#"export default {
  async fetch(request) {
    if (new URL(request.url, "http://base").pathname === "/throw") throw new Error("boom");
    const headers = {};
    for (const [name, value] of request.headers) headers[name] = value;
    return Response.json({ url: request.url, method: request.method, headers }, { headers: { "x-out": "worker" } });
  },
};"#;

fn config(socket: &str) -> String {
    format!(
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = (modules = [(name = "echo.js", esModule = embed "echo.js")], compatibilityDate = "2024-09-01"))],
  sockets = [(name = "http", address = "127.0.0.1:8080", {socket}, service = "main")],
);"#
    )
}

fn dir(name: &str) -> TestDir {
    let dir = TestDir::new(&format!("sockets-{name}"));
    dir.write("echo.js", ECHO);
    dir
}

/// A directory with the test CA (`ca.pem`) and a server keypair for localhost/127.0.0.1
/// (`cert.pem`, `key.pem`).
fn tls_dir(name: &str) -> (TestDir, TestCa) {
    let dir = dir(name);
    let ca = TestCa::new();
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    dir.write("ca.pem", &ca.cert_pem);
    dir.write("cert.pem", &leaf.cert_pem);
    dir.write("key.pem", &leaf.key_pem);
    (dir, ca)
}

const KEYPAIR: &str = r#"keypair = (privateKey = embed "key.pem", certificateChain = embed "cert.pem")"#;

fn https_server(dir: &TestDir, tls_options: &str, http_options: &str) -> Server {
    let path = dir
        .write("config.capnp", &config(&format!("https = (options = ({http_options}), tlsOptions = ({tls_options}))")));
    Server::start(&path, &["--threads", "1"])
}

/// curl, bounded in time, never through a proxy from the environment.
fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10", "--noproxy", "*"])
        .args(args)
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(Stdio::null())
        .output()
        .expect("run curl")
}

fn body(output: &Output) -> String {
    assert!(output.status.success(), "curl failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn path(dir: &TestDir, name: &str) -> String {
    dir.path(name).display().to_string()
}

#[test]
fn https_socket_serves_with_its_keypair() {
    let (dir, _ca) = tls_dir("https");
    let server = https_server(&dir, KEYPAIR, "");
    let ca = path(&dir, "ca.pem");
    let url = format!("https://127.0.0.1:{}/path?q=1", server.port);
    let answer = body(&curl(&["--cacert", &ca, &url]));
    assert!(answer.contains(&format!(r#""url":"https://127.0.0.1:{}/path?q=1""#, server.port)), "{answer}");
    // By name too: the certificate is for localhost.
    let answer = body(&curl(&["--cacert", &ca, &format!("https://localhost:{}/", server.port)]));
    assert!(answer.contains(&format!(r#""url":"https://localhost:{}/""#, server.port)), "{answer}");
    // HTTP/1.1 is all nanod speaks over TLS (as workerd): ALPN never picks h2.
    let version = body(&curl(&["--cacert", &ca, "--http2", "-o", "/dev/null", "-w", "%{http_version}", &url]));
    assert_eq!(version, "1.1");

    // Without the CA, curl cannot verify the certificate (exit 60).
    let untrusted = curl(&[&url]);
    assert_eq!(untrusted.status.code(), Some(60), "{}", String::from_utf8_lossy(&untrusted.stderr));
    assert!(server.wait_for_stderr("TLS handshake failed").contains("socket \"http\": TLS handshake failed"));
}

#[test]
fn stalled_and_garbage_tls_clients_do_not_block_others() {
    let (dir, _ca) = tls_dir("stall");
    let server = https_server(&dir, KEYPAIR, "");
    let ca = path(&dir, "ca.pem");
    // One thread serves everything: a client that never sends a ClientHello must not hold it.
    let silent: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap()).collect();
    let mut garbage = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    garbage.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let started = Instant::now();
    let answer = body(&curl(&["--cacert", &ca, &format!("https://127.0.0.1:{}/after", server.port)]));
    assert!(answer.contains("/after"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "served only after {:?}", started.elapsed());
    // The garbage client gets its connection closed (perhaps after a TLS alert), nothing else.
    let mut rest = Vec::new();
    let _ = garbage.read_to_end(&mut rest);
    assert!(!rest.starts_with(b"HTTP/"), "{:?}", String::from_utf8_lossy(&rest));
    assert!(server.wait_for_stderr("TLS handshake failed").contains("TLS handshake failed"));
    // The silent clients are still waiting, and still do not stop anyone.
    let answer = body(&curl(&["--cacert", &ca, &format!("https://127.0.0.1:{}/again", server.port)]));
    assert!(answer.contains("/again"), "{answer}");
    drop(silent);
}

/// A client certificate (clientAuth) from its own CA, with rcgen; returns (CA, cert, key) PEMs.
fn client_identity() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "nanod test client CA");
    let ca_key = KeyPair::generate().expect("key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(Vec::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, "nanod test client");
    params.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth);
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &issuer).expect("client certificate");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn require_client_certs_refuses_clients_without_one() {
    let (dir, _ca) = tls_dir("mtls");
    let (client_ca, client_cert, client_key) = client_identity();
    dir.write("client-ca.pem", &client_ca);
    dir.write("client.pem", &client_cert);
    dir.write("client.key", &client_key);
    let tls = format!(r#"{KEYPAIR}, requireClientCerts = true, trustedCertificates = [embed "client-ca.pem"]"#);
    let server = https_server(&dir, &tls, "");
    let ca = path(&dir, "ca.pem");
    let url = format!("https://127.0.0.1:{}/mtls", server.port);
    let answer =
        body(&curl(&["--cacert", &ca, "--cert", &path(&dir, "client.pem"), "--key", &path(&dir, "client.key"), &url]));
    assert!(answer.contains(&format!(r#""url":"https://127.0.0.1:{}/mtls""#, server.port)), "{answer}");

    let refused = curl(&["--cacert", &ca, &url]);
    assert!(!refused.status.success(), "served without a client certificate");
    assert!(refused.stdout.is_empty());
    // A certificate from another CA (the server's own leaf) is refused too.
    let wrong = curl(&["--cacert", &ca, "--cert", &path(&dir, "cert.pem"), "--key", &path(&dir, "key.pem"), &url]);
    assert!(!wrong.status.success(), "served a client certificate from an untrusted CA");
}

#[test]
fn proxy_socket_takes_the_absolute_url() {
    let dir = dir("proxy");
    let path =
        dir.write("config.capnp", &config(r#"http = (style = proxy, forwardedProtoHeader = "X-Forwarded-Proto")"#));
    let server = Server::start(&path, &["--threads", "1"]);
    let proxy = format!("http://127.0.0.1:{}", server.port);
    // No `no_proxy` from the environment may send curl around the proxy; and were it to go
    // around, `--resolve` keeps it on loopback.
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10", "-x", &proxy])
        .args(["--resolve", "anything.example:80:127.0.0.1"])
        .args(["-H", "X-Forwarded-Proto: https", "http://anything.example/path?q=1"])
        .env_remove("no_proxy")
        .env_remove("NO_PROXY")
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    let answer = body(&output);
    assert!(answer.contains(r#""url":"http://anything.example/path?q=1""#), "{answer}");
    // forwardedProtoHeader is ignored (and kept) on a proxy socket, as in workerd.
    assert!(answer.contains(r#""x-forwarded-proto":"https""#), "{answer}");

    // The Host header does not matter, or need to be there.
    let mut conn = server.connect();
    conn.write_raw(b"GET http://other.example:8080/x HTTP/1.1\r\n\r\n");
    let answer = conn.read_response(false);
    assert_eq!(answer.status, 200);
    assert!(answer.text().contains(r#""url":"http://other.example:8080/x""#), "{}", answer.text());
    // An origin-form target reaches the Worker as is (workerd too).
    let origin = server.get("/plain");
    assert!(origin.text().contains(r#""url":"/plain""#), "{}", origin.text());
    // CONNECT: a Worker has no connect handler, so workerd's 500, and the connection closes.
    let mut conn = server.connect();
    conn.write_raw(b"CONNECT anything.example:443 HTTP/1.1\r\nHost: anything.example:443\r\n\r\n");
    let connect = conn.read_response(false);
    assert_eq!((connect.status, connect.text().as_str()), (500, "Internal Server Error"));
    assert_eq!(connect.header("connection"), Some("close"));
}

#[test]
fn http_options_rewrite_requests_and_responses() {
    let dir = dir("options");
    let options = r#"http = (
      forwardedProtoHeader = "X-Forwarded-Proto",
      cfBlobHeader = "cf-blob",
      injectRequestHeaders = [(name = "X-In", value = "injected"), (name = "X-Drop")],
      injectResponseHeaders = [(name = "X-Out", value = "resp"), (name = "x-added", value = "yes")])"#;
    let path = dir.write("config.capnp", &config(options));
    let server = Server::start(&path, &["--threads", "1"]);
    let headers = [("X-Forwarded-Proto", "https"), ("X-In", "original"), ("X-Drop", "x"), ("cf-blob", "{}")];
    let answer = server.request("GET", "/a?b=1", &headers, None);
    assert_eq!(answer.status, 200);
    let text = answer.text();
    assert!(text.contains(r#""url":"https://example.com/a?b=1""#), "{text}");
    assert!(text.contains(r#""x-in":"injected""#), "{text}");
    for gone in ["x-drop", "x-forwarded-proto", "cf-blob", "original"] {
        assert!(!text.contains(gone), "{gone} reached the Worker: {text}");
    }
    assert_eq!(answer.header("x-out"), Some("resp"));
    assert_eq!(answer.header("x-added"), Some("yes"));

    // No header: the socket's own protocol. `http` works both ways.
    assert!(server.get("/plain").text().contains(r#""url":"http://example.com/plain""#));
    let http = server.request("GET", "/p", &[("x-forwarded-proto", "HTTP")], None).text();
    assert!(http.contains(r#""url":"http://example.com/p""#), "{http}");

    // workerd's error answers go out as they are, without the injected headers.
    let failed = server.get("/throw");
    assert_eq!(failed.status, 500);
    assert_eq!(failed.header("x-added"), None);
    assert!(server.wait_for_stderr("boom").contains("main: Uncaught Error: boom"));
}

#[test]
fn forwarded_proto_on_an_https_socket() {
    let (dir, _ca) = tls_dir("https-forwarded");
    let server = https_server(&dir, KEYPAIR, r#"forwardedProtoHeader = "X-Forwarded-Proto""#);
    let ca = path(&dir, "ca.pem");
    let url = format!("https://127.0.0.1:{}/f", server.port);
    let answer = body(&curl(&["--cacert", &ca, "-H", "X-Forwarded-Proto: http", &url]));
    assert!(answer.contains(&format!(r#""url":"http://127.0.0.1:{}/f""#, server.port)), "{answer}");
}

#[test]
fn host_socket_without_host_is_a_bad_request() {
    let dir = dir("no-host");
    let path = dir.write("config.capnp", &config("http = ()"));
    let server = Server::start(&path, &["--threads", "1"]);
    let mut conn = Conn::open(server.port);
    conn.write_raw(b"GET /x HTTP/1.1\r\n\r\n");
    let answer = conn.read_response(false);
    assert_eq!((answer.status, answer.text().as_str()), (400, "Bad Request"));
    assert_eq!(answer.header("content-type"), None);
}

/// Runs `nanod serve` on `config` (its socket bound to a free loopback port) and expects it to
/// fail at start-up; returns stderr.
fn serve_fails(dir: &TestDir, config: &str) -> String {
    let path: PathBuf = dir.write("config.capnp", config);
    let mut child = nanod()
        .arg("serve")
        .arg(&path)
        .args(["--socket-addr", "http=127.0.0.1:0"])
        .current_dir(Path::new(&dir.0))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nanod");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nanod kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    stderr
}

#[test]
fn bad_or_missing_keypairs_stop_start_up() {
    let (dir, _ca) = tls_dir("bad-keypair");
    let https = |tls: &str| config(&format!("https = (tlsOptions = ({tls}))"));
    let missing = serve_fails(&dir, &https(""));
    assert!(missing.contains("socket \"http\": an https socket needs tlsOptions.keypair"), "{missing}");

    dir.write("garbage.pem", "not a PEM file\n");
    let bad_cert = serve_fails(
        &dir,
        &https(r#"keypair = (privateKey = embed "key.pem", certificateChain = embed "garbage.pem")"#),
    );
    assert!(bad_cert.contains("socket \"http\": keypair.certificateChain: no PEM certificate"), "{bad_cert}");
    let bad_key = serve_fails(
        &dir,
        &https(r#"keypair = (privateKey = embed "garbage.pem", certificateChain = embed "cert.pem")"#),
    );
    assert!(bad_key.contains("socket \"http\": keypair.privateKey: invalid PEM private key"), "{bad_key}");
    // A key that is not the certificate's.
    dir.write("other-key.pem", &TestCa::new().leaf(&["localhost"]).key_pem);
    let mismatch = serve_fails(
        &dir,
        &https(r#"keypair = (privateKey = embed "other-key.pem", certificateChain = embed "cert.pem")"#),
    );
    assert!(
        mismatch
            .contains("socket \"http\": keypair: privateKey does not match the first certificate of certificateChain"),
        "{mismatch}"
    );
    // Socket errors carry the socket's position in the config.
    assert!(mismatch.contains("config.capnp:") && mismatch.contains(": socket \"http\": "), "{mismatch}");
    let no_ca = serve_fails(&dir, &https(&format!("{KEYPAIR}, requireClientCerts = true")));
    assert!(no_ca.contains("socket \"http\": requireClientCerts needs a CA"), "{no_ca}");
    let capnp = serve_fails(&dir, &config(r#"http = (capnpConnectHost = "capnp")"#));
    assert!(capnp.contains("socket \"http\": http.capnpConnectHost is not supported"), "{capnp}");

    // `nanod check` checks socket settings too, without binding anything.
    let path = dir.write("config.capnp", &https(""));
    let output = nanod().arg("check").arg(&path).current_dir(&dir.0).output().expect("run nanod check");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("socket \"http\": an https socket needs tlsOptions.keypair"), "{stderr}");
}
