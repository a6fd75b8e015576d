//! `console`: `log/info/debug/warn/error/trace` to stderr, each line prefixed with the
//! Worker's name so the output of many Workers in one process stays attributable.

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

fn writer<'js>(ctx: &Ctx<'js>, level: &'static str) -> rquickjs::Result<Function<'js>> {
    Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
        let name = nanod_js::Isolate::from_ctx(&ctx).map(|i| i.name().to_owned()).unwrap_or_default();
        let text = format_args(&ctx, &args.0);
        let prefix = if level.is_empty() { String::new() } else { format!("{level}: ") };
        let mut lines = String::new();
        for line in text.lines() {
            lines.push_str(&format!("{name}: {prefix}{line}\n"));
        }
        if text.is_empty() {
            lines.push_str(&format!("{name}: {prefix}\n"));
        }
        use std::io::Write;
        let _ = std::io::stderr().lock().write_all(lines.as_bytes());
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
