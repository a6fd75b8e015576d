//! `console`: `log/info/debug/warn/error/trace` as `tracing` events of target [`TARGET`], at
//! the method's level (`log` and `info` are `info`), with the Worker's name (`service`) and the
//! request the isolate is working for (`request_id`, when it is), so the output of many Workers
//! and requests in one process stays attributable. nanod-server's logger writes them (as
//! `NAME: text` lines, or JSON); with no logger installed they go nowhere.

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Value};

/// Renders console arguments roughly as browsers do: strings raw, everything else inspected.
pub fn format_args<'js>(ctx: &Ctx<'js>, args: &[Value<'js>]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&inspect(ctx, arg));
    }
    out
}

fn inspect<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    if let Some(s) = value.as_string() {
        return s.to_string().unwrap_or_default();
    }
    if value.is_error()
        || value.as_object().is_some_and(|o| {
            o.get::<_, Value>("stack").is_ok_and(|s| s.is_string())
                && o.get::<_, Value>("message").is_ok_and(|m| m.is_string())
        })
    {
        return nanod_js::JsException::from_value(ctx, value.clone()).to_string();
    }
    if value.is_function() {
        return "[Function]".to_owned();
    }
    if value.is_object() {
        if let Ok(Some(json)) = ctx.json_stringify(value.clone()) {
            if let Ok(s) = json.to_string() {
                return s;
            }
        }
    }
    rquickjs::Coerced::<String>::from_js(ctx, value.clone()).map(|s| s.0).unwrap_or_else(|_| "[object]".to_owned())
}

use rquickjs::FromJs;

/// The `tracing` target of console output.
pub const TARGET: &str = "nanod::console";

fn writer<'js>(ctx: &Ctx<'js>, level: &'static str) -> rquickjs::Result<Function<'js>> {
    Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
        let isolate = nanod_js::Isolate::from_ctx(&ctx);
        let service = isolate.as_ref().map_or("", |i| i.name());
        let text = format_args(&ctx, &args.0);
        // `Option<RequestId>` as a field: absent when `None`, so top-level output has no id.
        let request_id = isolate.as_ref().and_then(|i| i.current_request()).map(tracing::field::display);
        match level {
            "warn" => tracing::warn!(target: TARGET, service, request_id, "{text}"),
            "error" => tracing::error!(target: TARGET, service, request_id, "{text}"),
            "debug" => tracing::debug!(target: TARGET, service, request_id, "{text}"),
            "trace" => tracing::trace!(target: TARGET, service, request_id, "{text}"),
            _ => tracing::info!(target: TARGET, service, request_id, "{text}"),
        }
    })
}

/// Installs the `console` object.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let console = Object::new(ctx.clone())?;
    for (method, level) in
        [("log", ""), ("info", ""), ("debug", "debug"), ("warn", "warn"), ("error", "error"), ("trace", "trace")]
    {
        console.set(method, writer(ctx, level)?)?;
    }
    Ok(console.into_value())
}
