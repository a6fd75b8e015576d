//! The JS that must be JS, compiled once per process and evaluated once per isolate, on the
//! first use of an API that needs it.
//!
//! Each glue file is an ES module without imports. Its bytecode is made on first use in the
//! process (behind a `OnceLock`) and shared by every thread; an isolate evaluates it the first
//! time it asks for the module's namespace and keeps that namespace parked for later calls.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use nanod_js::bytecode::{compile_module, Bytecode};
use nanod_js::Isolate;
use rquickjs::{Ctx, Function, JsLifetime, Object};

/// A glue module: its name and source.
pub struct Glue {
    name: &'static str,
    source: &'static str,
    compiled: OnceLock<Result<Bytecode, String>>,
}

impl Glue {
    pub const fn new(name: &'static str, source: &'static str) -> Glue {
        Glue { name, source, compiled: OnceLock::new() }
    }

    /// The module's bytecode, compiled on first use in the process.
    pub fn bytecode(&self) -> Result<&Bytecode, &str> {
        self.compiled
            .get_or_init(|| compile_module(self.name, self.source).map_err(|e| e.message))
            .as_ref()
            .map_err(String::as_str)
    }
}

pub static STREAMS: Glue = Glue::new("nanod:streams", include_str!("js/streams.js"));
pub static SERVICE_WORKER: Glue = Glue::new("nanod:service-worker", include_str!("js/service_worker.js"));

/// Per-isolate cache: glue name → parked namespace key.
#[derive(Default, JsLifetime)]
struct Loaded(RefCell<HashMap<&'static str, u32>>);

/// The namespace object of `glue` in this isolate, evaluating it on first use.
pub fn namespace<'js>(ctx: &Ctx<'js>, glue: &'static Glue) -> rquickjs::Result<Object<'js>> {
    let isolate = Isolate::from_ctx(ctx).ok_or(rquickjs::Error::Unknown)?;
    if ctx.userdata::<Loaded>().is_none() {
        ctx.store_userdata(Loaded::default()).map_err(|_| rquickjs::Error::Unknown)?;
    }
    let cached = ctx.userdata::<Loaded>().and_then(|l| l.0.borrow().get(glue.name).copied());
    if let Some(key) = cached {
        if let Some(ns) = isolate.peek(ctx, key).and_then(|v| v.into_object()) {
            return Ok(ns);
        }
    }
    let bytecode = glue.bytecode().map_err(|message| rquickjs::Error::new_loading_message(glue.name, message))?;
    let module = nanod_js::bytecode::load_module(ctx, bytecode)?;
    let (module, promise) = module.eval()?;
    promise.finish::<()>()?;
    let ns = module.namespace()?;
    let key = isolate.park(ctx, ns.clone().into_value());
    if let Some(loaded) = ctx.userdata::<Loaded>() {
        loaded.0.borrow_mut().insert(glue.name, key);
    }
    Ok(ns)
}

/// A function exported by `glue`.
pub fn function<'js>(ctx: &Ctx<'js>, glue: &'static Glue, name: &str) -> rquickjs::Result<Function<'js>> {
    namespace(ctx, glue)?.get(name)
}
