//! Per-Worker limits: how a broken limit is reported between the Worker service, service
//! bindings and the HTTP server, and the request-body limit.
//!
//! A request whose Worker broke a limit fails with [`exceeded`]; the socket answers
//! [`status`] (503, or 413 for a body) instead of a 500, and logs which service broke which
//! limit. CPU time and heap are enforced in the isolate (`nanod_js::limits`), concurrency and
//! bodies by the Worker service (`service/worker.rs`), subrequests where a call leaves the
//! isolate (`nanod-web`'s `fetch()` and RPC stubs).

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use nanod_js::{Exceeded, JsException};
use nanod_web::body::{Body, BodyError};

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

/// The [`Limit`] of a breach the isolate saw.
pub fn of(exceeded: Exceeded) -> Limit {
    match exceeded {
        Exceeded::Cpu => Limit::Cpu,
        Exceeded::Memory => Limit::Memory,
        Exceeded::Subrequests => Limit::Subrequests,
    }
}

/// Why a request body was refused: its declared length (`Content-Length`), or the bytes of a
/// stream that grew past the limit, which [`limit_body`] reports through its flag.
pub fn body_too_large(service: &str, max: u64) -> JsException {
    exceeded(
        Limit::RequestBody,
        format!("Worker \"{service}\": the request body is larger than its limit of {max} bytes"),
    )
}

/// `body`, failing once more than `max` bytes have come through; `overflowed` is set then.
/// JS reading it sees a `TypeError`; the Worker service answers 413 if the request fails.
pub fn limit_body(body: Body, max: u64, overflowed: Rc<Cell<bool>>) -> Body {
    match body {
        Body::Stream(inner) => Body::Stream(Box::pin(LimitedBody { inner, seen: 0, max, overflowed })),
        other => other,
    }
}

struct LimitedBody {
    inner: Pin<Box<dyn http_body::Body<Data = Bytes, Error = BodyError>>>,
    seen: u64,
    max: u64,
    overflowed: Rc<Cell<bool>>,
}

impl http_body::Body for LimitedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if self.overflowed.get() {
            return Poll::Ready(None);
        }
        let frame = match self.inner.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            self.seen = self.seen.saturating_add(data.len() as u64);
            if self.seen > self.max {
                self.overflowed.set(true);
                let message = format!("The request body is larger than this Worker's limit of {} bytes.", self.max);
                return Poll::Ready(Some(Err(Box::new(JsException::type_error(message)))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.overflowed.get() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[test]
    fn limit_errors_round_trip_and_pick_their_status() {
        for limit in [Limit::Cpu, Limit::Memory, Limit::Concurrency, Limit::RequestBody, Limit::Subrequests] {
            let exception = exceeded(limit, "m");
            assert_eq!(exceeded_limit(&exception), Some(limit));
            assert_eq!(status(limit), if limit == Limit::RequestBody { 413 } else { 503 });
        }
        assert_eq!(exceeded_limit(&JsException::error("LimitExceeded:cpu")), None);
    }

    #[test]
    fn a_body_fails_once_it_grows_past_the_limit() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let read = |chunks: &'static [&'static str], max| async move {
                let (tx, body) = Body::channel(4);
                for chunk in chunks {
                    tx.send(Ok(Bytes::from_static(chunk.as_bytes()))).await.unwrap();
                }
                drop(tx);
                let flag = Rc::new(Cell::new(false));
                let collected = limit_body(body, max, flag.clone()).collect().await.map(|b| b.to_bytes());
                (collected.map_err(|e| e.to_string()), flag.get())
            };
            assert_eq!(read(&["ab", "cd"], 4).await, (Ok(Bytes::from_static(b"abcd")), false));
            let (failed, flagged) = read(&["ab", "cd", "e"], 4).await;
            assert!(flagged);
            assert_eq!(
                failed.unwrap_err(),
                "TypeError: The request body is larger than this Worker's limit of 4 bytes."
            );
        });
    }
}
