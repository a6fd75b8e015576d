//! Test helpers: run JS in a fresh isolate with every web global installed.

use nanod_js::{Isolate, IsolateLimits};

/// Evaluates `script` (a sloppy-mode script; may use top-level `await` inside an async IIFE
/// that assigns `globalThis.result`) and returns `String(globalThis.result)` after every task
/// and timer it started has finished.
pub fn run_js(script: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let isolate = Isolate::new("test", None, IsolateLimits::default()).expect("isolate");
        isolate.enter(|ctx| {
            crate::install_globals(&ctx).expect("globals");
            if ctx.eval::<(), _>(script).is_err() {
                let e = nanod_js::JsException::from_value(&ctx, ctx.catch());
                ctx.globals().set("result", format!("threw {e}")).expect("set");
            }
        });
        for _ in 0..200 {
            let done: bool = isolate.enter(|ctx| {
                ctx.globals().get::<_, rquickjs::Value>("result").map(|v| !v.is_undefined()).unwrap_or(false)
            });
            if done {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        isolate.enter(|ctx| {
            let v: rquickjs::Value = ctx.globals().get("result").expect("result");
            let s: rquickjs::Coerced<String> = v.get().expect("string");
            s.0
        })
    })
}
