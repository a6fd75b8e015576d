//! A Worker service on one thread: its isolate, created on the first request and then reused
//! (module state persists between requests), and the call into its `fetch` handler.
//!
//! Isolate life: *cold* (no isolate) → *starting* (modules evaluating; concurrent first
//! requests wait on the same start) → *ready* → *discarded*, when a request breaks the CPU or
//! memory limit (`nanod_js::limits`): the isolate is condemned, its other requests fail at
//! once with the same limit error, the slot empties (so its heap is freed when the last of
//! them lets go) and the next request starts a fresh isolate. A Worker whose start failed
//! keeps the error and answers every request with it, logged, without touching other Workers
//! (a start that broke a limit is retried by the next request instead).
//!
//! Every call into the isolate (`fetch`, a named entrypoint, RPC, `scheduled`, tests) is
//! admitted under the Worker's concurrency limit and registered with the isolate under its
//! [`RequestId`], which is what its JS time and subrequests are charged to; request bodies are
//! checked against the body limit before any JS runs, and while they stream.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use nanod_js::{await_value, Exceeded, Isolate, IsolateLimits, JsException, RequestGuard, RequestId};
use nanod_web::body::Body;
use nanod_web::request::Request;
use nanod_web::response::Response;
use nanod_web::rpc::RpcCall;
use nanod_web::structured_clone::Cloned;
use rquickjs::function::This;
use rquickjs::{Class, Ctx, Function, Module, Object, Value};
use tokio::sync::OnceCell;

use crate::binding::{build_env, CallTarget, ServiceBinding};
use crate::limits::{self, Limit};
use crate::prepare::{PreparedWorker, Script};
use crate::thread::ThreadServices;

/// Process-wide switches of Worker behaviour, set once by the binary before any Worker runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerOptions {
    /// wrangler's `--test-scheduled`: `/__scheduled?cron=...` on any Worker runs `scheduled()`.
    pub test_scheduled: bool,
    /// `--predictable`: `Math.random` is a fixed-seed generator in every isolate.
    pub predictable: bool,
}

static OPTIONS: std::sync::OnceLock<WorkerOptions> = std::sync::OnceLock::new();

/// Sets the [`WorkerOptions`]; the first call wins.
pub fn set_options(options: WorkerOptions) {
    let _ = OPTIONS.set(options);
}

fn options() -> WorkerOptions {
    OPTIONS.get().copied().unwrap_or_default()
}

/// A request's `passThroughOnException()` state: the original request, parked once the
/// Worker asked for it.
#[derive(Default)]
struct PassThrough {
    request: std::cell::Cell<Option<u32>>,
}

pub struct WorkerService {
    prepared: Arc<PreparedWorker>,
    services: Weak<ThreadServices>,
    /// The isolate, once started; emptied when a breach condemns it. Shared (weakly) with the
    /// isolate's limit hook, which empties it.
    slot: Rc<Slot>,
}

type Started = Result<Rc<Instance>, JsException>;
type Slot = RefCell<Rc<OnceCell<Started>>>;

/// Whether a start's outcome can serve requests: a live isolate, or a start error other than a
/// broken limit (which the next request retries).
fn usable(started: &Started) -> bool {
    match started {
        Ok(instance) => instance.isolate.condemned().is_none(),
        Err(exception) => limits::exceeded_limit(exception).is_none(),
    }
}

/// Empties `slot` if it holds a condemned isolate.
fn discard_condemned(slot: &Slot) {
    let condemned = slot.borrow().get().is_some_and(|started| !usable(started));
    if condemned {
        let old = std::mem::replace(&mut *slot.borrow_mut(), Rc::new(OnceCell::new()));
        // Dropped outside the borrow: it may be the isolate's last handle but one.
        drop(old);
    }
}

/// A started isolate and the parked values every request needs.
pub struct Instance {
    isolate: Isolate,
    /// Modules: the default export. Service worker: the dispatch function.
    handler: u32,
    /// Modules: the main module's namespace (every export). Service worker: `None`.
    namespace: Option<u32>,
    env: u32,
    exec_ctx: u32,
    service_worker: bool,
    /// Calls being served now, against the concurrency limit.
    in_flight: Cell<u32>,
}

/// One admitted call: counted against the concurrency limit, and registered with the isolate
/// (its JS time and subrequests are charged to `id`) while it lives.
struct Admitted {
    id: RequestId,
    _accounting: RequestGuard,
    _in_flight: InFlight,
}

struct InFlight(Rc<Instance>);

impl Admitted {
    /// Keeps the call admitted until `response`'s body ends, not just its head: the JS that
    /// produces a streamed body (a `ReadableStream`'s `pull`) still works for the request, so
    /// it is charged to it, counted in flight, and limited as the handler was.
    fn until_body_ends(self, response: http::Response<Body>) -> http::Response<Body> {
        response.map(|body| match body {
            Body::Stream(_) => Body::stream(Held { body, _admitted: self }),
            whole => whole,
        })
    }
}

/// A response body holding its call's [`Admitted`] until it ends or is dropped.
struct Held {
    body: Body,
    _admitted: Admitted,
}

impl http_body::Body for Held {
    type Data = bytes::Bytes;
    type Error = nanod_web::body::BodyError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.set(self.0.in_flight.get().saturating_sub(1));
    }
}

/// The isolate limits of a Worker's config (0: none).
fn isolate_limits(limits: &nanod_config::Limits) -> IsolateLimits {
    let cpu_ms = limits.cpu_ms();
    let subrequests = limits.subrequests();
    IsolateLimits {
        memory_bytes: (limits.memory_mb() as usize) << 20,
        cpu_time: (cpu_ms > 0).then(|| Duration::from_millis(cpu_ms.into())),
        subrequests: (subrequests > 0).then_some(subrequests),
        ..IsolateLimits::default()
    }
}

thread_local! {
    /// The request whose failure [`WorkerService::failure`] is checking, for the limit hook:
    /// a heap found exhausted there condemns the isolate outside any entry of it.
    static FAILING: Cell<Option<RequestId>> = const { Cell::new(None) };
}

/// A call that comes with no request id (`scheduled`, tests, a binding's RPC from outside a
/// request) gets one of its own, from the generator of socket requests' ids, so none collide.
fn fresh_request_id() -> RequestId {
    crate::http::new_request_id()
}

/// The outcome of a call once the value it awaits settles: a call that failed to start fails
/// at once, and one whose value is dropped unsettled never gets a response.
async fn settled<T>(
    pending: Result<tokio::sync::oneshot::Receiver<Result<T, JsException>>, JsException>,
) -> Result<T, JsException> {
    match pending {
        Ok(pending) => {
            pending.await.unwrap_or_else(|_| Err(JsException::error("The script will never generate a response.")))
        }
        Err(exception) => Err(exception),
    }
}

/// Builds a call's arguments inside the isolate, given the Worker's `env` and `ctx`.
pub type CallArgs = Box<dyn for<'js> FnOnce(&Ctx<'js>, Value<'js>, Value<'js>) -> rquickjs::Result<Vec<Value<'js>>>>;

/// Turns a call's settled result into Rust data, inside the isolate.
pub type Convert<T> = for<'a> fn(&Ctx<'a>, Value<'a>) -> Result<T, JsException>;

impl WorkerService {
    pub fn new(prepared: Arc<PreparedWorker>, services: Weak<ThreadServices>) -> WorkerService {
        WorkerService { prepared, services, slot: Rc::new(RefCell::new(Rc::new(OnceCell::new()))) }
    }

    /// The started isolate, starting it on first use, and again once a breach condemned it.
    async fn instance(&self) -> Result<Rc<Instance>, JsException> {
        if let Some(started) = self.slot.borrow().get() {
            if usable(started) {
                return started.clone();
            }
        }
        discard_condemned(&self.slot);
        let cell = self.slot.borrow().clone();
        // The start future is large and runs once: box it so every request's future stays small.
        cell.get_or_init(|| Box::pin(self.start())).await.clone()
    }

    /// Admits a call for `request` (a fresh id without one) under the concurrency limit: over
    /// it, the call fails at once, never queued.
    fn admit(&self, instance: &Rc<Instance>, request: Option<RequestId>) -> Result<Admitted, JsException> {
        let limit = self.prepared.limits.concurrent_requests();
        let in_flight = instance.in_flight.get();
        if limit != 0 && in_flight >= limit {
            crate::metrics::limit_exceeded(&self.prepared.name, Limit::Concurrency);
            return Err(limits::exceeded(
                Limit::Concurrency,
                format!(
                    "Worker \"{}\" is already serving its limit of {limit} concurrent requests",
                    self.prepared.name
                ),
            ));
        }
        instance.in_flight.set(in_flight + 1);
        let id = request.unwrap_or_else(fresh_request_id);
        let accounting = instance.isolate.begin_request(id);
        Ok(Admitted { id, _accounting: accounting, _in_flight: InFlight(instance.clone()) })
    }

    /// What a failed call (for `request`) reports: the limit error when its isolate was
    /// condemned (or the exception says its heap ran out, which condemns it now).
    fn failure(&self, isolate: &Isolate, request: Option<RequestId>, exception: JsException) -> JsException {
        let limits = &self.prepared.limits;
        // The limit hook's log line names the request that condemned the isolate here.
        let outer = FAILING.replace(request);
        let exceeded = isolate.check_failure(&exception);
        FAILING.set(outer);
        match exceeded {
            Some(Exceeded::Cpu) => limits::exceeded(
                Limit::Cpu,
                format!("Worker \"{}\" exceeded its CPU time limit of {} ms", self.prepared.name, limits.cpu_ms()),
            ),
            Some(Exceeded::Memory) => limits::exceeded(
                Limit::Memory,
                format!("Worker \"{}\" exceeded its memory limit of {} MiB", self.prepared.name, limits.memory_mb()),
            ),
            _ => exception,
        }
    }

    /// Checks a request body against the body limit: a declared length over it fails before
    /// any JS runs; a stream is cut off once it grows past it (the returned flag says so).
    fn limit_body(&self, request: &mut http::Request<Body>) -> Result<Option<Rc<Cell<bool>>>, JsException> {
        let max = self.prepared.limits.request_body_bytes();
        if max == 0 {
            return Ok(None);
        }
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let full = match request.body() {
            Body::Full(bytes) => Some(bytes.len() as u64),
            _ => None,
        };
        if declared.or(full).is_some_and(|length| length > max) {
            crate::metrics::limit_exceeded(&self.prepared.name, Limit::RequestBody);
            return Err(limits::body_too_large(&self.prepared.name, max));
        }
        if !matches!(request.body(), Body::Stream(_)) {
            return Ok(None);
        }
        let overflowed = Rc::new(Cell::new(false));
        let body = std::mem::take(request.body_mut());
        *request.body_mut() = limits::limit_body(body, max, overflowed.clone());
        Ok(Some(overflowed))
    }

    /// [`WorkerService::failure`], or the body limit when the request's body overflowed.
    fn request_failure(
        &self,
        isolate: &Isolate,
        request: Option<RequestId>,
        overflowed: &Option<Rc<Cell<bool>>>,
        e: JsException,
    ) -> JsException {
        if overflowed.as_ref().is_some_and(|flag| flag.get()) && limits::exceeded_limit(&e).is_none() {
            crate::metrics::limit_exceeded(&self.prepared.name, Limit::RequestBody);
            return limits::body_too_large(&self.prepared.name, self.prepared.limits.request_body_bytes());
        }
        self.failure(isolate, request, e)
    }

    /// Calls `method` on the main module's export `export` (`"default"` or a named export)
    /// with the arguments `args` builds, and converts the settled result with `convert`. An
    /// export that is a class (a `WorkerEntrypoint`) is constructed first, as
    /// `new Export(ctx, env)`, as workerd does for each call. Only ES-module Workers have
    /// exports; the fetch path ([`WorkerService::fetch`]) does not go through here.
    pub async fn call<T: 'static>(
        &self,
        export: &str,
        method: &str,
        args: CallArgs,
        convert: Convert<T>,
    ) -> Result<T, JsException> {
        let instance = self.instance().await?;
        let admitted = self.admit(&instance, None)?;
        let pending = instance.isolate.enter_for(Some(admitted.id), |ctx| -> Result<_, JsException> {
            let caught = |ctx: &Ctx<'_>| JsException::from_value(ctx, ctx.catch());
            let isolate = &instance.isolate;
            let exported = named_export(&ctx, &instance, export)?;
            let env = isolate.peek(&ctx, instance.env).ok_or_else(|| JsException::error("env vanished"))?;
            let exec_ctx = isolate.peek(&ctx, instance.exec_ctx).ok_or_else(|| JsException::error("ctx vanished"))?;
            let target = match exported.as_constructor() {
                Some(class) => {
                    class.construct::<_, Value>((exec_ctx.clone(), env.clone())).map_err(|_| caught(&ctx))?
                }
                None => exported,
            };
            let no_method = || JsException::type_error(format!("Entrypoint \"{export}\" has no method \"{method}\"."));
            let object = target.into_object().ok_or_else(no_method)?;
            let function: Function =
                object.get::<_, Value>(method).ok().and_then(Value::into_function).ok_or_else(no_method)?;
            let args = args(&ctx, env, exec_ctx).map_err(|_| caught(&ctx))?;
            let result: Value =
                function.call((This(object), rquickjs::function::Rest(args))).map_err(|_| caught(&ctx))?;
            Ok(await_value(&ctx, result, convert))
        });
        let outcome = settled(pending).await;
        outcome.map_err(|e| self.failure(&instance.isolate, Some(admitted.id), e))
    }

    /// Runs the Worker's `fetch` handler for `request` (whose URI is absolute). If the handler
    /// fails after calling `ctx.passThroughOnException()`, the request goes to the Worker's
    /// `globalOutbound` instead, as in workerd (with an empty body if the Worker read it).
    /// Under [`WorkerOptions::test_scheduled`], `/__scheduled?cron=...` runs `scheduled()`.
    pub async fn fetch(&self, mut request: http::Request<Body>) -> Result<http::Response<Body>, JsException> {
        if options().test_scheduled && request.uri().path() == "/__scheduled" {
            return self.scheduled_endpoint(request.uri()).await;
        }
        let overflowed = self.limit_body(&mut request)?;
        let instance = self.instance().await?;
        let admitted = self.admit(&instance, request.extensions().get::<RequestId>().copied())?;
        let url = request.uri().to_string();
        let isolate = instance.isolate.clone();
        let pass_through = Rc::new(PassThrough::default());
        let request_id = Some(admitted.id);
        let pending =
            isolate.enter_for(request_id, |ctx| call_handler(&ctx, &instance, request, url, &pass_through, None));
        let outcome = settled(pending).await;
        let outcome = outcome
            .map(|response| admitted.until_body_ends(response))
            .map_err(|e| self.request_failure(&isolate, request_id, &overflowed, e));
        let Some(key) = pass_through.request.get() else { return outcome };
        // A broken limit is answered as such, never passed through.
        if outcome.as_ref().is_err_and(|e| limits::exceeded_limit(e).is_some()) {
            return outcome;
        }
        let original = isolate.enter_for(request_id, |ctx| original_request(&ctx, key));
        match (outcome, original) {
            (Ok(response), _) => Ok(response),
            (Err(exception), Ok(request)) => {
                tracing::error!(
                    service = %self.prepared.name,
                    request_id = request_id.map(tracing::field::display),
                    "{}: Uncaught {exception} (passed through to {})",
                    self.prepared.name,
                    self.prepared.global_outbound
                );
                let services =
                    self.services.upgrade().ok_or_else(|| JsException::error("the server is shutting down"))?;
                // Boxed: `dispatch` may come back here (a Worker as another's outbound).
                let next: std::pin::Pin<Box<dyn std::future::Future<Output = _>>> =
                    Box::pin(async move { services.dispatch(&self.prepared.global_outbound, request).await });
                next.await
            }
            (Err(exception), Err(_)) => Err(exception),
        }
    }

    /// Runs the default export's `scheduled(controller, env, ctx)`: `controller.cron`,
    /// `controller.scheduledTime` (ms since the epoch) and `controller.noRetry()`.
    pub async fn scheduled(&self, cron: String, scheduled_time: f64) -> Result<(), JsException> {
        let args: CallArgs = Box::new(move |ctx, env, exec_ctx| {
            let controller = Object::new(ctx.clone())?;
            controller.set("cron", cron)?;
            controller.set("scheduledTime", scheduled_time)?;
            controller.set("noRetry", Function::new(ctx.clone(), || {})?.with_name("noRetry")?)?;
            Ok(vec![controller.into_value(), env, exec_ctx])
        });
        self.call("default", "scheduled", args, |_, _| Ok(())).await
    }

    /// wrangler's `--test-scheduled` endpoint: `GET /__scheduled?cron=...` runs `scheduled()`
    /// and answers `Ran scheduled event`. workerd itself has no such endpoint.
    async fn scheduled_endpoint(&self, uri: &http::Uri) -> Result<http::Response<Body>, JsException> {
        let cron = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(name, _)| *name == "cron")
            .map(|(_, value)| form_decode(value))
            .unwrap_or_default();
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_millis() as f64);
        self.scheduled(cron, now).await?;
        let mut response = http::Response::new(Body::Full(bytes::Bytes::from_static(b"Ran scheduled event")));
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain;charset=UTF-8"));
        Ok(response)
    }

    /// The main module's exports that have a `test()` handler, as `workerd test` runs them:
    /// `default` first, then the named ones in name order. A class export counts when its
    /// prototype has `test`. Service-worker scripts have none.
    pub async fn test_entrypoints(&self) -> Result<Vec<String>, JsException> {
        let instance = self.instance().await?;
        instance.isolate.enter(|ctx| {
            let Some(namespace) = instance.namespace.and_then(|key| instance.isolate.peek(&ctx, key)) else {
                return Ok(Vec::new());
            };
            let namespace = namespace.into_object().ok_or_else(|| JsException::error("no namespace"))?;
            let has_test = |value: &Value<'_>| -> bool {
                let Some(object) = value.as_object() else { return false };
                let target = if value.is_constructor() {
                    match object.get::<_, Value>("prototype").ok().and_then(Value::into_object) {
                        Some(prototype) => prototype,
                        None => return false,
                    }
                } else {
                    object.clone()
                };
                target.get::<_, Value>("test").is_ok_and(|t| t.is_function())
            };
            let mut names = Vec::new();
            for key in namespace.keys::<String>() {
                let key = key.map_err(|_| JsException::from_value(&ctx, ctx.catch()))?;
                let value: Value =
                    namespace.get(key.as_str()).map_err(|_| JsException::from_value(&ctx, ctx.catch()))?;
                if has_test(&value) {
                    names.push(key);
                }
            }
            names.sort_by(|a, b| (a != "default").cmp(&(b != "default")).then_with(|| a.cmp(b)));
            Ok(names)
        })
    }

    /// Creates the isolate and evaluates the Worker's code. Start-up runs this once per Worker
    /// (see `check::evaluate_all`) so that a Worker that throws at the top level, or imports a
    /// module that does not exist, stops the server before it serves, as in workerd.
    pub async fn start(&self) -> Result<Rc<Instance>, JsException> {
        let prepared = &self.prepared;
        let code = match &prepared.script {
            Script::Modules(code) => Some(code.clone()),
            Script::ServiceWorker { .. } => None,
        };
        let isolate = Isolate::new(&prepared.name, code.clone(), isolate_limits(&prepared.limits))
            .map_err(|e| JsException::error(format!("cannot create an isolate: {e}")))?;
        let slot = Rc::downgrade(&self.slot);
        let name = prepared.name.clone();
        isolate.set_limit_hook(Box::new(move |exceeded| {
            crate::metrics::limit_exceeded(&name, limits::of(exceeded));
            if exceeded.condemns() {
                let limit = limits::of(exceeded).as_str();
                let request = nanod_js::current_request().or_else(|| FAILING.get());
                tracing::warn!(
                    service = %name,
                    request_id = request.map(tracing::field::display),
                    limit,
                    "{name}: isolate discarded: it broke its {limit} limit"
                );
                if let Some(slot) = slot.upgrade() {
                    discard_condemned(&slot);
                }
            }
        }));
        crate::metrics::isolate_started(&prepared.name, &isolate);
        let services = self.services.clone();
        let started = isolate.enter(|ctx| -> Result<_, JsException> {
            let caught = |ctx: &Ctx<'_>| JsException::from_value(ctx, ctx.catch());
            nanod_web::compat::set(&ctx, prepared.compat).map_err(|_| caught(&ctx))?;
            nanod_web::install_globals(&ctx).map_err(|_| caught(&ctx))?;
            if options().predictable {
                predictable_random(&ctx).map_err(|_| caught(&ctx))?;
            }
            let outbound =
                ServiceBinding::to(&prepared.global_outbound_target, &prepared.name, "globalOutbound", &services);
            nanod_web::fetcher::set_global_outbound(&ctx, Rc::new(outbound)).map_err(|_| caught(&ctx))?;
            let env = build_env(&ctx, prepared, &services).map_err(|_| caught(&ctx))?;
            let exec_ctx = execution_context(&ctx).map_err(|_| caught(&ctx))?;
            // `ctx.props` of calls through a binding without props: one `{}` per isolate.
            let no_props = Object::new(ctx.clone()).map_err(|_| caught(&ctx))?;
            exec_ctx.set("props", no_props).map_err(|_| caught(&ctx))?;
            let isolate = Isolate::from_ctx(&ctx).ok_or_else(|| JsException::error("isolate vanished"))?;
            let env_key = isolate.park(&ctx, env.clone().into_value());
            let ctx_key = isolate.park(&ctx, exec_ctx.into_value());
            match (&prepared.script, &code) {
                (Script::Modules(_), Some(code)) => {
                    let main = code.main_module().map(|m| m.name.clone()).unwrap_or_default();
                    let namespace = Module::import(&ctx, main).map_err(|_| caught(&ctx))?;
                    Ok((await_value(&ctx, namespace.into_value(), exports), env_key, ctx_key, false))
                }
                (Script::ServiceWorker { source }, _) => {
                    let install: Function =
                        nanod_web::glue::function(&ctx, &nanod_web::glue::SERVICE_WORKER, "install")
                            .map_err(|_| caught(&ctx))?;
                    let globals = ctx.globals();
                    let dispatch: Value = install.call((globals.clone(),)).map_err(|_| caught(&ctx))?;
                    for key in env.keys::<String>() {
                        let key = key.map_err(|_| caught(&ctx))?;
                        let value: Value = env.get(key.as_str()).map_err(|_| caught(&ctx))?;
                        globals.set(key.as_str(), value).map_err(|_| caught(&ctx))?;
                    }
                    let mut options = rquickjs::context::EvalOptions::default();
                    options.global = true;
                    options.strict = false;
                    options.filename = Some(format!("{}.js", prepared.name));
                    ctx.eval_with_options::<(), _>(source.as_bytes().to_vec(), options).map_err(|_| caught(&ctx))?;
                    Ok((await_value(&ctx, dispatch, dispatcher), env_key, ctx_key, true))
                }
                _ => Err(JsException::error("no code")),
            }
        });
        let (handler, env, exec_ctx, service_worker) = match started {
            Ok((pending, env, exec_ctx, sw)) => {
                let handler = pending
                    .await
                    .unwrap_or_else(|_| Err(JsException::error("the main module never finished evaluating")));
                (handler, env, exec_ctx, sw)
            }
            Err(e) => (Err(e), 0, 0, false),
        };
        match handler {
            Ok((handler, namespace)) if isolate.condemned().is_none() => {
                let in_flight = Cell::new(0);
                Ok(Rc::new(Instance { isolate, handler, namespace, env, exec_ctx, service_worker, in_flight }))
            }
            Ok(_) => Err(self.failure(&isolate, None, JsException::error("the isolate was condemned while starting"))),
            Err(exception) => Err(self.failure(&isolate, None, exception)),
        }
    }
}

/// Named entrypoints and JS RPC: calls that come through a service binding naming an
/// entrypoint, carrying `props`, or calling a method.
impl WorkerService {
    /// Runs the `fetch` of `call`'s entrypoint (the default export without one) with
    /// `ctx.props` from `call`'s props, recorded in the Worker's request metrics (as
    /// `ThreadServices::dispatch` records the default path).
    pub async fn fetch_entrypoint(
        &self,
        request: http::Request<Body>,
        call: &CallTarget,
    ) -> Result<http::Response<Body>, JsException> {
        let started = crate::metrics::start(&self.prepared.name);
        let outcome = self.run_entrypoint(request, call).await;
        crate::metrics::finish(started, &outcome);
        outcome
    }

    async fn run_entrypoint(
        &self,
        mut request: http::Request<Body>,
        call: &CallTarget,
    ) -> Result<http::Response<Body>, JsException> {
        let overflowed = self.limit_body(&mut request)?;
        let instance = self.instance().await?;
        let admitted = self.admit(&instance, request.extensions().get::<RequestId>().copied())?;
        let url = request.uri().to_string();
        let pass_through = Rc::new(PassThrough::default());
        let isolate = instance.isolate.clone();
        let pending = isolate
            .enter_for(Some(admitted.id), |ctx| call_handler(&ctx, &instance, request, url, &pass_through, Some(call)));
        let outcome = settled(pending).await;
        let id = admitted.id;
        outcome
            .map(|response| admitted.until_body_ends(response))
            .map_err(|e| self.request_failure(&isolate, Some(id), &overflowed, e))
    }

    /// A JS RPC into this Worker: the method (or property) `rpc.method` of `call`'s entrypoint,
    /// with the arguments deserialized here and the result serialized back; a thrown
    /// exception comes back as thrown (the binding checks it for a broken limit before
    /// shaping it as workerd does, [`nanod_web::rpc::rpc_exception`]).
    pub async fn rpc(&self, call: &CallTarget, rpc: RpcCall) -> Result<Cloned, JsException> {
        let instance = self.instance().await?;
        let admitted = self.admit(&instance, rpc.request)?;
        let pending = instance.isolate.enter_for(Some(admitted.id), |ctx| rpc_call(&ctx, &instance, call, rpc));
        let outcome = settled(pending).await;
        outcome.map_err(|e| self.failure(&instance.isolate, Some(admitted.id), e))
    }
}

impl Instance {
    /// The main module's exports that can be named entrypoints (objects and classes, not
    /// `default`), for the start-up check of bindings (`binding::check_entrypoints`).
    pub fn entrypoint_names(&self) -> Vec<String> {
        self.isolate.enter(|ctx| {
            let Ok(namespace) = self.namespace(&ctx) else { return Vec::new() };
            namespace
                .props::<String, Value>()
                .filter_map(Result::ok)
                .filter(|(name, value)| name != "default" && value.is_object())
                .map(|(name, _)| name)
                .collect()
        })
    }
}

impl Instance {
    /// The main module's namespace (a service-worker script has none).
    fn namespace<'js>(&self, ctx: &Ctx<'js>) -> Result<Object<'js>, JsException> {
        self.namespace
            .and_then(|key| self.isolate.peek(ctx, key))
            .and_then(Value::into_object)
            .ok_or_else(|| JsException::error("a service-worker script has no exports"))
    }
}

/// Export `name` of the main module.
fn named_export<'js>(ctx: &Ctx<'js>, instance: &Instance, name: &str) -> Result<Value<'js>, JsException> {
    instance.namespace(ctx)?.get(name).map_err(|_| JsException::from_value(ctx, ctx.catch()))
}

/// The `ctx` of a call: the isolate's shared one when the binding has no props (no
/// allocation), else a new object inheriting from it with its own `props`.
fn call_context<'js>(ctx: &Ctx<'js>, shared: Value<'js>, props: Option<&str>) -> rquickjs::Result<Value<'js>> {
    let Some(props) = props else { return Ok(shared) };
    let object = Object::new(ctx.clone())?;
    object.set_prototype(shared.as_object())?;
    object.set("props", ctx.json_parse(props.as_bytes().to_vec())?)?;
    Ok(object.into_value())
}

type PendingRpc = tokio::sync::oneshot::Receiver<Result<Cloned, JsException>>;

/// Starts one RPC inside the callee's isolate. A class entrypoint is constructed as
/// `new Class(ctx, env)` and its methods (on the prototype chain, not instance fields) take
/// the arguments as given; a plain-object entrypoint's methods take exactly one argument and
/// `(arg, env, ctx)`, as in workerd.
fn rpc_call<'js>(
    ctx: &Ctx<'js>,
    instance: &Instance,
    call: &CallTarget,
    rpc: RpcCall,
) -> Result<PendingRpc, JsException> {
    let caught = |ctx: &Ctx<'js>| JsException::from_value(ctx, ctx.catch());
    let isolate = &instance.isolate;
    let export = call.entrypoint.as_deref().unwrap_or("default");
    let exported = named_export(ctx, instance, export)?;
    let env = isolate.peek(ctx, instance.env).ok_or_else(|| JsException::error("env vanished"))?;
    let shared = isolate.peek(ctx, instance.exec_ctx).ok_or_else(|| JsException::error("ctx vanished"))?;
    let exec_ctx = call_context(ctx, shared, call.props.as_deref()).map_err(|_| caught(ctx))?;
    let method = rpc.method.as_str();
    let not_implemented =
        || JsException::type_error(format!("The RPC receiver does not implement the method \"{method}\"."));
    let (receiver, class) = match exported.as_constructor() {
        Some(class) => (class.construct::<_, Value>((exec_ctx.clone(), env.clone())).map_err(|_| caught(ctx))?, true),
        None => (exported, false),
    };
    let receiver = receiver.into_object().ok_or_else(not_implemented)?;
    if class {
        // On the prototype chain, so a method or accessor of the class, not an instance field.
        let on_chain = receiver.get_prototype().map(|proto| proto.contains_key(method)).transpose();
        if !on_chain.map_err(|_| caught(ctx))?.unwrap_or(false) {
            return Err(not_implemented());
        }
    }
    let value: Value = receiver.get(method).map_err(|_| caught(ctx))?;
    let Some(args) = rpc.args else {
        return Ok(await_value(ctx, value, nanod_web::rpc::result));
    };
    let function = value.into_function().ok_or_else(not_implemented)?;
    let mut args = nanod_web::rpc::arguments(ctx, &args).map_err(|_| caught(ctx))?;
    let result: Value = if class {
        function.call((This(receiver), rquickjs::function::Rest(args))).map_err(|_| caught(ctx))?
    } else {
        if args.len() != 1 {
            return Err(JsException::type_error(format!(
                "Attempted to call RPC function \"{method}\" with the wrong number of arguments. When calling a top-level handler function that is not declared as part of a class, you must always send exactly one argument. In order to support variable numbers of arguments, the server must use class-based syntax (extending WorkerEntrypoint) instead."
            )));
        }
        let arg = args.pop();
        function.call((This(receiver), arg, env, exec_ctx)).map_err(|_| caught(ctx))?
    };
    Ok(await_value(ctx, result, nanod_web::rpc::result))
}

/// The main module's default export and its whole namespace, parked. Whether the default
/// export has a `fetch` method is checked per request, as in workerd, where a Worker without
/// one still starts.
fn exports<'js>(ctx: &Ctx<'js>, namespace: Value<'js>) -> Result<(u32, Option<u32>), JsException> {
    let object = namespace.as_object().ok_or_else(|| JsException::error("the main module has no namespace"))?;
    let handler: Value = object.get("default").map_err(|_| JsException::from_value(ctx, ctx.catch()))?;
    Ok((park_value(ctx, handler)?, Some(park_value(ctx, namespace)?)))
}

fn park_value<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<u32, JsException> {
    let isolate = Isolate::from_ctx(ctx).ok_or_else(|| JsException::error("isolate vanished"))?;
    Ok(isolate.park(ctx, value))
}

/// A service-worker script's dispatch function, parked; it has no exports.
fn dispatcher<'js>(ctx: &Ctx<'js>, dispatch: Value<'js>) -> Result<(u32, Option<u32>), JsException> {
    Ok((park_value(ctx, dispatch)?, None))
}

/// A request's own `ctx`: an object whose prototype is the isolate's shared `ctx` (so
/// `waitUntil`, `props` and `passThroughOnException` come from there) and which remembers its
/// request, for the shared `passThroughOnException` to find through `this`. One object per
/// request, no function: the request path stays as cheap as it was before pass-through.
#[derive(rquickjs::class::Trace, rquickjs::JsLifetime)]
#[rquickjs::class]
pub struct RequestContext<'js> {
    request: Value<'js>,
    #[qjs(skip_trace)]
    pass_through: Rc<PassThrough>,
}

fn request_context<'js>(
    shared: Value<'js>,
    request: Value<'js>,
    pass_through: Rc<PassThrough>,
) -> rquickjs::Result<Value<'js>> {
    let proto = shared.into_object().ok_or_else(|| rquickjs::Error::new_from_js("value", "ctx"))?;
    Ok(Class::instance_proto(RequestContext { request, pass_through }, proto)?.into_value())
}

/// The shared `passThroughOnException`: on a request's `ctx`, remembers the request so that
/// an exception passes it on to the Worker's `globalOutbound`; on the `ctx` of other calls
/// (RPC, tests, scheduled events) there is nothing to fall back to, and it does nothing.
fn pass_through_on_exception<'js>(ctx: Ctx<'js>, this: This<Value<'js>>) {
    let Ok(request_ctx) = Class::<RequestContext>::from_value(&this.0) else { return };
    let Ok(request_ctx) = request_ctx.try_borrow() else { return };
    if request_ctx.pass_through.request.get().is_none() {
        if let Some(isolate) = Isolate::from_ctx(&ctx) {
            request_ctx.pass_through.request.set(Some(isolate.park(&ctx, request_ctx.request.clone())));
        }
    }
}

/// The request a `passThroughOnException()` parked, unparked as Rust `http`; a body the
/// Worker already read becomes empty, as in workerd.
fn original_request(ctx: &Ctx<'_>, key: u32) -> Result<http::Request<Body>, JsException> {
    let caught = |ctx: &Ctx<'_>| JsException::from_value(ctx, ctx.catch());
    let isolate = Isolate::from_ctx(ctx).ok_or_else(|| JsException::error("isolate vanished"))?;
    let value = isolate.unpark(ctx, key).ok_or_else(|| JsException::error("request vanished"))?;
    let request = Class::<Request>::from_value(&value).map_err(|_| JsException::error("not a request"))?;
    let used = request.borrow().body_used(ctx.clone()).map_err(|_| caught(ctx))?;
    let request = if used {
        // Same method, URL and headers, no body.
        let (url, method, headers) = {
            let mut r = request.borrow_mut();
            (r.url(), r.method(), r.headers(ctx.clone()).map_err(|_| caught(ctx))?)
        };
        let init = Object::new(ctx.clone()).map_err(|_| caught(ctx))?;
        init.set("method", method).map_err(|_| caught(ctx))?;
        init.set("headers", headers).map_err(|_| caught(ctx))?;
        let constructor: rquickjs::Constructor = ctx.globals().get("Request").map_err(|_| caught(ctx))?;
        let fresh: Value = constructor.construct((url, init)).map_err(|_| caught(ctx))?;
        Class::<Request>::from_value(&fresh).map_err(|_| JsException::error("not a request"))?
    } else {
        request
    };
    let taken = request.borrow_mut().take_http(ctx).map_err(|_| caught(ctx));
    taken
}

/// The `ctx` argument of a handler, one per isolate: `waitUntil` keeps work going after the
/// response (its failure is logged, never a crash), and a `passThroughOnException` for
/// non-fetch calls, where it has nothing to fall back to (each `fetch` gets its own, see
/// [`request_context`]). Built natively: parsing even a small snippet per isolate costs
/// kilobytes of RSS.
fn execution_context<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    let wait_until = Function::new(ctx.clone(), |ctx: Ctx<'js>, promise: Value<'js>| {
        let settled = await_value(&ctx, promise, |_, _| Ok(()));
        let isolate = Isolate::from_ctx(&ctx);
        let name = isolate.as_ref().map(|i| i.name().to_owned()).unwrap_or_default();
        // The request's JS time and subrequests go on counting until its waitUntil work ends.
        let accounting = isolate.zip(nanod_js::current_request()).map(|(i, id)| i.begin_request(id));
        // A drain waits for this work (see `lifecycle`).
        let busy = crate::lifecycle::busy();
        tokio::task::spawn_local(async move {
            let _busy = busy;
            let _accounting = accounting;
            match settled.await {
                // Work that can never finish is simply dropped, as in workerd.
                Ok(Err(exception)) if exception.message == nanod_js::HUNG => {}
                Ok(Err(exception)) => tracing::error!(service = %name, "{name}: Uncaught (in waitUntil) {exception}"),
                _ => {}
            }
        });
    })?
    .with_name("waitUntil")?;
    object.set("waitUntil", wait_until)?;
    object.set(
        "passThroughOnException",
        Function::new(ctx.clone(), pass_through_on_exception)?.with_name("passThroughOnException")?,
    )?;
    Ok(object)
}

type Pending = tokio::sync::oneshot::Receiver<Result<http::Response<Body>, JsException>>;

fn call_handler<'js>(
    ctx: &Ctx<'js>,
    instance: &Instance,
    request: http::Request<Body>,
    url: String,
    pass_through: &Rc<PassThrough>,
    call: Option<&CallTarget>,
) -> Result<Pending, JsException> {
    let caught = |ctx: &Ctx<'js>| JsException::from_value(ctx, ctx.catch());
    let isolate = &instance.isolate;
    let handler = isolate.peek(ctx, instance.handler).ok_or_else(|| JsException::error("handler vanished"))?;
    let shared = isolate.peek(ctx, instance.exec_ctx).ok_or_else(|| JsException::error("ctx vanished"))?;
    let request = Request::from_http(ctx, request, url).map_err(|_| caught(ctx))?;
    let exec_ctx =
        request_context(shared, request.clone().into_value(), pass_through.clone()).map_err(|_| caught(ctx))?;
    let result: Value = if instance.service_worker {
        let dispatch = handler.into_function().ok_or_else(|| JsException::error("dispatcher vanished"))?;
        dispatch.call((request, exec_ctx)).map_err(|_| caught(ctx))?
    } else {
        let env = isolate.peek(ctx, instance.env).ok_or_else(|| JsException::error("env vanished"))?;
        let handler = match call.and_then(|c| c.entrypoint.as_deref()) {
            Some(export) => named_export(ctx, instance, export)?,
            None => handler,
        };
        if let Some(props) = call.and_then(|c| c.props.as_deref()) {
            let props = ctx.json_parse(props.as_bytes().to_vec()).map_err(|_| caught(ctx))?;
            exec_ctx.as_object().map(|c| c.set("props", props)).transpose().map_err(|_| caught(ctx))?;
        }
        let no_handler = || JsException::error("Handler does not export a fetch() function.");
        // A `WorkerEntrypoint` class is constructed per request, `fetch` getting the request alone.
        if let Some(class) = handler.as_constructor() {
            let entrypoint: Object = class.construct((exec_ctx, env)).map_err(|_| caught(ctx))?;
            let fetch: Function =
                entrypoint.get::<_, Value>("fetch").ok().and_then(Value::into_function).ok_or_else(no_handler)?;
            fetch.call((This(entrypoint), request)).map_err(|_| caught(ctx))?
        } else {
            let handler = handler.into_object().ok_or_else(no_handler)?;
            let fetch: Function =
                handler.get::<_, Value>("fetch").ok().and_then(Value::into_function).ok_or_else(no_handler)?;
            fetch.call((This(handler), request, env, exec_ctx)).map_err(|_| caught(ctx))?
        }
    };
    Ok(await_value(ctx, result, into_http_response))
}

fn into_http_response<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<http::Response<Body>, JsException> {
    let response = Class::<Response>::from_value(&value).map_err(|_| {
        JsException::type_error("Incorrect type for Promise: the Promise did not resolve to 'Response'.")
    })?;
    let mut response = response.borrow_mut();
    if response.is_error() {
        return Err(JsException::type_error(
            "Return value from serve handler must not be an error response (like Response.error()).",
        ));
    }
    response.take_http(ctx).map_err(|_| JsException::from_value(ctx, ctx.catch()))
}

/// `--predictable`: replaces `Math.random` with a fixed-seed generator (mulberry32), so every
/// isolate draws the same sequence. Only this mode pays for the parse.
fn predictable_random(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    ctx.eval::<(), _>(
        "Math.random = (() => { let s = 0x2545f491; return function random() { s = (s + 0x6d2b79f5) | 0; \
         let t = Math.imul(s ^ (s >>> 15), 1 | s); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; \
         return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; })();",
    )
}

/// Decodes an `application/x-www-form-urlencoded` value: `+` is a space, `%XX` a byte.
fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn form_decoding_of_the_cron_parameter() {
        assert_eq!(form_decode("*+*+*+*+*"), "* * * * *");
        assert_eq!(form_decode("*%2F5+*"), "*/5 *");
        assert_eq!(form_decode("50%"), "50%");
        assert_eq!(form_decode("%zz"), "%zz");
    }
}
