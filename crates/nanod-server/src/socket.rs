//! Listening sockets: workerd-style address strings → bound listeners.
//!
//! Every socket is bound once here, on the main thread, so errors (bad address, port in use)
//! surface before start-up completes and port 0 resolves to one real port. Each event-loop
//! thread then opens its own listener on that exact address with `SO_REUSEPORT`, and the
//! kernel spreads connections across threads. A socket's protocol settings (TLS config,
//! `HttpOptions`) are checked and prepared here too, once ([`SocketSettings`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use nanod_config::{Config, SocketProtocol};
use socket2::{Domain, Protocol, Socket, Type};

use crate::address;
use crate::error::Location;
use crate::http::SocketSettings;
use crate::ServerError;

/// One configured socket, bound on one or more addresses.
#[derive(Debug)]
pub struct BoundSocket {
    pub name: String,
    /// Its protocol settings, including the service that handles its requests.
    pub settings: Arc<SocketSettings>,
    pub listeners: Vec<std::net::TcpListener>,
}

impl BoundSocket {
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }
}

/// The addresses a socket address names: `*:80` is every interface (IPv4 and IPv6), other
/// forms are as in [`address::split`].
pub fn parse_address(address: &str, default_port: u16) -> Result<Vec<SocketAddr>, String> {
    let (host, port) = address::split(address, default_port)?;
    if host == "*" {
        return Ok(vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        ]);
    }
    address::resolve(host, port)
}

/// Opens a listener with `SO_REUSEPORT` on `addr`.
pub fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Checks and prepares every socket's protocol settings (TLS config, `HttpOptions`), in
/// config order: all that can fail about a socket before it is bound.
pub fn prepare_all(config: &Config) -> Result<Vec<Arc<SocketSettings>>, ServerError> {
    config
        .sockets
        .iter()
        .map(|socket| {
            let fail = |message: String| ServerError::Socket {
                at: Location(Some(socket.span.clone())),
                socket: socket.name.clone(),
                message,
            };
            // The address is checked here too (its form, not its resolution), so that `nanod
            // check` finds a bad port; `--socket-addr` overrides are checked when binding.
            if let Some(address) = &socket.address {
                address::split(address, 443).map_err(fail)?;
            }
            SocketSettings::new(socket).map(Arc::new).map_err(fail)
        })
        .collect()
}

/// Binds every socket of the config (`settings` from [`prepare_all`], in the same order),
/// applying `--socket-addr` overrides.
pub fn bind_all(
    config: &Config,
    settings: Vec<Arc<SocketSettings>>,
    overrides: &[(String, String)],
) -> Result<Vec<BoundSocket>, ServerError> {
    for (name, _) in overrides {
        if !config.sockets.iter().any(|s| &s.name == name) {
            return Err(ServerError::UnknownSocketOverride { name: name.clone() });
        }
    }
    let mut bound = Vec::new();
    for (socket, settings) in config.sockets.iter().zip(settings) {
        let at = || Location(Some(socket.span.clone()));
        let fail = |message: String| ServerError::Socket { at: at(), socket: socket.name.clone(), message };
        let default_port = match &socket.protocol {
            SocketProtocol::Http(_) => 80,
            SocketProtocol::Https { .. } => 443,
            SocketProtocol::Tcp { .. } => return Err(fail("tcp sockets are not supported yet".to_owned())),
        };
        let address = overrides
            .iter()
            .rev()
            .find(|(name, _)| name == &socket.name)
            .map(|(_, addr)| addr.as_str())
            .or(socket.address.as_deref())
            .ok_or_else(|| fail("no address: set `address` in the config or pass --socket-addr".to_owned()))?;
        let addrs = parse_address(address, default_port).map_err(fail)?;
        let wildcard = address.starts_with('*');
        let mut listeners = Vec::new();
        for addr in addrs {
            match listen(addr) {
                Ok(listener) => listeners.push(listener),
                // `*` also tries IPv6; a host without IPv6 still serves IPv4.
                Err(_) if wildcard && addr.is_ipv6() => {}
                Err(error) => return Err(ServerError::Listen { at: at(), socket: socket.name.clone(), addr, error }),
            }
        }
        bound.push(BoundSocket { name: socket.name.clone(), settings, listeners });
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let check = |input: &str, want: &[&str]| {
            let got: Vec<String> = parse_address(input, 80).unwrap().iter().map(|a| a.to_string()).collect();
            assert_eq!(got, want, "{input}");
        };
        check("127.0.0.1:8080", &["127.0.0.1:8080"]);
        check("127.0.0.1", &["127.0.0.1:80"]);
        check("*:8080", &["0.0.0.0:8080", "[::]:8080"]);
        check("[::1]:9", &["[::1]:9"]);
        check("::1", &["[::1]:80"]);
        assert!(parse_address("127.0.0.1:http", 80).unwrap_err().contains("invalid port"));
        assert!(parse_address("unix:/tmp/x", 80).is_err());
    }
}
