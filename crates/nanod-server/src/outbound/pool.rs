//! The per-thread connection pool. Services are shared by every thread, connections are not:
//! each event-loop thread keeps its own pool in a `thread_local`, so a connection never
//! leaves the thread (and the `LocalSet`) whose task drives it.
//!
//! A pooled connection is reused only for the same [`Key`]: the same client (one per
//! service, so one TLS trust config), the same peer address, the same TLS server name (`None`
//! for plain HTTP), and, through the two maps, the same protocol. HTTP/1.1 connections are
//! pooled while idle (at most [`Settings::max_idle_per_key`] per key, each for at most
//! [`Settings::idle_timeout`]); an HTTP/2 connection is shared by every request to its key
//! while it lives. Expired and closed entries are dropped when the pool next looks at the key.
//!
//! [`Settings::max_idle_per_key`]: super::Settings::max_idle_per_key
//! [`Settings::idle_timeout`]: super::Settings::idle_timeout

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::client::conn::{http1, http2};
use nanod_web::body::Body;

/// What a pooled connection is reused for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub client: u64,
    pub peer: SocketAddr,
    pub server_name: Option<Arc<str>>,
}

struct Idle {
    sender: http1::SendRequest<Body>,
    since: Instant,
}

#[derive(Default)]
struct Pool {
    http1: HashMap<Key, Vec<Idle>>,
    http2: HashMap<Key, http2::SendRequest<Body>>,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// A live HTTP/2 connection for `key`, if this thread has one.
pub fn http2(key: &Key) -> Option<http2::SendRequest<Body>> {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        match pool.http2.get(key) {
            Some(sender) if !sender.is_closed() => Some(sender.clone()),
            Some(_) => {
                pool.http2.remove(key);
                None
            }
            None => None,
        }
    })
}

/// Shares `sender` for later requests to `key` (unless one is already shared).
pub fn put_http2(key: Key, sender: &http2::SendRequest<Body>) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let replace = pool.http2.get(&key).is_none_or(|existing| existing.is_closed());
        if replace {
            pool.http2.insert(key, sender.clone());
        }
    });
}

/// Forgets the HTTP/2 connection of `key` (it failed).
pub fn drop_http2(key: &Key) {
    POOL.with(|pool| {
        pool.borrow_mut().http2.remove(key);
    });
}

/// The most recently idled HTTP/1.1 connection of `key` that is neither closed nor expired.
pub fn take_http1(key: &Key, idle_timeout: Duration) -> Option<http1::SendRequest<Body>> {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let idle = pool.http1.get_mut(key)?;
        let now = Instant::now();
        idle.retain(|entry| !entry.sender.is_closed() && now.duration_since(entry.since) < idle_timeout);
        let found = idle.pop().map(|entry| entry.sender);
        if idle.is_empty() {
            pool.http1.remove(key);
        }
        found
    })
}

/// Keeps an HTTP/1.1 connection whose last response is complete, for reuse; the oldest idle
/// one goes when `key` already has `max_idle`.
pub fn put_http1(key: Key, sender: http1::SendRequest<Body>, idle_timeout: Duration, max_idle: usize) {
    if sender.is_closed() || max_idle == 0 {
        return;
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let idle = pool.http1.entry(key).or_default();
        let now = Instant::now();
        idle.retain(|entry| !entry.sender.is_closed() && now.duration_since(entry.since) < idle_timeout);
        if idle.len() >= max_idle {
            idle.remove(0);
        }
        idle.push(Idle { sender, since: now });
    });
}

/// How many idle HTTP/1.1 and live HTTP/2 connections this thread holds (for tests and
/// diagnostics).
pub fn counts() -> (usize, usize) {
    POOL.with(|pool| {
        let pool = pool.borrow();
        (pool.http1.values().map(Vec::len).sum(), pool.http2.len())
    })
}
