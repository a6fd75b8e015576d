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
//! dispatch), `capnpConnectHost`, `--external-addr`, Unix-socket addresses.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use http::header::HOST;
use http::{HeaderName, HeaderValue};
use nanod_config::{External, ExternalProtocol, HttpOptions, HttpStyle};
use nanod_js::JsException;
use nanod_web::body::Body;
use rustls::pki_types::ServerName;

use crate::http_options::InjectedHeaders;
use crate::outbound::{Client, Peer, RequestForm, Settings, Target};

/// An `external` service, prepared once per process and shared by every thread.
#[derive(Debug)]
pub struct ExternalService {
    pub name: String,
    client: Client,
    target: Target,
    style: HttpStyle,
    forwarded_proto_header: Option<HeaderName>,
    cf_blob_header: Option<HeaderName>,
    inject_request: InjectedHeaders,
    inject_response: InjectedHeaders,
}

impl ExternalService {
    /// Checks the config, resolves the address and builds the TLS config. `Ok(None)` for a
    /// `tcp` external service, which has no HTTP side.
    pub fn new(name: &str, external: &External) -> Result<Option<ExternalService>, String> {
        let address = external
            .address
            .as_deref()
            .ok_or_else(|| "an external service needs an address (nanod has no `--external-addr` yet)".to_owned())?;
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
        let HttpOptions {
            style,
            forwarded_proto_header,
            cf_blob_header,
            inject_request_headers,
            inject_response_headers,
            capnp_connect_host: _,
        } = options;
        let header_name = |field: &str, name: &Option<String>| -> Result<Option<HeaderName>, String> {
            name.as_deref()
                .map(|n| {
                    HeaderName::from_bytes(n.as_bytes()).map_err(|_| format!("{field}: invalid header name \"{n}\""))
                })
                .transpose()
        };
        let form = match style {
            HttpStyle::Host => RequestForm::Origin,
            HttpStyle::Proxy => RequestForm::Absolute,
        };
        Ok(Some(ExternalService {
            name: name.to_owned(),
            client: Client::new(client_tls, Settings::default()),
            target: Target { peers, server_name, form },
            style: *style,
            forwarded_proto_header: header_name("forwardedProtoHeader", forwarded_proto_header)?,
            cf_blob_header: header_name("cfBlobHeader", cf_blob_header)?,
            inject_request: InjectedHeaders::new(inject_request_headers)
                .map_err(|e| format!("injectRequestHeaders: {e}"))?,
            inject_response: InjectedHeaders::new(inject_response_headers)
                .map_err(|e| format!("injectResponseHeaders: {e}"))?,
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
                if let (Some(header), Some(scheme)) = (&self.forwarded_proto_header, uri.scheme_str()) {
                    if let Ok(value) = HeaderValue::from_str(scheme) {
                        parts.headers.insert(header.clone(), value);
                    }
                }
            }
            HttpStyle::Proxy => {
                parts.headers.entry(HOST).or_insert(host);
            }
        }
        if let Some(header) = &self.cf_blob_header {
            parts.headers.remove(header);
        }
        self.inject_request.apply(&mut parts.headers);
        let mut response =
            self.client.send(&self.target, http::Request::from_parts(parts, body)).await.map_err(|e| {
                eprintln!("{}: request to {uri} failed: {e}", self.name);
                JsException::error(format!("external service \"{}\": {e}", self.name))
            })?;
        self.inject_response.apply(response.headers_mut());
        Ok(response)
    }
}

/// Splits workerd's address forms (`host`, `host:port`, `[v6]`, `[v6]:port`, a bare IPv6
/// address) and resolves them: the host (for the certificate check) and every address.
fn resolve(address: &str, default_port: u16) -> Result<(String, Vec<Peer>), String> {
    let bad = |reason: &str| format!("address \"{address}\": {reason}");
    if address.starts_with("unix:") || address.starts_with("unix-abstract:") {
        return Err(bad("Unix sockets are not supported yet"));
    }
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing \"]\""))?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(|| bad("expected \":PORT\" after \"]\""))?)),
        }
    } else if address.parse::<IpAddr>().is_ok() {
        (address, None)
    } else {
        match address.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        Some(port) => port.parse::<u16>().map_err(|_| bad(&format!("invalid port \"{port}\"")))?,
        None => default_port,
    };
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            (host, port).to_socket_addrs().map_err(|e| bad(&format!("cannot resolve \"{host}\": {e}")))?.collect()
        }
    };
    if addrs.is_empty() {
        return Err(bad(&format!("\"{host}\" has no address")));
    }
    Ok((host.to_owned(), addrs.into_iter().map(Peer::granted).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(address: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        resolve(address, port).map(|(_, peers)| peers.iter().map(|p| p.addr()).collect())
    }

    #[test]
    fn address_forms() {
        assert_eq!(addrs("127.0.0.1:8080", 80).unwrap(), ["127.0.0.1:8080".parse().unwrap()]);
        assert_eq!(addrs("127.0.0.1", 443).unwrap(), ["127.0.0.1:443".parse().unwrap()]);
        assert_eq!(addrs("[::1]:81", 80).unwrap(), ["[::1]:81".parse().unwrap()]);
        assert_eq!(addrs("[::1]", 80).unwrap(), ["[::1]:80".parse().unwrap()]);
        assert_eq!(addrs("::1", 80).unwrap(), ["[::1]:80".parse().unwrap()]);
        assert_eq!(resolve("localhost:9", 80).unwrap().0, "localhost");
    }

    #[test]
    fn bad_addresses_are_refused() {
        assert!(addrs("127.0.0.1:99999", 80).unwrap_err().contains("invalid port \"99999\""));
        assert!(addrs("127.0.0.1:", 80).unwrap_err().contains("invalid port"));
        assert!(addrs(":80", 80).unwrap_err().contains("no host"));
        assert!(addrs("[::1", 80).unwrap_err().contains("missing"));
        assert!(addrs("unix:/tmp/sock", 80).unwrap_err().contains("Unix sockets"));
    }
}
