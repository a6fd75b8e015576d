//! `navigator` (HTML §8.9.1, the parts workerd exposes): `userAgent` and `hardwareConcurrency`.
//!
//! Values match workerd's, checked against the real binary: `userAgent` is
//! `"Cloudflare-Workers"`, `hardwareConcurrency` is 1 (one isolate runs on one thread at a
//! time), and there is no `language` (workerd returns `undefined` without the
//! `enable_navigator_language` compatibility flag). A plain object with read-only accessors on
//! its prototype, as workerd has them; `sendBeacon` is not provided.

use rquickjs::class::Trace;
use rquickjs::{Ctx, JsLifetime, Value};

#[derive(Trace, JsLifetime, Default)]
#[rquickjs::class]
pub struct Navigator {}

#[rquickjs::methods(rename_all = "camelCase")]
impl Navigator {
    #[qjs(get)]
    pub fn user_agent(&self) -> &'static str {
        "Cloudflare-Workers"
    }

    #[qjs(get)]
    pub fn hardware_concurrency(&self) -> u32 {
        1
    }
}

/// Installs the `navigator` object.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    Ok(rquickjs::Class::instance(ctx.clone(), Navigator::default())?.into_value())
}

#[cfg(test)]
mod tests {
    use crate::testing::check_expressions;

    #[test]
    fn matches_workerd() {
        check_expressions(&[
            ("navigator.userAgent", "Cloudflare-Workers"),
            ("navigator.hardwareConcurrency", "1"),
            ("navigator.language", "undefined"),
            ("Object.keys(navigator).length", "0"),
        ]);
    }
}
