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

/// Throws a `DOMException` named `name` (QuickJS-ng's built-in class: names, legacy codes).
pub fn dom_exception(ctx: &Ctx<'_>, name: &str, message: &str) -> rquickjs::Error {
    nanod_js::JsException::dom(name, message).throw(ctx)
}

/// A new `DOMException` named `name`, not thrown (e.g. an abort reason).
pub fn new_dom_exception<'js>(ctx: &Ctx<'js>, name: &str, message: &str) -> rquickjs::Result<Value<'js>> {
    nanod_js::JsException::dom(name, message).to_value(ctx)
}

/// Makes a native iterator class inherit from `%IteratorPrototype%` (once per runtime), so
/// iterator helpers and `[Symbol.iterator]() { return this }` work on its instances.
pub fn inherit_iterator_prototype<'js, C: rquickjs::class::JsClass<'js>>(ctx: &Ctx<'js>) -> rquickjs::Result<()> {
    use rquickjs::atom::PredefinedAtom;
    use rquickjs::function::This;
    use rquickjs::{Array, Function, Object};
    let Some(proto) = rquickjs::Class::<C>::prototype(ctx)? else { return Ok(()) };
    let inherits =
        proto.get_prototype().is_some_and(|p| p.contains_key(PredefinedAtom::SymbolIterator).unwrap_or(false));
    if !inherits {
        let array_iterator: Object = Array::new(ctx.clone())?
            .as_object()
            .get::<_, Function>("values")?
            .call((This(Array::new(ctx.clone())?),))?;
        if let Some(iterator_proto) = array_iterator.get_prototype().and_then(|p| p.get_prototype()) {
            proto.set_prototype(Some(&iterator_proto))?;
        }
    }
    Ok(())
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
