//! An HTTPS upstream for tests: hyper's server over tokio-rustls on a loopback address, in a
//! background thread with a current-thread runtime, its certificate from [`super::test_ca`].
//! It offers ALPN `h2` and `http/1.1` (or only what the test asks for), logs each accepted
//! connection (with the negotiated protocol) and the HTTP version, method, URI and `Host` (or
//! `:authority`) of each request, and answers `200` with `x-upstream: tls` and a body naming
//! the version and the request, so a test sees both what was negotiated and what was sent.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::test_ca::Leaf;

/// One request the upstream read.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Index of the connection it came on.
    pub connection: usize,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
    pub method: String,
    pub uri: String,
    /// The `Host` header, or the URI's authority (HTTP/2's `:authority`).
    pub host: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Default)]
struct Log {
    /// Per accepted connection: the ALPN protocol (`h2`, `http/1.1`, or `-`).
    connections: Vec<String>,
    requests: Vec<Logged>,
}

pub struct TlsUpstream {
    pub port: u16,
    log: Arc<Mutex<Log>>,
}

#[derive(Clone, Copy)]
struct LocalExec;

impl<F: std::future::Future + 'static> hyper::rt::Executor<F> for LocalExec {
    fn execute(&self, future: F) {
        tokio::task::spawn_local(future);
    }
}

impl TlsUpstream {
    /// Serves on `ip` with `leaf`, offering ALPN `h2` and `http/1.1`.
    pub fn start(ip: Ipv4Addr, leaf: &Leaf) -> TlsUpstream {
        TlsUpstream::start_with_alpn(ip, leaf, &[b"h2", b"http/1.1"])
    }

    pub fn start_with_alpn(ip: Ipv4Addr, leaf: &Leaf, alpn: &[&[u8]]) -> TlsUpstream {
        let certs: Vec<_> = rustls::pki_types::CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .expect("leaf cert");
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("leaf key");
        let mut config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .expect("server config");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let listener = std::net::TcpListener::bind((ip, 0)).expect("bind tls upstream");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let log = Arc::new(Mutex::new(Log::default()));
        let sink = log.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let Ok((tcp, _)) = listener.accept().await else { continue };
                    let acceptor = acceptor.clone();
                    let sink = sink.clone();
                    tokio::task::spawn_local(async move { serve(acceptor, tcp, sink).await });
                }
            });
        });
        TlsUpstream { port, log }
    }

    /// The ALPN protocol of each accepted connection (`-` when the handshake failed).
    pub fn connections(&self) -> Vec<String> {
        self.log.lock().expect("log").connections.clone()
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().expect("log").requests.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }
}

use rustls::pki_types::pem::PemObject;

async fn serve(acceptor: tokio_rustls::TlsAcceptor, tcp: tokio::net::TcpStream, log: Arc<Mutex<Log>>) {
    let index = {
        let mut log = log.lock().expect("log");
        log.connections.push("-".to_owned());
        log.connections.len() - 1
    };
    let Ok(stream) = acceptor.accept(tcp).await else { return };
    let alpn = stream.get_ref().1.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
    let h2 = alpn.as_deref() == Some("h2");
    log.lock().expect("log").connections[index] = alpn.unwrap_or_else(|| "http/1.1 (no ALPN)".to_owned());
    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let log = log.clone();
        async move {
            let host = request
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
                .or_else(|| request.uri().authority().map(|a| a.to_string()))
                .unwrap_or_default();
            let logged = Logged {
                connection: index,
                version: format!("{:?}", request.version()),
                method: request.method().to_string(),
                uri: request.uri().to_string(),
                host,
                headers: request
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect(),
            };
            let body = format!("{} {} {} host={}", logged.version, logged.method, logged.uri, logged.host);
            log.lock().expect("log").requests.push(logged);
            let response = hyper::Response::builder()
                .header("x-upstream", "tls")
                .header("content-type", "text/plain")
                .body(Full::new(Bytes::from(body)))
                .expect("response");
            Ok::<_, Infallible>(response)
        }
    });
    let io = TokioIo::new(stream);
    if h2 {
        let _ = hyper::server::conn::http2::Builder::new(LocalExec).serve_connection(io, service).await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
    }
}
