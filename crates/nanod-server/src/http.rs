//! HTTP/1.1 on hyper, over TCP or TLS: accepting connections, applying the socket's workerd
//! `HttpOptions`, turning hyper requests into the `http::Request` every service takes
//! (streaming body), and a failed Worker into a `500`.
//!
//! A socket's settings ([`SocketSettings`]) are checked and prepared once, when it is bound;
//! per request there is no work for an option that is not set. What a Worker sees as
//! `request.url`, as in workerd:
//! - `style = host` (the default): `<scheme>://<Host header><path>`, where the scheme is the
//!   socket's (`http` or `https`), or the `forwardedProtoHeader`'s value when that header says
//!   `http` or `https` (the header is then removed). No `Host` header: `400 Bad Request`.
//! - `style = proxy`: the request target as sent (`http://example.com/x` for a forward-proxy
//!   request; an origin-form `/x` stays `/x`, as in workerd); `forwardedProtoHeader` is ignored.
//!
//! `cfBlobHeader` is removed from incoming requests (workerd parses it into `request.cf`, which
//! nanod does not have yet, so its value is dropped). `injectRequestHeaders` apply to each
//! request before the service sees it, `injectResponseHeaders` to each response the service
//! returns. `CONNECT` gets workerd's answer to a Worker without a `connect` handler: `500` and
//! the connection closed.
//!
//! TLS handshakes run in the connection's own task on the accepting thread, bounded by
//! [`HANDSHAKE_TIMEOUT`], so a client that never finishes one holds only its own connection.
//!
//! When the thread drains ([`crate::lifecycle`]), the accept loop takes the connections the
//! kernel has completed and closes its listener, and each connection ends after the request
//! it is serving (hyper's graceful shutdown).

use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderValue, Method};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use nanod_config::{HttpStyle, SocketProtocol};
use nanod_js::RequestId;
use nanod_web::body::Body;

use crate::binding::CallTarget;
use crate::http_options::HeaderRules;
use crate::lifecycle;
use crate::logging;
use crate::thread::ThreadServices;

/// How long a client may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One socket's protocol settings, prepared when it is bound and shared by every thread.
pub struct SocketSettings {
    /// The socket's name, for logs.
    pub name: String,
    /// The service that handles its requests.
    pub service: String,
    /// Its named entrypoint and `ctx.props`, when the socket's designator has either.
    call: Option<CallTarget>,
    /// `http` or `https`: the physical protocol, the scheme of `request.url`.
    scheme: &'static str,
    proxy: bool,
    /// `forwarded_proto` is `None` on proxy-style sockets, where workerd ignores it.
    headers: HeaderRules,
    /// `Some` for `https` sockets.
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for SocketSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketSettings")
            .field("name", &self.name)
            .field("service", &self.service)
            .field("scheme", &self.scheme)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

impl SocketSettings {
    /// Checks `socket`'s protocol options; the error names what is wrong (the caller adds the
    /// socket's name).
    pub fn new(socket: &nanod_config::Socket) -> Result<SocketSettings, String> {
        let (options, scheme, tls) = match &socket.protocol {
            SocketProtocol::Http(options) => (options, "http", None),
            SocketProtocol::Https { options, tls } => (options, "https", Some(crate::tls::server::server_config(tls)?)),
            SocketProtocol::Tcp { .. } => return Err("tcp sockets are not supported yet".to_owned()),
        };
        if options.capnp_connect_host.is_some() {
            return Err("http.capnpConnectHost is not supported (nanod has no Cap'n Proto RPC)".to_owned());
        }
        let proxy = options.style == HttpStyle::Proxy;
        let mut headers = HeaderRules::new(options)?;
        if proxy {
            headers.forwarded_proto = None;
        }
        Ok(SocketSettings {
            name: socket.name.clone(),
            service: socket.service.name.clone(),
            call: call_target(&socket.service)?,
            scheme,
            proxy,
            headers,
            tls,
        })
    }
}

/// The entrypoint and props a socket's service designator names (checked against the
/// Worker's exports at start-up, with the bindings'), or `None` for the default export.
fn call_target(designator: &nanod_config::ServiceDesignator) -> Result<Option<CallTarget>, String> {
    if designator.entrypoint.is_none() && designator.props_json.is_none() {
        return Ok(None);
    }
    if let Some(props) = &designator.props_json {
        serde_json::from_str::<serde_json::Value>(props).map_err(|e| format!("props.json: invalid JSON: {e}"))?;
    }
    Ok(Some(CallTarget { entrypoint: designator.entrypoint.clone(), props: designator.props_json.clone() }))
}

/// What every connection of one listener on one thread shares.
struct Listener {
    services: Rc<ThreadServices>,
    settings: Arc<SocketSettings>,
}

/// Accepts connections until this thread drains, serving each on this thread. On the drain,
/// connections the kernel has already completed are still accepted, then the listener closes
/// (so new ones are refused).
pub async fn accept_loop(
    listener: tokio::net::TcpListener,
    services: Rc<ThreadServices>,
    settings: Arc<SocketSettings>,
) {
    let _busy = lifecycle::busy();
    let acceptor = settings.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let shared = Rc::new(Listener { services, settings });
    let draining = lifecycle::draining();
    tokio::pin!(draining);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut draining => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => spawn_connection(stream, &shared, acceptor.as_ref()),
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::error!("nanod: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let backlog = || std::future::poll_fn(|cx| std::task::Poll::Ready(listener.poll_accept(cx)));
    while let std::task::Poll::Ready(Ok((stream, _peer))) = backlog().await {
        spawn_connection(stream, &shared, acceptor.as_ref());
    }
}

/// Serves one accepted connection in its own task (after its TLS handshake on an https socket).
fn spawn_connection(
    stream: tokio::net::TcpStream,
    shared: &Rc<Listener>,
    acceptor: Option<&tokio_rustls::TlsAcceptor>,
) {
    // Counted before the task exists, so a drain never misses it.
    let busy = lifecycle::busy();
    let _ = stream.set_nodelay(true);
    let shared = shared.clone();
    match acceptor {
        None => {
            tokio::task::spawn_local(serve_connection(TokioIo::new(stream), shared, busy));
        }
        Some(acceptor) => {
            let handshake = handshake(acceptor, stream, HANDSHAKE_TIMEOUT);
            tokio::task::spawn_local(async move {
                match handshake.await {
                    Ok(tls) => serve_connection(TokioIo::new(tls), shared, busy).await,
                    Err(e) => tracing::warn!("nanod: socket \"{}\": {e}", shared.settings.name),
                }
            });
        }
    }
}

/// The server side of a TLS handshake, given `timeout` to complete.
fn handshake(
    acceptor: &tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    timeout: Duration,
) -> impl std::future::Future<Output = Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>, String>> {
    let accept = acceptor.accept(stream);
    async move {
        match tokio::time::timeout(timeout, accept).await {
            Ok(Ok(tls)) => Ok(tls),
            Ok(Err(e)) => Err(format!("TLS handshake failed: {e}")),
            Err(_) => Err("TLS handshake timed out".to_owned()),
        }
    }
}

/// Serves HTTP/1.1 on one connection until it closes or, once this thread drains, until the
/// request in progress is answered (hyper's graceful shutdown: `Connection: close` on that
/// response). `busy` keeps the drain waiting for it.
async fn serve_connection<I>(io: I, shared: Rc<Listener>, busy: lifecycle::Busy)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
{
    let started = Rc::new(Cell::new(false));
    let handler = {
        let started = started.clone();
        service_fn(move |request: hyper::Request<Incoming>| {
            started.set(true);
            let shared = shared.clone();
            async move { Ok::<_, Infallible>(handle(&shared, request).await) }
        })
    };
    let connection = http1::Builder::new().keep_alive(true).serve_connection(io, handler);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        () = lifecycle::draining() => {}
    }
    if !started.get() {
        // Accepted just before the drain: its first request may still be on the way.
        tokio::select! {
            _ = connection.as_mut() => return,
            () = tokio::time::sleep(lifecycle::FIRST_REQUEST_GRACE) => {}
        }
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
    drop(busy);
}

/// One socket request: given a fresh [`RequestId`] (in its extensions, for the Worker's logs
/// and every hop it makes), answered, and logged as an access line (when those are on) with
/// the time to its response head.
async fn handle(shared: &Listener, request: hyper::Request<Incoming>) -> http::Response<Body> {
    let request_id = new_request_id();
    if !logging::access_enabled() {
        return respond(shared, request, request_id).await;
    }
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path_and_query().map_or_else(|| request.uri().to_string(), |p| p.as_str().to_owned());
    let response = respond(shared, request, request_id).await;
    let status = response.status().as_u16();
    logging::access(&shared.settings.service, request_id, &method, &path, status, start.elapsed());
    response
}

/// A process-unique request id that does not reveal how many requests came before: a
/// per-thread counter under a per-thread prefix, offset by a per-process random seed and
/// scrambled by a bijection (SplitMix64's finalizer), so distinct inputs stay distinct.
pub(crate) fn new_request_id() -> RequestId {
    use std::hash::{BuildHasher, Hasher};
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static THREADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    thread_local! {
        static NEXT: Cell<u64> = const { Cell::new(0) };
    }
    let seed = *SEED.get_or_init(|| std::collections::hash_map::RandomState::new().build_hasher().finish());
    let count = NEXT.with(|next| {
        let mut value = next.get();
        if value == 0 {
            // 2^40 requests per thread before two threads' ranges could meet.
            value = THREADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) << 40;
        }
        next.set(value + 1);
        value
    });
    let mut z = count.wrapping_add(seed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    RequestId::new(z ^ (z >> 31))
}

async fn respond(shared: &Listener, request: hyper::Request<Incoming>, request_id: RequestId) -> http::Response<Body> {
    let settings = &*shared.settings;
    if request.method() == Method::CONNECT {
        // What workerd answers for a Worker without a `connect` handler.
        tracing::error!(
            service = %settings.service,
            request_id = %request_id,
            "{}: Uncaught Error: Handler does not export a connect() function.",
            settings.service
        );
        let mut response = plain_response(500, "Internal Server Error");
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let (mut parts, body) = request.into_parts();
    if !settings.proxy {
        let mut scheme = settings.scheme;
        if let Some(name) = &settings.headers.forwarded_proto {
            if let Some(value) = parts.headers.remove(name) {
                // workerd takes any value as the scheme; nanod takes the two that make a URL a
                // Worker can fetch, and ignores others.
                if value.as_bytes().eq_ignore_ascii_case(b"https") {
                    scheme = "https";
                } else if value.as_bytes().eq_ignore_ascii_case(b"http") {
                    scheme = "http";
                }
            }
        }
        let Some(host) = parts.headers.get(HOST).and_then(|h| h.to_str().ok()) else {
            return plain_response(400, "Bad Request");
        };
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = match format!("{scheme}://{host}{path}").parse() {
            Ok(uri) => uri,
            Err(_) => return plain_response(400, "Bad Request"),
        };
    }
    if let Some(name) = &settings.headers.cf_blob {
        parts.headers.remove(name);
    }
    settings.headers.inject_request.apply(&mut parts.headers);
    parts.extensions.insert(request_id);
    // As workerd: a request that announces no body (neither `Content-Length` nor
    // `Transfer-Encoding`) has `body === null`, so a GET can be passed on as a `RequestInit`.
    let body = if parts.headers.contains_key(CONTENT_LENGTH) || parts.headers.contains_key(TRANSFER_ENCODING) {
        Body::stream(body)
    } else {
        Body::Empty
    };
    let request = http::Request::from_parts(parts, body);
    let entrypoint = settings.call.as_ref().and_then(|call| Some((call, shared.services.worker(&settings.service)?)));
    let answer = match entrypoint {
        // `dispatch` records its own metrics; the entrypoint path is recorded here.
        Some((call, worker)) => worker.fetch_entrypoint(request, call).await,
        None => shared.services.dispatch(&settings.service, request).await,
    };
    match answer {
        Ok(mut response) => {
            settings.headers.inject_response.apply(response.headers_mut());
            response
        }
        Err(exception) => match crate::limits::exceeded_limit(&exception) {
            Some(limit) => {
                tracing::error!(
                    service = %settings.service,
                    request_id = %request_id,
                    limit = limit.as_str(),
                    "{}: limit exceeded ({}): {}",
                    settings.service,
                    limit.as_str(),
                    exception.message
                );
                let status = crate::limits::status(limit);
                plain_response(status, if status == 413 { "Payload Too Large" } else { "Service Unavailable" })
            }
            None => {
                tracing::error!(
                    service = %settings.service,
                    request_id = %request_id,
                    "{}: Uncaught {exception}",
                    settings.service
                );
                // As workerd: no injected headers on this error answer.
                plain_response(500, "Internal Server Error")
            }
        },
    }
}

/// workerd's error answers: the status text as the body, no `Content-Type`.
fn plain_response(status: u16, text: &'static str) -> http::Response<Body> {
    let mut response = http::Response::new(Body::Full(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

#[cfg(test)]
mod tests {
    use nanod_config::HttpOptions;

    use super::*;

    fn acceptor() -> tokio_rustls::TlsAcceptor {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
        let keypair = nanod_config::TlsKeypair { private_key: key.serialize_pem(), certificate_chain: cert.pem() };
        let options = nanod_config::TlsOptions { keypair: Some(keypair), ..Default::default() };
        crate::tls::server::server_config(&options).unwrap().into()
    }

    fn socket(options: HttpOptions) -> nanod_config::Socket {
        nanod_config::Socket {
            name: "s".to_owned(),
            address: None,
            protocol: SocketProtocol::Http(options),
            service: Default::default(),
            span: Default::default(),
        }
    }

    #[test]
    fn options_are_checked_when_the_socket_is_bound() {
        let bad = |options: HttpOptions| SocketSettings::new(&socket(options)).err().unwrap();
        let header = Some("bad header".to_owned());
        assert!(bad(HttpOptions { forwarded_proto_header: header.clone(), ..Default::default() })
            .starts_with("forwardedProtoHeader: invalid header name"));
        assert!(bad(HttpOptions { cf_blob_header: header, ..Default::default() }).starts_with("cfBlobHeader: "));
        let injected = vec![nanod_config::Header { name: "x".to_owned(), value: Some("a\nb".to_owned()) }];
        assert!(bad(HttpOptions { inject_response_headers: injected, ..Default::default() })
            .starts_with("injectResponseHeaders: invalid value"));
        assert!(bad(HttpOptions { capnp_connect_host: Some("h".to_owned()), ..Default::default() })
            .contains("capnpConnectHost is not supported"));
        // forwardedProtoHeader means nothing on a proxy socket.
        let proxy = HttpOptions {
            style: HttpStyle::Proxy,
            forwarded_proto_header: Some("x-forwarded-proto".to_owned()),
            ..Default::default()
        };
        let settings = SocketSettings::new(&socket(proxy)).unwrap();
        assert!(settings.proxy && settings.headers.forwarded_proto.is_none() && settings.tls.is_none());
        assert_eq!(settings.scheme, "http");
    }

    #[test]
    fn a_silent_client_times_out_and_a_garbage_one_fails() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let acceptor = acceptor();

            let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let error = handshake(&acceptor, stream, Duration::from_millis(50)).await.err().unwrap();
            assert_eq!(error, "TLS handshake timed out");

            let mut garbage = tokio::net::TcpStream::connect(addr).await.unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut garbage, b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let error = handshake(&acceptor, stream, Duration::from_secs(10)).await.err().unwrap();
            assert!(error.starts_with("TLS handshake failed: "), "{error}");
        });
    }
}
