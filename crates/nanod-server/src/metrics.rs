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
//! label (limit kills, fallbacks, outbound fetches) is rare or follows a network round trip.
//!
//! Isolates are thread-local and `!Send`, so their gauges (isolates alive, heap bytes) are not
//! pushed: each event-loop thread keeps a list of its live isolates ([`isolate_started`]) and a
//! small task that answers the admin thread's snapshot request. A thread too busy to answer
//! within [`SNAPSHOT_TIMEOUT`] is reported with its previous snapshot, so `/metrics` never
//! waits on a Worker's JS.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nanod_js::{Isolate, JsException, WeakIsolate};
use nanod_web::body::Body;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
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

static ENABLED: AtomicBool = AtomicBool::new(false);
static READY: AtomicBool = AtomicBool::new(false);
static METRICS: OnceLock<Metrics> = OnceLock::new();

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    service: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    service: String,
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BindingLabels {
    caller: String,
    binding: String,
    callee: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FallbackLabels {
    caller: String,
    binding: String,
    callee: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboundLabels {
    service: String,
    caller: String,
    outcome: &'static str,
}

type CpuCounter = Counter<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

struct Metrics {
    registry: Registry,
    requests: Family<StatusLabels, Counter>,
    errors: Family<ServiceLabels, Counter>,
    duration: Family<ServiceLabels, Histogram, fn() -> Histogram>,
    cpu: Family<ServiceLabels, CpuCounter>,
    limits: Family<LimitLabels, Counter>,
    isolates: Family<ServiceLabels, Gauge>,
    heap: Family<ServiceLabels, Gauge>,
    binding_calls: Family<BindingLabels, Counter>,
    fallbacks: Family<FallbackLabels, Counter>,
    outbound: Family<OutboundLabels, Counter>,
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
    duration: Histogram,
    cpu: CpuCounter,
}

impl ServiceMetrics {
    /// Records one request's outcome and its time to the response head.
    pub fn record(&self, outcome: &Result<http::Response<Body>, JsException>, elapsed: Duration) {
        let class = match outcome {
            Ok(response) => usize::from((response.status().as_u16() / 100).clamp(1, 5)) - 1,
            Err(_) => {
                self.errors.inc();
                // What a socket client gets for an exception: a 500.
                4
            }
        };
        self.requests[class].inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// Adds time spent running the service's JS.
    pub fn js_time(&self, spent: Duration) {
        self.cpu.inc_by(spent.as_secs_f64());
    }
}

impl Metrics {
    fn new(names: Vec<String>) -> Metrics {
        let mut registry = Registry::with_prefix("nanod");
        let requests = Family::<StatusLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests handled, by service and status class (an exception counts as 5xx)",
            requests.clone(),
        );
        let errors = Family::<ServiceLabels, Counter>::default();
        registry.register(
            "request_errors",
            "Requests that ended in an exception (a Worker threw or returned no Response)",
            errors.clone(),
        );
        let duration = Family::<ServiceLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "request_duration",
            "Time from a request's dispatch to its response head",
            Unit::Seconds,
            duration.clone(),
        );
        let cpu = Family::<ServiceLabels, CpuCounter>::default();
        registry.register_with_unit("js_cpu", "Time spent running each service's JS", Unit::Seconds, cpu.clone());
        let limits = Family::<LimitLabels, Counter>::default();
        registry.register("limit_exceeded", "Requests or isolates stopped for breaking a limit", limits.clone());
        let isolates = Family::<ServiceLabels, Gauge>::default();
        registry.register("isolates", "Live isolates, over every thread", isolates.clone());
        let heap = Family::<ServiceLabels, Gauge>::default();
        registry.register_with_unit(
            "isolate_heap",
            "QuickJS heap of the live isolates, over every thread",
            Unit::Bytes,
            heap.clone(),
        );
        let binding_calls = Family::<BindingLabels, Counter>::default();
        registry.register("binding_calls", "Calls (fetch or RPC) through a service binding", binding_calls.clone());
        let fallbacks = Family::<FallbackLabels, Counter>::default();
        registry.register("binding_fallbacks", "Calls a binding's fallback answered", fallbacks.clone());
        let outbound = Family::<OutboundLabels, Counter>::default();
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
                .map(|status| self.requests.get_or_create_owned(&StatusLabels { service: service.to_owned(), status })),
            errors: self.errors.get_or_create_owned(&labels),
            duration: self.duration.get_or_create_owned(&labels),
            cpu: self.cpu.get_or_create_owned(&labels),
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

/// Runs `answer` (a request to `service`) and records its status class, exception and
/// latency; with metrics off, only `answer`.
pub async fn observe<F>(service: &str, answer: F) -> Result<http::Response<Body>, JsException>
where
    F: Future<Output = Result<http::Response<Body>, JsException>>,
{
    let Some(metrics) = self::service(service) else { return answer.await };
    let start = Instant::now();
    let outcome = answer.await;
    metrics.record(&outcome, start.elapsed());
    outcome
}

/// Worker `service` broke `limit` (its request failed; for CPU and memory its isolate was
/// discarded).
pub fn limit_exceeded(service: &str, limit: Limit) {
    let Some(metrics) = METRICS.get().filter(|_| enabled()) else { return };
    metrics.limits.get_or_create(&LimitLabels { service: service.to_owned(), limit: limit.as_str() }).inc();
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
    metrics.fallbacks.get_or_create(&labels).inc();
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
        let calls = metrics.binding_calls.get_or_create_owned(&labels);
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
    metrics.outbound.get_or_create(&OutboundLabels { service: service.to_owned(), caller, outcome }).inc();
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

/// How often each thread folds its isolates' JS time into the services' counters. An
/// isolate's JS time is read from the isolate ([`Isolate::cpu_time`]), so what a discarded
/// isolate ran after its last fold (at most this long ago) is not counted.
const FOLD_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct LocalIsolates {
    isolates: Vec<LocalIsolate>,
    answering: bool,
}

struct LocalIsolate {
    service: &'static ServiceMetrics,
    isolate: WeakIsolate,
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
        local.isolates.push(LocalIsolate { service: handles, isolate: isolate.downgrade(), counted: Duration::ZERO });
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

/// Adds what this thread's isolates ran since the last fold to their services' JS time, and
/// forgets the isolates that are gone; returns the live ones.
fn fold_js_time() -> Vec<(&'static ServiceMetrics, Isolate)> {
    LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        let mut live = Vec::with_capacity(local.isolates.len());
        local.isolates.retain_mut(|entry| {
            let Some(isolate) = entry.isolate.upgrade() else { return false };
            let total = isolate.cpu_time();
            entry.service.js_time(total.saturating_sub(entry.counted));
            entry.counted = total;
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
        metrics.isolates.get_or_create(&labels).set(count);
        metrics.heap.get_or_create(&labels).set(heap);
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
        enable(["a", "b"]);
        let a = service("a").unwrap();
        for status in [200, 204, 301, 404, 404, 503] {
            a.record(&response(status), Duration::from_micros(300));
        }
        a.record(&Err(JsException::error("boom")), Duration::from_millis(20));
        a.js_time(Duration::from_millis(250));
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
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        // A service that never recorded has no series.
        assert!(!text.contains(r#"nanod_requests_total{service="b""#), "{text}");
    }
}
