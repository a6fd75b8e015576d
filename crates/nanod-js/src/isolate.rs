//! One isolate: a QuickJS runtime and context owned by one thread, and the glue that lets Rust
//! futures settle JS promises.
//!
//! Invariants:
//! - JS values never live across an `await`. A pending operation parks its JS values (promise
//!   resolvers, timer callbacks) in the isolate's [`Parked`] table and the Rust task keeps only
//!   a numeric key, so dropping a task never frees a JS value after its runtime.
//! - Every entry into the isolate goes through [`Isolate::enter`], which drains the microtask
//!   queue afterwards. Entering an isolate from inside itself is a bug (the runtime is a
//!   `RefCell`); cross-isolate calls therefore go through spawned tasks.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use rquickjs::{Context, Ctx, Function, JsLifetime, Persistent, Promise, Runtime, Value};

use crate::limits::{Exceeded, Meter};
use crate::loader::{CodeLoader, CodeStore, WorkerCode};
use crate::JsException;

/// An isolate's limits (see [`crate::limits`]).
#[derive(Debug, Clone, Copy)]
pub struct IsolateLimits {
    /// The QuickJS heap; 0: no limit.
    pub memory_bytes: usize,
    pub max_stack_bytes: usize,
    /// JS time per request (per entry for entries working for no registered request); `None`:
    /// no limit, and no interrupt handler.
    pub cpu_time: Option<Duration>,
    /// `fetch()` and service-binding calls per registered request; `None`: no limit.
    pub subrequests: Option<u32>,
}

impl Default for IsolateLimits {
    fn default() -> Self {
        IsolateLimits { memory_bytes: 128 << 20, max_stack_bytes: 1 << 20, cpu_time: None, subrequests: None }
    }
}

/// The request an isolate entry works for: set by whoever enters for a request, inherited by
/// the futures and timers that entry starts, so work resumed later (a fetch settling, a timer
/// firing) is attributed to the same request. Logs tag `console.*` lines with it and service
/// bindings carry it across hops.
///
/// It also counts the service-binding hops that led to the entry, so a recursion through
/// Workers is refused at [`MAX_REQUEST_DEPTH`] instead of running until a limit breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId {
    id: u64,
    depth: u8,
}

/// How many nested hops (service-binding calls, `fetch()`) a request may make, as Cloudflare's
/// runtime allows.
pub const MAX_REQUEST_DEPTH: u8 = 16;

impl RequestId {
    /// A request that came from outside (a socket), at depth 0.
    pub const fn new(id: u64) -> RequestId {
        RequestId { id, depth: 0 }
    }

    /// The same request one hop further: what the callee of a binding works for.
    pub fn hop(self) -> RequestId {
        RequestId { id: self.id, depth: self.depth.saturating_add(1) }
    }

    pub fn id(self) -> u64 {
        self.id
    }

    pub fn depth(self) -> u8 {
        self.depth
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.id)
    }
}

thread_local! {
    // Entries never nest across isolates (cross-isolate calls go through spawned tasks), so
    // "the request of the running entry" is one value per thread.
    static CURRENT_REQUEST: Cell<Option<RequestId>> = const { Cell::new(None) };
}

/// The request the running isolate entry on this thread works for, if any: what Rust code
/// called from JS (a service binding, `fetch`) reads to carry the request id onwards.
pub fn current_request() -> Option<RequestId> {
    CURRENT_REQUEST.get()
}

/// A cheap handle to an isolate. Not `Send`: an isolate never leaves its thread.
#[derive(Clone)]
pub struct Isolate(Rc<Inner>);

/// A handle that does not keep the isolate alive; what spawned tasks hold.
#[derive(Clone)]
pub struct WeakIsolate(Weak<Inner>);

struct Inner {
    // Field order is drop order: parked JS values and the context go before the runtime.
    parked: Parked,
    /// Promises rejected with no handler yet; reported after the job queue drains, unless a
    /// handler was attached meanwhile.
    unhandled: RefCell<Vec<(Persistent<Value<'static>>, Persistent<Value<'static>>)>>,
    /// Outstanding work that can settle a promise later: spawned Rust futures, live timers,
    /// body pumps. See [`OpGuard`].
    ops: Cell<usize>,
    /// Pending `await_value`s, failed as hung when the isolate goes quiescent (no `ops`), or
    /// with the breach when it is condemned.
    waiters: RefCell<HashMap<u32, Fail>>,
    next_waiter: Cell<u32>,
    /// JS time and subrequests per request, and the breach that condemned the isolate.
    meter: Rc<Meter>,
    /// The heap limit in bytes; 0: none.
    memory_limit: usize,
    context: Context,
    runtime: Runtime,
    name: Rc<str>,
}

/// How a pending `await_value` is failed: hung, or with the breach that condemned the isolate.
type Fail = Box<dyn FnOnce(&JsException)>;

/// JS values parked while Rust work is pending, by key.
#[derive(Default)]
struct Parked {
    next: Cell<u32>,
    values: RefCell<HashMap<u32, Persistent<Value<'static>>>>,
}

/// Runtime userdata pointing back at the isolate, for native functions.
#[derive(JsLifetime)]
struct SelfRef(Weak<Inner>);

impl Isolate {
    /// Creates an isolate for Worker `name`. With `code`, imports resolve against it.
    pub fn new(name: &str, code: Option<Arc<WorkerCode>>, limits: IsolateLimits) -> rquickjs::Result<Isolate> {
        let runtime = Runtime::new()?;
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(limits.max_stack_bytes);
        let meter = Rc::new(Meter::new(limits.cpu_time, limits.subrequests));
        if meter.has_cpu_limit() {
            let meter = meter.clone();
            runtime.set_interrupt_handler(Some(Box::new(move || meter.should_interrupt())));
        }
        let worker_name: Rc<str> = name.into();
        let context = Context::full(&runtime)?;
        let inner = Rc::new(Inner {
            parked: Parked::default(),
            unhandled: RefCell::new(Vec::new()),
            ops: Cell::new(0),
            waiters: RefCell::new(HashMap::new()),
            next_waiter: Cell::new(0),
            meter,
            memory_limit: limits.memory_bytes,
            context,
            runtime,
            name: worker_name,
        });
        let weak = Rc::downgrade(&inner);
        inner.context.with(|ctx| -> rquickjs::Result<()> {
            ctx.store_userdata(SelfRef(weak)).map_err(|_| rquickjs::Error::Unknown)?;
            if let Some(code) = &code {
                ctx.store_userdata(CodeStore(code.clone())).map_err(|_| rquickjs::Error::Unknown)?;
            }
            Ok(())
        })?;
        if let Some(code) = code {
            inner.runtime.set_loader(CodeLoader { code: code.clone() }, CodeLoader { code });
        }
        inner.runtime.set_host_promise_rejection_tracker(Some(Box::new(|ctx, promise, reason, is_handled| {
            let Some(isolate) = Isolate::from_ctx(&ctx) else { return };
            let mut unhandled = isolate.0.unhandled.borrow_mut();
            if is_handled {
                unhandled.retain(|(p, _)| p.clone().restore(&ctx).map_or(true, |p| p != promise));
            } else {
                unhandled.push((Persistent::save(&ctx, promise), Persistent::save(&ctx, reason)));
            }
        })));
        Ok(Isolate(inner))
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn downgrade(&self) -> WeakIsolate {
        WeakIsolate(Rc::downgrade(&self.0))
    }

    /// Runs `f` inside the isolate, then runs every job (microtask) it queued. The entry works
    /// for whatever request the isolate's current entry does (none at top level), and its JS
    /// time is charged to that request; an entry that breaks the CPU limit condemns the
    /// isolate (see [`crate::limits`]).
    pub fn enter<R>(&self, f: impl for<'js> FnOnce(Ctx<'js>) -> R) -> R {
        /// Ends the entry's metering even if a native function panics (tokio catches a task's
        /// panic, and an entry left open would interrupt every later one).
        struct Entry<'a>(&'a Isolate);
        impl Drop for Entry<'_> {
            fn drop(&mut self) {
                if self.0 .0.meter.end_entry() {
                    self.0.condemn(Exceeded::Cpu);
                }
            }
        }
        self.0.meter.begin_entry(current_request());
        let entry = Entry(self);
        let result = self.0.context.with(f);
        self.run_jobs();
        drop(entry);
        result
    }

    pub(crate) fn meter(&self) -> &Rc<Meter> {
        &self.0.meter
    }

    /// [`Isolate::enter`] on behalf of `request`: futures and timers started inside inherit it.
    pub fn enter_for<R>(&self, request: Option<RequestId>, f: impl for<'js> FnOnce(Ctx<'js>) -> R) -> R {
        /// Restores the outer request even on a panic, so it never leaks into the next task.
        struct Outer(Option<RequestId>);
        impl Drop for Outer {
            fn drop(&mut self) {
                CURRENT_REQUEST.set(self.0);
            }
        }
        let _outer = Outer(CURRENT_REQUEST.replace(request));
        self.enter(f)
    }

    /// The request the running entry works for.
    pub fn current_request(&self) -> Option<RequestId> {
        current_request()
    }

    /// Drains the microtask queue, then reports promises still rejected with no handler.
    pub fn run_jobs(&self) {
        loop {
            match self.0.runtime.execute_pending_job() {
                Ok(true) => {}
                Ok(false) => break,
                // An interrupted or condemned isolate's jobs fail by design; the breach is
                // reported once, by the embedder.
                Err(_) if self.0.meter.stopping() => {}
                Err(job) => {
                    let exception = job.0.with(|ctx| JsException::from_value(&ctx, ctx.catch()));
                    self.uncaught(&exception, "Uncaught");
                }
            }
        }
        self.fail_hung_waiters();
        let unhandled = std::mem::take(&mut *self.0.unhandled.borrow_mut());
        if !unhandled.is_empty() && self.0.meter.condemned().is_none() {
            let reasons: Vec<JsException> = self.0.context.with(|ctx| {
                let restored = unhandled.into_iter().filter_map(|(_promise, reason)| reason.restore(&ctx).ok());
                restored.map(|reason| JsException::from_value(&ctx, reason)).collect()
            });
            for exception in reasons {
                self.uncaught(&exception, "Uncaught (in promise)");
            }
        }
    }

    /// An exception nothing caught: the heap running out condemns the isolate; anything else
    /// is logged as `NAME: <what> <exception>`.
    fn uncaught(&self, exception: &JsException, what: &str) {
        if self.is_heap_exhaustion(exception) {
            self.condemn(Exceeded::Memory);
            return;
        }
        let service = &*self.0.name;
        tracing::error!(
            service,
            request_id = current_request().map(tracing::field::display),
            "{service}: {what} {exception}"
        );
    }

    /// Whether `exception`, which reached Rust uncaught, means the heap ran out: QuickJS's
    /// out-of-memory error, or the `null` QuickJS throws when even that error cannot be
    /// allocated (a bomb of small objects). By the time Rust sees it the bomb's locals are
    /// usually freed, so the heap cannot tell; an uncaught `null` is taken as exhaustion
    /// whenever the heap has a limit (a Worker that throws `null` itself gets a fresh isolate).
    pub(crate) fn is_heap_exhaustion(&self, exception: &JsException) -> bool {
        if crate::limits::is_out_of_memory(exception) {
            return true;
        }
        // QuickJS throws `null` when the heap is too full to build its error. The heap cannot
        // tell it from a Worker's own `throw null` afterwards (QuickJS has collected by then),
        // so in an isolate with a heap limit an uncaught `null` counts as exhaustion.
        exception.name == "Uncaught" && exception.message == "null" && self.0.memory_limit > 0
    }

    /// When nothing outstanding can settle a promise any more, every value still awaited from
    /// Rust never will be: its waiter is told so (workerd's "hung" detection, per isolate).
    fn fail_hung_waiters(&self) {
        if self.0.ops.get() != 0 || self.0.waiters.borrow().is_empty() {
            return;
        }
        self.fail_waiters(&JsException::error(HUNG));
    }

    /// Fails every value still awaited from Rust with `exception`.
    pub(crate) fn fail_waiters(&self, exception: &JsException) {
        let waiting: Vec<_> = self.0.waiters.borrow_mut().drain().map(|(_, fail)| fail).collect();
        for fail in waiting {
            fail(exception);
        }
    }

    /// Marks work in progress that may settle promises later; the isolate is not quiescent
    /// until the guard is dropped.
    pub fn begin_op(&self) -> OpGuard {
        self.0.ops.set(self.0.ops.get() + 1);
        OpGuard(self.downgrade())
    }

    fn watch(&self, fail: Fail) -> u32 {
        let key = self.0.next_waiter.get();
        self.0.next_waiter.set(key.wrapping_add(1));
        self.0.waiters.borrow_mut().insert(key, fail);
        key
    }

    fn unwatch(&self, key: u32) {
        self.0.waiters.borrow_mut().remove(&key);
    }

    /// Bytes the QuickJS heap holds now.
    pub fn heap_bytes(&self) -> i64 {
        self.0.runtime.memory_usage().memory_used_size
    }

    pub fn run_gc(&self) {
        self.0.runtime.run_gc();
    }

    /// The isolate a native function is running in.
    pub fn from_ctx(ctx: &Ctx<'_>) -> Option<Isolate> {
        ctx.userdata::<SelfRef>().and_then(|r| r.0.upgrade()).map(Isolate)
    }

    /// Parks `value` until [`Isolate::unpark`] or [`Isolate::peek`]; returns its key.
    pub fn park<'js>(&self, ctx: &Ctx<'js>, value: Value<'js>) -> u32 {
        let parked = &self.0.parked;
        let key = parked.next.get();
        parked.next.set(key.wrapping_add(1));
        parked.values.borrow_mut().insert(key, Persistent::save(ctx, value));
        key
    }

    /// Takes a parked value back.
    pub fn unpark<'js>(&self, ctx: &Ctx<'js>, key: u32) -> Option<Value<'js>> {
        let saved = self.0.parked.values.borrow_mut().remove(&key)?;
        saved.restore(ctx).ok()
    }

    /// Reads a parked value, leaving it parked.
    pub fn peek<'js>(&self, ctx: &Ctx<'js>, key: u32) -> Option<Value<'js>> {
        let saved = self.0.parked.values.borrow().get(&key).cloned()?;
        saved.restore(ctx).ok()
    }
}

/// Outstanding work in an isolate (see [`Isolate::begin_op`]); dropping it ends the work.
pub struct OpGuard(WeakIsolate);

impl Drop for OpGuard {
    fn drop(&mut self) {
        if let Some(isolate) = self.0.upgrade() {
            isolate.0.ops.set(isolate.0.ops.get().saturating_sub(1));
        }
    }
}

/// The message of a request whose promise can never settle.
pub const HUNG: &str =
    "The script will never generate a response: it is waiting on a promise that nothing in its isolate can settle.";

impl WeakIsolate {
    pub fn upgrade(&self) -> Option<Isolate> {
        self.0.upgrade().map(Isolate)
    }
}

/// The outcome of Rust work, turned into a JS value inside the isolate. `Err` rejects the
/// promise: `Error::Exception` with the pending exception, anything else as an `Error`.
pub trait Settle: 'static {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>>;
}

impl<T: Settle> Settle for Result<T, JsException> {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        match self {
            Ok(value) => value.settle(ctx),
            Err(exception) => Err(exception.throw(ctx)),
        }
    }
}

impl Settle for () {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        Ok(Value::new_undefined(ctx.clone()))
    }
}

impl Settle for String {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        rquickjs::String::from_str(ctx.clone(), &self).map(|s| s.into_value())
    }
}

/// Sends the settled value of `value` (a promise, or any value taken as already fulfilled)
/// through a channel, converted by `convert` inside the isolate. Fulfilled promises are read
/// at once; pending ones get reactions, so the answer arrives while the job queue drains.
pub fn await_value<'js, T: 'static>(
    ctx: &Ctx<'js>,
    value: Value<'js>,
    convert: for<'a> fn(&Ctx<'a>, Value<'a>) -> Result<T, JsException>,
) -> tokio::sync::oneshot::Receiver<Result<T, JsException>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let Some(promise) = value.as_promise().cloned() else {
        let _ = tx.send(convert(ctx, value));
        return rx;
    };
    if promise.state() == rquickjs::promise::PromiseState::Resolved {
        let outcome = match promise.result::<Value>() {
            Some(Ok(v)) => convert(ctx, v),
            _ => Err(JsException::from_value(ctx, ctx.catch())),
        };
        let _ = tx.send(outcome);
        return rx;
    }
    let tx = Rc::new(RefCell::new(Some(tx)));
    let tx_err = tx.clone();
    let tx_hung = tx.clone();
    let isolate = Isolate::from_ctx(ctx);
    let waiter = isolate.as_ref().map(|isolate| {
        isolate.watch(Box::new(move |failure: &JsException| {
            if let Some(tx) = tx_hung.borrow_mut().take() {
                let _ = tx.send(Err(failure.clone()));
            }
        }))
    });
    let unwatch = move |ctx: &Ctx<'js>| {
        if let (Some(key), Some(isolate)) = (waiter, Isolate::from_ctx(ctx)) {
            isolate.unwatch(key);
        }
    };
    let on_fulfilled = Function::new(ctx.clone(), move |ctx: Ctx<'js>, v: Value<'js>| {
        unwatch(&ctx);
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(convert(&ctx, v));
        }
    });
    let on_rejected = Function::new(ctx.clone(), move |ctx: Ctx<'js>, reason: Value<'js>| {
        unwatch(&ctx);
        if let Some(tx) = tx_err.borrow_mut().take() {
            let _ = tx.send(Err(JsException::from_value(&ctx, reason)));
        }
    });
    let attached = on_fulfilled.and_then(|f| on_rejected.map(|r| (f, r))).and_then(|(f, r)| {
        let then = promise.then()?;
        then.call::<_, ()>((rquickjs::function::This(promise.clone()), f, r))
    });
    if attached.is_err() {
        // Only an out-of-memory isolate gets here; the sender was dropped, so the receiver
        // reports a closed channel.
        let _ = ctx.catch();
    }
    rx
}

/// Runs `future` on the thread's executor and returns a promise it will settle.
pub fn spawn_promise<'js, F>(ctx: &Ctx<'js>, future: F) -> rquickjs::Result<Promise<'js>>
where
    F: Future + 'static,
    F::Output: Settle,
{
    let isolate = Isolate::from_ctx(ctx).ok_or(rquickjs::Error::Unknown)?;
    let (promise, key) = park_resolvers(&isolate, ctx)?;
    let weak = isolate.downgrade();
    let op = isolate.begin_op();
    let request = current_request();
    tokio::task::spawn_local(async move {
        let outcome = future.await;
        // The work is done before its result reaches JS, so the isolate can go quiescent
        // during the settling `enter` if JS starts nothing new.
        drop(op);
        if let Some(isolate) = weak.upgrade() {
            isolate.enter_for(request, |ctx| settle_parked(&isolate, &ctx, key, outcome.settle(&ctx)));
        }
    });
    Ok(promise)
}

/// The handle of a promise made by [`spawn_cancellable`].
#[derive(Clone)]
pub struct Cancellable(Rc<RefCell<Option<PendingPromise>>>);

struct PendingPromise {
    /// The parked `[resolve, reject]`.
    resolvers: u32,
    cancel: tokio::sync::oneshot::Sender<()>,
}

impl Cancellable {
    /// Whether the promise still waits for its future.
    pub fn is_pending(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Rejects the promise with `reason` and drops its future (at the task's next poll, before
    /// it runs again). `false` if the promise had settled already.
    pub fn cancel<'js>(&self, ctx: &Ctx<'js>, reason: Value<'js>) -> bool {
        let Some(pending) = self.0.borrow_mut().take() else { return false };
        let _ = pending.cancel.send(());
        if let Some(isolate) = Isolate::from_ctx(ctx) {
            settle_parked(&isolate, ctx, pending.resolvers, Err(ctx.throw(reason)));
        }
        true
    }
}

/// [`spawn_promise`] whose promise [`Cancellable::cancel`] can reject early, dropping the
/// future (and whatever it holds: a connection, a timer) instead of letting it finish.
pub fn spawn_cancellable<'js, F>(ctx: &Ctx<'js>, future: F) -> rquickjs::Result<(Promise<'js>, Cancellable)>
where
    F: Future + 'static,
    F::Output: Settle,
{
    let isolate = Isolate::from_ctx(ctx).ok_or(rquickjs::Error::Unknown)?;
    let (promise, resolvers) = park_resolvers(&isolate, ctx)?;
    let (cancel, cancelled) = tokio::sync::oneshot::channel();
    let handle = Cancellable(Rc::new(RefCell::new(Some(PendingPromise { resolvers, cancel }))));
    let slot = handle.0.clone();
    let weak = isolate.downgrade();
    let op = isolate.begin_op();
    let request = current_request();
    tokio::task::spawn_local(async move {
        let outcome = tokio::select! {
            outcome = future => outcome,
            // Cancelled: the promise is rejected already; returning drops the future.
            _ = cancelled => return,
        };
        drop(op);
        let Some(pending) = slot.borrow_mut().take() else { return };
        if let Some(isolate) = weak.upgrade() {
            isolate.enter_for(request, |ctx| settle_parked(&isolate, &ctx, pending.resolvers, outcome.settle(&ctx)));
        }
    });
    Ok((promise, handle))
}

/// A new promise and the parking key of its `[resolve, reject]`.
fn park_resolvers<'js>(isolate: &Isolate, ctx: &Ctx<'js>) -> rquickjs::Result<(Promise<'js>, u32)> {
    let (promise, resolve, reject) = ctx.promise()?;
    let resolvers = rquickjs::Array::new(ctx.clone())?;
    resolvers.set(0, resolve)?;
    resolvers.set(1, reject)?;
    Ok((promise, isolate.park(ctx, resolvers.into_value())))
}

/// Resolves (`Ok`) or rejects (`Err`: `Error::Exception` with the pending exception, anything
/// else as an `Error`) the parked resolvers `key`.
fn settle_parked<'js>(isolate: &Isolate, ctx: &Ctx<'js>, key: u32, outcome: rquickjs::Result<Value<'js>>) {
    let Some(resolvers) = isolate.unpark(ctx, key).and_then(|v| v.into_array()) else { return };
    let (Ok(resolve), Ok(reject)) = (resolvers.get::<Function>(0), resolvers.get::<Function>(1)) else { return };
    let result = match outcome {
        Ok(value) => resolve.call::<_, ()>((value,)),
        Err(rquickjs::Error::Exception) => reject.call::<_, ()>((ctx.catch(),)),
        Err(other) => match JsException::error(other.to_string()).to_value(ctx) {
            Ok(error) => reject.call::<_, ()>((error,)),
            Err(e) => Err(e),
        },
    };
    if result.is_err() {
        let exception = JsException::from_value(ctx, ctx.catch());
        let service = isolate.name();
        tracing::error!(service, "{service}: failed to settle a promise: {exception}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promise_settled_by_rust_future() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let isolate = Isolate::new("t", None, IsolateLimits::default()).unwrap();
            isolate.enter(|ctx| {
                fn later<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
                    spawn_promise(&ctx, async { Ok::<_, JsException>("done".to_owned()) })
                }
                let f = Function::new(ctx.clone(), later).unwrap();
                ctx.globals().set("later", f).unwrap();
                ctx.eval::<(), _>("globalThis.out = 'pending'; later().then(v => { globalThis.out = v; });").unwrap();
            });
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            let out: String = isolate.enter(|ctx| ctx.globals().get("out").unwrap());
            assert_eq!(out, "done");
        });
    }

    #[test]
    fn a_cancelled_promise_rejects_with_the_reason_and_drops_its_future() {
        struct OnDrop(Rc<Cell<bool>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let isolate = Isolate::new("t", None, IsolateLimits::default()).unwrap();
            let dropped = Rc::new(Cell::new(false));
            let guard = OnDrop(dropped.clone());
            let (cancellable, outcome) = isolate.enter(|ctx| {
                let (promise, cancellable) = spawn_cancellable(&ctx, async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    Ok::<_, JsException>("never".to_owned())
                })
                .unwrap();
                (cancellable, await_value(&ctx, promise.into_value(), |_, _| Ok(())))
            });
            tokio::task::yield_now().await;
            assert!(cancellable.is_pending() && !dropped.get());
            let cancelled = isolate.enter(|ctx| {
                let reason = rquickjs::String::from_str(ctx.clone(), "stop").unwrap().into_value();
                cancellable.cancel(&ctx, reason)
            });
            assert!(cancelled && !cancellable.is_pending());
            assert_eq!(outcome.await.unwrap().unwrap_err().message, "stop");
            tokio::task::yield_now().await;
            assert!(dropped.get(), "the future was not dropped");
            // A second cancel finds nothing to do; nothing is left outstanding.
            assert!(!isolate.enter(|ctx| cancellable.cancel(&ctx, Value::new_undefined(ctx.clone()))));
            let hung = isolate.enter(|ctx| {
                let p: Value = ctx.eval("new Promise(() => {})").unwrap();
                await_value(&ctx, p, |_, _| Ok(()))
            });
            assert_eq!(hung.await.unwrap().unwrap_err().message, HUNG);
        });
    }

    #[test]
    fn a_promise_nothing_can_settle_is_reported_hung() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let isolate = Isolate::new("t", None, IsolateLimits::default()).unwrap();
            let hung = isolate.enter(|ctx| {
                let p: Value = ctx.eval("new Promise(() => {})").unwrap();
                await_value(&ctx, p, |_, _| Ok(()))
            });
            assert_eq!(hung.await.unwrap().unwrap_err().message, HUNG);

            // Outstanding work (here a Rust future) keeps the isolate from being quiescent.
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let later = isolate.enter(|ctx| {
                let pending = spawn_promise(&ctx, async move {
                    let _ = rx.await;
                    Ok::<_, JsException>("settled".to_owned())
                })
                .unwrap();
                await_value(&ctx, pending.into_value(), |_, v| Ok(v.as_string().and_then(|s| s.to_string().ok())))
            });
            tokio::task::yield_now().await;
            tx.send(()).unwrap();
            assert_eq!(later.await.unwrap().unwrap().as_deref(), Some("settled"));
        });
    }

    #[test]
    fn futures_and_timers_inherit_the_request_of_the_entry_that_started_them() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let isolate = Isolate::new("t", None, IsolateLimits::default()).unwrap();
            isolate.enter(|ctx| {
                fn seen<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
                    let now = current_request().map_or(0.0, |r| r.id() as f64);
                    spawn_promise(&ctx, async move { Ok::<_, JsException>(format!("{now}")) })
                }
                fn tag() -> f64 {
                    current_request().map_or(0.0, |r| r.id() as f64)
                }
                ctx.globals().set("seen", Function::new(ctx.clone(), seen).unwrap()).unwrap();
                ctx.globals().set("tag", Function::new(ctx.clone(), tag).unwrap()).unwrap();
            });
            for id in [7u64, 9] {
                isolate.enter_for(Some(RequestId::new(id)), |ctx| {
                    ctx.eval::<(), _>(format!("seen().then(v => {{ globalThis.r{id} = [v, tag()]; }});")).unwrap();
                });
            }
            assert_eq!(current_request(), None, "the request leaked out of its entry");
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
            let out: String = isolate.enter(|ctx| ctx.eval("JSON.stringify([r7, r9])").unwrap());
            assert_eq!(out, r#"[["7",7],["9",9]]"#);
        });
    }
}
