//! `EventTarget` (DOM §2.7): listener lists and event dispatch.
//!
//! A native class that JS can extend (`class Bus extends EventTarget {}`): rquickjs gives the
//! new object `new.target.prototype`, so subclass instances are still `EventTarget` instances
//! underneath. `AbortSignal` instances are `EventTarget` instances too, carrying their abort
//! state in [`EventTarget::signal`] (see [`crate::abort`]); that is how the listener methods
//! work on signals without a second copy of them.
//!
//! Dispatch follows the DOM's algorithm for a target with no parent, all at `AT_TARGET`, with
//! workerd's departures where it has them: capture listeners are refused, an exception thrown by
//! a listener ends the dispatch and propagates out of `dispatchEvent`, and `currentTarget` keeps
//! its value afterwards. Listeners added during a dispatch are not called by it; one removed
//! during a dispatch is not called after its removal.
//!
//! ```js
//! const t = new EventTarget();
//! t.addEventListener("ping", (e) => e.preventDefault(), { once: true });
//! t.dispatchEvent(new Event("ping", { cancelable: true })); // false: canceled
//! ```
//!
//! No borrow of a target or an event is held while JS runs, so listeners may add, remove and
//! dispatch freely. Not here: parents and bubbling (a Worker has no DOM tree).

use rquickjs::class::{Trace, Tracer};
use rquickjs::function::{Opt, This};
use rquickjs::{Class, Coerced, Ctx, FromJs, JsLifetime, Object, Value};

use crate::abort::{self, SignalState};
use crate::event::{Event, AT_TARGET, NONE};
use crate::webidl::{dom_string, type_error};

/// One registered listener (DOM "event listener").
#[derive(JsLifetime)]
struct Listener<'js> {
    id: u64,
    kind: String,
    /// A function or an object with `handleEvent`; `undefined` for an event handler
    /// attribute's listener (`onabort`), whose current value is looked up when it runs.
    callback: Value<'js>,
    once: bool,
    passive: bool,
    handler: bool,
}

impl<'js> Trace<'js> for Listener<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.callback.trace(tracer);
    }
}

#[derive(JsLifetime, Default)]
#[rquickjs::class]
pub struct EventTarget<'js> {
    listeners: Vec<Listener<'js>>,
    next_id: u64,
    /// Event handler attribute values (`onabort`...), by event type.
    handlers: Vec<Handler<'js>>,
    /// Present when this target is an `AbortSignal`.
    pub(crate) signal: Option<Box<SignalState<'js>>>,
}

/// An event handler attribute's value (`onabort`), by event type.
#[derive(JsLifetime)]
struct Handler<'js> {
    kind: String,
    value: Value<'js>,
}

impl<'js> Trace<'js> for EventTarget<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        for listener in &self.listeners {
            listener.trace(tracer);
        }
        for handler in &self.handlers {
            handler.value.trace(tracer);
        }
        if let Some(signal) = &self.signal {
            signal.trace(tracer);
        }
    }
}

impl<'js> EventTarget<'js> {
    /// A target that is an `AbortSignal`.
    pub(crate) fn with_signal(signal: SignalState<'js>) -> Self {
        EventTarget { signal: Some(Box::new(signal)), ..EventTarget::default() }
    }

    /// Removes the listener `id`, if it is still registered.
    pub(crate) fn remove_listener(&mut self, id: u64) {
        self.listeners.retain(|l| l.id != id);
    }

    /// The value of the event handler attribute for `kind` (`null` when unset).
    pub(crate) fn handler(&self, ctx: &Ctx<'js>, kind: &str) -> Value<'js> {
        self.handlers.iter().find(|h| h.kind == kind).map_or_else(|| Value::new_null(ctx.clone()), |h| h.value.clone())
    }

    /// Sets an event handler attribute (HTML §8.1.8.1): the first non-null value registers a
    /// listener at the current end of the list; `null` (or any non-object) removes it.
    pub(crate) fn set_handler(&mut self, kind: &str, value: Value<'js>) {
        if !value.is_object() {
            self.handlers.retain(|h| h.kind != kind);
            self.listeners.retain(|l| !(l.handler && l.kind == kind));
            return;
        }
        if let Some(slot) = self.handlers.iter_mut().find(|h| h.kind == kind) {
            slot.value = value;
            return;
        }
        let ctx = value.ctx().clone();
        self.handlers.push(Handler { kind: kind.to_owned(), value });
        self.next_id += 1;
        self.listeners.push(Listener {
            id: self.next_id,
            kind: kind.to_owned(),
            callback: Value::new_undefined(ctx),
            once: false,
            passive: false,
            handler: true,
        });
    }
}

/// `this` as an `EventTarget`, or the TypeError WebIDL throws for a wrong receiver.
fn this_target<'js>(ctx: &Ctx<'js>, this: &Value<'js>) -> rquickjs::Result<Class<'js, EventTarget<'js>>> {
    Class::<EventTarget>::from_value(this).map_err(|_| type_error(ctx, "Illegal invocation"))
}

/// The options of `addEventListener`/`removeEventListener`.
struct Options<'js> {
    capture: bool,
    once: bool,
    passive: bool,
    signal: Option<Class<'js, EventTarget<'js>>>,
}

fn options<'js>(ctx: &Ctx<'js>, value: Option<Value<'js>>, add: bool) -> rquickjs::Result<Options<'js>> {
    let mut out = Options { capture: false, once: false, passive: false, signal: None };
    let Some(value) = value else { return Ok(out) };
    // A Worker has no tree to capture through: workerd rejects capture listeners, and so do we.
    let Some(object) = value.as_object() else {
        out.capture = Coerced::<bool>::from_js(ctx, value)?.0;
        if out.capture && add {
            return Err(type_error(ctx, "addEventListener(): useCapture must be false."));
        }
        return Ok(out);
    };
    let flag = |name: &str| -> rquickjs::Result<bool> { Ok(Coerced::<bool>::from_js(ctx, object.get(name)?)?.0) };
    out.capture = flag("capture")?;
    if out.capture && add {
        return Err(type_error(ctx, "addEventListener(): options.capture must be false."));
    }
    if add {
        out.once = flag("once")?;
        out.passive = flag("passive")?;
        let signal: Value = object.get("signal")?;
        if !signal.is_undefined() {
            out.signal = Some(abort::as_signal(&signal).ok_or_else(|| {
                type_error(
                    ctx,
                    "Failed to execute 'addEventListener' on 'EventTarget': member signal is not of type 'AbortSignal'.",
                )
            })?);
        }
    }
    Ok(out)
}

/// Checks the `type` and `callback` arguments; `None` for a null callback (a no-op).
fn type_and_callback<'js>(
    ctx: &Ctx<'js>,
    method: &str,
    kind: Opt<Value<'js>>,
    callback: Opt<Value<'js>>,
) -> rquickjs::Result<Option<(String, Value<'js>)>> {
    let (Some(kind), Some(callback)) = (kind.0, callback.0) else {
        return Err(type_error(ctx, &format!("Failed to execute '{method}' on 'EventTarget': 2 arguments required.")));
    };
    let kind = dom_string(ctx, kind)?;
    if callback.is_null() || callback.is_undefined() {
        return Ok(None);
    }
    if !callback.is_object() {
        return Err(type_error(
            ctx,
            &format!("Failed to execute '{method}' on 'EventTarget': parameter 2 is not of type 'EventListener'."),
        ));
    }
    Ok(Some((kind, callback)))
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> EventTarget<'js> {
    #[qjs(constructor)]
    pub fn new() -> Self {
        EventTarget::default()
    }

    pub fn add_event_listener(
        ctx: Ctx<'js>,
        this: This<Value<'js>>,
        kind: Opt<Value<'js>>,
        callback: Opt<Value<'js>>,
        opts: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let target = this_target(&ctx, &this.0)?;
        let checked = type_and_callback(&ctx, "addEventListener", kind, callback)?;
        // Options are read before any borrow: their getters are JS and may touch the target.
        let opts = options(&ctx, opts.0, true)?;
        let Some((kind, callback)) = checked else { return Ok(()) };
        if let Some(signal) = &opts.signal {
            if abort::is_aborted(signal)? {
                return Ok(());
            }
        }
        let id = {
            let mut t = target.try_borrow_mut()?;
            let duplicate = t.listeners.iter().any(|l| !l.handler && l.kind == kind && l.callback == callback);
            if duplicate {
                return Ok(());
            }
            t.next_id += 1;
            let id = t.next_id;
            t.listeners.push(Listener { id, kind, callback, once: opts.once, passive: opts.passive, handler: false });
            id
        };
        if let Some(signal) = &opts.signal {
            abort::remove_listener_on_abort(signal, target.clone(), id)?;
        }
        Ok(())
    }

    pub fn remove_event_listener(
        ctx: Ctx<'js>,
        this: This<Value<'js>>,
        kind: Opt<Value<'js>>,
        callback: Opt<Value<'js>>,
        opts: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let target = this_target(&ctx, &this.0)?;
        let checked = type_and_callback(&ctx, "removeEventListener", kind, callback)?;
        let opts = options(&ctx, opts.0, false)?;
        let Some((kind, callback)) = checked else { return Ok(()) };
        if opts.capture {
            return Ok(()); // no capture listener can have been added
        }
        target.try_borrow_mut()?.listeners.retain(|l| l.handler || l.kind != kind || l.callback != callback);
        Ok(())
    }

    pub fn dispatch_event(ctx: Ctx<'js>, this: This<Value<'js>>, event: Opt<Value<'js>>) -> rquickjs::Result<bool> {
        let target = this_target(&ctx, &this.0)?;
        let event = event.0.and_then(|e| Class::<Event>::from_value(&e).ok()).ok_or_else(|| {
            type_error(&ctx, "Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.")
        })?;
        if event.try_borrow()?.flags.dispatching {
            return Err(crate::webidl::dom_exception(
                &ctx,
                "InvalidStateError",
                "The event is already being dispatched.",
            ));
        }
        event.try_borrow_mut()?.flags.trusted = false;
        dispatch(&ctx, &target, &event)
    }
}

/// What a dispatch needs of a listener, copied so that no borrow is held while it runs.
struct Snapshot<'js> {
    id: u64,
    callback: Value<'js>,
    once: bool,
    passive: bool,
    handler: bool,
}

/// Dispatches `event` at `target` (DOM "dispatch"); returns `false` if it was canceled. The
/// caller has checked that `event` is not being dispatched already.
pub fn dispatch<'js>(
    ctx: &Ctx<'js>,
    target: &Class<'js, EventTarget<'js>>,
    event: &Class<'js, Event<'js>>,
) -> rquickjs::Result<bool> {
    let target_object = target.clone().into_inner();
    let kind = {
        let mut e = event.try_borrow_mut()?;
        e.flags.dispatching = true;
        e.target = Some(target_object.clone());
        e.current_target = Some(target_object.clone());
        e.phase = AT_TARGET;
        e.kind().to_owned()
    };
    let invoked = invoke_all(ctx, target, &target_object, event, &kind);
    let mut e = event.try_borrow_mut()?;
    e.phase = NONE;
    // workerd keeps currentTarget after dispatch (the DOM would reset it).
    e.flags.dispatching = false;
    e.flags.stop_propagation = false;
    e.flags.stop_immediate_propagation = false;
    e.flags.in_passive_listener = false;
    invoked?;
    Ok(!(e.flags.canceled || e.flags.prevent_default_called))
}

/// DOM "invoke" at the target. There is one pass: capture listeners are refused at
/// registration (as in workerd), so the capturing pass would always be empty.
fn invoke_all<'js>(
    ctx: &Ctx<'js>,
    target: &Class<'js, EventTarget<'js>>,
    target_object: &Object<'js>,
    event: &Class<'js, Event<'js>>,
    kind: &str,
) -> rquickjs::Result<()> {
    let event_value = event.clone().into_value();
    if event.try_borrow()?.flags.stop_propagation {
        return Ok(());
    }
    let snapshot: Vec<Snapshot> = target
        .try_borrow()?
        .listeners
        .iter()
        .filter(|l| l.kind == kind)
        .map(|l| Snapshot {
            id: l.id,
            callback: l.callback.clone(),
            once: l.once,
            passive: l.passive,
            handler: l.handler,
        })
        .collect();
    for listener in snapshot {
        {
            let mut t = target.try_borrow_mut()?;
            // Removed since the snapshot: skip it (DOM "removed" flag).
            let Some(position) = t.listeners.iter().position(|l| l.id == listener.id) else { continue };
            if listener.once {
                t.listeners.remove(position);
            }
        }
        event.try_borrow_mut()?.flags.in_passive_listener = listener.passive;
        let outcome = call_listener(ctx, target, target_object, &event_value, &listener, kind);
        event.try_borrow_mut()?.flags.in_passive_listener = false;
        match outcome {
            Ok(Some(false)) => event.try_borrow_mut()?.cancel(),
            Ok(_) => {}
            // As in workerd: a throwing listener ends the dispatch and the error propagates
            // out of dispatchEvent (browsers report it and go on).
            Err(error) => return Err(error),
        }
        if event.try_borrow()?.flags.stop_immediate_propagation {
            return Ok(());
        }
    }
    Ok(())
}

/// Calls one listener. For an event handler attribute, returns `Some(false)` when the handler
/// returned `false` (which cancels the event).
fn call_listener<'js>(
    ctx: &Ctx<'js>,
    target: &Class<'js, EventTarget<'js>>,
    target_object: &Object<'js>,
    event: &Value<'js>,
    listener: &Snapshot<'js>,
    kind: &str,
) -> rquickjs::Result<Option<bool>> {
    if listener.handler {
        let handler = target.try_borrow()?.handler(ctx, kind);
        let Some(function) = handler.into_function() else { return Ok(None) };
        let returned: Value = function.call((This(target_object.clone()), event.clone()))?;
        return Ok(returned.as_bool());
    }
    if let Some(function) = listener.callback.as_function() {
        function.call::<_, Value>((This(target_object.clone()), event.clone()))?;
        return Ok(None);
    }
    let Some(object) = listener.callback.as_object() else { return Ok(None) };
    let handle: Value = object.get("handleEvent")?;
    let Some(handle) = handle.into_function() else {
        return Err(type_error(ctx, "The 'handleEvent' property of the event listener is not a function."));
    };
    handle.call::<_, Value>((This(object.clone()), event.clone()))?;
    Ok(None)
}

/// Installs the `EventTarget` constructor.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    crate::headers::constructor::<EventTarget>(ctx)
}

/// This isolate's `EventTarget.prototype` (made on first use, even before the global is read).
pub(crate) fn prototype<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    Class::<EventTarget>::prototype(ctx)?.ok_or(rquickjs::Error::Unknown)
}

#[cfg(test)]
mod tests {
    use crate::testing::check_expressions;

    #[test]
    fn listeners_run_in_order_once_and_deduplicated() {
        check_expressions(&[
            ("(() => { const t = new EventTarget(); let n = 0; const f = () => n++; t.addEventListener('a', f); t.addEventListener('a', f); t.dispatchEvent(new Event('a')); return n })()", "1"),
            ("(() => { const t = new EventTarget(); let n = 0; t.addEventListener('a', () => n++, {once: true}); t.dispatchEvent(new Event('a')); t.dispatchEvent(new Event('a')); return n })()", "1"),
            // workerd refuses capture listeners.
            ("(() => { const t = new EventTarget(); const log = []; t.addEventListener('a', () => log.push('bub')); t.addEventListener('a', () => log.push('cap'), true); t.dispatchEvent(new Event('a')); return log.join() })()", "threw TypeError"),
            // workerd: a throwing listener ends the dispatch and its error propagates.
            ("(() => { const t = new EventTarget(); t.addEventListener('a', () => { throw new Error('x') }); let after = 0; t.addEventListener('a', () => after++); return t.dispatchEvent(new Event('a')) + ':' + after })()", "threw Error"),
            ("new EventTarget().dispatchEvent('a')", "threw TypeError"),
            ("EventTarget.prototype.addEventListener.call({}, 'a', () => {})", "threw TypeError"),
        ]);
    }
}
