//! The `allow`/`deny` policy of a workerd `network` service, and [`CheckedAddr`], the only
//! address `connect` accepts.
//!
//! Semantics follow workerd (kj's `NetworkFilter`, `kj/async-io.c++`):
//! - an address is allowed if it matches some `allow` entry and no `deny` entry at least as
//!   specific (prefix length) as the most specific matching `allow` entry; so a deny wins over
//!   an allow of the same or broader range, and `allow = ["10.0.0.5"]` still beats
//!   `deny = ["private"]`, as in workerd. The `public` and `network` keywords have specificity 0.
//! - keywords: `public` (not private, local, reserved or special-purpose), `private` (private
//!   *and* local), `local`, `network` (anything but local), `unix`, `unix-abstract`;
//! - `deny` of `public` or `network` is an error, as in workerd; `deny = ["private"]` denies
//!   private ranges only, not local ones, as in workerd;
//! - reserved addresses (multicast, broadcast, 240/4, 192.0.0.0/24, 2001::/23, 0.0.0.0/8 other
//!   than 0.0.0.0) are always refused, as workerd's root filter does, whatever the config says.
//!
//! IPv6 addresses that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated
//! `::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4
//! `2002:AABB:CCDD::`) are classified, and matched by IPv4 CIDRs, by the embedded IPv4 address,
//! so `[::ffff:127.0.0.1]` is local, never public.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What kind of address an IP address is, for the keywords of a `network` service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// Publicly routable: matched by `public` and `network`.
    Public,
    /// Private networks: RFC 1918 (10/8, 172.16/12, 192.168/16), RFC 6598 shared space
    /// (100.64/10), link-local (169.254/16, fe80::/10), unique-local fc00::/7, deprecated
    /// site-local fec0::/10 and local-use NAT64 64:ff9b:1::/48. Matched by `private` and
    /// `network`.
    Private,
    /// This machine: loopback (127/8, ::1) and the unspecified addresses 0.0.0.0 and ::, which
    /// connect to this machine on many systems. Matched by `local` and `private`.
    Local,
    /// Not publicly routable, but used in tests and labs: documentation ranges (192.0.2/24,
    /// 198.51.100/24, 203.0.113/24, 2001:db8::/32) and benchmarking 198.18/15. Matched by
    /// `network` or an explicit CIDR, never by `public`.
    Special,
    /// Never connectable: multicast (224/4, ff00::/8), 240/4 and broadcast 255.255.255.255,
    /// 0.0.0.0/8 other than 0.0.0.0, protocol assignments (192.0.0.0/24, 2001::/23, which holds
    /// Teredo) and discard-only 100::/64. Refused whatever the config says.
    Reserved,
}

impl AddressClass {
    /// The class of `ip`.
    pub fn of(ip: IpAddr) -> AddressClass {
        classify(ip).0
    }

    fn name(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Private => "private",
            AddressClass::Local => "local",
            AddressClass::Special => "special-purpose (documentation or benchmarking)",
            AddressClass::Reserved => "reserved (multicast, broadcast or protocol-assigned)",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Unix domain socket address kind, for the `unix` and `unix-abstract` keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnixKind {
    /// A socket file path.
    Path,
    /// A Linux abstract socket name (a path starting with NUL, written `@name` by some tools).
    Abstract,
}

impl fmt::Display for UnixKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnixKind::Path => "unix",
            UnixKind::Abstract => "unix-abstract",
        })
    }
}

/// A socket address that passed [`Policy::check`]. Only this module can make one, so holding a
/// `CheckedAddr` proves the check ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckedAddr {
    addr: SocketAddr,
}

impl CheckedAddr {
    /// The address to connect to: exactly the one checked.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Why [`Policy::from_config`] rejected a `network` service's config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// An entry is neither a keyword nor an IP address or CIDR.
    #[error(
        "network {list} entry \"{entry}\": {reason}; expected public, private, local, network, unix, \
         unix-abstract, an IP address or a CIDR such as \"10.0.0.0/8\" or \"fc00::/7\""
    )]
    BadEntry {
        /// `allow` or `deny`.
        list: &'static str,
        /// The entry as written.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `deny` names `public` or `network`, which workerd rejects too.
    #[error("network deny entry \"{entry}\" is not supported (as in workerd); {hint}")]
    UnsupportedDeny {
        /// `public` or `network`.
        entry: String,
        /// What to write instead.
        hint: &'static str,
    },
}

/// Why [`Policy::check`] or [`Policy::check_unix`] refused a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The address is reserved and never connectable.
    #[error("{ip} is a {class} address; no network service may connect to it")]
    Reserved {
        /// The refused address.
        ip: IpAddr,
        /// Its class (always [`AddressClass::Reserved`]).
        class: AddressClass,
    },
    /// No `allow` entry matches.
    #[error("{ip} is a {class} address; this network service allows only: {allow}")]
    NotAllowed {
        /// The refused address.
        ip: IpAddr,
        /// Its class.
        class: AddressClass,
        /// The service's `allow` list, as written.
        allow: String,
    },
    /// A `deny` entry matches.
    #[error("{ip} is a {class} address, denied by this network service's deny entry \"{entry}\"")]
    Denied {
        /// The refused address.
        ip: IpAddr,
        /// Its class.
        class: AddressClass,
        /// The matching `deny` entry, as written.
        entry: String,
    },
    /// Unix sockets of this kind are not allowed.
    #[error("{kind} sockets are not allowed; this network service allows only: {allow}")]
    Unix {
        /// The socket kind.
        kind: UnixKind,
        /// The service's `allow` list, as written.
        allow: String,
    },
}

/// A parsed `allow`/`deny` policy of one `network` service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    allow: Vec<Rule>,
    deny: Vec<Rule>,
    unix: bool,
    unix_abstract: bool,
    /// The allow list as written, for messages.
    allow_text: String,
}

impl Default for Policy {
    /// The default policy, `allow = ["public"]`.
    fn default() -> Self {
        Policy {
            allow: vec![Rule::Classes { text: "public".to_owned(), classes: &[AddressClass::Public], ranged: false }],
            deny: Vec::new(),
            unix: false,
            unix_abstract: false,
            allow_text: "public".to_owned(),
        }
    }
}

impl Policy {
    /// Parses a `network` service's `allow` and `deny` lists.
    pub fn from_config(network: &nanod_config::Network) -> Result<Policy, PolicyError> {
        Policy::new(&network.allow, &network.deny)
    }

    /// Parses `allow` and `deny` lists of entries as written in a config.
    pub fn new<S: AsRef<str>>(allow: &[S], deny: &[S]) -> Result<Policy, PolicyError> {
        let mut policy = Policy {
            allow: Vec::new(),
            deny: Vec::new(),
            unix: false,
            unix_abstract: false,
            allow_text: if allow.is_empty() {
                "nothing".to_owned()
            } else {
                allow.iter().map(|s| s.as_ref()).collect::<Vec<_>>().join(", ")
            },
        };
        for entry in allow.iter().map(|s| s.as_ref()) {
            let classes: &'static [AddressClass] = match entry {
                "public" => &[AddressClass::Public],
                "network" => &[AddressClass::Public, AddressClass::Private, AddressClass::Special],
                "private" => &[AddressClass::Private, AddressClass::Local],
                "local" => &[AddressClass::Local],
                "unix" => {
                    policy.unix = true;
                    continue;
                }
                "unix-abstract" => {
                    policy.unix_abstract = true;
                    continue;
                }
                _ => {
                    policy.allow.push(Rule::Cidr { text: entry.to_owned(), cidr: Cidr::parse(entry, "allow")? });
                    continue;
                }
            };
            let ranged = !matches!(entry, "public" | "network");
            policy.allow.push(Rule::Classes { text: entry.to_owned(), classes, ranged });
        }
        for entry in deny.iter().map(|s| s.as_ref()) {
            let classes: &'static [AddressClass] = match entry {
                "public" => {
                    return Err(PolicyError::UnsupportedDeny {
                        entry: entry.to_owned(),
                        hint: "allow \"private\" instead",
                    })
                }
                "network" => {
                    return Err(PolicyError::UnsupportedDeny {
                        entry: entry.to_owned(),
                        hint: "allow \"local\" instead",
                    })
                }
                "private" => &[AddressClass::Private],
                "local" => &[AddressClass::Local],
                "unix" => {
                    policy.unix = false;
                    continue;
                }
                "unix-abstract" => {
                    policy.unix_abstract = false;
                    continue;
                }
                _ => {
                    policy.deny.push(Rule::Cidr { text: entry.to_owned(), cidr: Cidr::parse(entry, "deny")? });
                    continue;
                }
            };
            policy.deny.push(Rule::Classes { text: entry.to_owned(), classes, ranged: true });
        }
        Ok(policy)
    }

    /// Checks a resolved address; run it for every connection, after DNS.
    pub fn check(&self, addr: SocketAddr) -> Result<CheckedAddr, Refused> {
        let ip = addr.ip();
        let (class, class_prefix) = classify(ip);
        if class == AddressClass::Reserved {
            return Err(Refused::Reserved { ip, class });
        }
        let allow_specificity = self
            .allow
            .iter()
            .filter_map(|rule| rule.specificity(ip, class, class_prefix))
            .max()
            .ok_or_else(|| Refused::NotAllowed { ip, class, allow: self.allow_text.clone() })?;
        for rule in &self.deny {
            if rule.specificity(ip, class, class_prefix).is_some_and(|s| s >= allow_specificity) {
                return Err(Refused::Denied { ip, class, entry: rule.text().to_owned() });
            }
        }
        Ok(CheckedAddr { addr })
    }

    /// Checks a Unix domain socket connection of `kind`.
    pub fn check_unix(&self, kind: UnixKind) -> Result<(), Refused> {
        let allowed = match kind {
            UnixKind::Path => self.unix,
            UnixKind::Abstract => self.unix_abstract,
        };
        if allowed {
            Ok(())
        } else {
            Err(Refused::Unix { kind, allow: self.allow_text.clone() })
        }
    }
}

/// One parsed `allow` or `deny` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// A keyword: matches addresses of `classes`; its specificity is the prefix length of the
    /// range that classified the address if `ranged`, else 0 (workerd's `public`, `network`).
    Classes { text: String, classes: &'static [AddressClass], ranged: bool },
    /// An IP address or CIDR.
    Cidr { text: String, cidr: Cidr },
}

impl Rule {
    fn text(&self) -> &str {
        match self {
            Rule::Classes { text, .. } | Rule::Cidr { text, .. } => text,
        }
    }

    /// The specificity of the match if this rule matches.
    fn specificity(&self, ip: IpAddr, class: AddressClass, class_prefix: u8) -> Option<u8> {
        match self {
            Rule::Classes { classes, ranged, .. } => {
                classes.contains(&class).then_some(if *ranged { class_prefix } else { 0 })
            }
            Rule::Cidr { cidr, .. } => cidr.matches(ip).then_some(cidr.prefix),
        }
    }
}

/// An IP network; host bits are zeroed, as workerd does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a /32 or /128).
    fn parse(entry: &str, list: &'static str) -> Result<Cidr, PolicyError> {
        let bad = |reason: String| PolicyError::BadEntry { list, entry: entry.to_owned(), reason };
        let (addr, prefix) = match entry.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (entry, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad(format!("\"{addr}\" is not an IP address or keyword")))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(format!("prefix length \"{p}\" is not a number")));
                }
                let n: u8 = p.parse().map_err(|_| bad(format!("prefix length \"{p}\" is not a number")))?;
                if n > max {
                    return Err(bad(format!("prefix length {n} is longer than {max}")));
                }
                n
            }
        };
        let net = match net {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask32(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask128(prefix))),
        };
        Ok(Cidr { net, prefix })
    }

    /// IPv4 networks also match IPv6 addresses that embed an IPv4 address; IPv6 networks match
    /// IPv6 addresses only, as in workerd.
    fn matches(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(v4)) => in_v4(net, self.prefix, v4),
            (IpAddr::V4(net), IpAddr::V6(v6)) => embedded_ipv4(v6).is_some_and(|v4| in_v4(net, self.prefix, v4)),
            (IpAddr::V6(net), IpAddr::V6(v6)) => in_v6(net, self.prefix, v6),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0)
}

fn in_v4(net: Ipv4Addr, prefix: u8, ip: Ipv4Addr) -> bool {
    u32::from(ip) & mask32(prefix) == u32::from(net) & mask32(prefix)
}

fn in_v6(net: Ipv6Addr, prefix: u8, ip: Ipv6Addr) -> bool {
    u128::from(ip) & mask128(prefix) == u128::from(net) & mask128(prefix)
}

/// IPv4 ranges that are not public, most specific first.
const V4_RANGES: &[([u8; 4], u8, AddressClass)] = &[
    ([0, 0, 0, 0], 32, AddressClass::Local),
    ([0, 0, 0, 0], 8, AddressClass::Reserved),
    ([10, 0, 0, 0], 8, AddressClass::Private),
    ([100, 64, 0, 0], 10, AddressClass::Private),
    ([127, 0, 0, 0], 8, AddressClass::Local),
    ([169, 254, 0, 0], 16, AddressClass::Private),
    ([172, 16, 0, 0], 12, AddressClass::Private),
    ([192, 0, 0, 0], 24, AddressClass::Reserved),
    ([192, 0, 2, 0], 24, AddressClass::Special),
    ([192, 168, 0, 0], 16, AddressClass::Private),
    ([198, 18, 0, 0], 15, AddressClass::Special),
    ([198, 51, 100, 0], 24, AddressClass::Special),
    ([203, 0, 113, 0], 24, AddressClass::Special),
    ([224, 0, 0, 0], 4, AddressClass::Reserved),
    ([255, 255, 255, 255], 32, AddressClass::Reserved),
    ([240, 0, 0, 0], 4, AddressClass::Reserved),
];

/// IPv6 ranges that are not public (after IPv4 embeddings are taken out), most specific first.
const V6_RANGES: &[([u16; 8], u8, AddressClass)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, AddressClass::Local),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, AddressClass::Local),
    ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, AddressClass::Private),
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, AddressClass::Reserved),
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, AddressClass::Special),
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, AddressClass::Reserved),
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, AddressClass::Private),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, AddressClass::Private),
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, AddressClass::Private),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, AddressClass::Reserved),
];

/// The class of `ip` and the prefix length of the range that decided it (0 for public).
fn classify(ip: IpAddr) -> (AddressClass, u8) {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => classify_v4(v4),
            None => V6_RANGES
                .iter()
                .find(|(net, prefix, _)| in_v6(Ipv6Addr::from(*net), *prefix, v6))
                .map_or((AddressClass::Public, 0), |&(_, prefix, class)| (class, prefix)),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> (AddressClass, u8) {
    V4_RANGES
        .iter()
        .find(|(net, prefix, _)| in_v4(Ipv4Addr::from(*net), *prefix, ip))
        .map_or((AddressClass::Public, 0), |&(_, prefix, class)| (class, prefix))
}

/// The IPv4 address embedded in `ip`, if it is IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, except `::` and `::1`), NAT64
/// (`64:ff9b::a.b.c.d`) or 6to4 (`2002:AABB:CCDD::/48`).
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0xffff, 0, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => {
            Some(low(hi, lo))
        }
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::{Local, Private, Public, Reserved, Special};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn sock(s: &str) -> SocketAddr {
        SocketAddr::new(ip(s), 443)
    }

    fn policy(allow: &[&str], deny: &[&str]) -> Policy {
        Policy::new(allow, deny).unwrap()
    }

    /// Every class: first and last address of each range, and just outside it.
    const MATRIX: &[(&str, AddressClass)] = &[
        // 0.0.0.0/8: 0.0.0.0 connects to this machine (local), the rest is reserved.
        ("0.0.0.0", Local),
        ("0.0.0.1", Reserved),
        ("0.255.255.255", Reserved),
        ("1.0.0.0", Public),
        // 10/8
        ("9.255.255.255", Public),
        ("10.0.0.0", Private),
        ("10.255.255.255", Private),
        ("11.0.0.0", Public),
        // 100.64/10
        ("100.63.255.255", Public),
        ("100.64.0.0", Private),
        ("100.127.255.255", Private),
        ("100.128.0.0", Public),
        // 127/8
        ("126.255.255.255", Public),
        ("127.0.0.0", Local),
        ("127.0.0.1", Local),
        ("127.255.255.255", Local),
        ("128.0.0.0", Public),
        // 169.254/16
        ("169.253.255.255", Public),
        ("169.254.0.0", Private),
        ("169.254.169.254", Private),
        ("169.254.255.255", Private),
        ("169.255.0.0", Public),
        // 172.16/12
        ("172.15.255.255", Public),
        ("172.16.0.0", Private),
        ("172.31.255.255", Private),
        ("172.32.0.0", Public),
        // 192.0.0.0/24, 192.0.2.0/24
        ("191.255.255.255", Public),
        ("192.0.0.0", Reserved),
        ("192.0.0.255", Reserved),
        ("192.0.1.0", Public),
        ("192.0.2.0", Special),
        ("192.0.2.255", Special),
        ("192.0.3.0", Public),
        // 192.168/16
        ("192.167.255.255", Public),
        ("192.168.0.0", Private),
        ("192.168.255.255", Private),
        ("192.169.0.0", Public),
        // 198.18/15, 198.51.100/24, 203.0.113/24
        ("198.17.255.255", Public),
        ("198.18.0.0", Special),
        ("198.19.255.255", Special),
        ("198.20.0.0", Public),
        ("198.51.99.255", Public),
        ("198.51.100.0", Special),
        ("198.51.100.255", Special),
        ("198.51.101.0", Public),
        ("203.0.112.255", Public),
        ("203.0.113.0", Special),
        ("203.0.113.255", Special),
        ("203.0.114.0", Public),
        // 224/4 multicast, 240/4 reserved, broadcast
        ("8.8.8.8", Public),
        ("223.255.255.255", Public),
        ("224.0.0.0", Reserved),
        ("239.255.255.255", Reserved),
        ("240.0.0.0", Reserved),
        ("255.255.255.254", Reserved),
        ("255.255.255.255", Reserved),
        // IPv6
        ("::", Local),
        ("::1", Local),
        ("::2", Reserved), // IPv4-compatible 0.0.0.2
        ("2606:4700::1111", Public),
        ("2001:4860:4860::8888", Public),
        ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Public),
        ("fc00::", Private),
        ("fd12:3456::1", Private),
        ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Private),
        ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Public),
        ("fe80::", Private),
        ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Private),
        ("fec0::1", Private),
        ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Private),
        ("ff00::", Reserved),
        ("ff02::1", Reserved),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Reserved),
        ("2001::", Reserved),      // Teredo
        ("2001:1ff::1", Reserved), // end of 2001::/23
        ("2001:200::1", Public),   // just outside
        ("2001:db8::", Special),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", Special),
        ("2001:db9::", Public),
        ("100::", Reserved),
        ("100::ffff:ffff:ffff:ffff", Reserved),
        ("100:0:0:1::", Public),
        ("64:ff9b:1::1", Private),
        ("64:ff9b::1:0:0:0", Public), // outside 64:ff9b::/96, not embedding
    ];

    #[test]
    fn classifies_every_range() {
        for &(addr, class) in MATRIX {
            assert_eq!(AddressClass::of(ip(addr)), class, "{addr}");
        }
    }

    #[test]
    fn classifies_ipv6_embeddings_by_their_ipv4_address() {
        let cases = [("127.0.0.1", Local), ("10.0.0.1", Private), ("169.254.169.254", Private), ("8.8.8.8", Public)];
        for (v4, class) in cases {
            let o: [u8; 4] = v4.parse::<Ipv4Addr>().unwrap().octets();
            let hi = u16::from_be_bytes([o[0], o[1]]);
            let lo = u16::from_be_bytes([o[2], o[3]]);
            let forms = [
                format!("::ffff:{v4}"),
                format!("::ffff:0:{v4}"),
                format!("::{v4}"),
                format!("64:ff9b::{v4}"),
                format!("2002:{hi:x}:{lo:x}::1"),
            ];
            for form in forms {
                assert_eq!(AddressClass::of(ip(&form)), class, "{form}");
                assert_eq!(embedded_ipv4(form.parse().unwrap()), Some(v4.parse().unwrap()), "{form}");
            }
        }
        assert_eq!(embedded_ipv4("::1".parse().unwrap()), None);
        assert_eq!(embedded_ipv4("::".parse().unwrap()), None);
        assert_eq!(embedded_ipv4("2606:4700::1111".parse().unwrap()), None);
    }

    #[test]
    fn default_policy_allows_only_public() {
        let policy = Policy::from_config(&nanod_config::Network::default()).unwrap();
        assert_eq!(policy, Policy::default());
        for &(addr, class) in MATRIX {
            assert_eq!(policy.check(sock(addr)).is_ok(), class == Public, "{addr}");
        }
        for form in ["::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "::ffff:169.254.169.254"] {
            assert!(policy.check(sock(form)).is_err(), "{form}");
        }
        let checked = policy.check(sock("8.8.8.8")).unwrap();
        assert_eq!(checked.addr(), sock("8.8.8.8"));
        assert!(policy.check(sock("::ffff:8.8.8.8")).is_ok());
        assert!(policy.check_unix(UnixKind::Path).is_err());
        assert!(policy.check_unix(UnixKind::Abstract).is_err());
    }

    #[test]
    fn refusal_says_why() {
        let err = Policy::default().check(sock("127.0.0.1")).unwrap_err();
        assert_eq!(err.to_string(), "127.0.0.1 is a local address; this network service allows only: public");
        let err = Policy::default().check(sock("::ffff:10.0.0.1")).unwrap_err();
        assert_eq!(err.to_string(), "::ffff:10.0.0.1 is a private address; this network service allows only: public");
        let err = policy(&[], &[]).check(sock("8.8.8.8")).unwrap_err();
        assert_eq!(err.to_string(), "8.8.8.8 is a public address; this network service allows only: nothing");
        let err = policy(&["public"], &["8.8.0.0/16"]).check(sock("8.8.8.8")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "8.8.8.8 is a public address, denied by this network service's deny entry \"8.8.0.0/16\""
        );
        let err = policy(&["0.0.0.0/0"], &[]).check(sock("224.0.0.1")).unwrap_err();
        assert!(matches!(err, Refused::Reserved { .. }), "{err}");
        assert!(err.to_string().contains("no network service may connect to it"), "{err}");
    }

    #[test]
    fn local_allows_loopback_only() {
        let policy = policy(&["local"], &[]);
        for ok in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::"] {
            assert!(policy.check(sock(ok)).is_ok(), "{ok}");
        }
        for refused in ["10.0.0.1", "169.254.169.254", "fe80::1", "8.8.8.8", "192.0.2.1"] {
            assert!(policy.check(sock(refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn keywords_private_and_network() {
        let private = policy(&["private"], &[]);
        for ok in ["10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "fd00::1", "127.0.0.1"] {
            assert!(private.check(sock(ok)).is_ok(), "{ok}");
        }
        for refused in ["8.8.8.8", "192.0.2.1", "2606:4700::1111"] {
            assert!(private.check(sock(refused)).is_err(), "{refused}");
        }
        let network = policy(&["network"], &[]);
        for ok in ["10.0.0.1", "8.8.8.8", "192.0.2.1", "fe80::1"] {
            assert!(network.check(sock(ok)).is_ok(), "{ok}");
        }
        for refused in ["127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1"] {
            assert!(network.check(sock(refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn cidr_allow() {
        let policy = policy(&["127.0.0.2/32"], &[]);
        assert!(policy.check(sock("127.0.0.2")).is_ok());
        assert!(policy.check(sock("::ffff:127.0.0.2")).is_ok());
        assert!(policy.check(sock("127.0.0.1")).is_err());
        assert!(policy.check(sock("8.8.8.8")).is_err());

        let bare = self::policy(&["127.0.0.2", "::1"], &[]);
        assert!(bare.check(sock("127.0.0.2")).is_ok());
        assert!(bare.check(sock("::1")).is_ok());
        assert!(bare.check(sock("127.0.0.3")).is_err());

        let v6 = self::policy(&["fd00::/8"], &[]);
        assert!(v6.check(sock("fd00::5")).is_ok());
        assert!(v6.check(sock("fc00::5")).is_err());
        assert!(v6.check(sock("10.0.0.1")).is_err());

        // Host bits are ignored, as in workerd.
        let masked = self::policy(&["10.1.2.3/8"], &[]);
        assert!(masked.check(sock("10.200.0.1")).is_ok());
    }

    #[test]
    fn deny_wins_unless_an_allow_is_more_specific() {
        let p = policy(&["public"], &["8.8.8.8"]);
        assert!(matches!(p.check(sock("8.8.8.8")), Err(Refused::Denied { .. })));
        assert!(p.check(sock("::ffff:8.8.8.8")).is_err());
        assert!(p.check(sock("8.8.4.4")).is_ok());

        let p = policy(&["local"], &["127.0.0.0/8"]);
        assert!(p.check(sock("127.0.0.1")).is_err());
        assert!(p.check(sock("::1")).is_ok());

        let p = policy(&["private"], &["private"]);
        assert!(p.check(sock("10.0.0.1")).is_err());
        assert!(p.check(sock("127.0.0.1")).is_ok(), "deny private leaves local alone, as in workerd");

        let p = policy(&["127.0.0.0/8"], &["127.0.0.1/32"]);
        assert!(p.check(sock("127.0.0.1")).is_err());
        assert!(p.check(sock("127.0.0.2")).is_ok());

        // workerd: a more specific allow beats a broader deny.
        let p = policy(&["10.0.0.5"], &["private"]);
        assert!(p.check(sock("10.0.0.5")).is_ok());
        assert!(p.check(sock("10.0.0.6")).is_err());
    }

    #[test]
    fn unix_sockets() {
        let p = policy(&["unix"], &[]);
        assert!(p.check_unix(UnixKind::Path).is_ok());
        assert!(p.check_unix(UnixKind::Abstract).is_err());
        let p = policy(&["unix", "unix-abstract"], &["unix"]);
        assert!(p.check_unix(UnixKind::Path).is_err());
        assert!(p.check_unix(UnixKind::Abstract).is_ok());
        assert!(p.check(sock("127.0.0.1")).is_err());
        let err = policy(&["public"], &[]).check_unix(UnixKind::Abstract).unwrap_err();
        assert_eq!(err.to_string(), "unix-abstract sockets are not allowed; this network service allows only: public");
    }

    #[test]
    fn bad_entries_are_rejected_by_name() {
        let cases: &[(&[&str], &[&str], &str)] = &[
            (&["pubic"], &[], "network allow entry \"pubic\": \"pubic\" is not an IP address or keyword"),
            (&["Public"], &[], "allow entry \"Public\""),
            (&[" public"], &[], "allow entry \" public\""),
            (&["10.0.0.0/33"], &[], "prefix length 33 is longer than 32"),
            (&["::/129"], &[], "prefix length 129 is longer than 128"),
            (&["10.0.0.0/"], &[], "prefix length \"\" is not a number"),
            (&["10.0.0.0/+8"], &[], "prefix length \"+8\" is not a number"),
            (&["10.0.0.0/0008"], &[], "prefix length \"0008\" is not a number"),
            (&["10.0.0.0/8/8"], &[], "prefix length \"8/8\" is not a number"),
            (&["10.0.0/8"], &[], "\"10.0.0\" is not an IP address"),
            (&["0177.0.0.1"], &[], "\"0177.0.0.1\" is not an IP address"),
            (&["fe80::1%eth0"], &[], "\"fe80::1%eth0\" is not an IP address"),
            (&[""], &[], "allow entry \"\""),
            (&["public"], &["lcoal"], "network deny entry \"lcoal\""),
            (
                &["public"],
                &["public"],
                "deny entry \"public\" is not supported (as in workerd); allow \"private\" instead",
            ),
            (
                &["public"],
                &["network"],
                "deny entry \"network\" is not supported (as in workerd); allow \"local\" instead",
            ),
        ];
        for (allow, deny, message) in cases {
            let err = Policy::new(allow, deny).unwrap_err().to_string();
            assert!(err.contains(message), "{allow:?} {deny:?}: {err}");
        }
        let err = Policy::new(&["pubic"], &[]).unwrap_err().to_string();
        assert!(err.contains("expected public, private, local, network, unix, unix-abstract"), "{err}");
    }

    #[test]
    fn cidr_parsing() {
        assert_eq!(Cidr::parse("10.1.2.3/8", "allow").unwrap(), Cidr { net: ip("10.0.0.0"), prefix: 8 });
        assert_eq!(Cidr::parse("::1", "allow").unwrap(), Cidr { net: ip("::1"), prefix: 128 });
        assert_eq!(Cidr::parse("1.2.3.4", "allow").unwrap(), Cidr { net: ip("1.2.3.4"), prefix: 32 });
        assert_eq!(Cidr::parse("0.0.0.0/0", "allow").unwrap(), Cidr { net: ip("0.0.0.0"), prefix: 0 });
        assert_eq!(Cidr::parse("fc00::1/7", "allow").unwrap(), Cidr { net: ip("fc00::"), prefix: 7 });
        assert!(Cidr::parse("::/0", "allow").unwrap().matches(ip("2606:4700::1")));
        assert!(Cidr::parse("0.0.0.0/0", "allow").unwrap().matches(ip("8.8.8.8")));
        assert!(!Cidr::parse("0.0.0.0/0", "allow").unwrap().matches(ip("2606:4700::1")));
    }
}
