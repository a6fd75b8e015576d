//! Bindings: building a Worker's `env`, and service bindings, which hand a request (or a JS
//! RPC) to another service on the same thread (no socket, no serialization to bytes).
//!
//! A service binding may name an entrypoint (`service = (name = "auth", entrypoint = "Auth")`):
//! a named export of the target Worker, a `WorkerEntrypoint` class or a plain object, whose
//! `fetch` and methods the binding reaches. Its `props` (JSON) become `ctx.props` in the
//! target for every call through the binding. A binding without either takes the plain
//! [`ThreadServices::dispatch`] path, as before.
//!
//! A binding (or `globalOutbound`) with `timeoutMs` or a `fallback` (nanod extensions) goes
//! through [`crate::failover`]; one with neither pays nothing for them.

use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use nanod_js::JsException;
use nanod_web::body::Body;
use nanod_web::fetcher::{FetchFuture, FetchTarget, RpcFuture};
use nanod_web::rpc::RpcCall;
use nanod_web::structured_clone::Cloned;
use rquickjs::{ArrayBuffer, Ctx, Object, Value};

use crate::failover::Failover;
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
    /// How long a call may go unanswered (`timeoutMs`); `None` (or 0): no limit.
    pub timeout_ms: Option<u32>,
    /// Who answers a call that fails or times out.
    pub fallback: Option<Box<ServiceTarget>>,
}

impl ServiceTarget {
    /// A designator's target, with its chain of fallbacks; every `props` in it is checked to
    /// parse as JSON.
    pub fn from_designator(designator: &nanod_config::ServiceDesignator) -> Result<ServiceTarget, String> {
        if let Some(props) = &designator.props_json {
            serde_json::from_str::<serde_json::Value>(props).map_err(|e| format!("invalid props JSON: {e}"))?;
        }
        let fallback = designator.fallback.as_deref().map(ServiceTarget::from_designator).transpose()?;
        Ok(ServiceTarget {
            service: designator.name.clone(),
            entrypoint: designator.entrypoint.clone(),
            props: designator.props_json.as_deref().map(Into::into),
            timeout_ms: designator.timeout_ms,
            fallback: fallback.map(Box::new),
        })
    }

    /// Just `service`'s default entrypoint, with no props, timeout or fallback.
    pub fn plain(service: &str) -> ServiceTarget {
        ServiceTarget { service: service.to_owned(), entrypoint: None, props: None, timeout_ms: None, fallback: None }
    }
}

/// A service binding (or a `globalOutbound`): requests go to `target` on this thread.
pub struct ServiceBinding {
    pub target: Rc<str>,
    /// Named entrypoint and `ctx.props` of calls through this binding, if any.
    pub call: Option<Rc<CallTarget>>,
    pub services: Weak<ThreadServices>,
    /// `timeoutMs` and `fallback`, if the binding has either.
    pub failover: Option<Rc<Failover>>,
    /// Its call counter (empty with metrics off).
    pub metrics: crate::metrics::BindingMetrics,
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
        ServiceBinding { target: target.into(), call: None, services, failover: None, metrics: Default::default() }
    }

    /// The binding `binding` of Worker `caller` to `target`, with its entrypoint, props,
    /// timeout and chain of fallbacks.
    pub fn to(target: &ServiceTarget, caller: &str, binding: &str, services: &Weak<ThreadServices>) -> ServiceBinding {
        let call = (target.entrypoint.is_some() || target.props.is_some()).then(|| {
            Rc::new(CallTarget {
                entrypoint: target.entrypoint.clone(),
                props: target.props.as_deref().map(str::to_owned),
            })
        });
        let timeout = target.timeout_ms.filter(|&ms| ms > 0).map(|ms| Duration::from_millis(ms.into()));
        let fallback =
            target.fallback.as_deref().map(|next| Rc::new(ServiceBinding::to(next, caller, binding, services)));
        let failover = (timeout.is_some() || fallback.is_some())
            .then(|| Rc::new(Failover { caller: caller.into(), binding: binding.into(), timeout, fallback }));
        let metrics = crate::metrics::BindingMetrics::new(caller, binding, &target.service);
        ServiceBinding { target: target.service.as_str().into(), call, services: services.clone(), failover, metrics }
    }

    fn hop(&self) -> Hop {
        Hop { services: self.services.clone(), target: self.target.clone(), call: self.call.clone() }
    }

    /// A JS RPC with the exception (if any) as the target (or the last fallback) threw it,
    /// before [`nanod_web::rpc::rpc_exception`] shapes it for the caller.
    pub fn call_raw(&self, rpc: RpcCall) -> RpcFuture {
        self.metrics.called();
        let hop = self.hop();
        match self.failover.clone() {
            None => Box::pin(hop.rpc(rpc)),
            Some(failover) => Box::pin(async move {
                let target = hop.target.clone();
                failover.call(&target, rpc, |rpc| hop.rpc(rpc)).await
            }),
        }
    }
}

/// One call to a binding's own target, without its failover.
struct Hop {
    services: Weak<ThreadServices>,
    target: Rc<str>,
    call: Option<Rc<CallTarget>>,
}

impl Hop {
    async fn fetch(self, request: http::Request<Body>) -> Result<http::Response<Body>, JsException> {
        let services = self.services.upgrade().ok_or_else(|| JsException::error("the server is shutting down"))?;
        // Only a binding with an entrypoint or props needs more than `dispatch`.
        match self.call.and_then(|call| services.worker(&self.target).map(|worker| (call, worker))) {
            Some((call, worker)) => worker.fetch_entrypoint(request, &call).await,
            None => services.dispatch(&self.target, request).await,
        }
    }

    async fn rpc(self, rpc: RpcCall) -> Result<Cloned, JsException> {
        let services = self.services.upgrade().ok_or_else(|| JsException::error("the server is shutting down"))?;
        let Some(worker) = services.worker(&self.target) else {
            return Err(JsException::error("Network connection lost."));
        };
        let call = self.call.unwrap_or_default();
        // An RPC is one of the callee's requests in its metrics, as a fetch is.
        let started = crate::metrics::start(&self.target);
        let outcome = worker.rpc(&call, rpc).await;
        crate::metrics::finish_rpc(started, &outcome);
        outcome
    }
}

impl FetchTarget for ServiceBinding {
    fn fetch(&self, mut request: http::Request<Body>) -> FetchFuture {
        self.metrics.fetched(&mut request);
        let hop = self.hop();
        match self.failover.clone() {
            None => Box::pin(hop.fetch(request)),
            Some(failover) => Box::pin(async move {
                let target = hop.target.clone();
                failover.fetch(&target, request, |request| hop.fetch(request)).await
            }),
        }
    }

    fn call(&self, rpc: RpcCall) -> RpcFuture {
        let raw = self.call_raw(rpc);
        Box::pin(async move { raw.await.map_err(nanod_web::rpc::rpc_exception) })
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
        env.set(binding.name.as_str(), binding_value(ctx, &worker.name, &binding.name, &binding.value, services)?)?;
    }
    Ok(env)
}

fn binding_value<'js>(
    ctx: &Ctx<'js>,
    caller: &str,
    name: &str,
    value: &BindingValue,
    services: &Weak<ThreadServices>,
) -> rquickjs::Result<Value<'js>> {
    Ok(match value {
        BindingValue::Text(text) => rquickjs::String::from_str(ctx.clone(), text)?.into_value(),
        BindingValue::Data(bytes) => ArrayBuffer::new_copy(ctx.clone(), &**bytes)?.into_value(),
        BindingValue::Json(text) => ctx.json_parse(text.as_bytes().to_vec())?,
        BindingValue::Service(target) => {
            let binding = ServiceBinding::to(target, caller, name, services);
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
    // A target and its chain of fallbacks (each named "...'s fallback").
    let check_chain = |mut who: String, target: &ServiceTarget| -> Result<(), ServerError> {
        let mut current = Some(target);
        while let Some(target) = current {
            if let Some(entrypoint) = &target.entrypoint {
                check(who.clone(), &target.service, entrypoint)?;
            }
            who.push_str("'s fallback");
            current = target.fallback.as_deref();
        }
        Ok(())
    };
    for name in order {
        let Some(PreparedService::Worker(worker)) = prepared.services.get(name) else { continue };
        for binding in &worker.bindings {
            let BindingValue::Service(target) = &binding.value else { continue };
            check_chain(format!("Worker \"{name}\"'s binding \"{}\"", binding.name), target)?;
        }
        if let Some(fallback) = &worker.global_outbound_target.fallback {
            check_chain(format!("Worker \"{name}\"'s globalOutbound's fallback"), fallback)?;
        }
    }
    for socket in sockets {
        if let Some(entrypoint) = &socket.service.entrypoint {
            check(format!("Socket \"{}\"", socket.name), &socket.service.name, entrypoint)?;
        }
    }
    Ok(())
}
