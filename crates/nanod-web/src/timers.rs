//! `setTimeout`, `setInterval`, `clearTimeout`/`clearInterval` and `queueMicrotask`, as JS
//! functions over `nanod_js::timers`.

use rquickjs::function::{Opt, Rest};
use rquickjs::{Coerced, Ctx, Function, Value};

use crate::webidl::type_error;

fn setter<'js>(ctx: &Ctx<'js>, repeat: bool) -> rquickjs::Result<Value<'js>> {
    let f = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, callback: Value<'js>, delay: Opt<Coerced<f64>>, args: Rest<Value<'js>>| {
            let Some(callback) = callback.into_function() else {
                return Err(type_error(&ctx, "The callback provided as parameter 1 is not a function."));
            };
            let delay = nanod_js::timers::delay_from_ms(delay.0.map_or(0.0, |d| d.0));
            nanod_js::timers::set_timer(&ctx, callback, delay, args.0, repeat)
        },
    )?;
    Ok(f.into_value())
}

pub fn install_set_timeout<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    setter(ctx, false)
}

pub fn install_set_interval<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    setter(ctx, true)
}

pub fn install_clear_timer<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let f = Function::new(ctx.clone(), |ctx: Ctx<'js>, id: Opt<Value<'js>>| {
        if let Some(id) = id.0.and_then(|v| v.as_number()) {
            if id >= 1.0 && id <= f64::from(u32::MAX) {
                nanod_js::timers::clear_timer(&ctx, id as u32);
            }
        }
    })?;
    Ok(f.into_value())
}

pub fn install_queue_microtask<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    // A reaction to an already-resolved promise is exactly a microtask.
    let f = Function::new(ctx.clone(), |ctx: Ctx<'js>, callback: Value<'js>| {
        let Some(callback) = callback.into_function() else {
            return Err(type_error(&ctx, "Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'."));
        };
        let (promise, resolve, _reject) = ctx.promise()?;
        resolve.call::<_, ()>(())?;
        let then: Function = promise.get("then")?;
        then.call::<_, Value>((rquickjs::function::This(promise), callback))?;
        Ok(())
    })?
    .with_name("queueMicrotask")?;
    Ok(f.into_value())
}

#[cfg(test)]
mod tests {
    use crate::testing::run_js;

    #[test]
    fn timers_order_against_microtasks() {
        let out = run_js(
            r#"const log = [];
               setTimeout((a, b) => log.push("t2:" + a + b), 40, "x", "y");
               setTimeout(() => { log.push("t0"); queueMicrotask(() => log.push("m-in-t0")); }, 0);
               queueMicrotask(() => log.push("m"));
               const c = setTimeout(() => log.push("cancelled"), 1); clearTimeout(c);
               let n = 0; const i = setInterval(() => { log.push("i" + n); if (++n == 2) clearInterval(i); }, 1);
               setTimeout(() => { globalThis.result = log.join(","); }, 80);"#,
        );
        assert_eq!(out, "m,t0,m-in-t0,i0,i1,t2:xy");
    }
}
