//! The `network` service (workerd's `Network`): where a Worker's global `fetch()` goes by
//! default (the implicit `internet` service, `allow = ["public"]`), as plain HTTP/1.1.
//!
//! Each request takes its absolute URI. An IP-literal host is used as is (the URL parser already
//! normalized spellings such as `http://2130706433/` to `127.0.0.1`; `[::ffff:127.0.0.1]` stays an
//! IPv6 literal, which the policy classifies by its embedded IPv4 address); a name is resolved
//! with the system resolver. Every resolved address goes through [`Policy::check`], and the
//! connection is opened only to the first [`CheckedAddr`]; when every address is refused, no
//! connection is opened at all, the reason is logged to stderr and the Worker's `fetch()`
//! rejects with an `Error` (workerd rejects with `internal error` and logs the reason).
//!
//! What this does not do yet: `https` (refused with an error), connection pooling (one fresh
//! connection per request, closed when the response is done), redirects (a `3xx` goes back to
//! the Worker as is), HTTP/2, proxies, `tls` options, Unix sockets.

use std::net::{IpAddr, SocketAddr};

use http::header::HOST;
use http::{HeaderValue, Uri};
use hyper_util::rt::TokioIo;
use nanod_js::JsException;
use nanod_web::body::Body;

use crate::network::{CheckedAddr, Policy};

/// A `network` service, prepared once per process and shared by every thread.
#[derive(Debug)]
pub struct NetworkService {
    /// The service's name, for log lines.
    pub name: String,
    pub policy: Policy,
}

impl NetworkService {
    pub fn new(name: impl Into<String>, policy: Policy) -> NetworkService {
        NetworkService { name: name.into(), policy }
    }

    /// Sends `request` (with an absolute URI) to its host and returns the response, its body
    /// streamed from the connection.
    pub async fn fetch(&self, request: http::Request<Body>) -> Result<http::Response<Body>, JsException> {
        let (mut parts, body) = request.into_parts();
        let uri = parts.uri.clone();
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(JsException::error("https is not supported yet by network services")),
            Some(other) => {
                return Err(JsException::type_error(format!("fetch() of a {other}: URL is not supported")));
            }
            None => return Err(JsException::type_error(format!("fetch() needs an absolute URL, got \"{uri}\""))),
        }
        let authority =
            uri.authority().ok_or_else(|| JsException::type_error(format!("fetch() URL \"{uri}\" has no host")))?;
        let host = authority.host();
        let port = authority.port_u16().unwrap_or(80);
        let checked = self.resolve_and_check(host, port).await?;

        let stream = tokio::net::TcpStream::connect(checked.addr())
            .await
            .map_err(|e| JsException::error(format!("network connection to {} failed: {e}", checked.addr())))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) = hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream))
            .await
            .map_err(|e| JsException::error(format!("network connection to {} failed: {e}", checked.addr())))?;
        let name = self.name.clone();
        tokio::task::spawn_local(async move {
            if let Err(e) = connection.await {
                eprintln!("{name}: connection error: {e}");
            }
        });

        let origin_form = uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = Uri::try_from(origin_form)
            .map_err(|e| JsException::type_error(format!("fetch() URL \"{uri}\" has a bad path: {e}")))?;
        let host_value = HeaderValue::from_str(authority.as_str())
            .map_err(|e| JsException::type_error(format!("fetch() URL \"{uri}\" has a bad host: {e}")))?;
        parts.headers.insert(HOST, host_value);
        parts.version = http::Version::HTTP_11;
        let response = sender
            .send_request(http::Request::from_parts(parts, body))
            .await
            .map_err(|e| JsException::error(format!("network request to {} failed: {e}", checked.addr())))?;
        Ok(response.map(Body::stream))
    }

    /// The first address of `host` that the policy admits. Every address is checked; when none
    /// is admitted, the reasons are logged and the error names the refusal.
    async fn resolve_and_check(&self, host: &str, port: u16) -> Result<CheckedAddr, JsException> {
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let addrs: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((literal, port))
                .await
                .map_err(|e| JsException::error(format!("cannot resolve \"{host}\": {e}")))?
                .collect(),
        };
        let mut reasons = Vec::new();
        for addr in addrs {
            match self.policy.check(addr) {
                Ok(checked) => return Ok(checked),
                Err(refused) => reasons.push(refused.to_string()),
            }
        }
        let reason = if reasons.is_empty() { format!("\"{host}\" has no address") } else { reasons.join("; ") };
        eprintln!("{}: fetch refused: {reason}", self.name);
        Err(JsException::error(format!(
            "network service \"{}\" refused the connection to \"{host}\" (see the server log)",
            self.name
        )))
    }
}
