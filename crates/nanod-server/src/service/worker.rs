//! A Worker service on one thread: its isolate, created on the first request and then reused
//! (module state persists between requests), and the call into its `fetch` handler.
//!
//! Isolate life: *cold* (no isolate) → *starting* (modules evaluating; concurrent first
//! requests wait on the same start) → *ready*. A Worker whose start failed keeps the error and
//! answers every request with it, logged, without touching other Workers.

use std::rc::{Rc, Weak};
use std::sync::Arc;

use nanod_js::{await_value, Isolate, IsolateLimits, JsException};
use nanod_web::body::Body;
use nanod_web::request::Request;
use nanod_web::response::Response;
use rquickjs::function::This;
use rquickjs::{Class, Ctx, Function, Module, Object, Value};
use tokio::sync::OnceCell;

use crate::binding::{build_env, ServiceBinding};
use crate::prepare::{PreparedWorker, Script};
use crate::thread::ThreadServices;

pub struct WorkerService {
    prepared: Arc<PreparedWorker>,
    services: Weak<ThreadServices>,
    instance: OnceCell<Result<Rc<Instance>, JsException>>,
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
}

/// Builds a call's arguments inside the isolate, given the Worker's `env` and `ctx`.
pub type CallArgs = Box<dyn for<'js> FnOnce(&Ctx<'js>, Value<'js>, Value<'js>) -> rquickjs::Result<Vec<Value<'js>>>>;

/// Turns a call's settled result into Rust data, inside the isolate.
pub type Convert<T> = for<'a> fn(&Ctx<'a>, Value<'a>) -> Result<T, JsException>;

impl WorkerService {
    pub fn new(prepared: Arc<PreparedWorker>, services: Weak<ThreadServices>) -> WorkerService {
        WorkerService { prepared, services, instance: OnceCell::new() }
    }

    /// The started isolate, starting it on first use.
    async fn instance(&self) -> Result<Rc<Instance>, JsException> {
        // The start future is large and runs once: box it so every request's future stays small.
        match self.instance.get() {
            Some(ready) => ready.clone(),
            None => self.instance.get_or_init(|| Box::pin(self.start())).await.clone(),
        }
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
        let pending = instance.isolate.enter(|ctx| -> Result<_, JsException> {
            let caught = |ctx: &Ctx<'_>| JsException::from_value(ctx, ctx.catch());
            let isolate = &instance.isolate;
            let namespace = instance
                .namespace
                .and_then(|key| isolate.peek(&ctx, key))
                .and_then(Value::into_object)
                .ok_or_else(|| JsException::error("a service-worker script has no exports"))?;
            let env = isolate.peek(&ctx, instance.env).ok_or_else(|| JsException::error("env vanished"))?;
            let exec_ctx = isolate.peek(&ctx, instance.exec_ctx).ok_or_else(|| JsException::error("ctx vanished"))?;
            let exported: Value = namespace.get(export).map_err(|_| caught(&ctx))?;
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
        })?;
        pending.await.unwrap_or_else(|_| Err(JsException::error("The script will never generate a response.")))
    }

    /// Runs the Worker's `fetch` handler for `request` (whose URI is absolute).
    pub async fn fetch(&self, request: http::Request<Body>) -> Result<http::Response<Body>, JsException> {
        let instance = self.instance().await?;
        let url = request.uri().to_string();
        let isolate = instance.isolate.clone();
        let pending = isolate.enter(|ctx| call_handler(&ctx, &instance, request, url))?;
        pending.await.unwrap_or_else(|_| Err(JsException::error("The script will never generate a response.")))
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
        let isolate = Isolate::new(&prepared.name, code.clone(), IsolateLimits::default())
            .map_err(|e| JsException::error(format!("cannot create an isolate: {e}")))?;
        let services = self.services.clone();
        let started = isolate.enter(|ctx| -> Result<_, JsException> {
            let caught = |ctx: &Ctx<'_>| JsException::from_value(ctx, ctx.catch());
            nanod_web::install_globals(&ctx).map_err(|_| caught(&ctx))?;
            let outbound =
                ServiceBinding { target: prepared.global_outbound.as_str().into(), services: services.clone() };
            nanod_web::fetcher::set_global_outbound(&ctx, Rc::new(outbound)).map_err(|_| caught(&ctx))?;
            let env = build_env(&ctx, prepared, &services).map_err(|_| caught(&ctx))?;
            let exec_ctx = execution_context(&ctx).map_err(|_| caught(&ctx))?;
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
        handler.map(|(handler, namespace)| {
            Rc::new(Instance { isolate, handler, namespace, env, exec_ctx, service_worker })
        })
    }
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

/// The `ctx` argument of `fetch`: `waitUntil` keeps work going after the response (its
/// failure is logged), and `passThroughOnException` is accepted (there is no origin to fall back
/// to). Built natively: parsing even a small snippet per isolate costs kilobytes of RSS.
fn execution_context<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    let wait_until = Function::new(ctx.clone(), |ctx: Ctx<'js>, promise: Value<'js>| {
        let settled = await_value(&ctx, promise, |_, _| Ok(()));
        let name = Isolate::from_ctx(&ctx).map(|i| i.name().to_owned()).unwrap_or_default();
        tokio::task::spawn_local(async move {
            match settled.await {
                // Work that can never finish is simply dropped, as in workerd.
                Ok(Err(exception)) if exception.message == nanod_js::HUNG => {}
                Ok(Err(exception)) => eprintln!("{name}: Uncaught (in waitUntil) {exception}"),
                _ => {}
            }
        });
    })?
    .with_name("waitUntil")?;
    object.set("waitUntil", wait_until)?;
    object.set("passThroughOnException", Function::new(ctx.clone(), || {})?.with_name("passThroughOnException")?)?;
    Ok(object)
}

type Pending = tokio::sync::oneshot::Receiver<Result<http::Response<Body>, JsException>>;

fn call_handler<'js>(
    ctx: &Ctx<'js>,
    instance: &Instance,
    request: http::Request<Body>,
    url: String,
) -> Result<Pending, JsException> {
    let caught = |ctx: &Ctx<'js>| JsException::from_value(ctx, ctx.catch());
    let isolate = &instance.isolate;
    let handler = isolate.peek(ctx, instance.handler).ok_or_else(|| JsException::error("handler vanished"))?;
    let exec_ctx = isolate.peek(ctx, instance.exec_ctx).ok_or_else(|| JsException::error("ctx vanished"))?;
    let request = Request::from_http(ctx, request, url).map_err(|_| caught(ctx))?;
    let result: Value = if instance.service_worker {
        let dispatch = handler.into_function().ok_or_else(|| JsException::error("dispatcher vanished"))?;
        dispatch.call((request, exec_ctx)).map_err(|_| caught(ctx))?
    } else {
        let env = isolate.peek(ctx, instance.env).ok_or_else(|| JsException::error("env vanished"))?;
        let no_handler = || JsException::error("Handler does not export a fetch() function.");
        let handler = handler.into_object().ok_or_else(no_handler)?;
        let fetch: Function =
            handler.get::<_, Value>("fetch").ok().and_then(Value::into_function).ok_or_else(no_handler)?;
        fetch.call((This(handler), request, env, exec_ctx)).map_err(|_| caught(ctx))?
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
