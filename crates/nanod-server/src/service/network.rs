//! The `network` service (workerd's `Network`): where a Worker's global `fetch()` goes by
//! default (the implicit `internet` service, `allow = ["public"]`, browser CAs).
//!
//! Each request takes its absolute URI. An IP-literal host is used as is (the URL parser already
//! normalized spellings such as `http://2130706433/` to `127.0.0.1`; `[::ffff:127.0.0.1]` stays an
//! IPv6 literal, which the policy classifies by its embedded IPv4 address); a name is resolved
//! with the system resolver. Every resolved address goes through [`Policy::check`], for every
//! request (pooled connections included), and only [`CheckedAddr`]s reach the [`outbound`]
//! client, which tries them in order; when every address is refused, no connection is opened
//! at all, the reason is logged to stderr and the Worker's `fetch()` rejects with an `Error`
//! (workerd rejects with `internal error` and logs the reason).
//!
//! `https` uses the service's TLS client config (built at start-up from `tlsOptions`; without
//! `tlsOptions`, the browser CAs) with the URL's host as the server name; ALPN may pick HTTP/2.
//! Connections are pooled per thread ([`outbound::pool`]). What this does not do yet:
//! redirects (a `3xx` goes back to the Worker as is), proxies, Unix sockets.
//!
//! [`outbound`]: crate::outbound
//! [`outbound::pool`]: crate::outbound::pool

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::header::HOST;
use http::HeaderValue;
use nanod_js::JsException;
use nanod_web::body::Body;
use rustls::pki_types::ServerName;

use crate::network::{CheckedAddr, Policy};
use crate::outbound::{Client, Peer, RequestForm, Settings, Target};

/// A `network` service, prepared once per process and shared by every thread.
#[derive(Debug)]
pub struct NetworkService {
    /// The service's name, for log lines.
    pub name: String,
    pub policy: Policy,
    client: Client,
}

impl NetworkService {
    /// A service whose `https` requests use `tls`.
    pub fn new(name: impl Into<String>, policy: Policy, tls: Arc<rustls::ClientConfig>) -> NetworkService {
        NetworkService { name: name.into(), policy, client: Client::new(Some(tls), Settings::default()) }
    }

    /// Sends `request` (with an absolute URI) to its host and returns the response, its body
    /// streamed from the connection.
    pub async fn fetch(&self, request: http::Request<Body>) -> Result<http::Response<Body>, JsException> {
        let (mut parts, body) = request.into_parts();
        let uri = parts.uri.clone();
        let (tls, default_port) = match uri.scheme_str() {
            Some("http") => (false, 80),
            Some("https") => (true, 443),
            Some(other) => {
                return Err(JsException::type_error(format!("fetch() of a {other}: URL is not supported")));
            }
            None => return Err(JsException::type_error(format!("fetch() needs an absolute URL, got \"{uri}\""))),
        };
        let authority =
            uri.authority().ok_or_else(|| JsException::type_error(format!("fetch() URL \"{uri}\" has no host")))?;
        let host = authority.host();
        let port = authority.port_u16().unwrap_or(default_port);
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let server_name = if tls {
            Some(ServerName::try_from(literal.to_owned()).map_err(|_| {
                JsException::type_error(format!("fetch() URL \"{uri}\" has a host that TLS cannot verify"))
            })?)
        } else {
            None
        };
        let checked = self.resolve_and_check(host, port, authority.as_str()).await;
        crate::metrics::outbound_fetch(&self.name, &parts.extensions, checked.is_ok());
        let checked = checked?;

        let host_value = HeaderValue::from_str(authority.as_str())
            .map_err(|e| JsException::type_error(format!("fetch() URL \"{uri}\" has a bad host: {e}")))?;
        parts.headers.insert(HOST, host_value);
        let target =
            Target { peers: checked.into_iter().map(Peer::from).collect(), server_name, form: RequestForm::Origin };
        self.client.send(&target, http::Request::from_parts(parts, body)).await.map_err(|e| {
            tracing::warn!(service = %self.name, "{}: fetch of {uri} failed: {e}", self.name);
            JsException::error(format!("network service \"{}\": {e}", self.name))
        })
    }

    /// The addresses of `host` that the policy admits, in resolver order. Every address is
    /// checked; when none is admitted, the reasons are logged and the error names the refusal.
    async fn resolve_and_check(&self, host: &str, port: u16, authority: &str) -> Result<Vec<CheckedAddr>, JsException> {
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let addrs: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((literal, port))
                .await
                .map_err(|e| JsException::error(format!("cannot resolve \"{host}\": {e}")))?
                .collect(),
        };
        let mut reasons = Vec::new();
        let mut admitted = Vec::new();
        for addr in addrs {
            match self.policy.check(addr) {
                Ok(checked) => admitted.push(checked),
                Err(refused) => reasons.push(refused.to_string()),
            }
        }
        if !admitted.is_empty() {
            return Ok(admitted);
        }
        let reason = if reasons.is_empty() { format!("\"{host}\" has no address") } else { reasons.join("; ") };
        tracing::warn!(
            service = %self.name,
            "{}: fetch refused: {reason} (fetching \"{authority}\"; the service's allow list is what grants more)",
            self.name
        );
        Err(JsException::error(format!(
            "network service \"{}\" refused the connection to \"{host}\" (see the server log)",
            self.name
        )))
    }
}
