//! workerd's address strings (the forms of kj's `parseAddress`): `host`, `host:port`,
//! `1.2.3.4:80`, `[v6]`, `[v6]:port`, a bare IPv6 address. Sockets (which add `*`, every
//! interface) and `external` services read them here, once at start-up.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Splits `address` into its host and port (`default_port` when it names none). Every error
/// names the address.
pub fn split(address: &str, default_port: u16) -> Result<(&str, u16), String> {
    let bad = |reason: String| format!("address \"{address}\": {reason}");
    if address.starts_with("unix:") || address.starts_with("unix-abstract:") {
        return Err(bad("Unix sockets are not supported yet".to_owned()));
    }
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing \"]\"".to_owned()))?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(|| bad("expected \":PORT\" after \"]\"".to_owned()))?)),
        }
    } else if address.parse::<IpAddr>().is_ok() {
        (address, None) // a bare IPv6 address
    } else {
        match address.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host".to_owned()));
    }
    let port = match port {
        Some(port) => port.parse::<u16>().map_err(|_| bad(format!("invalid port \"{port}\"")))?,
        None => default_port,
    };
    Ok((host, port))
}

/// The addresses of `host`: itself when it is an IP literal, else what the system resolver
/// answers (at least one).
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> =
        (host, port).to_socket_addrs().map_err(|e| format!("cannot resolve \"{host}\": {e}"))?.collect();
    if addrs.is_empty() {
        return Err(format!("\"{host}\" has no address"));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_forms() {
        let check = |input: &str, want: (&str, u16)| assert_eq!(split(input, 80).unwrap(), want, "{input}");
        check("127.0.0.1:8080", ("127.0.0.1", 8080));
        check("127.0.0.1", ("127.0.0.1", 80));
        check("*:8080", ("*", 8080));
        check("[::1]:9", ("::1", 9));
        check("[::1]", ("::1", 80));
        check("::1", ("::1", 80));
        check("localhost:9", ("localhost", 9));
        assert_eq!(resolve("::1", 81).unwrap(), ["[::1]:81".parse().unwrap()]);
    }

    #[test]
    fn bad_addresses_are_refused() {
        let error = |input: &str| split(input, 80).unwrap_err();
        assert_eq!(error("127.0.0.1:99999"), "address \"127.0.0.1:99999\": invalid port \"99999\"");
        assert!(error("127.0.0.1:http").contains("invalid port \"http\""));
        assert!(error("127.0.0.1:").contains("invalid port"));
        assert!(error(":80").contains("no host"));
        assert!(error("[::1").contains("missing"));
        assert!(error("[::1]x").contains("expected \":PORT\""));
        assert!(error("unix:/tmp/sock").contains("Unix sockets"));
    }
}
