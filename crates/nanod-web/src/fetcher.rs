//! `Fetcher`: the object behind a service binding (`env.AUTH.fetch(req)`), and the global
//! `fetch()`, which is the same thing aimed at the Worker's `globalOutbound`. Its other
//! properties are JS RPC stubs (`env.AUTH.check(token)`, see [`crate::rpc`]).
//!
//! A `Fetcher` holds a [`FetchTarget`], the seam through which a request leaves the isolate.
//! The embedder (nanod-server) implements it: for a Worker target it runs the callee in its own
//! isolate on the same thread; for a network target it opens connections. This crate never
//! does I/O itself.
//!
//! Every fetch, global or through a binding, follows redirects in Rust ([`crate::redirect`]),
//! each hop through the same target, inside one spawned future.
//!
//! A fetch with an `AbortSignal` (in `init` or on the `Request`):
//! - already aborted: the promise rejects with `signal.reason` and nothing is sent;
//! - aborted before the response arrives: an [`AbortStep`] cancels the promise
//!   ([`nanod_js::spawn_cancellable`]): it rejects with the reason and its future is dropped,
//!   which drops the hop in flight (its connection closes);
//! - aborted while the body streams: the body fails with the reason (re-created from its name
//!   and message, as workerd does) and the Rust body under it is dropped. The body stays a Rust
//!   stream ([`AbortableStream`]), so a Worker that returns the response hands it on unread.
//!
//! No JS value lives across an await: the abort step holds only Rust handles.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use nanod_js::{spawn_cancellable, spawn_promise, Cancellable, JsException, Settle};
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Ctx, Function, JsLifetime, Promise, Value};

use crate::abort::{self, AbortStep};
use crate::body::{Body, BodyError, BodySlot};
use crate::redirect::{self, Fetched};
use crate::request::Request;
use crate::response::Response;
use crate::rpc::RpcCall;
use crate::structured_clone::Cloned;

pub type FetchFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, JsException>>>>;

/// The outcome of a JS RPC ([`crate::rpc`]): the serialized result or the exception.
pub type RpcFuture = Pin<Box<dyn Future<Output = Result<Cloned, JsException>>>>;

/// Where a `Fetcher`'s requests go.
pub trait FetchTarget {
    fn fetch(&self, request: http::Request<Body>) -> FetchFuture;

    /// A JS RPC through this target (`env.X.method(...)`). Only Workers have methods: any
    /// other target answers as workerd does for a service that is not a Worker.
    fn call(&self, _call: RpcCall) -> RpcFuture {
        Box::pin(async { Err(JsException::error("Network connection lost.")) })
    }
}

#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct Fetcher {
    #[qjs(skip_trace)]
    target: Rc<dyn FetchTarget>,
}

impl Fetcher {
    pub fn new(target: Rc<dyn FetchTarget>) -> Fetcher {
        Fetcher { target }
    }

    /// Where this binding's requests and RPCs go.
    pub fn target(&self) -> Rc<dyn FetchTarget> {
        self.target.clone()
    }
}

/// Sends `input`/`init` (as for `new Request(input, init)`) to `target`.
pub fn fetch_via<'js>(
    ctx: &Ctx<'js>,
    target: Rc<dyn FetchTarget>,
    input: Value<'js>,
    init: Opt<Value<'js>>,
) -> rquickjs::Result<Promise<'js>> {
    // The Request never reaches JS, so it is built as a plain value and consumed.
    let mut request = Request::new(ctx.clone(), input, init)?;
    let signal = request.abort_signal();
    if let Some(signal) = &signal {
        if let Some(reason) = abort::reason(signal)? {
            let (promise, _resolve, reject) = ctx.promise()?;
            reject.call::<_, ()>((reason,))?;
            return Ok(promise);
        }
    }
    let mut outgoing = request.take_outgoing(ctx)?;
    if let Err(message) = crate::compat::check_fetch_scheme(ctx, &mut outgoing.url) {
        let _thrown = crate::webidl::type_error(ctx, &message);
        let error = ctx.catch();
        let (promise, _resolve, reject) = ctx.promise()?;
        reject.call::<_, ()>((error,))?;
        return Ok(promise);
    }
    // A subrequest of the calling request, as workerd counts them: one per `fetch()`.
    if let Err(exception) = nanod_js::limits::subrequest(ctx) {
        let (promise, _resolve, reject) = ctx.promise()?;
        reject.call::<_, ()>((exception.to_value(ctx)?,))?;
        return Ok(promise);
    }
    // Boxed: the redirect loop's state is large, and the spawned task would copy it around.
    let fetch = Box::pin(redirect::fetch(target, outgoing, nanod_js::current_request()));
    let Some(signal) = signal else {
        return spawn_promise(ctx, async move { fetch.await.map(|fetched| FetchedResponse { fetched, abort: None }) });
    };
    let abort = Rc::new(FetchAbort { phase: RefCell::new(Phase::Done) });
    let settling = abort.clone();
    let (promise, cancellable) = spawn_cancellable(ctx, async move {
        fetch.await.map(|fetched| FetchedResponse { fetched, abort: Some(settling) })
    })?;
    *abort.phase.borrow_mut() = Phase::InFlight(cancellable);
    abort::add_abort_step(&signal, abort)?;
    Ok(promise)
}

/// A fetched response, about to become a JS `Response`; with the abort state of its fetch
/// when it had a signal.
struct FetchedResponse {
    fetched: Fetched,
    abort: Option<Rc<FetchAbort>>,
}

impl Settle for FetchedResponse {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let (url, redirected) = (self.fetched.url(), self.fetched.redirected());
        let (parts, body) = self.fetched.response.into_parts();
        let body = match self.abort {
            Some(abort) => abort.guard(body),
            None => body,
        };
        Response::from_fetch(ctx, parts, BodySlot::from_rust(body), url, redirected).map(|r| r.into_value())
    }
}

/// Where an abortable fetch is: what its abort step acts on.
enum Phase {
    /// Waiting for the response: the promise to reject, whose future holds the hop in flight.
    InFlight(Cancellable),
    /// The response was delivered; its body may still stream.
    Streaming(Weak<AbortableBody>),
    Done,
}

struct FetchAbort {
    phase: RefCell<Phase>,
}

impl FetchAbort {
    /// `body`, made to fail with the abort reason (and be dropped) if the signal aborts while
    /// it is still being read.
    fn guard(&self, body: Body) -> Body {
        if matches!(body, Body::Empty) {
            *self.phase.borrow_mut() = Phase::Done;
            return body;
        }
        let shared =
            Rc::new(AbortableBody { state: RefCell::new(BodyState { body: Some(body), error: None, waker: None }) });
        *self.phase.borrow_mut() = Phase::Streaming(Rc::downgrade(&shared));
        Body::Stream(Box::pin(AbortableStream(shared)))
    }
}

impl AbortStep for FetchAbort {
    fn abort<'js>(&self, ctx: &Ctx<'js>, reason: &Value<'js>) {
        match std::mem::replace(&mut *self.phase.borrow_mut(), Phase::Done) {
            // Rejecting drops the future, and with it the hop in flight (its connection closes).
            Phase::InFlight(cancellable) => {
                cancellable.cancel(ctx, reason.clone());
            }
            Phase::Streaming(body) => {
                if let Some(body) = body.upgrade() {
                    body.abort(JsException::from_value(ctx, reason.clone()));
                }
            }
            Phase::Done => {}
        }
    }

    fn is_done(&self) -> bool {
        match &*self.phase.borrow() {
            Phase::InFlight(cancellable) => !cancellable.is_pending(),
            Phase::Streaming(body) => body.upgrade().is_none_or(|b| b.finished()),
            Phase::Done => true,
        }
    }
}

/// A response body that an abort errors and drops: shared by the body stream
/// ([`AbortableStream`]) and the fetch's abort step, which holds it weakly.
struct AbortableBody {
    state: RefCell<BodyState>,
}

struct BodyState {
    /// `None` once ended or aborted (dropping it closes its connection).
    body: Option<Body>,
    /// The abort reason, once aborted.
    error: Option<JsException>,
    /// The read waiting for a chunk.
    waker: Option<Waker>,
}

impl AbortableBody {
    fn finished(&self) -> bool {
        self.state.borrow().body.is_none()
    }

    fn abort(&self, error: JsException) {
        let (body, waker) = {
            let mut state = self.state.borrow_mut();
            if state.body.is_none() {
                return;
            }
            state.error = Some(error);
            (state.body.take(), state.waker.take())
        };
        drop(body);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The body of an abortable fetch's response. Once aborted it fails with the reason as a
/// [`JsException`], which readers re-throw as it is (see [`crate::body::read_failure`]).
struct AbortableStream(Rc<AbortableBody>);

impl http_body::Body for AbortableStream {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let mut state = self.0.state.borrow_mut();
        if let Some(error) = &state.error {
            return Poll::Ready(Some(Err(Box::new(error.clone()))));
        }
        let Some(body) = state.body.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(body).poll_frame(cx);
        match &polled {
            Poll::Pending => state.waker = Some(cx.waker().clone()),
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => state.body = None,
            Poll::Ready(Some(Ok(_))) => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let state = self.0.state.borrow();
        state.error.is_none() && state.body.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.0.state.borrow().body.as_ref().map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl Fetcher {
    pub fn fetch<'js>(
        &self,
        ctx: Ctx<'js>,
        input: Value<'js>,
        init: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        fetch_via(&ctx, self.target.clone(), input, init)
    }
}

/// The isolate's `globalOutbound`, kept in runtime userdata.
#[derive(JsLifetime)]
pub struct GlobalOutbound(pub Rc<dyn FetchTarget>);

/// Sets where the global `fetch()` sends requests in this isolate.
pub fn set_global_outbound(ctx: &Ctx<'_>, target: Rc<dyn FetchTarget>) -> rquickjs::Result<()> {
    let _ = ctx.remove_userdata::<GlobalOutbound>();
    ctx.store_userdata(GlobalOutbound(target)).map_err(|_| rquickjs::Error::Unknown)?;
    Ok(())
}

/// Installs the global `fetch`.
pub fn install_fetch<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let fetch = Function::new(ctx.clone(), |ctx: Ctx<'js>, input: Value<'js>, init: Opt<Value<'js>>| {
        let target = ctx.userdata::<GlobalOutbound>().map(|o| o.0.clone());
        match target {
            Some(target) => fetch_via(&ctx, target, input, init),
            None => Err(crate::webidl::type_error(&ctx, "fetch() is not available: this Worker has no globalOutbound")),
        }
    })?
    .with_name("fetch")?;
    Ok(fetch.into_value())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    use bytes::Bytes;
    use http::StatusCode;
    use nanod_js::{Isolate, IsolateLimits};

    use super::*;

    type Log = Rc<RefCell<Vec<String>>>;

    /// Records `what` in the log when dropped.
    struct OnDrop(Log, &'static str);

    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.borrow_mut().push(self.1.to_owned());
        }
    }

    /// A body that yields one chunk, then never ends; logs when dropped.
    struct Endless(Option<Bytes>, #[allow(dead_code)] OnDrop);

    impl http_body::Body for Endless {
        type Data = Bytes;
        type Error = crate::body::BodyError;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            match self.0.take() {
                Some(chunk) => Poll::Ready(Some(Ok(http_body::Frame::data(chunk)))),
                None => Poll::Pending,
            }
        }
    }

    /// `/slow` answers after 2 s, `/stream` streams forever, `/r` redirects to `/ok`, anything
    /// else answers `ok`. Logs each request path and each drop of pending work.
    struct Target(Log);

    impl FetchTarget for Target {
        fn fetch(&self, request: http::Request<Body>) -> FetchFuture {
            let log = self.0.clone();
            let path = request.uri().path().to_owned();
            log.borrow_mut().push(format!("request {path}"));
            Box::pin(async move {
                let mut response = http::Response::new(Body::Full(Bytes::from_static(b"ok")));
                match path.as_str() {
                    "/slow" => {
                        let _guard = OnDrop(log.clone(), "slow dropped");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                    "/stream" => {
                        let chunk = Some(Bytes::from_static(b"first"));
                        *response.body_mut() = Body::stream(Endless(chunk, OnDrop(log.clone(), "body dropped")));
                    }
                    "/r" => {
                        *response.status_mut() = StatusCode::FOUND;
                        response.headers_mut().insert(http::header::LOCATION, "/ok".parse().unwrap());
                    }
                    _ => {}
                }
                Ok(response)
            })
        }
    }

    /// Runs `script` with `fetch()` aimed at [`Target`] until it sets `globalThis.result` (at
    /// most ~1.5 s); returns the result and the target's log. With `hung_within`, also checks
    /// that the isolate is quiescent (no outstanding work) within that time afterwards.
    fn run(script: &str, hung_within: Option<Duration>) -> (String, Vec<String>) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let local = tokio::task::LocalSet::new();
        let log: Log = Rc::default();
        let result = local.block_on(&rt, async {
            let isolate = Isolate::new("test", None, IsolateLimits::default()).unwrap();
            isolate.enter(|ctx| {
                crate::install_globals(&ctx).unwrap();
                set_global_outbound(&ctx, Rc::new(Target(log.clone()))).unwrap();
                if ctx.eval::<(), _>(script).is_err() {
                    let e = JsException::from_value(&ctx, ctx.catch());
                    ctx.globals().set("result", format!("threw {e}")).unwrap();
                }
            });
            for _ in 0..1500 {
                let done = isolate.enter(|ctx| !ctx.globals().get::<_, Value>("result").unwrap().is_undefined());
                if done {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let result: String = isolate.enter(|ctx| {
                let v: Value = ctx.globals().get("result").unwrap();
                v.get::<rquickjs::Coerced<String>>().unwrap().0
            });
            if let Some(within) = hung_within {
                let hung = isolate.enter(|ctx| {
                    let never: Value = ctx.eval("new Promise(() => {})").unwrap();
                    nanod_js::await_value(&ctx, never, |_, _| Ok(()))
                });
                let outcome = tokio::time::timeout(within, hung).await;
                let message = outcome.expect("outstanding work left after the fetch").unwrap().unwrap_err().message;
                assert_eq!(message, nanod_js::HUNG);
            }
            result
        });
        let log = log.borrow().clone();
        (result, log)
    }

    #[test]
    fn an_aborted_signal_rejects_with_its_reason_and_sends_nothing() {
        let (result, log) = run(
            r#"const reason = { mine: 1 };
               const p = fetch("http://t/ok", { signal: AbortSignal.abort(reason) });
               p.then(() => globalThis.result = "resolved", (e) => fetch(new Request("http://t/ok", { signal: AbortSignal.abort() }))
                 .catch((e2) => globalThis.result = (e === reason) + " " + e2.name + " " + (p instanceof Promise)));"#,
            None,
        );
        assert_eq!(result, "true AbortError true");
        assert!(log.is_empty(), "{log:?}");
    }

    #[test]
    fn abort_in_flight_rejects_at_once_drops_the_request_and_leaves_no_work() {
        let (result, log) = run(
            r#"const c = new AbortController(); const reason = new Error("stop");
               const t0 = Date.now();
               fetch("http://t/slow", { signal: c.signal }).then(() => globalThis.result = "resolved",
                 (e) => globalThis.result = (e === reason) + " " + (Date.now() - t0 < 1000));
               setTimeout(() => c.abort(reason), 20);"#,
            Some(Duration::from_millis(1000)),
        );
        assert_eq!(result, "true true");
        assert_eq!(log, ["request /slow", "slow dropped"]);
    }

    #[test]
    fn timeout_signal_and_request_signal_abort_too() {
        let (result, log) = run(
            r#"const c = new AbortController();
               const a = fetch("http://t/slow", { signal: AbortSignal.timeout(30) }).catch((e) => e.name);
               const b = fetch(new Request("http://t/slow", { signal: c.signal })).catch((e) => e.name + ":" + e.message);
               setTimeout(() => c.abort(), 10);
               Promise.all([a, b]).then((r) => globalThis.result = r.join());"#,
            Some(Duration::from_millis(1000)),
        );
        assert_eq!(result, "TimeoutError,AbortError:The operation was aborted");
        assert_eq!(log.iter().filter(|l| *l == "slow dropped").count(), 2, "{log:?}");
    }

    #[test]
    fn abort_while_the_body_streams_errors_the_stream_and_drops_the_body() {
        let (result, log) = run(
            r#"(async () => {
                 const c = new AbortController();
                 const r = await fetch("http://t/stream", { signal: c.signal });
                 const reader = r.body.getReader();
                 const first = new TextDecoder().decode((await reader.read()).value);
                 const pending = reader.read();
                 c.abort();
                 let second; try { await pending; second = "read"; } catch (e) { second = e.name + ":" + e.message; }
                 const d = new AbortController();
                 const r2 = await fetch("http://t/ok", { signal: d.signal });
                 d.abort(new RangeError("custom"));
                 let third; try { await r2.text(); third = "read"; } catch (e) { third = e.name + ":" + e.message; }
                 globalThis.result = [first, second, third].join();
               })().catch((e) => globalThis.result = "threw " + e);"#,
            None,
        );
        assert_eq!(result, "first,AbortError:The operation was aborted,RangeError:custom");
        assert!(log.contains(&"body dropped".to_owned()), "{log:?}");
    }

    #[test]
    fn a_finished_fetch_ignores_a_later_abort_and_reports_redirects() {
        let (result, _) = run(
            r#"(async () => {
                 const c = new AbortController();
                 const r = await fetch("http://t/r", { signal: c.signal });
                 const text = await r.text();
                 c.abort();
                 const m = await fetch("http://t/r", { redirect: "manual" });
                 let error; try { await fetch("http://t/r", { redirect: "error" }); } catch (e) { error = e.name; }
                 globalThis.result = [r.redirected, r.url, text, r.type, m.status, m.redirected, m.url, m.headers.get("location"), error].join();
               })().catch((e) => globalThis.result = "threw " + e);"#,
            Some(Duration::from_millis(500)),
        );
        assert_eq!(result, "true,http://t/ok,ok,default,302,false,http://t/r,/ok,TypeError");
    }

    #[test]
    fn a_long_lived_signal_keeps_only_the_steps_of_pending_fetches() {
        let (result, _) = run(
            r#"(async () => {
                 const c = new AbortController();
                 for (let i = 0; i < 50; i++) await (await fetch("http://t/ok", { signal: c.signal })).text();
                 const p = fetch("http://t/slow", { signal: c.signal }).catch((e) => e.name);
                 c.abort();
                 globalThis.result = await p;
               })().catch((e) => globalThis.result = "threw " + e);"#,
            Some(Duration::from_millis(1000)),
        );
        assert_eq!(result, "AbortError");
    }
}
