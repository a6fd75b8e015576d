//! Per-binding resilience (a nanod extension): a service binding's or `globalOutbound`'s
//! `timeoutMs` and `fallback`. A call that throws, breaks one of the target's limits, or has
//! no response head (fetch) / result (RPC) within `timeoutMs` is answered by the fallback
//! instead, which may have its own timeout and fallback (a chain).
//!
//! What a fetch fallback receives: the same method, URL, headers and extensions (the caller's
//! request id), plus [`REASON_HEADER`] (`exception`, `timeout` or `limit`), [`FROM_HEADER`]
//! (the service that failed) and, for a limit, [`LIMIT_HEADER`] (`cpu`, `memory`...). Each
//! step of a chain sets them, so the last fallback hears about the step before it. The body:
//! - empty or bytes: re-sent as it was;
//! - a stream: whatever the target read of it is kept (up to [`REPLAY_LIMIT`]) and the
//!   fallback gets that prefix followed by the part nobody read, so the fallback sees the
//!   whole body whether or not the target touched it. A target that read more than
//!   [`REPLAY_LIMIT`] leaves the fallback an empty body without its framing headers
//!   (`Content-Length`, `Transfer-Encoding`), as workerd's `passThroughOnException()` does
//!   with a body the Worker consumed. Once the fallback takes over, the target's further reads
//!   of the body fail.
//!
//! An RPC fallback gets the same method and arguments; it has no headers to hear the reason
//! in (the log line and `metrics::binding_fallback` have it).
//!
//! A timeout without a fallback fails the call with [`timed_out`]'s error. A binding with
//! neither never gets here: no timer, no copy of the request (`binding::ServiceBinding`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use http_body::{Frame, SizeHint};
use nanod_js::{JsException, RequestId};
use nanod_web::body::{Body, BodyError};
use nanod_web::fetcher::FetchTarget;
use nanod_web::rpc::RpcCall;
use nanod_web::structured_clone::Cloned;

use crate::binding::ServiceBinding;
use crate::metrics::{FallbackReason, Limit};

/// Why the fallback answers: `exception`, `timeout` or `limit`.
pub const REASON_HEADER: HeaderName = HeaderName::from_static("nanod-fallback-reason");
/// The service whose call failed.
pub const FROM_HEADER: HeaderName = HeaderName::from_static("nanod-fallback-from");
/// For `limit`: which one (`cpu`, `memory`, `concurrency`, `request_body`, `subrequests`).
pub const LIMIT_HEADER: HeaderName = HeaderName::from_static("nanod-fallback-limit");

/// How much of a streamed request body the target may read and the fallback still get.
pub const REPLAY_LIMIT: usize = 1 << 20;

/// A binding's timeout and fallback, with the names its log lines and metrics use.
pub struct Failover {
    /// The Worker whose binding this is.
    pub caller: Rc<str>,
    /// The binding's name (`globalOutbound` for the global `fetch()`).
    pub binding: Rc<str>,
    pub timeout: Option<Duration>,
    pub fallback: Option<Rc<ServiceBinding>>,
}

/// The error of a call that had no answer within its timeout and no fallback.
pub fn timed_out(service: &str, timeout: Duration) -> JsException {
    JsException::error(format!("service \"{service}\" did not answer within {} ms", timeout.as_millis()))
}

/// How a call to the target failed.
enum Failure {
    Exception(JsException),
    Limit(Limit, JsException),
    Timeout(Duration),
}

impl Failure {
    fn of(exception: JsException) -> Failure {
        match crate::limits::exceeded_limit(&exception) {
            Some(limit) => Failure::Limit(limit, exception),
            None => Failure::Exception(exception),
        }
    }

    fn reason(&self) -> FallbackReason {
        match self {
            Failure::Exception(_) => FallbackReason::Exception,
            Failure::Limit(..) => FallbackReason::Limit,
            Failure::Timeout(_) => FallbackReason::Timeout,
        }
    }

    /// The call's error when there is no fallback to answer instead.
    fn into_error(self, service: &str) -> JsException {
        match self {
            Failure::Exception(exception) | Failure::Limit(_, exception) => exception,
            Failure::Timeout(timeout) => timed_out(service, timeout),
        }
    }
}

impl Failover {
    /// `call` (to `target`), failed as a timeout if it has not finished within the timeout.
    async fn within<T>(&self, target: &str, call: impl Future<Output = Result<T, JsException>>) -> Result<T, Failure> {
        let outcome = match self.timeout {
            // Dropping the call on expiry drops the target's future: its answer, if any, is lost.
            Some(timeout) => match tokio::time::timeout(timeout, call).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    crate::metrics::binding_timeout(&self.caller, &self.binding, target, timeout);
                    return Err(Failure::Timeout(timeout));
                }
            },
            None => call.await,
        };
        outcome.map_err(Failure::of)
    }

    /// Logs and counts the fallback taking over from `target` (for request `request`).
    fn report(&self, target: &str, fallback: &str, failure: &Failure, request: Option<RequestId>) {
        let what = match failure {
            Failure::Exception(exception) => format!("threw {exception}"),
            Failure::Limit(limit, _) => format!("broke its {} limit", limit.as_str()),
            Failure::Timeout(timeout) => format!("did not answer within {} ms", timeout.as_millis()),
        };
        tracing::warn!(
            service = %self.caller,
            request_id = request.map(tracing::field::display),
            "{}: binding {}: \"{fallback}\" answers for service \"{target}\", which {what}",
            self.caller,
            self.binding,
        );
        crate::metrics::binding_fallback(&self.caller, &self.binding, fallback, failure.reason());
    }

    /// Sends `request` through `send` (the call to `target`) under this failover.
    pub async fn fetch<F>(
        &self,
        target: &str,
        request: http::Request<Body>,
        send: impl FnOnce(http::Request<Body>) -> F,
    ) -> Result<http::Response<Body>, JsException>
    where
        F: Future<Output = Result<http::Response<Body>, JsException>>,
    {
        let Some(fallback) = &self.fallback else {
            return self.within(target, send(request)).await.map_err(|failure| failure.into_error(target));
        };
        let (request, replay) = Replay::split(request);
        let failure = match self.within(target, send(request)).await {
            Ok(response) => {
                replay.done();
                return Ok(response);
            }
            Err(failure) => failure,
        };
        self.report(target, &fallback.target, &failure, replay.extensions.get::<RequestId>().copied());
        fallback.fetch(replay.request(target, &failure)).await
    }

    /// Makes `rpc` through `send` (the call to `target`) under this failover. Exceptions come
    /// back as the target threw them; the caller shapes them for JS.
    pub async fn call<F>(
        &self,
        target: &str,
        rpc: RpcCall,
        send: impl FnOnce(RpcCall) -> F,
    ) -> Result<Cloned, JsException>
    where
        F: Future<Output = Result<Cloned, JsException>>,
    {
        let Some(fallback) = &self.fallback else {
            return self.within(target, send(rpc)).await.map_err(|failure| failure.into_error(target));
        };
        let again = RpcCall { method: rpc.method.clone(), args: rpc.args.clone(), request: rpc.request };
        match self.within(target, send(rpc)).await {
            Ok(result) => Ok(result),
            Err(failure) => {
                self.report(target, &fallback.target, &failure, again.request);
                fallback.call_raw(again).await
            }
        }
    }
}

/// What the fallback needs to send the request again.
struct Replay {
    method: http::Method,
    uri: http::Uri,
    version: http::Version,
    headers: http::HeaderMap,
    extensions: http::Extensions,
    body: ReplayBody,
}

enum ReplayBody {
    Bytes(Body),
    Stream(Rc<RefCell<Tee>>),
}

impl Replay {
    /// Keeps what a fallback needs of `request`, and the request to send to the target.
    fn split(request: http::Request<Body>) -> (http::Request<Body>, Replay) {
        let (parts, body) = request.into_parts();
        let (body, replay_body) = match body {
            Body::Empty => (Body::Empty, ReplayBody::Bytes(Body::Empty)),
            Body::Full(bytes) => (Body::Full(bytes.clone()), ReplayBody::Bytes(Body::Full(bytes))),
            stream @ Body::Stream(_) => {
                let tee = Rc::new(RefCell::new(Tee::new(stream)));
                (Body::stream(TeeReader(tee.clone())), ReplayBody::Stream(tee))
            }
        };
        let replay = Replay {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            version: parts.version,
            headers: parts.headers.clone(),
            extensions: parts.extensions.clone(),
            body: replay_body,
        };
        (http::Request::from_parts(parts, body), replay)
    }

    /// The target answered: a body it still streams need not be kept any more.
    fn done(self) {
        if let ReplayBody::Stream(tee) = self.body {
            let mut tee = tee.borrow_mut();
            tee.keeping = false;
            tee.kept.clear();
        }
    }

    /// The request for the fallback, after `target` failed with `failure`.
    fn request(self, target: &str, failure: &Failure) -> http::Request<Body> {
        let Replay { method, uri, version, mut headers, extensions, body } = self;
        let body = match body {
            ReplayBody::Bytes(body) => body,
            ReplayBody::Stream(tee) => match tee.borrow_mut().take_over() {
                Some(body) => body,
                None => {
                    headers.remove(CONTENT_LENGTH);
                    headers.remove(TRANSFER_ENCODING);
                    Body::Empty
                }
            },
        };
        headers.insert(REASON_HEADER, HeaderValue::from_static(failure.reason().as_str()));
        match HeaderValue::from_str(target) {
            Ok(from) => headers.insert(FROM_HEADER, from),
            Err(_) => headers.remove(FROM_HEADER),
        };
        match failure {
            Failure::Limit(limit, _) => headers.insert(LIMIT_HEADER, HeaderValue::from_static(limit.as_str())),
            _ => headers.remove(LIMIT_HEADER),
        };
        let mut request = http::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = version;
        *request.headers_mut() = headers;
        *request.extensions_mut() = extensions;
        request
    }
}

/// A streamed request body shared by the target (which reads it through a [`TeeReader`]) and
/// a possible fallback (which gets what was read, then the rest).
struct Tee {
    /// The part nobody has read; `None` once it ended or failed.
    source: Option<Body>,
    /// What the target read, while it fits in [`REPLAY_LIMIT`].
    kept: Vec<Bytes>,
    kept_len: usize,
    /// Whether reads are still kept for a fallback.
    keeping: bool,
    /// Whether the body can no longer be given whole to a fallback.
    lost: bool,
    /// Whether the fallback has the body (the target's reads fail).
    taken: bool,
}

impl Tee {
    fn new(source: Body) -> Tee {
        Tee { source: Some(source), kept: Vec::new(), kept_len: 0, keeping: true, lost: false, taken: false }
    }

    fn keep(&mut self, data: &Bytes) {
        if !self.keeping {
            return;
        }
        if self.kept_len + data.len() > REPLAY_LIMIT {
            self.keeping = false;
            self.lost = true;
            self.kept = Vec::new();
            return;
        }
        self.kept_len += data.len();
        self.kept.push(data.clone());
    }

    /// The whole body for the fallback; `None` if it was lost.
    fn take_over(&mut self) -> Option<Body> {
        self.taken = true;
        if self.lost {
            self.source = None;
            return None;
        }
        let kept = std::mem::take(&mut self.kept);
        let rest = self.source.take();
        Some(match (kept.is_empty(), rest) {
            // Untouched: the original stream, as it was.
            (true, Some(rest)) => rest,
            (_, None) => {
                let mut all = BytesMut::with_capacity(self.kept_len);
                kept.iter().for_each(|chunk| all.extend_from_slice(chunk));
                Body::Full(all.freeze())
            }
            (false, Some(rest)) => {
                Body::stream(Replayed { kept: kept.into(), kept_len: self.kept_len as u64, rest: Some(rest) })
            }
        })
    }
}

/// The target's view of a [`Tee`].
struct TeeReader(Rc<RefCell<Tee>>);

impl http_body::Body for TeeReader {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let mut tee = self.0.borrow_mut();
        if tee.taken {
            return Poll::Ready(Some(Err("the request body went to the binding's fallback".into())));
        }
        let Some(source) = tee.source.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(source).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    tee.keep(data);
                }
            }
            Poll::Ready(None) => tee.source = None,
            Poll::Ready(Some(Err(_))) => {
                tee.source = None;
                tee.lost = true;
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let tee = self.0.borrow();
        !tee.taken && tee.source.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.0.borrow().source.as_ref().map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

/// The fallback's body when the target read part of a stream: that part, then the rest.
struct Replayed {
    kept: VecDeque<Bytes>,
    kept_len: u64,
    rest: Option<Body>,
}

impl http_body::Body for Replayed {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if let Some(chunk) = self.kept.pop_front() {
            self.kept_len -= chunk.len() as u64;
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.kept.is_empty() && self.rest.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.rest.as_ref().map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint);
        hint.set_lower(hint.lower() + self.kept_len);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + self.kept_len);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// A stream body of `chunks`, not known up front (as a client's upload is).
    fn stream(chunks: &[&'static str]) -> Body {
        let (tx, body) = Body::channel(chunks.len().max(1));
        for chunk in chunks {
            tx.try_send(Ok(Bytes::from_static(chunk.as_bytes()))).expect("room in the channel");
        }
        body
    }

    fn run<T>(future: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
    }

    async fn read_all(body: Body) -> Result<Bytes, BodyError> {
        body.collect().await.map(|c| c.to_bytes())
    }

    fn post(body: Body) -> http::Request<Body> {
        http::Request::builder()
            .method("POST")
            .uri("http://api/x")
            .header("content-length", "6")
            .header(REASON_HEADER, "spoofed")
            .body(body)
            .expect("request")
    }

    fn exception() -> Failure {
        Failure::of(JsException::error("boom"))
    }

    #[test]
    fn an_untouched_stream_goes_to_the_fallback_whole() {
        run(async {
            let (_sent, replay) = Replay::split(post(stream(&["abc", "def"])));
            let request = replay.request("api", &exception());
            assert_eq!(request.method(), "POST");
            assert_eq!(request.uri(), "http://api/x");
            assert_eq!(request.headers()[REASON_HEADER], "exception");
            assert_eq!(request.headers()[FROM_HEADER], "api");
            assert_eq!(request.headers()["content-length"], "6");
            assert!(request.headers().get(LIMIT_HEADER).is_none());
            assert_eq!(read_all(request.into_body()).await.expect("body"), "abcdef");
        });
    }

    #[test]
    fn what_the_target_read_is_replayed_before_the_rest() {
        run(async {
            let (sent, replay) = Replay::split(post(stream(&["abc", "def"])));
            let mut target_body = sent.into_body();
            let first = target_body.frame().await.expect("a frame").expect("data").into_data().expect("data");
            assert_eq!(first, "abc");
            let request = replay.request("api", &Failure::Timeout(Duration::from_millis(5)));
            assert_eq!(request.headers()[REASON_HEADER], "timeout");
            assert_eq!(http_body::Body::size_hint(request.body()).lower(), 3);
            assert_eq!(read_all(request.into_body()).await.expect("body"), "abcdef");
            // The target lost the body to the fallback.
            assert!(target_body.frame().await.expect("a frame").is_err());
        });
    }

    #[test]
    fn a_body_the_target_read_to_the_end_is_replayed_as_bytes() {
        run(async {
            let (sent, replay) = Replay::split(post(stream(&["abc", "def"])));
            // The channel's sender is gone once its chunks are queued: the stream ends.
            assert_eq!(read_all(sent.into_body()).await.expect("body"), "abcdef");
            let limit = Failure::Limit(Limit::Cpu, JsException::error("cpu"));
            let request = replay.request("api", &limit);
            assert_eq!(request.headers()[REASON_HEADER], "limit");
            assert_eq!(request.headers()[LIMIT_HEADER], "cpu");
            assert!(matches!(request.body(), Body::Full(_)));
            assert_eq!(read_all(request.into_body()).await.expect("body"), "abcdef");
        });
    }

    #[test]
    fn a_body_read_past_the_limit_is_lost_with_its_framing() {
        run(async {
            let big: &'static str = Box::leak("x".repeat(REPLAY_LIMIT / 2 + 1).into_boxed_str());
            let (sent, replay) = Replay::split(post(stream(&[big, big, "tail"])));
            let mut target_body = sent.into_body();
            target_body.frame().await.expect("frame").expect("data");
            target_body.frame().await.expect("frame").expect("data");
            let request = replay.request("api", &exception());
            assert!(request.headers().get("content-length").is_none());
            assert!(matches!(request.body(), Body::Empty));
        });
    }

    #[test]
    fn bytes_bodies_are_sent_again() {
        run(async {
            let (sent, replay) = Replay::split(post(Body::Full(Bytes::from_static(b"abcdef"))));
            assert_eq!(read_all(sent.into_body()).await.expect("body"), "abcdef");
            let request = replay.request("api", &exception());
            assert_eq!(read_all(request.into_body()).await.expect("body"), "abcdef");
        });
    }

    #[test]
    fn a_target_that_answered_keeps_streaming_its_body_without_keeping_it() {
        run(async {
            let (sent, replay) = Replay::split(post(stream(&["abc", "def"])));
            let tee = match &replay.body {
                ReplayBody::Stream(tee) => tee.clone(),
                ReplayBody::Bytes(_) => panic!("a stream body"),
            };
            replay.done();
            assert_eq!(read_all(sent.into_body()).await.expect("body"), "abcdef");
            assert!(tee.borrow().kept.is_empty());
        });
    }

    #[test]
    fn a_timeout_without_a_fallback_is_workerd_like_error_text() {
        let error = timed_out("api", Duration::from_millis(200));
        assert_eq!(error.to_string(), "Error: service \"api\" did not answer within 200 ms");
    }
}
