//! `AbortController` and `AbortSignal` (DOM §3.1, §3.2).
//!
//! `AbortController` is a native class holding its signal. An `AbortSignal` is an
//! [`EventTarget`] instance whose [`EventTarget::signal`] holds a [`SignalState`] and whose
//! prototype is `AbortSignal.prototype` (a plain object inheriting `EventTarget.prototype`,
//! built natively once per isolate and parked there). So a signal is an `EventTarget` in every
//! sense that matters, `addEventListener` and `dispatchEvent` included, without a second class
//! duplicating the listener list.
//!
//! ```js
//! const c = new AbortController();
//! c.signal.onabort = () => console.log(c.signal.reason.name); // "AbortError"
//! c.abort();
//! await fetch(url, { signal: AbortSignal.any([c.signal, AbortSignal.timeout(5000)]) });
//! ```
//!
//! Aborting runs the signal's abort steps (listeners registered with `{ signal }` are removed),
//! then fires a trusted `abort` event once, then does the same for dependent signals made by
//! `AbortSignal.any`. Sources reach their dependents through JS `WeakRef`s, so a long-lived
//! signal does not keep every `any()` result alive. `AbortSignal.timeout` uses the isolate's
//! timers (`nanod_js::timers`); a pending timeout counts as outstanding work for hang detection.
//!
//! Rust work that a signal can cancel (a pending `fetch()`, a response body still streaming)
//! registers an [`AbortStep`] with [`add_abort_step`]: aborting runs it, inside the isolate, with
//! the reason. A step holds no JS value (it is `'static`); it reaches its work through Rust
//! handles and parked keys. Finished steps are dropped when the next one is added, so a
//! long-lived signal reused for many fetches keeps only the steps of work still pending.

use std::rc::Rc;

use nanod_js::Isolate;
use rquickjs::class::{Trace, Tracer};
use rquickjs::function::{Opt, This};
use rquickjs::object::{Accessor, Property};
use rquickjs::{Array, Class, Coerced, Constructor, Ctx, FromJs, Function, JsLifetime, Object, Value};

use crate::event::Event;
use crate::event_target::{self, EventTarget};
use crate::webidl::type_error;

/// The abort state of a signal (DOM "AbortSignal" internal slots).
#[derive(Default, JsLifetime)]
pub struct SignalState<'js> {
    /// `Some` once aborted.
    reason: Option<Value<'js>>,
    /// Abort steps: listeners to remove, as (target, listener id).
    remove_on_abort: Vec<RemoveListener<'js>>,
    /// Made by `AbortSignal.any`.
    dependent: bool,
    /// For a dependent signal: the non-dependent signals it follows.
    sources: Vec<Class<'js, EventTarget<'js>>>,
    /// `WeakRef`s to the dependent signals following this one.
    dependents: Vec<Object<'js>>,
    /// Abort steps of Rust work (see [`AbortStep`]).
    rust_steps: Vec<Rc<dyn AbortStep>>,
}

/// An abort step of Rust work (DOM "add an algorithm to an AbortSignal"): a pending fetch
/// rejects and drops its future, a streaming body errors.
pub trait AbortStep {
    /// Runs once, inside the isolate, when the signal aborts with `reason`.
    fn abort<'js>(&self, ctx: &Ctx<'js>, reason: &Value<'js>);
    /// True once the work has ended: the step will never be needed and may be dropped.
    fn is_done(&self) -> bool;
}

impl<'js> Trace<'js> for SignalState<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.reason.trace(tracer);
        for step in &self.remove_on_abort {
            step.target.trace(tracer);
        }
        self.sources.trace(tracer);
        self.dependents.trace(tracer);
    }
}

/// An abort step: remove listener `id` of `target` (for `addEventListener(.., { signal })`).
#[derive(JsLifetime)]
struct RemoveListener<'js> {
    target: Class<'js, EventTarget<'js>>,
    id: u64,
}

/// `value` as an `AbortSignal`, if it is one.
pub fn as_signal<'js>(value: &Value<'js>) -> Option<Class<'js, EventTarget<'js>>> {
    let target = Class::<EventTarget>::from_value(value).ok()?;
    let is_signal = target.try_borrow().is_ok_and(|t| t.signal.is_some());
    is_signal.then_some(target)
}

fn with_state<'js, R>(
    signal: &Class<'js, EventTarget<'js>>,
    f: impl FnOnce(&mut SignalState<'js>) -> R,
) -> rquickjs::Result<R> {
    let mut target = signal.try_borrow_mut()?;
    let state = target.signal.as_deref_mut().ok_or(rquickjs::Error::Unknown)?;
    Ok(f(state))
}

pub fn is_aborted<'js>(signal: &Class<'js, EventTarget<'js>>) -> rquickjs::Result<bool> {
    with_state(signal, |s| s.reason.is_some())
}

/// The abort reason, or `None` while the signal is not aborted.
pub fn reason<'js>(signal: &Class<'js, EventTarget<'js>>) -> rquickjs::Result<Option<Value<'js>>> {
    with_state(signal, |s| s.reason.clone())
}

/// Registers an abort step removing listener `id` of `target`.
pub(crate) fn remove_listener_on_abort<'js>(
    signal: &Class<'js, EventTarget<'js>>,
    target: Class<'js, EventTarget<'js>>,
    id: u64,
) -> rquickjs::Result<()> {
    with_state(signal, |s| s.remove_on_abort.push(RemoveListener { target, id }))
}

/// Adds `step` to the abort steps of `signal` (which must not be aborted yet: check
/// [`reason`] first). Steps of finished work are dropped on the way.
pub fn add_abort_step<'js>(signal: &Class<'js, EventTarget<'js>>, step: Rc<dyn AbortStep>) -> rquickjs::Result<()> {
    with_state(signal, |s| {
        s.rust_steps.retain(|step| !step.is_done());
        s.rust_steps.push(step);
    })
}

/// A new, not aborted `AbortSignal`.
pub fn new_signal<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Class<'js, EventTarget<'js>>> {
    Class::instance_proto(EventTarget::with_signal(SignalState::default()), signal_prototype(ctx)?)
}

/// DOM "signal abort": sets the reason (a new `AbortError` by default), runs the abort steps
/// and fires `abort` on the signal and then on its dependents. A no-op if already aborted.
pub fn signal_abort<'js>(
    ctx: &Ctx<'js>,
    signal: &Class<'js, EventTarget<'js>>,
    reason: Option<Value<'js>>,
) -> rquickjs::Result<()> {
    if is_aborted(signal)? {
        return Ok(());
    }
    let reason = match reason.filter(|r| !r.is_undefined()) {
        Some(reason) => reason,
        None => crate::webidl::new_dom_exception(ctx, "AbortError", "The operation was aborted")?,
    };
    let weak_dependents = with_state(signal, |s| {
        s.reason = Some(reason.clone());
        std::mem::take(&mut s.dependents)
    })?;
    let mut to_abort = Vec::new();
    for weak in weak_dependents {
        let Some(dependent) = deref(&weak)? else { continue };
        if with_state(&dependent, |s| s.reason.is_none())? {
            with_state(&dependent, |s| s.reason = Some(reason.clone()))?;
            to_abort.push(dependent);
        }
    }
    run_abort_steps(ctx, signal)?;
    for dependent in &to_abort {
        run_abort_steps(ctx, dependent)?;
    }
    Ok(())
}

/// DOM "run the abort steps": remove `{ signal }` listeners, run the Rust steps, then fire a
/// trusted `abort`.
fn run_abort_steps<'js>(ctx: &Ctx<'js>, signal: &Class<'js, EventTarget<'js>>) -> rquickjs::Result<()> {
    let (steps, rust_steps, reason) = with_state(signal, |s| {
        (std::mem::take(&mut s.remove_on_abort), std::mem::take(&mut s.rust_steps), s.reason.clone())
    })?;
    for step in steps {
        step.target.try_borrow_mut()?.remove_listener(step.id);
    }
    let reason = reason.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
    for step in rust_steps {
        step.abort(ctx, &reason);
    }
    let mut event = Event::with_type("abort", false, false);
    event.flags.trusted = true;
    let event = Event::instance(ctx, event)?;
    event_target::dispatch(ctx, signal, &event)?;
    Ok(())
}

fn deref<'js>(weak: &Object<'js>) -> rquickjs::Result<Option<Class<'js, EventTarget<'js>>>> {
    let deref: Function = weak.get("deref")?;
    let target: Value = deref.call((This(weak.clone()),))?;
    Ok(as_signal(&target))
}

/// `this` as an `AbortSignal`, or the TypeError WebIDL throws for a wrong receiver.
fn this_signal<'js>(ctx: &Ctx<'js>, this: &Value<'js>) -> rquickjs::Result<Class<'js, EventTarget<'js>>> {
    as_signal(this).ok_or_else(|| type_error(ctx, "Illegal invocation"))
}

/// `AbortSignal.abort(reason)`: an already aborted signal.
fn abort_static<'js>(ctx: Ctx<'js>, reason: Opt<Value<'js>>) -> rquickjs::Result<Class<'js, EventTarget<'js>>> {
    let signal = new_signal(&ctx)?;
    let reason = match reason.0.filter(|r| !r.is_undefined()) {
        Some(reason) => reason,
        None => crate::webidl::new_dom_exception(&ctx, "AbortError", "The operation was aborted")?,
    };
    with_state(&signal, |s| s.reason = Some(reason))?;
    Ok(signal)
}

/// `AbortSignal.timeout(ms)`: aborts with a `TimeoutError` after `ms` milliseconds.
fn timeout_static<'js>(ctx: Ctx<'js>, ms: Opt<Value<'js>>) -> rquickjs::Result<Class<'js, EventTarget<'js>>> {
    // WebIDL `[EnforceRange] unsigned long long`.
    let ms = match ms.0 {
        Some(v) => Coerced::<f64>::from_js(&ctx, v)?.0,
        None => return Err(type_error(&ctx, "Failed to execute 'timeout' on 'AbortSignal': 1 argument required.")),
    };
    if !ms.is_finite() || ms.trunc() < 0.0 || ms.trunc() > 9_007_199_254_740_991.0 {
        return Err(type_error(
            &ctx,
            "Failed to execute 'timeout' on 'AbortSignal': Value is outside the 'unsigned long long' value range.",
        ));
    }
    let signal = new_signal(&ctx)?;
    let fire = Function::new(ctx.clone(), |ctx: Ctx<'js>, signal: Value<'js>| {
        let Some(signal) = as_signal(&signal) else { return Ok(()) };
        let reason =
            crate::webidl::new_dom_exception(&ctx, "TimeoutError", "The operation was aborted due to timeout")?;
        signal_abort(&ctx, &signal, Some(reason))
    })?;
    nanod_js::timers::set_timer(
        &ctx,
        fire,
        nanod_js::timers::delay_from_ms(ms.trunc()),
        vec![signal.clone().into_value()],
        false,
    )?;
    Ok(signal)
}

/// `AbortSignal.any(signals)`: a signal aborted when the first of `signals` is.
fn any_static<'js>(ctx: Ctx<'js>, signals: Opt<Value<'js>>) -> rquickjs::Result<Class<'js, EventTarget<'js>>> {
    let list = match signals.0 {
        Some(v) if v.is_object() => {
            let from: Function = ctx.globals().get::<_, Object>("Array")?.get("from")?;
            from.call::<_, Array>((v,))?
        }
        _ => {
            return Err(type_error(
                &ctx,
                "Failed to execute 'any' on 'AbortSignal': The provided value cannot be converted to a sequence.",
            ))
        }
    };
    let mut inputs = Vec::with_capacity(list.len());
    for (i, value) in list.iter::<Value>().enumerate() {
        let signal = as_signal(&value?).ok_or_else(|| {
            type_error(
                &ctx,
                &format!("Failed to execute 'any' on 'AbortSignal': element {i} is not of type 'AbortSignal'."),
            )
        })?;
        inputs.push(signal);
    }
    let result = new_signal(&ctx)?;
    for input in &inputs {
        if let Some(reason) = reason(input)? {
            with_state(&result, |s| s.reason = Some(reason))?;
            return Ok(result);
        }
    }
    with_state(&result, |s| s.dependent = true)?;
    let weak_ref: Constructor = ctx.globals().get("WeakRef")?;
    let weak: Object = weak_ref.construct((result.clone(),))?;
    for input in &inputs {
        let (dependent, sources) = with_state(input, |s| (s.dependent, s.sources.clone()))?;
        let sources = if dependent { sources } else { vec![input.clone()] };
        for source in sources {
            let known = with_state(&result, |s| s.sources.iter().any(|k| k.as_object() == source.as_object()))?;
            if known {
                continue;
            }
            with_state(&result, |s| s.sources.push(source.clone()))?;
            // Drop references to dependents already collected before adding this one.
            let mut dependents = with_state(&source, |s| std::mem::take(&mut s.dependents))?;
            let mut live = Vec::with_capacity(dependents.len() + 1);
            for w in dependents.drain(..) {
                if deref(&w)?.is_some() {
                    live.push(w);
                }
            }
            live.push(weak.clone());
            with_state(&source, |s| s.dependents = live)?;
        }
    }
    Ok(result)
}

/// Per-isolate key of the parked `AbortSignal.prototype`.
#[derive(Default, JsLifetime)]
struct SignalProto(std::cell::Cell<Option<u32>>);

/// This isolate's `AbortSignal.prototype`, built on first use (a signal can be made, by
/// `new AbortController()`, before the `AbortSignal` global is ever read).
fn signal_prototype<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let isolate = Isolate::from_ctx(ctx).ok_or(rquickjs::Error::Unknown)?;
    if ctx.userdata::<SignalProto>().is_none() {
        ctx.store_userdata(SignalProto::default()).map_err(|_| rquickjs::Error::Unknown)?;
    }
    let key = ctx.userdata::<SignalProto>().and_then(|p| p.0.get());
    if let Some(proto) = key.and_then(|key| isolate.peek(ctx, key)).and_then(Value::into_object) {
        return Ok(proto);
    }
    let proto = build_signal_prototype(ctx)?;
    let key = isolate.park(ctx, proto.clone().into_value());
    if let Some(slot) = ctx.userdata::<SignalProto>() {
        slot.0.set(Some(key));
    }
    Ok(proto)
}

fn build_signal_prototype<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let proto = Object::new(ctx.clone())?;
    proto.set_prototype(Some(&event_target::prototype(ctx)?))?;

    let aborted = |ctx: Ctx<'js>, this: This<Value<'js>>| is_aborted(&this_signal(&ctx, &this.0)?);
    proto.prop("aborted", Accessor::new_get(aborted).configurable().enumerable())?;

    let get_reason = |ctx: Ctx<'js>, this: This<Value<'js>>| {
        let reason = reason(&this_signal(&ctx, &this.0)?)?;
        Ok::<_, rquickjs::Error>(reason.unwrap_or_else(|| Value::new_undefined(ctx.clone())))
    };
    proto.prop("reason", Accessor::new_get(get_reason).configurable().enumerable())?;

    let get_onabort = |ctx: Ctx<'js>, this: This<Value<'js>>| {
        let signal = this_signal(&ctx, &this.0)?;
        let handler = signal.try_borrow()?.handler(&ctx, "abort");
        Ok::<_, rquickjs::Error>(handler)
    };
    let set_onabort = |ctx: Ctx<'js>, this: This<Value<'js>>, value: Value<'js>| {
        let signal = this_signal(&ctx, &this.0)?;
        signal.try_borrow_mut()?.set_handler("abort", value);
        Ok::<_, rquickjs::Error>(())
    };
    proto.prop("onabort", Accessor::new(get_onabort, set_onabort).configurable().enumerable())?;

    let throw_if_aborted = Function::new(ctx.clone(), |ctx: Ctx<'js>, this: This<Value<'js>>| {
        match reason(&this_signal(&ctx, &this.0)?)? {
            Some(reason) => Err(ctx.throw(reason)),
            None => Ok(()),
        }
    })?
    .with_name("throwIfAborted")?;
    proto.prop("throwIfAborted", Property::from(throw_if_aborted).writable().configurable().enumerable())?;

    let ctor = Function::new(ctx.clone(), |ctx: Ctx<'js>| -> rquickjs::Result<()> {
        Err(type_error(&ctx, "Illegal constructor"))
    })?
    .with_name("AbortSignal")?
    .with_constructor(true);
    let statics = [
        ("abort", Function::new(ctx.clone(), abort_static)?.with_length(0)?),
        ("timeout", Function::new(ctx.clone(), timeout_static)?.with_length(1)?),
        ("any", Function::new(ctx.clone(), any_static)?.with_length(1)?),
    ];
    for (name, f) in statics {
        ctor.prop(name, Property::from(f.with_name(name)?).writable().configurable().enumerable())?;
    }
    ctor.prop("prototype", Property::from(proto.clone()))?;
    ctor.set_prototype(Some(&event_target_constructor(ctx)?))?;
    proto.prop("constructor", Property::from(ctor).writable().configurable())?;
    Ok(proto)
}

/// The `EventTarget` global, so that `Object.getPrototypeOf(AbortSignal) === EventTarget`.
fn event_target_constructor<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    nanod_js::globals::get(ctx, "EventTarget")?.into_object().ok_or(rquickjs::Error::Unknown)
}

#[derive(JsLifetime)]
#[rquickjs::class]
pub struct AbortController<'js> {
    signal: Class<'js, EventTarget<'js>>,
}

impl<'js> Trace<'js> for AbortController<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.signal.trace(tracer);
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> AbortController<'js> {
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'js>) -> rquickjs::Result<Self> {
        Ok(AbortController { signal: new_signal(&ctx)? })
    }

    #[qjs(get)]
    pub fn signal(&self) -> Class<'js, EventTarget<'js>> {
        self.signal.clone()
    }

    pub fn abort(ctx: Ctx<'js>, this: This<Value<'js>>, reason: Opt<Value<'js>>) -> rquickjs::Result<()> {
        let controller =
            Class::<AbortController>::from_value(&this.0).map_err(|_| type_error(&ctx, "Illegal invocation"))?;
        // The borrow ends here: `abort` listeners may call `abort()` again.
        let signal = controller.try_borrow()?.signal.clone();
        signal_abort(&ctx, &signal, reason.0)
    }
}

/// Installs the `AbortController` constructor.
pub fn install_abort_controller<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    crate::headers::constructor::<AbortController>(ctx)
}

/// Installs the `AbortSignal` constructor (which only throws: signals come from controllers
/// and the static methods).
pub fn install_abort_signal<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    signal_prototype(ctx)?.get("constructor")
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_expressions, run_js};

    #[test]
    fn abort_once_with_default_reason() {
        check_expressions(&[
            ("(() => { const c = new AbortController(); let n = 0; c.signal.onabort = () => n++; c.abort(); c.abort(); return n + ':' + c.signal.reason.name + ':' + c.signal.reason.code })()", "1:AbortError:20"),
            ("new AbortController().signal.aborted", "false"),
            ("new AbortController().signal instanceof EventTarget", "true"),
            ("new AbortSignal()", "threw TypeError"),
            ("AbortSignal.abort('r').reason", "r"),
            ("Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted').get.call(new EventTarget())", "threw TypeError"),
        ]);
    }

    /// A Rust step that counts its runs and reports itself done after `done` is set.
    struct Step {
        runs: std::cell::Cell<u32>,
        done: std::cell::Cell<bool>,
    }

    impl super::AbortStep for Step {
        fn abort<'js>(&self, _: &rquickjs::Ctx<'js>, reason: &rquickjs::Value<'js>) {
            assert_eq!(reason.as_string().and_then(|s| s.to_string().ok()).as_deref(), Some("why"));
            self.runs.set(self.runs.get() + 1);
        }
        fn is_done(&self) -> bool {
            self.done.get()
        }
    }

    #[test]
    fn rust_steps_run_once_on_abort_and_finished_ones_are_dropped() {
        use std::rc::Rc;
        let isolate = nanod_js::Isolate::new("t", None, nanod_js::IsolateLimits::default()).unwrap();
        isolate.enter(|ctx| {
            crate::install_globals(&ctx).unwrap();
            let signal = super::new_signal(&ctx).unwrap();
            let step = || Rc::new(Step { runs: Default::default(), done: Default::default() });
            let (finished, pending) = (step(), step());
            super::add_abort_step(&signal, finished.clone()).unwrap();
            finished.done.set(true);
            super::add_abort_step(&signal, pending.clone()).unwrap();
            let count = super::with_state(&signal, |s| s.rust_steps.len()).unwrap();
            assert_eq!(count, 1, "the finished step was not dropped");
            let reason = rquickjs::String::from_str(ctx.clone(), "why").unwrap().into_value();
            super::signal_abort(&ctx, &signal, Some(reason.clone())).unwrap();
            super::signal_abort(&ctx, &signal, Some(reason)).unwrap();
            assert_eq!((finished.runs.get(), pending.runs.get()), (0, 1));
        });
    }

    #[test]
    fn timeout_fires_between_timers() {
        let out = run_js(
            r#"const log = []; const s = AbortSignal.timeout(20);
               setTimeout(() => log.push('t5'), 5); setTimeout(() => log.push('t40'), 40);
               s.onabort = () => log.push('abort:' + s.reason.name);
               setTimeout(() => { globalThis.result = log.join(); }, 60);"#,
        );
        assert_eq!(out, "t5,abort:TimeoutError,t40");
    }
}
