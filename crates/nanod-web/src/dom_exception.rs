//! Making `DOMException`s from Rust.
//!
//! The class itself is QuickJS-ng's built-in `DOMException` (names, legacy codes, `code`),
//! which this crate does not replace; this module only constructs instances of it, so that
//! `e instanceof DOMException` and `e.code` hold for the errors our APIs throw.

use rquickjs::{Constructor, Ctx, Value};

/// A new `DOMException` with `name` and `message` (an `Error` with that name if the global
/// `DOMException` has been replaced by something that is not a constructor).
pub fn new<'js>(ctx: &Ctx<'js>, name: &str, message: &str) -> rquickjs::Result<Value<'js>> {
    match ctx.globals().get::<_, Constructor>("DOMException") {
        Ok(ctor) => ctor.construct((message, name)),
        Err(_) => nanod_js::JsException::new(name, message).to_value(ctx),
    }
}

/// Throws a new `DOMException`; returns the marker error to propagate.
pub fn throw(ctx: &Ctx<'_>, name: &str, message: &str) -> rquickjs::Error {
    match new(ctx, name, message) {
        Ok(value) => ctx.throw(value),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::check_expressions;

    /// The engine's `DOMException`: the WebIDL names → legacy codes table.
    #[test]
    fn engine_dom_exception_codes() {
        let names = [
            ("IndexSizeError", 1),
            ("HierarchyRequestError", 3),
            ("WrongDocumentError", 4),
            ("InvalidCharacterError", 5),
            ("NoModificationAllowedError", 7),
            ("NotFoundError", 8),
            ("NotSupportedError", 9),
            ("InUseAttributeError", 10),
            ("InvalidStateError", 11),
            ("SyntaxError", 12),
            ("InvalidModificationError", 13),
            ("NamespaceError", 14),
            ("InvalidAccessError", 15),
            ("TypeMismatchError", 17),
            ("SecurityError", 18),
            ("NetworkError", 19),
            ("AbortError", 20),
            ("URLMismatchError", 21),
            ("QuotaExceededError", 22),
            ("TimeoutError", 23),
            ("InvalidNodeTypeError", 24),
            ("DataCloneError", 25),
            ("EncodingError", 0),
            ("NotReadableError", 0),
            ("OperationError", 0),
            ("Whatever", 0),
        ];
        let cases: Vec<(String, String)> =
            names.iter().map(|(n, c)| (format!("new DOMException('m', '{n}').code"), c.to_string())).collect();
        let mut refs: Vec<(&str, &str)> = cases.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        refs.extend([
            ("new DOMException('m').name", "Error"),
            ("new DOMException().message", ""),
            ("DOMException.ABORT_ERR + DOMException.prototype.DATA_CLONE_ERR", "45"),
            ("new DOMException('m', 'AbortError') instanceof Error", "true"),
            ("Object.prototype.toString.call(new DOMException('m'))", "[object DOMException]"),
        ]);
        check_expressions(&refs);
    }
}
