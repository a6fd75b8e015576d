//! The outbound HTTP client shared by `network` and `external` services: HTTP/1.1 and, over
//! TLS with ALPN `h2`, HTTP/2 (hyper's client connections), TLS on rustls, and a per-thread
//! connection pool ([`pool`]).
//!
//! A [`Client`] belongs to one service (its TLS config is built once at start-up) and is
//! shared by every thread; [`Client::send`] sends one request to a [`Target`]: the [`Peer`]
//! addresses to try in order, the TLS server name (for `https`), and the request-line form. A
//! `Peer` is made only from a [`CheckedAddr`] (what a `network` service's policy admitted) or
//! by [`Peer::granted`] (from a [`GrantedAddr`]: the address an `external` service's config
//! names, resolved at start-up), so a `network` service cannot reach an address its policy did
//! not check.
//!
//! Sending: hop-by-hop headers are stripped ([`headers`]); a pooled connection for the same
//! key is used if one is alive (an HTTP/2 one first), else a fresh one is opened
//! ([`connect`]). When a pooled connection turns out dead before any byte of the request was
//! written, the request is retried once on a fresh connection; once sent, a failure is the
//! caller's. Connection tasks run on this thread's `LocalSet` (`spawn_local`: bodies are
//! `!Send`). What this does not do: redirects (the caller's), proxies, `h2c`, Unix sockets.

pub mod connect;
pub mod headers;
pub mod pool;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri, Version};
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use nanod_web::body::Body;
use rustls::pki_types::ServerName;

use crate::network::CheckedAddr;
use crate::service::external::GrantedAddr;
use pool::Key;

/// An address the client may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer(SocketAddr);

impl Peer {
    /// An address granted by the config itself (an `external` service's `address`, resolved
    /// at start-up): a capability, so no address policy applies. Only `service::external` can
    /// make a [`GrantedAddr`]; everything a Worker's URL names goes through [`CheckedAddr`].
    pub fn granted(addr: GrantedAddr) -> Peer {
        Peer(addr.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.0
    }
}

impl From<CheckedAddr> for Peer {
    fn from(checked: CheckedAddr) -> Peer {
        Peer(checked.addr())
    }
}

/// How the HTTP/1.1 request line names the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestForm {
    /// `GET /path?query HTTP/1.1` with a `Host` header (workerd's `style = host`).
    Origin,
    /// `GET http://host/path HTTP/1.1` (`style = proxy`).
    Absolute,
}

/// Where one request goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// Tried in order until one accepts a connection.
    pub peers: Vec<Peer>,
    /// `Some` for TLS: the name the server's certificate must match (and the SNI when it is a
    /// DNS name).
    pub server_name: Option<ServerName<'static>>,
    pub form: RequestForm,
}

/// Tunables of a [`Client`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// For the TCP connect, and again for the TLS handshake.
    pub connect_timeout: Duration,
    /// How long an idle HTTP/1.1 connection stays pooled.
    pub idle_timeout: Duration,
    /// Idle HTTP/1.1 connections kept per pool key and thread.
    pub max_idle_per_key: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_idle_per_key: 32,
        }
    }
}

/// Why a request could not be sent or answered.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("no address to connect to")]
    NoAddress,
    #[error("connection to {addr} failed: {source}")]
    Connect { addr: SocketAddr, source: std::io::Error },
    #[error("connection to {addr} timed out after {timeout:?}")]
    ConnectTimeout { addr: SocketAddr, timeout: Duration },
    #[error("TLS handshake with {addr} (server name \"{name}\") failed: {source}")]
    Tls { addr: SocketAddr, name: String, source: std::io::Error },
    #[error("{version} request to {addr} failed: {}", chain(source))]
    Http { addr: SocketAddr, version: &'static str, source: hyper::Error },
    #[error("this service has no TLS client config")]
    NoTlsConfig,
    #[error("request URL \"{uri}\" {reason}")]
    BadUri { uri: Uri, reason: &'static str },
}

/// hyper's error and its causes, which hyper's `Display` leaves out.
fn chain(error: &hyper::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One service's HTTP client. Cheap to share across threads; connections stay per thread.
#[derive(Debug)]
pub struct Client {
    id: u64,
    tls: Option<Arc<rustls::ClientConfig>>,
    settings: Settings,
}

static NEXT_CLIENT: AtomicU64 = AtomicU64::new(0);

impl Client {
    /// A client; `tls` is needed for any [`Target`] with a server name.
    pub fn new(tls: Option<Arc<rustls::ClientConfig>>, settings: Settings) -> Client {
        Client { id: NEXT_CLIENT.fetch_add(1, Ordering::Relaxed), tls, settings }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Sends `request` to `target`. The request's URI must be absolute; its `Host` header, if
    /// any, is kept (HTTP/1.1) or becomes `:authority` (HTTP/2), otherwise the URI's authority
    /// is used. Must run inside a `LocalSet`. The response body streams from the connection,
    /// which goes back to this thread's pool when the body is complete.
    pub async fn send(&self, target: &Target, request: Request<Body>) -> Result<Response<Body>, OutboundError> {
        let (mut parts, body) = request.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers);
        let shape = Shape::of(&parts, target)?;
        let tls = match &target.server_name {
            Some(name) => Some((self.tls.as_ref().ok_or(OutboundError::NoTlsConfig)?, name)),
            None => None,
        };
        let server_name: Option<Arc<str>> = target.server_name.as_ref().map(|n| n.to_str().into());
        let mut request = Request::from_parts(parts, body);

        // A pooled connection, if one is alive.
        'pooled: for peer in &target.peers {
            let key = Key { client: self.id, peer: peer.addr(), server_name: server_name.clone() };
            if tls.is_some() {
                if let Some(mut sender) = pool::http2(&key) {
                    if sender.ready().await.is_ok() {
                        shape.apply(&mut request, Version::HTTP_2);
                        match sender.try_send_request(request).await {
                            Ok(response) => return Ok(response.map(Body::stream)),
                            Err(mut error) => {
                                pool::drop_http2(&key);
                                match error.take_message() {
                                    Some(unsent) => {
                                        request = unsent;
                                        break 'pooled;
                                    }
                                    None => return Err(http_error(key.peer, Version::HTTP_2, error.into_error())),
                                }
                            }
                        }
                    }
                    pool::drop_http2(&key);
                }
            }
            while let Some(mut sender) = pool::take_http1(&key, self.settings.idle_timeout) {
                if sender.ready().await.is_err() {
                    continue;
                }
                shape.apply(&mut request, Version::HTTP_11);
                match sender.try_send_request(request).await {
                    Ok(response) => return Ok(self.http1_response(key, sender, response)),
                    Err(mut error) => match error.take_message() {
                        Some(unsent) => {
                            request = unsent;
                            break 'pooled;
                        }
                        None => return Err(http_error(key.peer, Version::HTTP_11, error.into_error())),
                    },
                }
            }
        }

        // A fresh connection.
        let connected = connect::connect(&target.peers, tls, self.settings.connect_timeout).await?;
        let addr = connected.peer.addr();
        let key = Key { client: self.id, peer: addr, server_name };
        let io = TokioIo::new(connected.stream);
        if connected.h2 {
            let (mut sender, connection) = http2::Builder::new(LocalExec)
                .handshake::<_, Body>(io)
                .await
                .map_err(|e| http_error(addr, Version::HTTP_2, e))?;
            tokio::task::spawn_local(async move {
                let _ = connection.await;
            });
            pool::put_http2(key, &sender);
            shape.apply(&mut request, Version::HTTP_2);
            let response = sender.send_request(request).await.map_err(|e| http_error(addr, Version::HTTP_2, e))?;
            Ok(response.map(Body::stream))
        } else {
            let (mut sender, connection) =
                http1::handshake::<_, Body>(io).await.map_err(|e| http_error(addr, Version::HTTP_11, e))?;
            tokio::task::spawn_local(async move {
                let _ = connection.await;
            });
            shape.apply(&mut request, Version::HTTP_11);
            let response = sender.send_request(request).await.map_err(|e| http_error(addr, Version::HTTP_11, e))?;
            Ok(self.http1_response(key, sender, response))
        }
    }

    /// Wraps an HTTP/1.1 response so its connection returns to the pool when the body ends.
    fn http1_response(
        &self,
        key: Key,
        sender: http1::SendRequest<Body>,
        response: Response<Incoming>,
    ) -> Response<Body> {
        let settings = (self.settings.idle_timeout, self.settings.max_idle_per_key);
        response.map(|incoming| {
            let mut body = Returning { inner: incoming, slot: Some((key, sender)), settings };
            if body.inner.is_end_stream() {
                body.give_back();
            }
            Body::stream(body)
        })
    }
}

fn http_error(addr: SocketAddr, version: Version, source: hyper::Error) -> OutboundError {
    let version = if version == Version::HTTP_2 { "HTTP/2" } else { "HTTP/1.1" };
    OutboundError::Http { addr, version, source }
}

/// The parts of a request that depend on the protocol of the connection it goes out on,
/// computed once so a retry on a connection of another protocol can redo them.
struct Shape {
    /// `Host` (HTTP/1.1) or `:authority` (HTTP/2).
    host: HeaderValue,
    authority: Authority,
    scheme: Scheme,
    path: PathAndQuery,
    absolute: Uri,
    form: RequestForm,
}

impl Shape {
    fn of(parts: &http::request::Parts, target: &Target) -> Result<Shape, OutboundError> {
        let uri = &parts.uri;
        let bad = |reason| OutboundError::BadUri { uri: uri.clone(), reason };
        let uri_authority = uri.authority().ok_or_else(|| bad("has no host"))?.clone();
        let host = match parts.headers.get(HOST) {
            Some(host) => host.clone(),
            None => HeaderValue::from_str(uri_authority.as_str()).map_err(|_| bad("has a bad host"))?,
        };
        let authority = host.to_str().ok().and_then(|h| h.parse::<Authority>().ok()).unwrap_or(uri_authority);
        let scheme = match (target.form, &target.server_name) {
            (RequestForm::Origin, Some(_)) => Scheme::HTTPS,
            _ => uri.scheme().cloned().unwrap_or(Scheme::HTTP),
        };
        let path = uri.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
        Ok(Shape { host, authority, scheme, path, absolute: uri.clone(), form: target.form })
    }

    fn apply(&self, request: &mut Request<Body>, version: Version) {
        *request.version_mut() = version;
        if version == Version::HTTP_2 {
            request.headers_mut().remove(HOST);
            let uri = Uri::builder()
                .scheme(self.scheme.clone())
                .authority(self.authority.clone())
                .path_and_query(self.path.clone())
                .build();
            *request.uri_mut() = uri.unwrap_or_else(|_| self.absolute.clone());
        } else {
            request.headers_mut().insert(HOST, self.host.clone());
            *request.uri_mut() = match self.form {
                RequestForm::Origin => Uri::from(self.path.clone()),
                RequestForm::Absolute => self.absolute.clone(),
            };
        }
    }
}

/// hyper's executor for HTTP/2 connection tasks: this thread's `LocalSet`.
#[derive(Debug, Clone, Copy)]
struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        tokio::task::spawn_local(future);
    }
}

/// An HTTP/1.1 response body that hands its connection back to the pool once complete. A
/// body dropped before its end takes the connection with it (hyper closes it).
struct Returning {
    inner: Incoming,
    slot: Option<(Key, http1::SendRequest<Body>)>,
    settings: (Duration, usize),
}

impl Returning {
    fn give_back(&mut self) {
        if let Some((key, sender)) = self.slot.take() {
            pool::put_http1(key, sender, self.settings.0, self.settings.1);
        }
    }
}

impl http_body::Body for Returning {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.give_back(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.give_back(),
            Poll::Ready(Some(Err(_))) => this.slot = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests;
