//! Bindings: building a Worker's `env`, and service bindings, which hand a request to another
//! service on the same thread (no socket, no serialization of the HTTP message).

use std::rc::{Rc, Weak};

use nanod_js::JsException;
use nanod_web::body::Body;
use nanod_web::fetcher::{FetchFuture, FetchTarget, Fetcher};
use rquickjs::{ArrayBuffer, Class, Ctx, Object, Value};

use crate::prepare::{BindingValue, PreparedWorker};
use crate::thread::ThreadServices;

/// A service binding (or a `globalOutbound`): requests go to `target` on this thread.
pub struct ServiceBinding {
    pub target: Rc<str>,
    pub services: Weak<ThreadServices>,
}

impl FetchTarget for ServiceBinding {
    fn fetch(&self, request: http::Request<Body>) -> FetchFuture {
        let services = self.services.clone();
        let target = self.target.clone();
        Box::pin(async move {
            let services = services.upgrade().ok_or_else(|| JsException::error("the server is shutting down"))?;
            services.dispatch(&target, request).await
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
            let binding = ServiceBinding { target: target.as_str().into(), services: services.clone() };
            Class::instance(ctx.clone(), Fetcher::new(Rc::new(binding)))?.into_value()
        }
        BindingValue::Environment(Some(text)) => rquickjs::String::from_str(ctx.clone(), text)?.into_value(),
        BindingValue::Environment(None) => Value::new_null(ctx.clone()),
    })
}
