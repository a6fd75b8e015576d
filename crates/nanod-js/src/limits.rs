//! Resource accounting of one isolate: JS time per request (enforced by QuickJS's interrupt
//! handler), subrequests per request, and the breach that condemns an isolate.
//!
//! Every entry into an isolate ([`crate::Isolate::enter`]) is synchronous JS, measured with two
//! clock reads and charged to the request the entry works for ([`crate::current_request`]),
//! which the embedder registered with [`crate::Isolate::begin_request`]. An entry gets a
//! deadline: the request's remaining budget, or the whole per-request budget when the entry
//! works for no registered request (module evaluation, work left after a response). QuickJS
//! calls the interrupt handler every ~10 000 operations; the handler reads the clock only
//! then, and once the deadline has passed it stops the JS with an uncatchable `InternalError`.
//!
//! A CPU or memory breach *condemns* the isolate: every value still awaited from Rust fails at
//! once (so the isolate's other requests end promptly instead of hanging), further JS is
//! interrupted at its first check, and the embedder's [`LimitHook`] is told, so it can drop
//! the isolate and free its heap. The embedder never reuses a condemned isolate.
//!
//! Out of memory is detected from QuickJS's own error (`InternalError: out of memory`,
//! [`is_out_of_memory`]) when it reaches Rust: a request's exception, a failed job, an
//! unhandled rejection. When the heap is so full that even that error cannot be allocated,
//! QuickJS throws `null` instead, and by then the bomb's locals are freed, so the heap cannot
//! tell: an uncaught `null` counts as exhaustion in an isolate with a heap limit (a Worker
//! that throws `null` itself pays with a fresh isolate). A Worker that catches the error and
//! carries on keeps its isolate.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::Ctx;

use crate::isolate::{current_request, Isolate, RequestId};
use crate::JsException;

/// A limit a Worker broke, as this crate sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exceeded {
    /// A request used more JS time than its budget.
    Cpu,
    /// The isolate's heap hit its limit.
    Memory,
    /// A request started more subrequests than allowed (the isolate lives on).
    Subrequests,
}

impl Exceeded {
    /// Whether the breach leaves the isolate unusable.
    pub fn condemns(self) -> bool {
        matches!(self, Exceeded::Cpu | Exceeded::Memory)
    }
}

/// What the embedder runs when one of an isolate's limits is broken; called outside any JS.
pub type LimitHook = Box<dyn Fn(Exceeded)>;

/// workerd's (the Workers platform's) error for a subrequest over the limit.
pub const TOO_MANY_SUBREQUESTS: &str = "Too many subrequests by single Worker invocation.";
/// Cloudflare's refusal of a call past [`crate::isolate::MAX_REQUEST_DEPTH`] nested hops.
pub const TOO_DEEP: &str = "Subrequest depth limit exceeded. This request recursed through Workers too many times. \
                            This can happen e.g. if you have a Worker or Durable Object that calls other Workers or \
                            objects recursively.";

/// Whether `exception` is QuickJS's out-of-memory error.
pub fn is_out_of_memory(exception: &JsException) -> bool {
    exception.name == "InternalError" && exception.message == "out of memory"
}

/// What one registered request has used in one isolate.
#[derive(Default)]
struct Usage {
    cpu: Duration,
    subrequests: u32,
    /// Live [`RequestGuard`]s: the request's own call, `waitUntil` work.
    holders: u32,
}

/// Request ids are counters or random: a multiply spreads both over hashbrown's top bits.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// The accounting state of one isolate, shared with its interrupt handler.
pub(crate) struct Meter {
    cpu_limit: Option<Duration>,
    subrequest_limit: Option<u32>,
    /// When the running entry must stop; `None` between entries or without a CPU limit.
    deadline: Cell<Option<Instant>>,
    /// Set by the interrupt handler when it stopped the running entry.
    tripped: Cell<bool>,
    condemned: Cell<Option<Exceeded>>,
    /// Nesting of entries (only the outermost is measured).
    depth: Cell<u32>,
    started: Cell<Option<Instant>>,
    entry_request: Cell<Option<RequestId>>,
    total: Cell<Duration>,
    requests: RefCell<HashMap<RequestId, Usage, BuildHasherDefault<IdHasher>>>,
    hook: RefCell<Option<Rc<LimitHook>>>,
}

impl Meter {
    pub(crate) fn new(cpu_limit: Option<Duration>, subrequest_limit: Option<u32>) -> Meter {
        Meter {
            cpu_limit,
            subrequest_limit,
            deadline: Cell::new(None),
            tripped: Cell::new(false),
            condemned: Cell::new(None),
            depth: Cell::new(0),
            started: Cell::new(None),
            entry_request: Cell::new(None),
            total: Cell::new(Duration::ZERO),
            requests: RefCell::default(),
            hook: RefCell::new(None),
        }
    }

    pub(crate) fn has_cpu_limit(&self) -> bool {
        self.cpu_limit.is_some()
    }

    /// QuickJS's interrupt handler: called every ~10 000 operations of running JS.
    pub(crate) fn should_interrupt(&self) -> bool {
        if self.tripped.get() || self.condemned.get().is_some() {
            return true;
        }
        match self.deadline.get() {
            Some(deadline) if Instant::now() >= deadline => {
                self.tripped.set(true);
                true
            }
            _ => false,
        }
    }

    /// Starts measuring an entry working for `request`.
    pub(crate) fn begin_entry(&self, request: Option<RequestId>) {
        let depth = self.depth.get();
        self.depth.set(depth + 1);
        if depth > 0 {
            return;
        }
        let now = Instant::now();
        self.started.set(Some(now));
        self.entry_request.set(request);
        if let Some(limit) = self.cpu_limit {
            let used = request.and_then(|id| self.requests.borrow().get(&id).map(|u| u.cpu)).unwrap_or_default();
            self.deadline.set(Some(now + limit.saturating_sub(used)));
        }
    }

    /// Ends the entry begun last; `true` when it broke the CPU limit (and the isolate was not
    /// condemned already).
    pub(crate) fn end_entry(&self) -> bool {
        let depth = self.depth.get().saturating_sub(1);
        self.depth.set(depth);
        if depth > 0 {
            return false;
        }
        let Some(started) = self.started.take() else { return false };
        let elapsed = started.elapsed();
        self.total.set(self.total.get() + elapsed);
        self.deadline.set(None);
        let request = self.entry_request.take();
        let mut requests = self.requests.borrow_mut();
        let used = match request.and_then(|id| requests.get_mut(&id)) {
            Some(usage) => {
                usage.cpu += elapsed;
                usage.cpu
            }
            None => elapsed,
        };
        drop(requests);
        // Native code never polls the handler: a long entry that ran out without being
        // interrupted is a breach all the same.
        let over = self.cpu_limit.is_some_and(|limit| used > limit);
        let tripped = self.tripped.replace(false) || over;
        tripped && self.condemned.get().is_none()
    }

    /// Marks the isolate unusable; `false` if it already was.
    pub(crate) fn condemn(&self, why: Exceeded) -> bool {
        if self.condemned.get().is_some() {
            return false;
        }
        self.condemned.set(Some(why));
        true
    }

    /// Whether running JS is being stopped: the entry was interrupted, or the isolate condemned.
    pub(crate) fn stopping(&self) -> bool {
        self.tripped.get() || self.condemned.get().is_some()
    }

    pub(crate) fn condemned(&self) -> Option<Exceeded> {
        self.condemned.get()
    }

    pub(crate) fn total(&self) -> Duration {
        self.total.get()
    }

    pub(crate) fn set_hook(&self, hook: LimitHook) {
        *self.hook.borrow_mut() = Some(Rc::new(hook));
    }

    /// Tells the embedder; the hook may drop the isolate's last handle but one (the caller's).
    pub(crate) fn report(&self, exceeded: Exceeded) {
        let hook = self.hook.borrow().clone();
        if let Some(hook) = hook {
            hook(exceeded);
        }
    }

    /// Counts one subrequest of `request`; `false` when it is over the limit.
    fn count_subrequest(&self, request: RequestId) -> bool {
        let Some(limit) = self.subrequest_limit else { return true };
        let mut requests = self.requests.borrow_mut();
        let Some(usage) = requests.get_mut(&request) else { return true };
        if usage.subrequests >= limit {
            return false;
        }
        usage.subrequests += 1;
        true
    }

    fn hold(self: &Rc<Meter>, request: RequestId) -> RequestGuard {
        self.requests.borrow_mut().entry(request).or_default().holders += 1;
        RequestGuard { meter: self.clone(), request }
    }

    fn release(&self, request: RequestId) {
        let mut requests = self.requests.borrow_mut();
        if let Some(usage) = requests.get_mut(&request) {
            usage.holders = usage.holders.saturating_sub(1);
            if usage.holders == 0 {
                requests.remove(&request);
            }
        }
    }
}

/// Keeps a request's accounting (JS time and subrequests used) in an isolate while it lives:
/// the request's call, and `waitUntil` work after it. See [`Isolate::begin_request`].
pub struct RequestGuard {
    meter: Rc<Meter>,
    request: RequestId,
}

impl RequestGuard {
    pub fn request(&self) -> RequestId {
        self.request
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.meter.release(self.request);
    }
}

impl Isolate {
    /// Registers `request` with this isolate until the guard drops: its entries share one JS
    /// time budget and its subrequests are counted. Registering a request twice (a second
    /// holder) shares the same accounting.
    pub fn begin_request(&self, request: RequestId) -> RequestGuard {
        self.meter().hold(request)
    }

    /// The limit whose breach condemned this isolate, if one did.
    pub fn condemned(&self) -> Option<Exceeded> {
        self.meter().condemned()
    }

    /// JS time this isolate has run, summed over every entry.
    pub fn cpu_time(&self) -> Duration {
        self.meter().total()
    }

    /// A reader of [`Isolate::cpu_time`] that does not keep the isolate alive.
    pub fn cpu_clock(&self) -> CpuClock {
        CpuClock(self.meter().clone())
    }

    /// Sets what runs when one of this isolate's limits is broken.
    pub fn set_limit_hook(&self, hook: LimitHook) {
        self.meter().set_hook(hook);
    }

    /// Condemns the isolate for `why` (CPU or memory): every value awaited from Rust fails now
    /// with the breach's error, and the hook is told. A second breach changes nothing.
    pub fn condemn(&self, why: Exceeded) {
        if !self.meter().condemn(why) {
            return;
        }
        let message = match why {
            Exceeded::Memory => "Worker exceeded its memory limit.",
            _ => "Worker exceeded its CPU time limit.",
        };
        self.fail_waiters(&JsException::error(message));
        self.meter().report(why);
    }

    /// Condemns the isolate when `exception` says its heap ran out; what the embedder calls on
    /// a failed request. Returns the isolate's breach, if any.
    pub fn check_failure(&self, exception: &JsException) -> Option<Exceeded> {
        if self.is_heap_exhaustion(exception) {
            self.condemn(Exceeded::Memory);
        }
        self.condemned()
    }
}

/// An isolate's JS time, readable after the isolate is gone (it holds the isolate's meter, not
/// its heap): how an embedder that samples JS time still counts what a discarded isolate ran
/// since its last sample.
#[derive(Clone)]
pub struct CpuClock(Rc<Meter>);

impl CpuClock {
    /// JS time the isolate has run (or had run when it was dropped).
    pub fn total(&self) -> Duration {
        self.0.total()
    }
}

/// Counts one subrequest (a `fetch()` or a service-binding call) against the request the
/// running entry works for; over the limit, the error to reject the call with. Entries working
/// for no registered request are not counted.
pub fn subrequest(ctx: &Ctx<'_>) -> Result<(), JsException> {
    let (Some(isolate), Some(request)) = (Isolate::from_ctx(ctx), current_request()) else { return Ok(()) };
    let service = isolate.name();
    if request.depth() >= crate::isolate::MAX_REQUEST_DEPTH {
        tracing::warn!(service, request_id = %request, "{service}: a call {} hops deep refused: {TOO_DEEP}", request.depth() + 1);
        return Err(JsException::error(TOO_DEEP));
    }
    if isolate.meter().count_subrequest(request) {
        return Ok(());
    }
    tracing::warn!(service, request_id = %request, "{service}: limit exceeded (subrequests): {TOO_MANY_SUBREQUESTS}");
    isolate.meter().report(Exceeded::Subrequests);
    Err(JsException::error(TOO_MANY_SUBREQUESTS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IsolateLimits;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        tokio::task::LocalSet::new().block_on(&rt, f)
    }

    fn limited(cpu_ms: u64) -> Isolate {
        let limits = IsolateLimits { cpu_time: Some(Duration::from_millis(cpu_ms)), ..IsolateLimits::default() };
        Isolate::new("t", None, limits).unwrap()
    }

    #[test]
    fn a_busy_loop_is_interrupted_uncatchably_and_condemns_the_isolate() {
        let isolate = limited(30);
        let reported = Rc::new(Cell::new(None));
        let seen = reported.clone();
        isolate.set_limit_hook(Box::new(move |why| seen.set(Some(why))));
        let started = Instant::now();
        let outcome = isolate.enter_for(Some(RequestId::new(1)), |ctx| {
            let result = ctx.eval::<(), _>("try { while (true) {} } catch (e) { globalThis.caught = true }");
            (result.is_err(), ctx.globals().get::<_, Option<bool>>("caught").unwrap())
        });
        assert_eq!(outcome, (true, None), "the interrupt must be uncatchable");
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        assert_eq!(isolate.condemned(), Some(Exceeded::Cpu));
        assert_eq!(reported.get(), Some(Exceeded::Cpu));
        assert!(isolate.cpu_time() >= Duration::from_millis(30));
    }

    #[test]
    fn a_request_budget_spans_its_entries_and_ends_with_the_request() {
        let isolate = limited(40);
        let guard = isolate.begin_request(RequestId::new(5));
        let spin = "{ const end = Date.now() + 25; while (Date.now() < end) {} }";
        isolate.enter_for(Some(RequestId::new(5)), |ctx| ctx.eval::<(), _>(spin).unwrap());
        assert_eq!(isolate.condemned(), None);
        // Another request, and entries for none, have budgets of their own.
        isolate.enter_for(Some(RequestId::new(6)), |ctx| ctx.eval::<(), _>(spin).unwrap());
        isolate.enter(|ctx| ctx.eval::<(), _>(spin).unwrap());
        assert_eq!(isolate.condemned(), None);
        // The second 25 ms of request 5 goes over its 40.
        let failed = isolate.enter_for(Some(RequestId::new(5)), |ctx| ctx.eval::<(), _>(spin).is_err());
        assert!(failed);
        assert_eq!(isolate.condemned(), Some(Exceeded::Cpu));
        drop(guard);
        assert!(isolate.meter().requests.borrow().is_empty());
    }

    #[test]
    fn a_condemned_isolate_fails_every_awaited_value_at_once() {
        run(async {
            let isolate = limited(20);
            // Something outstanding, so the promise is not reported hung.
            let _op = isolate.begin_op();
            let waiting = isolate.enter(|ctx| {
                let p: rquickjs::Value = ctx.eval("new Promise(() => {})").unwrap();
                crate::await_value(&ctx, p, |_, _| Ok(()))
            });
            let _ = isolate.enter(|ctx| ctx.eval::<(), _>("while (true) {}"));
            let failure = waiting.await.unwrap().unwrap_err();
            assert_eq!(failure.message, "Worker exceeded its CPU time limit.");
            // Later JS in a condemned isolate is interrupted at its first check.
            assert!(isolate.enter(|ctx| ctx.eval::<(), _>("for (let i = 0; i < 1e6; i++) {}").is_err()));
        });
    }

    #[test]
    fn an_allocation_bomb_ends_in_out_of_memory() {
        let limits = IsolateLimits { memory_bytes: 32 << 20, ..IsolateLimits::default() };
        for bomb in [
            "const a = []; while (true) a.push(new Array(1e6).fill(1));",
            "const keep = []; while (true) keep.push('x'.repeat(1e5) + keep.length);",
            // So full that QuickJS throws `null`.
            "{ const a = []; while (true) a.push({ n: a.length, s: 'y'.repeat(100) }); }",
        ] {
            let isolate = Isolate::new("t", None, limits).unwrap();
            let exception = isolate.enter(|ctx| match ctx.eval::<(), _>(bomb) {
                Err(rquickjs::Error::Exception) => JsException::from_value(&ctx, ctx.catch()),
                other => panic!("{bomb}: {other:?}"),
            });
            assert_eq!(isolate.check_failure(&exception), Some(Exceeded::Memory), "{bomb}: {exception}");
        }
        let isolate = Isolate::new("t", None, limits).unwrap();
        assert_eq!(isolate.check_failure(&JsException::error("other")), None);
        // Without a heap limit, a thrown `null` is just that.
        let unlimited = Isolate::new("t", None, IsolateLimits { memory_bytes: 0, ..limits }).unwrap();
        let null =
            unlimited.enter(|ctx| JsException::from_value(&ctx, ctx.eval::<rquickjs::Value, _>("null").unwrap()));
        assert_eq!(unlimited.check_failure(&null), None);
        let oom = JsException::new("InternalError", "out of memory");
        assert_eq!(isolate.check_failure(&oom), Some(Exceeded::Memory));
    }

    #[test]
    fn subrequests_are_counted_per_registered_request() {
        let limits = IsolateLimits { subrequests: Some(2), ..IsolateLimits::default() };
        let isolate = Isolate::new("t", None, limits).unwrap();
        let _guard = isolate.begin_request(RequestId::new(1));
        let counted = |request| isolate.enter_for(request, |ctx| subrequest(&ctx).map_err(|e| e.message));
        assert_eq!(counted(Some(RequestId::new(1))), Ok(()));
        assert_eq!(counted(Some(RequestId::new(1))), Ok(()));
        assert_eq!(counted(Some(RequestId::new(1))), Err(TOO_MANY_SUBREQUESTS.to_owned()));
        // Unregistered requests and entries for none are not counted.
        assert_eq!(counted(Some(RequestId::new(2))), Ok(()));
        assert_eq!(counted(None), Ok(()));
        assert_eq!(isolate.condemned(), None, "a subrequest breach leaves the isolate alive");
    }
}
