//! Bindings: building a Worker's `env`, and service bindings, which hand a request (or a JS
//! RPC) to another service on the same thread (no socket, no serialization to bytes).
//!
//! A service binding may name an entrypoint (`service = (name = "auth", entrypoint = "Auth")`):
//! a named export of the target Worker, a `WorkerEntrypoint` class or a plain object, whose
//! `fetch` and methods the binding reaches. Its `props` (JSON) become `ctx.props` in the
//! target for every call through the binding. A binding without either takes the plain
//! [`ThreadServices::dispatch`] path, as before.

use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use nanod_js::JsException;
use nanod_web::body::Body;
use nanod_web::fetcher::{FetchFuture, FetchTarget, RpcFuture};
use nanod_web::rpc::RpcCall;
use rquickjs::{ArrayBuffer, Ctx, Object, Value};

use crate::prepare::{BindingValue, Prepared, PreparedService, PreparedWorker};
use crate::thread::ThreadServices;
use crate::ServerError;

/// What a service binding designates, prepared once per process.
#[derive(Debug, Clone)]
pub struct ServiceTarget {
    pub service: String,
    /// A named export of the target Worker; `None`: its default export.
    pub entrypoint: Option<String>,
    /// `props.json`, already checked to parse.
    pub props: Option<Arc<str>>,
}

/// A service binding (or a `globalOutbound`): requests go to `target` on this thread.
pub struct ServiceBinding {
    pub target: Rc<str>,
    /// Named entrypoint and `ctx.props` of calls through this binding, if any.
    pub call: Option<Rc<CallTarget>>,
    pub services: Weak<ThreadServices>,
}

/// The entrypoint and props of a binding's calls.
#[derive(Debug, Default)]
pub struct CallTarget {
    pub entrypoint: Option<String>,
    /// JSON text of `ctx.props`.
    pub props: Option<String>,
}

impl ServiceBinding {
    /// A binding to the default entrypoint of `target`, with no props.
    pub fn new(target: &str, services: Weak<ThreadServices>) -> ServiceBinding {
        ServiceBinding { target: target.into(), call: None, services }
    }
}

impl FetchTarget for ServiceBinding {
    fn fetch(&self, request: http::Request<Body>) -> FetchFuture {
        let services = self.services.clone();
        let target = self.target.clone();
        let call = self.call.clone();
        Box::pin(async move {
            let services = services.upgrade().ok_or_else(|| JsException::error("the server is shutting down"))?;
            // Only a binding with an entrypoint or props needs more than `dispatch`.
            match call.and_then(|call| services.worker(&target).map(|worker| (call, worker))) {
                Some((call, worker)) => worker.fetch_entrypoint(request, &call).await,
                None => services.dispatch(&target, request).await,
            }
        })
    }

    fn call(&self, rpc: RpcCall) -> RpcFuture {
        let services = self.services.clone();
        let target = self.target.clone();
        let call = self.call.clone();
        Box::pin(async move {
            let services = services.upgrade().ok_or_else(|| JsException::error("the server is shutting down"))?;
            let Some(worker) = services.worker(&target) else {
                return Err(JsException::error("Network connection lost."));
            };
            let call = call.unwrap_or_default();
            worker.rpc(&call, rpc).await
        })
    }
}

/// Builds the `env` object: exactly the configured bindings, in config order.
pub fn build_env<'js>(
    ctx: &Ctx<'js>,
    worker: &PreparedWorker,
    services: &Weak<ThreadServices>,
) -> rquickjs::Result<Object<'js>> {
    let env = Object::new(ctx.clone())?;
    for binding in &worker.bindings {
        env.set(binding.name.as_str(), binding_value(ctx, &binding.value, services)?)?;
    }
    Ok(env)
}

fn binding_value<'js>(
    ctx: &Ctx<'js>,
    value: &BindingValue,
    services: &Weak<ThreadServices>,
) -> rquickjs::Result<Value<'js>> {
    Ok(match value {
        BindingValue::Text(text) => rquickjs::String::from_str(ctx.clone(), text)?.into_value(),
        BindingValue::Data(bytes) => ArrayBuffer::new_copy(ctx.clone(), &**bytes)?.into_value(),
        BindingValue::Json(text) => ctx.json_parse(text.as_bytes().to_vec())?,
        BindingValue::Service(target) => {
            let call = (target.entrypoint.is_some() || target.props.is_some()).then(|| {
                Rc::new(CallTarget {
                    entrypoint: target.entrypoint.clone(),
                    props: target.props.as_deref().map(str::to_owned),
                })
            });
            let binding = ServiceBinding { target: target.service.as_str().into(), call, services: services.clone() };
            nanod_web::rpc::binding(ctx, Rc::new(binding))?
        }
        BindingValue::Environment(Some(text)) => rquickjs::String::from_str(ctx.clone(), text)?.into_value(),
        BindingValue::Environment(None) => Value::new_null(ctx.clone()),
    })
}

/// Checks every service binding's named entrypoint against the exports of its target, once
/// every Worker has been evaluated (`exports`: Worker name → its export names), with workerd's
/// wording. Bindings are checked in config order (`order`); the first failure is returned.
pub fn check_entrypoints(
    prepared: &Prepared,
    order: &[String],
    sockets: &[nanod_config::Socket],
    exports: &HashMap<String, Vec<String>>,
) -> Result<(), ServerError> {
    let check = |who: String, service: &str, entrypoint: &str| -> Result<(), ServerError> {
        let prefix = format!(
            "{who} refers to service \"{service}\" with a named entrypoint \"{entrypoint}\", but \"{service}\""
        );
        let message = match (prepared.services.get(service), exports.get(service)) {
            (Some(PreparedService::Worker(_)), Some(names)) if names.iter().any(|n| n == entrypoint) => return Ok(()),
            (Some(PreparedService::Worker(_)), _) => format!("{prefix} has no such named entrypoint."),
            (Some(_), _) => format!("{prefix} is not a Worker, so does not have any named entrypoints."),
            // An unknown service is reported by the config's own checks.
            (None, _) => return Ok(()),
        };
        Err(ServerError::Entrypoint(message))
    };
    for name in order {
        let Some(PreparedService::Worker(worker)) = prepared.services.get(name) else { continue };
        for binding in &worker.bindings {
            let BindingValue::Service(target) = &binding.value else { continue };
            let Some(entrypoint) = &target.entrypoint else { continue };
            check(format!("Worker \"{name}\"'s binding \"{}\"", binding.name), &target.service, entrypoint)?;
        }
    }
    for socket in sockets {
        if let Some(entrypoint) = &socket.service.entrypoint {
            check(format!("Socket \"{}\"", socket.name), &socket.service.name, entrypoint)?;
        }
    }
    Ok(())
}
