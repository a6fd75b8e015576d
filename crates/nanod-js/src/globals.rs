//! Lazily installed globals.
//!
//! Each entry becomes an accessor on `globalThis` whose getter builds the real value on first
//! read (defining a class, say) and then replaces itself with a plain data property. An idle
//! isolate therefore pays a small getter per global instead of every class's prototype and
//! methods. Assigning to such a global also replaces the accessor, so user code can shadow it.

use rquickjs::function::This;
use rquickjs::object::{Accessor, Property};
use rquickjs::{Ctx, Object, Value};

/// Builds a global's value. Runs at most once per isolate for a given name.
pub type Install = for<'js> fn(&Ctx<'js>) -> rquickjs::Result<Value<'js>>;

/// Defines every `(name, install)` of `table` on `target` as a lazy, non-enumerable property.
pub fn define_lazy<'js>(
    _ctx: &Ctx<'js>,
    target: &Object<'js>,
    table: &[(&'static str, Install)],
) -> rquickjs::Result<()> {
    for &(name, install) in table {
        let getter = move |ctx: Ctx<'js>, this: This<Object<'js>>| {
            let value = install(&ctx)?;
            this.0.prop(name, Property::from(value.clone()).writable().configurable())?;
            Ok::<_, rquickjs::Error>(value)
        };
        let setter = move |this: This<Object<'js>>, value: Value<'js>| {
            this.0.prop(name, Property::from(value).writable().configurable())
        };
        target.prop(name, Accessor::new(getter, setter).configurable())?;
    }
    Ok(())
}

/// Reads a global, running its installer if it has not run yet.
pub fn get<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Value<'js>> {
    ctx.globals().get(name)
}
