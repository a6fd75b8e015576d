//! JS RPC over service bindings: `await env.AUTH.check(token)` calls the method `check` of the
//! target Worker's entrypoint, in that Worker's isolate on the same thread.
//!
//! The caller's side lives here. Any property of a [`Fetcher`] that it does not have itself
//! (`fetch`, `Object.prototype`'s members) is a stub ([`install`], `js/rpc.js`): calling it
//! structured-serializes the arguments into a [`Cloned`] tree (no JS value, no bytes), hands
//! them to the binding's [`FetchTarget::call`], and settles the caller's promise with the
//! result deserialized in the caller's isolate; awaiting a stub without calling it reads the
//! property. The callee's side (finding the entrypoint, calling the method, serializing the
//! result) is the embedder's (nanod-server's `WorkerService::rpc`), as is fetch.
//!
//! Exceptions cross as [`JsException`]s shaped as workerd shapes them ([`rpc_exception`]).
//! A call's promise is pipelined (`await env.X.user().name`), in the caller, on the cloned
//! result. Functions and `RpcTarget`s are not passed by reference: they fail to clone with a
//! `DataCloneError` (workerd passes them as stubs).

use nanod_js::{spawn_promise, JsException, Settle};
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Function, JsLifetime, Promise, Value};

use crate::fetcher::{FetchTarget, Fetcher};
use crate::glue::Glue;
use crate::structured_clone::{serialize, Cloned, ERROR_NAMES};

static RPC: Glue = Glue::new("nanod:rpc", include_str!("js/rpc.js"));

/// One RPC: a method call (`args` is the serialized argument array) or, with `args` `None`,
/// a property read.
#[derive(Debug, Clone)]
pub struct RpcCall {
    pub method: String,
    pub args: Option<Cloned>,
    /// The request the calling entry works for, which the callee's entry works for too.
    pub request: Option<nanod_js::RequestId>,
}

/// Marks an isolate whose `Fetcher` prototype has the stub Proxy.
#[derive(JsLifetime)]
struct Installed;

/// Makes every `Fetcher` of this isolate an RPC stub for the names it does not have itself;
/// once per isolate (the first service binding made there).
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    if ctx.userdata::<Installed>().is_some() {
        return Ok(());
    }
    let proto = Class::<Fetcher>::prototype(ctx)?.ok_or(rquickjs::Error::Unknown)?;
    let call = Function::new(ctx.clone(), call)?.with_name("call")?;
    let install: Function = crate::glue::function(ctx, &RPC, "install")?;
    install.call::<_, ()>((proto, call))?;
    ctx.store_userdata(Installed).map_err(|_| rquickjs::Error::Unknown)?;
    Ok(())
}

/// A new `Fetcher` (a service binding) for `target`, with RPC stubs.
pub fn binding<'js>(ctx: &Ctx<'js>, target: std::rc::Rc<dyn FetchTarget>) -> rquickjs::Result<Value<'js>> {
    let fetcher = Class::instance(ctx.clone(), Fetcher::new(target))?;
    install(ctx)?;
    Ok(fetcher.into_value())
}

/// The stubs' native half: `call(fetcher, name, args)`; `args` undefined reads the property.
fn call<'js>(
    ctx: Ctx<'js>,
    fetcher: Class<'js, Fetcher>,
    method: String,
    args: Opt<Value<'js>>,
) -> rquickjs::Result<Promise<'js>> {
    // Every RPC call is a subrequest of the calling request, as in workerd.
    if let Err(exception) = nanod_js::limits::subrequest(&ctx) {
        let (promise, _resolve, reject) = ctx.promise()?;
        reject.call::<_, ()>((exception.to_value(&ctx)?,))?;
        return Ok(promise);
    }
    let args = match args.0.filter(|a| !a.is_undefined()) {
        Some(args) => Some(serialize(&ctx, args)?),
        None => None,
    };
    let target = fetcher.borrow().target();
    let future =
        target.call(RpcCall { method, args, request: nanod_js::current_request().map(nanod_js::RequestId::hop) });
    spawn_promise(&ctx, async move { future.await.map(Returned) })
}

/// An RPC result, deserialized in the caller's isolate.
struct Returned(Cloned);

impl Settle for Returned {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.0.to_value(ctx)
    }
}

/// The arguments of an RPC, deserialized in the callee's isolate.
pub fn arguments<'js>(ctx: &Ctx<'js>, args: &Cloned) -> rquickjs::Result<Vec<Value<'js>>> {
    let array = args.to_value(ctx)?;
    let array = array.as_object().ok_or(rquickjs::Error::Unknown)?;
    let length: usize = array.get("length")?;
    (0..length).map(|i| array.get::<_, Value>(i as u32)).collect()
}

/// A method's result, serialized in the callee's isolate (a `DataCloneError` if it cannot be).
pub fn result<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Result<Cloned, JsException> {
    serialize(ctx, value).map_err(|_| JsException::from_value(ctx, ctx.catch()))
}

/// An exception thrown by an RPC method, as the caller sees it (workerd's shape): a
/// `DOMException` or an error of a standard name keeps its name and message; any other name
/// becomes an `Error` whose message is `Name: message`; a thrown non-error becomes an `Error`
/// with its string form. The callee's stack stays in the callee.
pub fn rpc_exception(exception: JsException) -> JsException {
    if exception.message == nanod_js::HUNG {
        return exception;
    }
    let JsException { name, message, dom, .. } = exception;
    if dom {
        return JsException::dom(&name, message);
    }
    if ERROR_NAMES.contains(&name.as_str()) {
        return JsException::new(&name, message);
    }
    if name == "Uncaught" {
        return JsException::error(message);
    }
    JsException::error(format!("{name}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_take_workerds_shape() {
        let check = |e: JsException, name: &str, message: &str, dom: bool| {
            let e = rpc_exception(e);
            assert_eq!((e.name.as_str(), e.message.as_str(), e.dom, e.stack), (name, message, dom, None));
        };
        let mut with_stack = JsException::new("RangeError", "bad");
        with_stack.stack = Some("at f".to_owned());
        check(with_stack, "RangeError", "bad", false);
        check(JsException::new("Custom", "named"), "Error", "Custom: named", false);
        check(JsException::dom("AbortError", "stop"), "AbortError", "stop", true);
        check(JsException::dom("SyntaxError", "dom syntax"), "SyntaxError", "dom syntax", true);
        check(
            JsException { name: "Uncaught".into(), message: "str".into(), stack: None, dom: false },
            "Error",
            "str",
            false,
        );
    }
}
