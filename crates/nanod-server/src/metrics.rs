//! Process-wide metrics, served in OpenMetrics text on the admin socket ([`crate::admin`]).
//!
//! Recording is a no-op until [`enable`] is called (the admin socket is off by default): every
//! recording function first reads one relaxed `AtomicBool`, so a server without `--admin` pays
//! that load and nothing else.
//!
//! When on, nothing hashes a label set per request. [`enable`] builds a map from each service
//! name to a slot, never written afterwards; a slot's handles (its status-class counters,
//! latency histogram, CPU counter) are created from the metric families the first time the
//! service records anything, and are plain atomics from then on. A binding's call counter is
//! made once, with the binding ([`BindingMetrics`]), and lives in it. What is still found by
//! label (limit kills, fallbacks, timeouts, outbound fetches) is rare or follows a network
//! round trip.
//!
//! A service's request metrics count every call it answers: fetches from sockets and
//! bindings, and JS RPC calls through a binding (a result is `2xx`, an exception `5xx` and an
//! error). A call a binding's `timeoutMs` cut off is a `5xx` error of the callee too, timed at
//! the timeout, and counted in `nanod_binding_timeouts_total`.
//!
//! Output is stable: series come out sorted by their labels ([`Sorted`], not
//! prometheus-client's `Family`, which writes its `HashMap`'s order), and times are kept in
//! whole nanoseconds ([`Seconds`], [`Latency`]) and divided once when written, so a value
//! reads `0.036598638`, not the rounding noise of summed `f64`s.
//!
//! Isolates are thread-local and `!Send`, so their gauges (isolates alive, heap bytes) are not
//! pushed: each event-loop thread keeps a list of its live isolates ([`isolate_started`]) and a
//! small task that answers the admin thread's snapshot request. A thread too busy to answer
//! within [`SNAPSHOT_TIMEOUT`] is reported with its previous snapshot, so `/metrics` never
//! waits on a Worker's JS.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use nanod_js::{CpuClock, Isolate, JsException, WeakIsolate};
use nanod_web::body::Body;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};

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

/// How long `/metrics` waits for an event-loop thread's isolate snapshot.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_millis(200);

/// Upper bounds of the latency histogram, in seconds: 100 µs to 10 s, 1-2.5-5 steps.
const LATENCY_BUCKETS: [f64; 16] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Index of `5xx` in [`STATUS_CLASSES`]: an exception, a failed RPC, a timed-out call.
const SERVER_ERROR: usize = 4;
/// Index of `2xx`: an RPC that returned.
const SUCCESS: usize = 1;

static ENABLED: AtomicBool = AtomicBool::new(false);
static READY: AtomicBool = AtomicBool::new(false);
static METRICS: OnceLock<Metrics> = OnceLock::new();

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct StatusLabels {
    service: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct LimitLabels {
    service: String,
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct BindingLabels {
    caller: String,
    binding: String,
    callee: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct FallbackLabels {
    caller: String,
    binding: String,
    callee: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct OutboundLabels {
    service: String,
    caller: String,
    outcome: &'static str,
}

// ---- metric types: sorted families, nanosecond counters and histograms

/// A metric family whose series are written in label order. prometheus-client's `Family`
/// writes its `HashMap`'s order, which changes from one process to the next.
struct Sorted<S, M> {
    series: Arc<RwLock<BTreeMap<S, M>>>,
    make: fn() -> M,
}

impl<S: Ord + Clone, M: Clone> Sorted<S, M> {
    fn new(make: fn() -> M) -> Sorted<S, M> {
        Sorted { series: Arc::default(), make }
    }

    /// The handle of series `labels`, made on first use; every handle of a series shares its
    /// value.
    fn get(&self, labels: &S) -> M {
        if let Some(metric) = self.series.read().unwrap_or_else(PoisonError::into_inner).get(labels) {
            return metric.clone();
        }
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        series.entry(labels.clone()).or_insert_with(self.make).clone()
    }
}

// Not derived: a derive would want `S: Clone, M: Clone` for the shared map's handle.
impl<S, M> Clone for Sorted<S, M> {
    fn clone(&self) -> Self {
        Sorted { series: self.series.clone(), make: self.make }
    }
}

impl<S, M> std::fmt::Debug for Sorted<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sorted").finish_non_exhaustive()
    }
}

impl<S: EncodeLabelSet, M: EncodeMetric + TypedMetric> EncodeMetric for Sorted<S, M> {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
        for (labels, metric) in series.iter() {
            metric.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }

    fn is_empty(&self) -> bool {
        self.series.read().unwrap_or_else(PoisonError::into_inner).is_empty()
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A counter of seconds, kept in nanoseconds: `f64` sums of many small durations read like
/// `0.036598637999999999`; one division when written does not.
#[derive(Clone, Debug, Default)]
struct Seconds(Arc<AtomicU64>);

impl Seconds {
    fn add(&self, duration: Duration) {
        self.0.fetch_add(nanos(duration), Relaxed);
    }
}

impl TypedMetric for Seconds {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for Seconds {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        let seconds = self.0.load(Relaxed) as f64 / 1e9;
        encoder.encode_counter::<NoLabelSet, _, f64>(&seconds, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// The request-latency histogram over [`LATENCY_BUCKETS`]: atomics only (prometheus-client's
/// takes a lock per observation), the sum in nanoseconds as [`Seconds`] is.
#[derive(Clone, Debug, Default)]
struct Latency(Arc<LatencyCounts>);

#[derive(Debug, Default)]
struct LatencyCounts {
    /// Observations per bucket (not cumulative); the last is `+Inf`'s own.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Latency {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS.partition_point(|&bound| bound < seconds);
        self.0.buckets[bucket].fetch_add(1, Relaxed);
        self.0.sum_nanos.fetch_add(nanos(elapsed), Relaxed);
    }
}

impl TypedMetric for Latency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Latency {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        let bounds = LATENCY_BUCKETS.iter().copied().chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> = bounds.zip(self.0.buckets.iter().map(|count| count.load(Relaxed))).collect();
        // The count is the buckets' total, so the two always agree in one scrape.
        let count = buckets.iter().map(|(_, count)| count).sum();
        let sum = self.0.sum_nanos.load(Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

struct Metrics {
    registry: Registry,
    requests: Sorted<StatusLabels, Counter>,
    errors: Sorted<ServiceLabels, Counter>,
    duration: Sorted<ServiceLabels, Latency>,
    cpu: Sorted<ServiceLabels, Seconds>,
    limits: Sorted<LimitLabels, Counter>,
    isolates: Sorted<ServiceLabels, Gauge>,
    heap: Sorted<ServiceLabels, Gauge>,
    binding_calls: Sorted<BindingLabels, Counter>,
    binding_timeouts: Sorted<BindingLabels, Counter>,
    fallbacks: Sorted<FallbackLabels, Counter>,
    outbound: Sorted<OutboundLabels, Counter>,
    /// Every service of the config, by name; the map is never written after [`enable`].
    services: HashMap<String, Slot>,
    /// Services a reload added since, behind a lock (the slow path); each is leaked, once.
    added: Mutex<HashMap<String, &'static ServiceMetrics>>,
    probes: Mutex<Probes>,
}

/// A service's handles, made on its first record.
struct Slot {
    name: String,
    handles: OnceLock<ServiceMetrics>,
}

/// One service's pre-made metric handles: recording is an atomic add, no label lookup.
pub struct ServiceMetrics {
    name: String,
    requests: [Counter; 5],
    errors: Counter,
    duration: Latency,
    cpu: Seconds,
}

impl ServiceMetrics {
    /// Records one request's outcome and its time to the response head.
    pub fn record(&self, outcome: &Result<http::Response<Body>, JsException>, elapsed: Duration) {
        match outcome {
            Ok(response) => {
                let class = usize::from((response.status().as_u16() / 100).clamp(1, 5)) - 1;
                self.count(class, false, elapsed);
            }
            // What a socket client gets for an exception: a 500.
            Err(_) => self.count(SERVER_ERROR, true, elapsed),
        }
    }

    fn count(&self, class: usize, error: bool, elapsed: Duration) {
        if error {
            self.errors.inc();
        }
        self.requests[class].inc();
        self.duration.observe(elapsed);
    }

    /// Adds time spent running the service's JS.
    pub fn js_time(&self, spent: Duration) {
        self.cpu.add(spent);
    }
}

impl Metrics {
    fn new(names: Vec<String>) -> Metrics {
        let mut registry = Registry::with_prefix("nanod");
        let requests = Sorted::new(Counter::default);
        registry.register(
            "requests",
            concat!(
                "Requests and RPC calls answered, by service and status class (an exception or a call ",
                "cut off by a binding's timeout counts as 5xx, an RPC's result as 2xx)"
            ),
            requests.clone(),
        );
        let errors = Sorted::new(Counter::default);
        registry.register(
            "request_errors",
            concat!(
                "Requests and RPC calls that ended in an exception (a Worker threw or returned no ",
                "Response) or that a binding's timeout cut off"
            ),
            errors.clone(),
        );
        let duration = Sorted::new(Latency::default);
        registry.register_with_unit(
            "request_duration",
            "Time from a request's dispatch to its response head (an RPC's result; a cut-off call's timeout)",
            Unit::Seconds,
            duration.clone(),
        );
        let cpu = Sorted::new(Seconds::default);
        registry.register_with_unit(
            "js_cpu",
            "Time spent running each service's JS, discarded isolates' included",
            Unit::Seconds,
            cpu.clone(),
        );
        let limits = Sorted::new(Counter::default);
        registry.register("limit_exceeded", "Requests or isolates stopped for breaking a limit", limits.clone());
        let isolates = Sorted::new(Gauge::default);
        registry.register("isolates", "Live isolates, over every thread", isolates.clone());
        let heap = Sorted::new(Gauge::default);
        registry.register_with_unit(
            "isolate_heap",
            "QuickJS heap of the live isolates, over every thread",
            Unit::Bytes,
            heap.clone(),
        );
        let binding_calls = Sorted::new(Counter::default);
        registry.register("binding_calls", "Calls (fetch or RPC) through a service binding", binding_calls.clone());
        let binding_timeouts = Sorted::new(Counter::default);
        registry.register(
            "binding_timeouts",
            "Calls through a binding that its callee did not answer within the binding's timeoutMs",
            binding_timeouts.clone(),
        );
        let fallbacks = Sorted::new(Counter::default);
        registry.register("binding_fallbacks", "Calls a binding's fallback answered", fallbacks.clone());
        let outbound = Sorted::new(Counter::default);
        registry.register(
            "outbound_fetches",
            "Fetches through a network service: allowed, or refused (no admitted address)",
            outbound.clone(),
        );
        let services = names.into_iter().map(|name| (name.clone(), Slot { name, handles: OnceLock::new() })).collect();
        Metrics {
            registry,
            requests,
            errors,
            duration,
            cpu,
            limits,
            isolates,
            heap,
            binding_calls,
            binding_timeouts,
            fallbacks,
            outbound,
            services,
            added: Mutex::new(HashMap::new()),
            probes: Mutex::new(Probes::default()),
        }
    }

    /// The handles of a service that was not in the config [`enable`] saw.
    fn added(&self, service: &str) -> Option<&'static ServiceMetrics> {
        let mut added = self.added.lock().ok()?;
        if let Some(handles) = added.get(service) {
            return Some(handles);
        }
        let handles: &'static ServiceMetrics = Box::leak(Box::new(self.handles(service)));
        added.insert(service.to_owned(), handles);
        Some(handles)
    }

    fn handles(&self, service: &str) -> ServiceMetrics {
        let labels = ServiceLabels { service: service.to_owned() };
        ServiceMetrics {
            name: service.to_owned(),
            requests: STATUS_CLASSES
                .map(|status| self.requests.get(&StatusLabels { service: service.to_owned(), status })),
            errors: self.errors.get(&labels),
            duration: self.duration.get(&labels),
            cpu: self.cpu.get(&labels),
        }
    }
}

/// Turns recording on, for `services` (every service of the config). Later calls do nothing.
pub fn enable<'a>(services: impl IntoIterator<Item = &'a str>) {
    let names = services.into_iter().map(str::to_owned).collect();
    if METRICS.set(Metrics::new(names)).is_ok() {
        ENABLED.store(true, Relaxed);
    }
}

/// Whether recording is on.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// The handles of `service`, or `None` when metrics are off (or no such service).
#[inline]
pub fn service(service: &str) -> Option<&'static ServiceMetrics> {
    if !enabled() {
        return None;
    }
    let metrics = METRICS.get()?;
    match metrics.services.get(service) {
        Some(slot) => Some(slot.handles.get_or_init(|| metrics.handles(&slot.name))),
        None => metrics.added(service),
    }
}

/// A request to a service under way, when metrics are on: `let started = metrics::start(name);`
/// before awaiting the answer, `started.record(&outcome)` after. Not a wrapper future: an
/// `async fn` awaiting a future it was given holds that future twice (rustc lays out the
/// argument and the awaited value apart), and the request path's futures are kilobytes, all
/// copied on every request.
pub struct Started {
    metrics: &'static ServiceMetrics,
    at: Instant,
}

/// [`Started`] for a request to `service`; `None` (nothing to record) with metrics off.
#[inline]
pub fn start(service: &str) -> Option<Started> {
    self::service(service).map(|metrics| Started { metrics, at: Instant::now() })
}

impl Started {
    /// Records the request's status class, exception and latency.
    pub fn record(self, outcome: &Result<http::Response<Body>, JsException>) {
        self.metrics.record(outcome, self.at.elapsed());
    }
}

/// Records `outcome` if the request was [`start`]ed with metrics on.
#[inline]
pub fn finish(started: Option<Started>, outcome: &Result<http::Response<Body>, JsException>) {
    if let Some(started) = started {
        started.record(outcome);
    }
}

/// Records a JS RPC call's `outcome` if it was [`start`]ed with metrics on: a result is `2xx`,
/// an exception `5xx` and an error, as a fetch's would be.
#[inline]
pub fn finish_rpc<T>(started: Option<Started>, outcome: &Result<T, JsException>) {
    if let Some(Started { metrics, at }) = started {
        let failed = outcome.is_err();
        metrics.count(if failed { SERVER_ERROR } else { SUCCESS }, failed, at.elapsed());
    }
}

/// Worker `service` broke `limit` (its request failed; for CPU and memory its isolate was
/// discarded).
pub fn limit_exceeded(service: &str, limit: Limit) {
    let Some(metrics) = METRICS.get().filter(|_| enabled()) else { return };
    metrics.limits.get(&LimitLabels { service: service.to_owned(), limit: limit.as_str() }).inc();
}

/// The fallback `callee` answered for binding `binding` of `caller`.
pub fn binding_fallback(caller: &str, binding: &str, callee: &str, reason: FallbackReason) {
    let Some(metrics) = METRICS.get().filter(|_| enabled()) else { return };
    let labels = FallbackLabels {
        caller: caller.to_owned(),
        binding: binding.to_owned(),
        callee: callee.to_owned(),
        reason: reason.as_str(),
    };
    metrics.fallbacks.get(&labels).inc();
}

/// A call through binding `binding` of `caller` got no answer from `callee` within `timeout`
/// and was cut off. Dropping the call dropped the callee's own recording, so the callee's
/// request is counted here: a `5xx` error that took `timeout`.
pub fn binding_timeout(caller: &str, binding: &str, callee: &str, timeout: Duration) {
    let Some(metrics) = METRICS.get().filter(|_| enabled()) else { return };
    let labels = BindingLabels { caller: caller.to_owned(), binding: binding.to_owned(), callee: callee.to_owned() };
    metrics.binding_timeouts.get(&labels).inc();
    if let Some(handles) = service(callee) {
        handles.count(SERVER_ERROR, true, timeout);
    }
}

/// Whether `/readyz` answers 200 (false until the server serves, and while draining for
/// shutdown). Independent of whether metrics are on.
pub fn set_ready(ready: bool) {
    READY.store(ready, Relaxed);
}

pub fn ready() -> bool {
    READY.load(Relaxed)
}

/// The service a request came from, attached (as a request extension) by the binding it went
/// through, for the outbound-fetch metrics of the network service it reaches.
#[derive(Debug, Clone)]
pub struct Caller(Arc<str>);

/// A service binding's call counter, made with the binding; empty when metrics are off.
#[derive(Clone, Default)]
pub struct BindingMetrics(Option<Arc<BindingHandles>>);

struct BindingHandles {
    calls: Counter,
    caller: Caller,
}

impl BindingMetrics {
    /// The counter of binding `binding` of Worker `caller`, to service `callee`.
    pub fn new(caller: &str, binding: &str, callee: &str) -> BindingMetrics {
        let Some(metrics) = METRICS.get().filter(|_| enabled()) else { return BindingMetrics(None) };
        let labels =
            BindingLabels { caller: caller.to_owned(), binding: binding.to_owned(), callee: callee.to_owned() };
        let calls = metrics.binding_calls.get(&labels);
        BindingMetrics(Some(Arc::new(BindingHandles { calls, caller: Caller(caller.into()) })))
    }

    /// Counts an RPC through the binding.
    pub fn called(&self) {
        if let Some(handles) = &self.0 {
            handles.calls.inc();
        }
    }

    /// Counts a fetch through the binding and tags `request` with its caller.
    pub fn fetched(&self, request: &mut http::Request<Body>) {
        if let Some(handles) = &self.0 {
            handles.calls.inc();
            request.extensions_mut().insert(handles.caller.clone());
        }
    }
}

/// Network service `service` allowed (`true`: some address was admitted) or refused a fetch;
/// `extensions` are the request's, which name the calling service when a binding tagged it.
pub fn outbound_fetch(service: &str, extensions: &http::Extensions, allowed: bool) {
    let Some(metrics) = METRICS.get().filter(|_| enabled()) else { return };
    let caller = extensions.get::<Caller>().map_or_else(String::new, |c| c.0.to_string());
    let outcome = if allowed { "allowed" } else { "refused" };
    metrics.outbound.get(&OutboundLabels { service: service.to_owned(), caller, outcome }).inc();
}

// ---- isolate gauges: per-thread lists, snapshots on demand

/// One thread's live isolates at a moment: (service, heap bytes) per isolate.
type Snapshot = Vec<(&'static str, i64)>;
type SnapshotRequest = tokio::sync::oneshot::Sender<Snapshot>;

#[derive(Default)]
struct Probes {
    next_id: u64,
    threads: Vec<Probe>,
    /// Services whose gauges were ever set, so that they drop to 0 rather than go stale.
    reported: HashSet<&'static str>,
}

/// How the admin thread reaches one thread's snapshot task.
struct Probe {
    id: u64,
    ask: tokio::sync::mpsc::UnboundedSender<SnapshotRequest>,
    last: Snapshot,
}

/// How often each thread folds its isolates' JS time into the services' counters. A discarded
/// isolate's last stretch (a CPU bomb's whole run, often) is folded from its [`CpuClock`],
/// which outlives it, at the next fold or scrape.
const FOLD_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct LocalIsolates {
    isolates: Vec<LocalIsolate>,
    answering: bool,
}

struct LocalIsolate {
    service: &'static ServiceMetrics,
    isolate: WeakIsolate,
    clock: CpuClock,
    /// JS time already added to the service's counter.
    counted: Duration,
}

thread_local! {
    static LOCAL: RefCell<LocalIsolates> = RefCell::new(LocalIsolates::default());
}

/// A new isolate of Worker `service` on this thread, for the isolate gauges and JS time. Runs
/// inside the thread's `LocalSet` (every isolate is made there); the first call on a thread
/// starts its metrics task.
pub fn isolate_started(service: &str, isolate: &Isolate) {
    let Some(handles) = self::service(service) else { return };
    let Some(metrics) = METRICS.get() else { return };
    let start_task = LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        local.isolates.push(LocalIsolate {
            service: handles,
            isolate: isolate.downgrade(),
            clock: isolate.cpu_clock(),
            counted: Duration::ZERO,
        });
        !std::mem::replace(&mut local.answering, true)
    });
    if !start_task {
        return;
    }
    let (ask, mut asked) = tokio::sync::mpsc::unbounded_channel::<SnapshotRequest>();
    if let Ok(mut probes) = metrics.probes.lock() {
        let id = probes.next_id;
        probes.next_id += 1;
        probes.threads.push(Probe { id, ask, last: Vec::new() });
    }
    tokio::task::spawn_local(async move {
        let mut fold = tokio::time::interval(FOLD_INTERVAL);
        fold.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                asked = asked.recv() => match asked {
                    Some(reply) => {
                        let _ = reply.send(heap_snapshot().await);
                    }
                    None => return,
                },
                _ = fold.tick() => {
                    fold_js_time();
                }
            }
        }
    });
}

/// Adds what this thread's isolates ran since the last fold to their services' JS time, the
/// last of those that are gone included, and forgets the gone; returns the live ones.
fn fold_js_time() -> Vec<(&'static ServiceMetrics, Isolate)> {
    LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        let mut live = Vec::with_capacity(local.isolates.len());
        local.isolates.retain_mut(|entry| {
            let total = entry.clock.total();
            entry.service.js_time(total.saturating_sub(entry.counted));
            entry.counted = total;
            let Some(isolate) = entry.isolate.upgrade() else { return false };
            live.push((entry.service, isolate));
            true
        });
        live
    })
}

/// This thread's live isolates and their heap sizes. QuickJS walks a heap to measure it (tens
/// of µs for a small isolate), so the walk yields to the event loop every
/// [`HEAP_WALKS_PER_TURN`] isolates: a thread with a thousand isolates is not stalled for the
/// whole snapshot at once.
async fn heap_snapshot() -> Snapshot {
    let live = fold_js_time();
    let mut snapshot = Vec::with_capacity(live.len());
    // Weak across the yields: a discarded isolate is freed as soon as it would be otherwise.
    let live: Vec<_> = live.into_iter().map(|(service, isolate)| (service, isolate.downgrade())).collect();
    for (index, (service, isolate)) in live.into_iter().enumerate() {
        if index > 0 && index % HEAP_WALKS_PER_TURN == 0 {
            tokio::task::yield_now().await;
        }
        if let Some(isolate) = isolate.upgrade() {
            snapshot.push((service.name.as_str(), isolate.heap_bytes()));
        }
    }
    snapshot
}

const HEAP_WALKS_PER_TURN: usize = 32;

/// Asks every thread for its isolates (waiting at most [`SNAPSHOT_TIMEOUT`]) and sets the
/// isolate gauges.
async fn refresh_isolate_gauges(metrics: &Metrics) {
    let mut waiting = Vec::new();
    if let Ok(mut probes) = metrics.probes.lock() {
        probes.threads.retain(|probe| {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let alive = probe.ask.send(reply).is_ok();
            if alive {
                waiting.push((probe.id, answer));
            }
            alive
        });
    }
    let deadline = tokio::time::Instant::now() + SNAPSHOT_TIMEOUT;
    let mut fresh = Vec::new();
    for (id, answer) in waiting {
        if let Ok(Ok(snapshot)) = tokio::time::timeout_at(deadline, answer).await {
            fresh.push((id, snapshot));
        }
    }
    let Ok(mut probes) = metrics.probes.lock() else { return };
    for (id, snapshot) in fresh {
        if let Some(probe) = probes.threads.iter_mut().find(|p| p.id == id) {
            probe.last = snapshot;
        }
    }
    let mut totals: HashMap<&'static str, (i64, i64)> = HashMap::new();
    for (name, heap) in probes.threads.iter().flat_map(|p| p.last.iter()) {
        let total = totals.entry(name).or_default();
        total.0 += 1;
        total.1 += heap;
    }
    let Probes { reported, .. } = &mut *probes;
    reported.extend(totals.keys().copied());
    for name in reported.iter() {
        let (count, heap) = totals.get(name).copied().unwrap_or_default();
        let labels = ServiceLabels { service: (*name).to_owned() };
        metrics.isolates.get(&labels).set(count);
        metrics.heap.get(&labels).set(heap);
    }
}

/// The OpenMetrics content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric in OpenMetrics text (`None` when metrics are off), after a fresh isolate
/// snapshot. Runs on the admin thread.
pub async fn render() -> Option<String> {
    let metrics = METRICS.get()?;
    refresh_isolate_gauges(metrics).await;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16) -> Result<http::Response<Body>, JsException> {
        let mut response = http::Response::new(Body::Empty);
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        Ok(response)
    }

    #[test]
    fn handles_count_by_status_class_and_render_as_openmetrics() {
        // The only test in this binary that enables metrics (the switch is process-wide).
        assert!(service("a").is_none(), "off until enabled");
        enable(["a", "b", "c"]);
        let a = service("a").unwrap();
        for status in [200, 204, 301, 404, 404, 503] {
            a.record(&response(status), Duration::from_micros(300));
        }
        a.record(&Err(JsException::error("boom")), Duration::from_millis(20));
        a.js_time(Duration::from_millis(250));
        // Summed as f64 these would read 0.109795913999999998 or so.
        let b = service("b").unwrap();
        for _ in 0..3 {
            b.js_time(Duration::from_nanos(36_598_638));
        }
        // RPC calls: a result is 2xx, an exception 5xx and an error; a timeout is the callee's.
        finish_rpc(start("b"), &Ok::<_, JsException>(()));
        finish_rpc(start("b"), &Err::<(), _>(JsException::error("thrown")));
        binding_timeout("a", "B", "b", Duration::from_millis(300));
        limit_exceeded("b", Limit::Cpu);
        BindingMetrics::new("a", "B", "b").called();
        // A service a reload added has handles too (the slow path).
        service("added").unwrap().record(&response(200), Duration::from_micros(50));

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let text = runtime.block_on(render()).unwrap();
        for line in [
            r#"nanod_requests_total{service="a",status="2xx"} 2"#,
            r#"nanod_requests_total{service="a",status="3xx"} 1"#,
            r#"nanod_requests_total{service="a",status="4xx"} 2"#,
            r#"nanod_requests_total{service="a",status="5xx"} 2"#,
            r#"nanod_requests_total{service="a",status="1xx"} 0"#,
            r#"nanod_request_errors_total{service="a"} 1"#,
            r#"nanod_request_duration_seconds_count{service="a"} 7"#,
            r#"nanod_request_duration_seconds_bucket{le="0.0005",service="a"} 6"#,
            r#"nanod_js_cpu_seconds_total{service="a"} 0.25"#,
            r#"nanod_limit_exceeded_total{service="b",limit="cpu"} 1"#,
            r#"nanod_binding_calls_total{caller="a",binding="B",callee="b"} 1"#,
            r#"nanod_requests_total{service="added",status="2xx"} 1"#,
            r#"nanod_js_cpu_seconds_total{service="b"} 0.109795914"#,
            r#"nanod_requests_total{service="b",status="2xx"} 1"#,
            r#"nanod_requests_total{service="b",status="5xx"} 2"#,
            r#"nanod_request_errors_total{service="b"} 2"#,
            r#"nanod_request_duration_seconds_count{service="b"} 3"#,
            r#"nanod_request_duration_seconds_bucket{le="0.25",service="b"} 2"#,
            r#"nanod_request_duration_seconds_bucket{le="0.5",service="b"} 3"#,
            r#"nanod_binding_timeouts_total{caller="a",binding="B",callee="b"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        // A service that never recorded has no series.
        assert!(!text.contains(r#"nanod_requests_total{service="c""#), "{text}");
        // Series in label order, the same on every scrape.
        let requests: Vec<&str> = text.lines().filter(|l| l.starts_with("nanod_requests_total{")).collect();
        let mut sorted = requests.clone();
        sorted.sort();
        assert_eq!(requests, sorted, "{text}");
        assert_eq!(requests.len(), 15, "{text}");
        assert_eq!(runtime.block_on(render()).unwrap(), text);
    }
}
