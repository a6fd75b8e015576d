//! Test helpers shared by this crate's unit and integration tests: run JS in a fresh isolate
//! with every web global installed. Not part of the API (hidden from docs); it lives in the
//! library so that `tests/*.rs` and `mod tests` use one copy.

use nanod_js::{Isolate, IsolateLimits};

/// Evaluates `script` (a sloppy-mode script, which may start async work that later assigns
/// `globalThis.result`) and returns `String(globalThis.result)` once it is set, waiting up to
/// ~1 s for timers and promises. A thrown exception becomes `threw Name: message`.
pub fn run_js(script: &str) -> String {
    run_js_with(script, &[])
}

/// [`run_js`] with string globals set first (`inputs`: name → value), e.g. test data.
pub fn run_js_with(script: &str, inputs: &[(&str, String)]) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let isolate = Isolate::new("test", None, IsolateLimits::default()).expect("isolate");
        isolate.enter(|ctx| {
            crate::install_globals(&ctx).expect("globals");
            for (name, value) in inputs {
                ctx.globals().set(*name, value.as_str()).expect("set input");
            }
            if ctx.eval::<(), _>(script).is_err() {
                let e = nanod_js::JsException::from_value(&ctx, ctx.catch());
                ctx.globals().set("result", format!("threw {e}")).expect("set");
            }
        });
        for _ in 0..1000 {
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

/// Evaluates each JS expression of `cases` (which may use `await`) in one isolate, in order,
/// and asserts that `String(await result)` (or `threw <name>`) equals the expected text.
pub fn check_async_expressions(cases: &[(&str, &str)]) {
    let script: String = cases
        .iter()
        .map(|(js, _)| {
            format!(
                "r.push(await (async () => {{ try {{ return String(await (async () => ({js}))()); }} catch (e) {{ return 'threw ' + e.name; }} }})());\n"
            )
        })
        .collect();
    let out = run_js(&format!(
        "(async () => {{ const r = [];\n{script}globalThis.result = r.join('\\u0001'); }})().catch((e) => globalThis.result = 'harness threw ' + e);"
    ));
    compare(cases, &out);
}

fn compare(cases: &[(&str, &str)], out: &str) {
    let got: Vec<&str> = out.split('\u{1}').collect();
    assert_eq!(got.len(), cases.len(), "script output: {out}");
    for ((js, want), got) in cases.iter().zip(got) {
        assert_eq!(got, *want, "{js}");
    }
}

/// Evaluates each JS expression of `cases` in one isolate and asserts that `String(result)`
/// (or `threw <name>` when it throws) equals the expected text.
pub fn check_expressions(cases: &[(&str, &str)]) {
    let script: String = cases
        .iter()
        .map(|(js, _)| {
            format!(
                "r.push((() => {{ try {{ return String({js}); }} catch (e) {{ return 'threw ' + e.name; }} }})());\n"
            )
        })
        .collect();
    let out = run_js(&format!("const r = [];\n{script}globalThis.result = r.join('\\u0001');"));
    compare(cases, &out);
}
