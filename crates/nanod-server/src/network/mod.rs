//! Outbound network access of workerd's `network` services.
//!
//! Every outbound connection a Worker makes through a `network` service goes through
//! [`policy::Policy::check`], which turns a resolved [`std::net::SocketAddr`] into a
//! [`policy::CheckedAddr`]; `connect` takes only a `CheckedAddr`, and only [`policy`] can make
//! one, so an unchecked address cannot reach a socket (STYLE.md habit 6, SSRF safety by
//! construction).
//!
//! The check runs on *resolved* addresses, after DNS and for every connection (so DNS
//! rebinding gains nothing). Host spellings such as `http://2130706433/` or
//! `http://0177.0.0.1/` are turned into addresses by the URL parser before this module sees
//! them; this module never parses host names.

pub mod policy;

pub use policy::{AddressClass, CheckedAddr, Policy, PolicyError, Refused, UnixKind};
