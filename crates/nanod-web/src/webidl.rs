//! The WebIDL layer: argument conversions shared by every API, and the exceptions they throw.
//!
//! Every API throws through these helpers so that error constructors and messages are
//! consistent (`TypeError` for bad arguments, `RangeError` for out-of-range numbers,
//! `DOMException` with a name for the rest).

use rquickjs::{Coerced, Ctx, Exception, FromJs, Value};

/// Throws a `TypeError` with `message`.
pub fn type_error(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    Exception::throw_type(ctx, message)
}

/// Throws a `RangeError` with `message`.
pub fn range_error(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    Exception::throw_range(ctx, message)
}

/// Throws a `DOMException` named `name`.
pub fn dom_exception(ctx: &Ctx<'_>, name: &str, message: &str) -> rquickjs::Error {
    nanod_js::JsException::dom(name, message).throw(ctx)
}

/// `DOMString`: any value converted with JS `String(value)` semantics (symbols throw).
pub fn dom_string<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<String> {
    if value.is_symbol() {
        return Err(type_error(ctx, "Cannot convert a Symbol value to a string"));
    }
    Coerced::<String>::from_js(ctx, value).map(|s| s.0)
}

/// `ByteString`: a string whose code points are all ≤ U+00FF, as bytes.
pub fn byte_string<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Vec<u8>> {
    let s = dom_string(ctx, value)?;
    latin1_bytes(&s).ok_or_else(|| {
        type_error(ctx, "Cannot convert argument to a ByteString because it contains a character above U+00FF")
    })
}

/// The bytes of a string whose characters are all ≤ U+00FF; `None` otherwise.
pub fn latin1_bytes(s: &str) -> Option<Vec<u8>> {
    if s.is_ascii() {
        return Some(s.as_bytes().to_vec());
    }
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// Decodes bytes as Latin-1 (each byte one code point), the inverse of [`latin1_bytes`].
pub fn latin1_string(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.is_ascii() => s.to_owned(),
        _ => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}
