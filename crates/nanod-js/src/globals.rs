//! Lazily installed globals.
//!
//! Each entry becomes an accessor on `globalThis` whose getter builds the real value on first
//! read (defining a class, say) and then replaces itself with a plain data property. An idle
//! isolate therefore pays a small getter per global instead of every class's prototype and
//! methods. Assigning to such a global also replaces the accessor, so user code can shadow it.

use rquickjs::function::{Opt, This};
use rquickjs::object::Property;
use rquickjs::{Ctx, Object, Value};

/// Builds a global's value. Runs at most once per isolate for a given name.
pub type Install = for<'js> fn(&Ctx<'js>) -> rquickjs::Result<Value<'js>>;

/// Defines every `(name, install)` of `table` on `target` as a lazy, non-enumerable property.
///
/// One function serves as both getter and setter (QuickJS calls a getter with no argument and
/// a setter with one): an idle isolate pays one small function object per global, not two.
pub fn define_lazy<'js>(
    ctx: &Ctx<'js>,
    target: &Object<'js>,
    table: &[(&'static str, Install)],
) -> rquickjs::Result<()> {
    let define: rquickjs::Function = ctx.globals().get::<_, Object>("Object")?.get("defineProperty")?;
    for &(name, install) in table {
        let accessor = move |ctx: Ctx<'js>, this: This<Object<'js>>, assigned: Opt<Value<'js>>| {
            let value = match assigned.0 {
                Some(value) => value,
                None => install(&ctx)?,
            };
            this.0.prop(name, Property::from(value.clone()).writable().configurable())?;
            Ok::<_, rquickjs::Error>(value)
        };
        let function = rquickjs::Function::new(ctx.clone(), accessor)?;
        let descriptor = Object::new(ctx.clone())?;
        descriptor.set("get", function.clone())?;
        descriptor.set("set", function)?;
        descriptor.set("configurable", true)?;
        define.call::<_, ()>((target.clone(), name, descriptor))?;
    }
    Ok(())
}

/// Reads a global, running its installer if it has not run yet.
pub fn get<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Value<'js>> {
    ctx.globals().get(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install_answer<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let count: i32 = ctx.globals().get::<_, Option<i32>>("installs")?.unwrap_or(0);
        ctx.globals().set("installs", count + 1)?;
        Ok(Value::new_int(ctx.clone(), 42))
    }

    #[test]
    fn read_installs_once_and_assignment_shadows() {
        let runtime = rquickjs::Runtime::new().unwrap();
        let context = rquickjs::Context::full(&runtime).unwrap();
        context.with(|ctx| {
            define_lazy(&ctx, &ctx.globals(), &[("answer", install_answer), ("other", install_answer)]).unwrap();
            let out: String = ctx
                .eval(
                    r#"const before = typeof Object.getOwnPropertyDescriptor(globalThis, "answer").get;
                       const first = answer, second = answer;
                       const after = "value" in Object.getOwnPropertyDescriptor(globalThis, "answer");
                       other = "mine";
                       [before, first, second, after, installs, other, Object.keys(globalThis).includes("answer")].join()"#,
                )
                .unwrap();
            assert_eq!(out, "function,42,42,true,1,mine,false");
        });
    }
}
