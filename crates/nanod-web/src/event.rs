//! `Event` and `CustomEvent` (DOM §2.2, §2.4): the object handed to event listeners.
//!
//! `Event` is a native class; dispatch itself lives in [`crate::event_target`], which sets the
//! dispatch-time fields (`target`, `currentTarget`, `eventPhase`) through the crate-private
//! setters here. `CustomEvent` is not a second Rust class: its constructor makes an `Event`
//! instance whose prototype is `CustomEvent.prototype` (itself inheriting `Event.prototype`)
//! and stores `detail` in the same struct, exactly as `class CustomEvent extends Event` would.
//! That keeps every `Event` method working on a `CustomEvent` (and on JS subclasses of either).
//!
//! ```js
//! const e = new CustomEvent("ping", { cancelable: true, detail: { n: 1 } });
//! e.preventDefault(); // e.defaultPrevented === true
//! ```
//!
//! As in workerd, `timeStamp` is always 0 (no high-resolution clock reaches JS through events)
//! and there is no legacy `initEvent`. Not here: shadow trees and `composedPath` beyond the
//! single target (a Worker has no DOM tree).

use rquickjs::class::{Trace, Tracer};
use rquickjs::function::{Opt, This};
use rquickjs::object::{Accessor, Property};
use rquickjs::{Class, Coerced, Ctx, FromJs, Function, JsLifetime, Object, Value};

use crate::webidl::{dom_string, type_error};

/// `eventPhase` values, also exposed as constants on `Event` and `Event.prototype`.
pub const NONE: u16 = 0;
pub const CAPTURING_PHASE: u16 = 1;
pub const AT_TARGET: u16 = 2;
pub const BUBBLING_PHASE: u16 = 3;

const PHASE_CONSTANTS: [(&str, u16); 4] = [
    ("NONE", NONE),
    ("CAPTURING_PHASE", CAPTURING_PHASE),
    ("AT_TARGET", AT_TARGET),
    ("BUBBLING_PHASE", BUBBLING_PHASE),
];

/// The DOM's event flags (DOM §2.2 "flags").
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Flags {
    pub bubbles: bool,
    pub cancelable: bool,
    pub composed: bool,
    pub canceled: bool,
    /// `preventDefault()` was called by a non-passive listener, cancelable or not: workerd's
    /// `dispatchEvent` returns `false` then, though `defaultPrevented` follows the spec.
    pub prevent_default_called: bool,
    pub stop_propagation: bool,
    pub stop_immediate_propagation: bool,
    pub in_passive_listener: bool,
    pub dispatching: bool,
    pub trusted: bool,
}

#[derive(JsLifetime)]
#[rquickjs::class]
pub struct Event<'js> {
    kind: String,
    pub(crate) flags: Flags,
    pub(crate) phase: u16,
    pub(crate) target: Option<Object<'js>>,
    pub(crate) current_target: Option<Object<'js>>,
    /// `CustomEvent`'s `detail`; `None` for a plain `Event`.
    detail: Option<Value<'js>>,
}

impl<'js> Trace<'js> for Event<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.target.trace(tracer);
        self.current_target.trace(tracer);
        self.detail.trace(tracer);
    }
}

impl<'js> Event<'js> {
    /// A fresh, not-yet-dispatched event.
    pub fn with_type(kind: &str, bubbles: bool, cancelable: bool) -> Self {
        Event {
            kind: kind.to_owned(),
            flags: Flags { bubbles, cancelable, ..Flags::default() },
            phase: NONE,
            target: None,
            current_target: None,
            detail: None,
        }
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Creates the JS object for `event` (for events the platform fires, like `abort`), with
    /// the phase constants present on its prototype even if `Event` was never read.
    pub fn instance(ctx: &Ctx<'js>, event: Event<'js>) -> rquickjs::Result<Class<'js, Event<'js>>> {
        let proto = prototype(ctx)?;
        Class::instance_proto(event, proto)
    }

    /// Reads an `EventInit` dictionary (and `detail` for `CustomEventInit`).
    fn from_init(ctx: &Ctx<'js>, what: &str, kind: Opt<Value<'js>>, init: Opt<Value<'js>>) -> rquickjs::Result<Self> {
        let Some(kind) = kind.0 else {
            return Err(type_error(
                ctx,
                &format!("Failed to construct '{what}': 1 argument required, but only 0 present."),
            ));
        };
        let kind = dom_string(ctx, kind)?;
        let mut event = Event::with_type(&kind, false, false);
        if what == "CustomEvent" {
            // workerd: undefined unless given (the DOM default is null).
            event.detail = Some(Value::new_undefined(ctx.clone()));
        }
        let Some(init) = init.0.filter(|v| !v.is_undefined() && !v.is_null()) else { return Ok(event) };
        let Some(init) = init.into_object() else {
            return Err(type_error(
                ctx,
                &format!("Failed to construct '{what}': The provided value is not of type '{what}Init'."),
            ));
        };
        // Dictionary members are read in lexicographic order, as WebIDL requires.
        event.flags.bubbles = boolean(ctx, init.get("bubbles")?)?;
        event.flags.cancelable = boolean(ctx, init.get("cancelable")?)?;
        event.flags.composed = boolean(ctx, init.get("composed")?)?;
        if what == "CustomEvent" {
            let detail: Value = init.get("detail")?;
            if !detail.is_undefined() {
                event.detail = Some(detail);
            }
        }
        Ok(event)
    }

    /// DOM "set the canceled flag".
    pub(crate) fn cancel(&mut self) {
        if !self.flags.in_passive_listener {
            self.flags.prevent_default_called = true;
            if self.flags.cancelable {
                self.flags.canceled = true;
            }
        }
    }
}

fn boolean<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<bool> {
    Coerced::<bool>::from_js(ctx, value).map(|b| b.0)
}

/// `target`/`currentTarget` before dispatch: `undefined`, as in workerd (the DOM says `null`).
fn or_undefined<'js>(ctx: &Ctx<'js>, object: &Option<Object<'js>>) -> Value<'js> {
    object.clone().map_or_else(|| Value::new_undefined(ctx.clone()), Object::into_value)
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Event<'js> {
    #[qjs(constructor)]
    pub fn new(
        ctx: Ctx<'js>,
        new_target: This<Value<'js>>,
        kind: Opt<Value<'js>>,
        init: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        // Called with `new`, `this` is `new.target`; called as a plain function, it is not.
        if !new_target.0.is_function() {
            return Err(type_error(&ctx, "Failed to construct 'Event': Please use the 'new' operator."));
        }
        Event::from_init(&ctx, "Event", kind, init)
    }

    #[qjs(get, rename = "type")]
    pub fn get_type(&self) -> String {
        self.kind.clone()
    }

    #[qjs(get)]
    pub fn bubbles(&self) -> bool {
        self.flags.bubbles
    }

    #[qjs(get)]
    pub fn cancelable(&self) -> bool {
        self.flags.cancelable
    }

    #[qjs(get)]
    pub fn composed(&self) -> bool {
        self.flags.composed
    }

    #[qjs(get)]
    pub fn default_prevented(&self) -> bool {
        self.flags.canceled
    }

    /// Legacy mirror of `!defaultPrevented` (read-only here, as in workerd and Node).
    #[qjs(get)]
    pub fn return_value(&self) -> bool {
        !self.flags.canceled
    }

    #[qjs(get)]
    pub fn event_phase(&self) -> u16 {
        self.phase
    }

    #[qjs(get)]
    pub fn target(&self, ctx: Ctx<'js>) -> Value<'js> {
        or_undefined(&ctx, &self.target)
    }

    #[qjs(get)]
    pub fn src_element(&self, ctx: Ctx<'js>) -> Value<'js> {
        or_undefined(&ctx, &self.target)
    }

    #[qjs(get)]
    pub fn current_target(&self, ctx: Ctx<'js>) -> Value<'js> {
        or_undefined(&ctx, &self.current_target)
    }

    /// Always 0, as in workerd: events carry no high-resolution time.
    #[qjs(get)]
    pub fn time_stamp(&self) -> f64 {
        0.0
    }

    #[qjs(get)]
    pub fn is_trusted(&self) -> bool {
        self.flags.trusted
    }

    #[qjs(get)]
    pub fn cancel_bubble(&self) -> bool {
        self.flags.stop_propagation
    }

    #[qjs(set, rename = "cancelBubble")]
    pub fn set_cancel_bubble(&mut self, ctx: Ctx<'js>, value: Value<'js>) -> rquickjs::Result<()> {
        if boolean(&ctx, value)? {
            self.flags.stop_propagation = true;
        }
        Ok(())
    }

    pub fn prevent_default(&mut self) {
        self.cancel();
    }

    pub fn stop_propagation(&mut self) {
        self.flags.stop_propagation = true;
    }

    pub fn stop_immediate_propagation(&mut self) {
        self.flags.stop_propagation = true;
        self.flags.stop_immediate_propagation = true;
    }

    /// The path is only ever the current target: a Worker has no tree to bubble through.
    pub fn composed_path(&self, ctx: Ctx<'js>) -> rquickjs::Result<rquickjs::Array<'js>> {
        let path = rquickjs::Array::new(ctx)?;
        if let Some(target) = &self.current_target {
            path.set(0, target.clone())?;
        }
        Ok(path)
    }
}

/// `Event.prototype`, with the phase constants defined on first use.
fn prototype<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let proto = Class::<Event>::prototype(ctx)?.ok_or(rquickjs::Error::Unknown)?;
    if !proto.contains_key("NONE")? {
        define_phase_constants(&proto)?;
    }
    Ok(proto)
}

fn define_phase_constants(object: &Object<'_>) -> rquickjs::Result<()> {
    for (name, value) in PHASE_CONSTANTS {
        object.prop(name, Property::from(value).enumerable())?;
    }
    Ok(())
}

/// Installs the `Event` constructor.
pub fn install_event<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    prototype(ctx)?;
    let ctor = crate::headers::constructor::<Event>(ctx)?;
    if let Some(ctor) = ctor.as_object() {
        define_phase_constants(ctor)?;
    }
    Ok(ctor)
}

/// Installs the `CustomEvent` constructor: `Event` instances with `CustomEvent.prototype`.
pub fn install_custom_event<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    // The `Event` global itself (installing it if needed), not a second constructor.
    let event_ctor = nanod_js::globals::get(ctx, "Event")?;
    let proto = Object::new(ctx.clone())?;
    proto.set_prototype(Some(&prototype(ctx)?))?;
    let ctor = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, new_target: This<Value<'js>>, kind: Opt<Value<'js>>, init: Opt<Value<'js>>| {
            // Called as a constructor, `this` is `new.target`: its `prototype` is the one the
            // new object gets, which makes `class X extends CustomEvent` work.
            let Some(new_target) = new_target.0.into_function() else {
                return Err(type_error(
                    &ctx,
                    "Failed to construct 'CustomEvent': Please use the 'new' operator, this object constructor \
                     cannot be called as a function.",
                ));
            };
            let proto: Object = new_target.get("prototype")?;
            let event = Event::from_init(&ctx, "CustomEvent", kind, init)?;
            Class::instance_proto(event, proto)
        },
    )?
    .with_name("CustomEvent")?
    .with_length(1)?
    .with_constructor(true);
    let detail = |ctx: Ctx<'js>, this: This<Value<'js>>| {
        let event = Class::<Event>::from_value(&this.0)
            .ok()
            .filter(|e| e.borrow().detail.is_some())
            .ok_or_else(|| type_error(&ctx, "Illegal invocation"))?;
        let detail = event.borrow().detail.clone();
        Ok::<_, rquickjs::Error>(detail.unwrap_or_else(|| Value::new_null(ctx.clone())))
    };
    proto.prop("detail", Accessor::new_get(detail).configurable().enumerable())?;
    proto.prop("constructor", Property::from(ctor.clone()).writable().configurable())?;
    ctor.prop("prototype", Property::from(proto))?;
    // `Object.getPrototypeOf(CustomEvent) === Event`, for static inheritance.
    if let Some(event_ctor) = event_ctor.into_object() {
        ctor.set_prototype(Some(&event_ctor))?;
    }
    Ok(ctor.into_value())
}

#[cfg(test)]
mod tests {
    use crate::testing::check_expressions;

    #[test]
    fn flags_and_defaults() {
        check_expressions(&[
            ("new Event('a').type + new Event(5).type", "a5"),
            ("[new Event('a').bubbles, new Event('a').cancelable, new Event('a').defaultPrevented]", "false,false,false"),
            ("new Event('a', {bubbles: 1, cancelable: ''}).bubbles", "true"),
            ("new Event('a', {bubbles: 1, cancelable: ''}).cancelable", "false"),
            // workerd: undefined before dispatch (DOM: null).
            ("new Event('a').target", "undefined"),
            ("new Event('a').eventPhase + Event.AT_TARGET + new Event('a').BUBBLING_PHASE", "5"),
            ("new Event()", "threw TypeError"),
            ("new Event('a', 5)", "threw TypeError"),
            ("(() => { const e = new Event('a', {cancelable: true}); e.preventDefault(); return e.defaultPrevented + ':' + e.returnValue })()", "true:false"),
            ("(() => { const e = new Event('a'); e.preventDefault(); return e.defaultPrevented })()", "false"),
            ("new CustomEvent('c', {detail: 7}).detail", "7"),
            // workerd: undefined unless given (DOM and Node: null).
            ("new CustomEvent('c').detail", "undefined"),
            ("new CustomEvent('c') instanceof Event", "true"),
            ("Object.getPrototypeOf(CustomEvent) === Event", "true"),
            ("CustomEvent('c')", "threw TypeError"),
            ("Object.getOwnPropertyDescriptor(CustomEvent.prototype, 'detail').get.call(new Event('x'))", "threw TypeError"),
        ]);
    }
}
