//! Per-Worker limits: how a broken limit is reported between the Worker service, service
//! bindings and the HTTP server.

use nanod_js::JsException;

pub use crate::metrics::Limit;

/// The exception a request fails with when its Worker broke `limit`.
pub fn exceeded(limit: Limit, message: impl Into<String>) -> JsException {
    JsException { name: format!("LimitExceeded:{}", limit.as_str()), message: message.into(), stack: None, dom: false }
}

/// The limit `exception` reports, if it is one made by [`exceeded`].
pub fn exceeded_limit(exception: &JsException) -> Option<Limit> {
    let name = exception.name.strip_prefix("LimitExceeded:")?;
    [Limit::Cpu, Limit::Memory, Limit::Concurrency, Limit::RequestBody, Limit::Subrequests]
        .into_iter()
        .find(|limit| limit.as_str() == name)
}

/// The HTTP status a socket answers for a broken limit.
pub fn status(limit: Limit) -> u16 {
    match limit {
        Limit::RequestBody => 413,
        _ => 503,
    }
}
