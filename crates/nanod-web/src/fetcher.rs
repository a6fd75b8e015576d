//! `Fetcher`: the object behind a service binding (`env.AUTH.fetch(req)`), and the global
//! `fetch()`, which is the same thing aimed at the Worker's `globalOutbound`.
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
//! - aborted before the response arrives: an [`AbortStep`] rejects the promise with the reason
//!   and the spawned future is dropped, which drops the hop in flight (its connection closes);
//! - aborted while the body streams: the body stream errors with the reason (re-created from
//!   its name and message, as workerd does) and the Rust body is dropped. Such a body is a JS
//!   stream over an [`AbortableSource`], so a Rust consumer pumps it rather than taking the
//!   Rust stream whole; fetches without a signal keep the plain Rust body.
//!
//! No JS value lives across an await: the promise's resolvers are parked in the isolate and
//! the future and the abort step share only their key. The future counts as outstanding work
//! (`Isolate::begin_op`) until it ends or is dropped by an abort.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

use bytes::Bytes;
use http_body::Body as _;
use nanod_js::{spawn_promise, Isolate, JsException, Settle};
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Function, JsLifetime, Object, Promise, Value};

use crate::abort::{self, AbortStep};
use crate::body::{Body, BodySlot};
use crate::event_target::EventTarget;
use crate::glue::{self, STREAMS};
use crate::redirect::{self, Fetched};
use crate::request::Request;
use crate::response::Response;

pub type FetchFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, JsException>>>>;

/// Where a `Fetcher`'s requests go.
pub trait FetchTarget {
    fn fetch(&self, request: http::Request<Body>) -> FetchFuture;
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
    let outgoing = request.take_outgoing(ctx)?;
    let fetch = redirect::fetch(target, outgoing);
    match signal {
        None => spawn_promise(ctx, async move { fetch.await.map(PlainResponse) }),
        Some(signal) => spawn_abortable(ctx, &signal, fetch),
    }
}

/// A fetched response with a plain Rust body (a fetch without a signal).
struct PlainResponse(Fetched);

impl Settle for PlainResponse {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let (url, redirected) = (self.0.url(), self.0.redirected());
        let (parts, body) = self.0.response.into_parts();
        Response::from_fetch(ctx, parts, BodySlot::from_rust(body), url, redirected).map(|r| r.into_value())
    }
}

/// Where an abortable fetch is; shared by its future and its abort step.
enum Phase {
    /// Waiting for the response: the parked `[resolve, reject]` key and the future's cancel.
    InFlight {
        resolvers: u32,
        cancel: tokio::sync::oneshot::Sender<()>,
    },
    /// The response was delivered; its body may still stream.
    Streaming(Weak<AbortableBody>),
    Done,
}

struct FetchAbort {
    phase: RefCell<Phase>,
}

impl AbortStep for FetchAbort {
    fn abort<'js>(&self, ctx: &Ctx<'js>, reason: &Value<'js>) {
        match std::mem::replace(&mut *self.phase.borrow_mut(), Phase::Done) {
            Phase::InFlight { resolvers, cancel } => {
                // Dropping the future (told through `cancel`) drops the hop in flight.
                let _ = cancel.send(());
                settle(ctx, resolvers, Err(reason.clone()));
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
            Phase::InFlight { .. } => false,
            Phase::Streaming(body) => body.upgrade().is_none_or(|b| b.finished()),
            Phase::Done => true,
        }
    }
}

/// Calls the parked resolver `key` with `outcome` (`Ok`: resolve, `Err`: reject).
fn settle<'js>(ctx: &Ctx<'js>, key: u32, outcome: Result<Value<'js>, Value<'js>>) {
    let Some(isolate) = Isolate::from_ctx(ctx) else { return };
    let Some(resolvers) = isolate.unpark(ctx, key).and_then(|v| v.into_array()) else { return };
    let (index, value) = match outcome {
        Ok(value) => (0, value),
        Err(reason) => (1, reason),
    };
    let called = resolvers.get::<Function>(index).and_then(|f| f.call::<_, ()>((value,)));
    if called.is_err() {
        let exception = JsException::from_value(ctx, ctx.catch());
        eprintln!("{}: failed to settle a fetch: {exception}", isolate.name());
    }
}

/// [`spawn_promise`] for a fetch `signal` can abort (see the module doc).
fn spawn_abortable<'js>(
    ctx: &Ctx<'js>,
    signal: &Class<'js, EventTarget<'js>>,
    fetch: impl Future<Output = Result<Fetched, JsException>> + 'static,
) -> rquickjs::Result<Promise<'js>> {
    let isolate = Isolate::from_ctx(ctx).ok_or(rquickjs::Error::Unknown)?;
    let (promise, resolve, reject) = ctx.promise()?;
    let resolvers = rquickjs::Array::new(ctx.clone())?;
    resolvers.set(0, resolve)?;
    resolvers.set(1, reject)?;
    let key = isolate.park(ctx, resolvers.into_value());
    let (cancel, cancelled) = tokio::sync::oneshot::channel();
    let state = Rc::new(FetchAbort { phase: RefCell::new(Phase::InFlight { resolvers: key, cancel }) });
    abort::add_abort_step(signal, state.clone())?;
    let weak = isolate.downgrade();
    let op = isolate.begin_op();
    tokio::task::spawn_local(async move {
        let outcome = tokio::select! {
            outcome = fetch => outcome,
            // Aborted: the step has rejected the promise; dropping `fetch` ends the hop.
            _ = cancelled => return,
        };
        drop(op);
        let Some(isolate) = weak.upgrade() else { return };
        isolate.enter(|ctx| deliver(&ctx, &state, outcome));
    });
    Ok(promise)
}

/// Settles an abortable fetch with its outcome, unless it was aborted meanwhile.
fn deliver<'js>(ctx: &Ctx<'js>, state: &Rc<FetchAbort>, outcome: Result<Fetched, JsException>) {
    let key = match std::mem::replace(&mut *state.phase.borrow_mut(), Phase::Done) {
        Phase::InFlight { resolvers, .. } => resolvers,
        _ => return,
    };
    let settled = match outcome {
        Ok(fetched) => abortable_response(ctx, state, fetched),
        Err(exception) => Err(exception.throw(ctx)),
    };
    match settled {
        Ok(response) => settle(ctx, key, Ok(response)),
        Err(rquickjs::Error::Exception) => settle(ctx, key, Err(ctx.catch())),
        Err(other) => match JsException::error(other.to_string()).to_value(ctx) {
            Ok(error) => settle(ctx, key, Err(error)),
            Err(_) => settle(ctx, key, Err(ctx.catch())),
        },
    }
}

/// The `Response` of an abortable fetch: its body is a stream over an [`AbortableSource`].
fn abortable_response<'js>(ctx: &Ctx<'js>, state: &FetchAbort, fetched: Fetched) -> rquickjs::Result<Value<'js>> {
    let (url, redirected) = (fetched.url(), fetched.redirected());
    let (parts, body) = fetched.response.into_parts();
    let body = match body {
        Body::Empty => BodySlot::Null,
        body => {
            let shared = Rc::new(AbortableBody { state: RefCell::new(BodyState::new(body)) });
            *state.phase.borrow_mut() = Phase::Streaming(Rc::downgrade(&shared));
            let source = Class::instance(ctx.clone(), AbortableSource { body: shared })?;
            let stream: Object = glue::function(ctx, &STREAMS, "fromNative")?.call((source,))?;
            // Not a `BodySource`: unmark it, so that `takeNative` leaves it to be read as a JS
            // stream rather than closing it for a Rust taker that cannot use it.
            stream.set("_native", rquickjs::Undefined)?;
            BodySlot::Stream(stream)
        }
    };
    Response::from_fetch(ctx, parts, body, url, redirected).map(|r| r.into_value())
}

/// A response body that an abort errors and drops.
struct AbortableBody {
    state: RefCell<BodyState>,
}

struct BodyState {
    /// `None` once ended, cancelled or aborted (dropping it closes its connection).
    body: Option<Body>,
    /// The abort reason, once aborted.
    error: Option<JsException>,
    /// The read waiting for a chunk.
    waker: Option<Waker>,
}

impl BodyState {
    fn new(body: Body) -> BodyState {
        BodyState { body: Some(body), error: None, waker: None }
    }
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

    fn cancel(&self) {
        let body = self.state.borrow_mut().body.take();
        drop(body);
    }

    /// The next chunk; `None` at the end; the abort reason once aborted.
    async fn next(self: Rc<Self>) -> Result<Option<Bytes>, JsException> {
        std::future::poll_fn(|cx| {
            let mut state = self.state.borrow_mut();
            if let Some(error) = &state.error {
                return Poll::Ready(Err(error.clone()));
            }
            loop {
                let Some(body) = state.body.as_mut() else { return Poll::Ready(Ok(None)) };
                match Pin::new(body).poll_frame(cx) {
                    Poll::Pending => {
                        state.waker = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                    Poll::Ready(None) => {
                        state.body = None;
                        return Poll::Ready(Ok(None));
                    }
                    Poll::Ready(Some(Err(e))) => {
                        state.body = None;
                        return Poll::Ready(Err(JsException::type_error(format!("Failed to read the body: {e}"))));
                    }
                    Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) if !data.is_empty() => return Poll::Ready(Ok(Some(data))),
                        _ => continue,
                    },
                }
            }
        })
        .await
    }
}

/// The native source (see `js/streams.js` `fromNative`) of an abortable fetch's body.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct AbortableSource {
    #[qjs(skip_trace)]
    body: Rc<AbortableBody>,
}

struct Chunk(Option<Bytes>);

impl Settle for Chunk {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        match self.0 {
            Some(bytes) => crate::buffer_source::uint8_array(ctx, bytes),
            None => Ok(Value::new_undefined(ctx.clone())),
        }
    }
}

#[rquickjs::methods]
impl AbortableSource {
    /// Resolves to the next chunk, or `undefined` at the end; rejects once aborted.
    pub fn read<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
        let body = self.body.clone();
        spawn_promise(&ctx, async move { body.next().await.map(Chunk) })
    }

    pub fn cancel(&self) {
        self.body.cancel();
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
