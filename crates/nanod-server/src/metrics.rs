//! Process-wide metrics, served in Prometheus text format on the admin socket.
//!
//! Recording is a no-op until [`enable`] is called (the admin socket is off by default), so a
//! server without `--admin` pays nothing for it.

/// Which per-Worker limit a request or isolate broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Cpu,
    Memory,
    Concurrency,
    RequestBody,
    Subrequests,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Cpu => "cpu",
            Limit::Memory => "memory",
            Limit::Concurrency => "concurrency",
            Limit::RequestBody => "request_body",
            Limit::Subrequests => "subrequests",
        }
    }
}

/// Why a binding's fallback answered instead of its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FallbackReason {
    Exception,
    Timeout,
    Limit,
}

impl FallbackReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackReason::Exception => "exception",
            FallbackReason::Timeout => "timeout",
            FallbackReason::Limit => "limit",
        }
    }
}

/// Worker `service` broke `limit` (its request failed; for CPU and memory its isolate was
/// discarded).
pub fn limit_exceeded(service: &str, limit: Limit) {
    let _ = (service, limit);
}

/// The fallback `callee` answered for binding `binding` of `caller`.
pub fn binding_fallback(caller: &str, binding: &str, callee: &str, reason: FallbackReason) {
    let _ = (caller, binding, callee, reason);
}

/// Whether `/readyz` answers 200 (false while draining for shutdown).
pub fn set_ready(ready: bool) {
    let _ = ready;
}
