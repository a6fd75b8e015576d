//! The `external` service (workerd's `ExternalServer`): every request goes to the one
//! configured `address`, whatever its URL's host or scheme, over `http` or `https`.
//!
//! The address is a capability the config grants, so no address policy applies; it is
//! resolved once at start-up (a bad address fails start-up) and the URL's host is never
//! looked up. The client side of workerd's `HttpOptions` applies, as in workerd's
//! `HttpRewriter::rewriteOutgoingRequest`: with `style = host` the request line carries the
//! path and `Host` is the URL's host (with port), and `forwardedProtoHeader`, when set, is set
//! to the URL's scheme (`http` or `https`); with `style = proxy` the request line carries the
//! whole URL and `forwardedProtoHeader` is ignored. `cfBlobHeader` is always removed from the
//! request, as workerd does when a request has no `cf` object (nanod has no `request.cf` yet).
//! `injectRequestHeaders` apply last; `injectResponseHeaders` apply to the response.
//!
//! `https` verifies the server against `certificateHost`, else the address's host, with the
//! service's `tlsOptions`. Not done: `tcp` external services (`connect()`; refused at
//! dispatch), `capnpConnectHost`, Unix-socket addresses.

use http::header::HOST;
use http::HeaderValue;
use nanod_config::{External, ExternalProtocol, HttpStyle};
use nanod_js::JsException;
use nanod_web::body::Body;
use rustls::pki_types::ServerName;

use crate::address;
use crate::http_options::HeaderRules;
use crate::outbound::{Client, Peer, RequestForm, Settings, Target};

/// An `external` service, prepared once per process and shared by every thread.
#[derive(Debug)]
pub struct ExternalService {
    pub name: String,
    client: Client,
    target: Target,
    style: HttpStyle,
    headers: HeaderRules,
}

impl ExternalService {
    /// Checks the config, resolves the address and builds the TLS config. `Ok(None)` for a
    /// `tcp` external service, which has no HTTP side.
    pub fn new(name: &str, external: &External) -> Result<Option<ExternalService>, String> {
        let address = external.address.as_deref().ok_or_else(|| {
            "an external service needs an address: set `address` or pass --external-addr NAME=ADDR".to_owned()
        })?;
        let (options, tls, default_port) = match &external.protocol {
            ExternalProtocol::Http(options) => (options, None, 80),
            ExternalProtocol::Https { options, tls, certificate_host } => {
                (options, Some((tls, certificate_host.as_deref())), 443)
            }
            ExternalProtocol::Tcp { .. } => return Ok(None),
        };
        let (host, peers) = resolve(address, default_port)?;
        let (client_tls, server_name) = match tls {
            Some((tls, certificate_host)) => {
                let config = crate::tls::client::client_config(Some(tls))?;
                let expected = certificate_host.unwrap_or(&host);
                let name = ServerName::try_from(expected.to_owned())
                    .map_err(|_| format!("\"{expected}\" is not a host name a certificate can be checked against"))?;
                (Some(config), Some(name))
            }
            None => (None, None),
        };
        let form = match options.style {
            HttpStyle::Host => RequestForm::Origin,
            HttpStyle::Proxy => RequestForm::Absolute,
        };
        Ok(Some(ExternalService {
            name: name.to_owned(),
            client: Client::new(client_tls, Settings::default()),
            target: Target { peers, server_name, form },
            style: options.style,
            headers: HeaderRules::new(options)?,
        }))
    }

    /// Sends `request` (with an absolute URI) to the configured server.
    pub async fn fetch(&self, request: http::Request<Body>) -> Result<http::Response<Body>, JsException> {
        let (mut parts, body) = request.into_parts();
        let uri = parts.uri.clone();
        let authority =
            uri.authority().ok_or_else(|| JsException::type_error(format!("fetch() URL \"{uri}\" has no host")))?;
        let host = HeaderValue::from_str(authority.as_str())
            .map_err(|e| JsException::type_error(format!("fetch() URL \"{uri}\" has a bad host: {e}")))?;
        match self.style {
            HttpStyle::Host => {
                parts.headers.insert(HOST, host);
                if let (Some(header), Some(scheme)) = (&self.headers.forwarded_proto, uri.scheme_str()) {
                    if let Ok(value) = HeaderValue::from_str(scheme) {
                        parts.headers.insert(header.clone(), value);
                    }
                }
            }
            HttpStyle::Proxy => {
                parts.headers.entry(HOST).or_insert(host);
            }
        }
        if let Some(header) = &self.headers.cf_blob {
            parts.headers.remove(header);
        }
        self.headers.inject_request.apply(&mut parts.headers);
        let mut response =
            self.client.send(&self.target, http::Request::from_parts(parts, body)).await.map_err(|e| {
                tracing::warn!(service = %self.name, "{}: request to {uri} failed: {e}", self.name);
                JsException::error(format!("external service \"{}\": {e}", self.name))
            })?;
        self.headers.inject_response.apply(response.headers_mut());
        Ok(response)
    }
}

/// An address an `external` service's config names: a grant of the config, which only this
/// module can make (the field is private), so no other code can skip the address policy by
/// calling it granted.
#[derive(Debug, Clone, Copy)]
pub struct GrantedAddr(std::net::SocketAddr);

impl GrantedAddr {
    pub fn addr(&self) -> std::net::SocketAddr {
        self.0
    }
}

/// Reads and resolves `address` (workerd's forms, [`address::split`]): the host (for the
/// certificate check) and every address, each a granted peer.
fn resolve(address: &str, default_port: u16) -> Result<(String, Vec<Peer>), String> {
    let (host, port) = address::split(address, default_port)?;
    let addrs = address::resolve(host, port).map_err(|e| format!("address \"{address}\": {e}"))?;
    Ok((host.to_owned(), addrs.into_iter().map(|addr| Peer::granted(GrantedAddr(addr))).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_resolves_to_granted_peers_keeping_its_host() {
        let (host, peers) = resolve("[::1]:81", 80).unwrap();
        assert_eq!(host, "::1");
        assert_eq!(peers.iter().map(|p| p.addr()).collect::<Vec<_>>(), ["[::1]:81".parse().unwrap()]);
        assert_eq!(resolve("127.0.0.1", 443).unwrap().1[0].addr(), "127.0.0.1:443".parse().unwrap());
        assert!(resolve("127.0.0.1:99999", 80).unwrap_err().contains("invalid port \"99999\""));
    }
}
