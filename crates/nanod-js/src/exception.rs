//! A JS exception as plain Rust data.
//!
//! Exceptions never cross runtimes as JS values: a callee isolate catches, keeps the name,
//! message and stack here, and the caller re-creates an error of the same constructor name.

use rquickjs::{Ctx, FromJs, Object, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsException {
    /// Constructor name: `TypeError`, `RangeError`, `Error`, a `DOMException` name...
    pub name: String,
    pub message: String,
    pub stack: Option<String>,
    /// Whether this is a `DOMException` (whose names, like `SyntaxError`, can clash with JS
    /// error constructors).
    pub dom: bool,
}

/// The error names WebIDL defines for `DOMException`.
const DOM_EXCEPTION_NAMES: &[&str] = &[
    "IndexSizeError",
    "HierarchyRequestError",
    "WrongDocumentError",
    "InvalidCharacterError",
    "NoModificationAllowedError",
    "NotFoundError",
    "NotSupportedError",
    "InUseAttributeError",
    "InvalidStateError",
    "InvalidModificationError",
    "NamespaceError",
    "InvalidAccessError",
    "TypeMismatchError",
    "SecurityError",
    "NetworkError",
    "AbortError",
    "URLMismatchError",
    "QuotaExceededError",
    "TimeoutError",
    "InvalidNodeTypeError",
    "DataCloneError",
    "EncodingError",
    "NotReadableError",
    "UnknownError",
    "ConstraintError",
    "DataError",
    "TransactionInactiveError",
    "ReadOnlyError",
    "VersionError",
    "OperationError",
    "NotAllowedError",
];

impl JsException {
    /// An error of the JS constructor `name`; a WebIDL `DOMException` name makes a
    /// `DOMException` (use [`JsException::dom`] for `SyntaxError` and other clashing names).
    pub fn new(name: &str, message: impl Into<String>) -> Self {
        let dom = DOM_EXCEPTION_NAMES.contains(&name);
        JsException { name: name.to_owned(), message: message.into(), stack: None, dom }
    }
    /// A `DOMException` named `name`.
    pub fn dom(name: &str, message: impl Into<String>) -> Self {
        JsException { name: name.to_owned(), message: message.into(), stack: None, dom: true }
    }
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new("TypeError", message)
    }
    pub fn error(message: impl Into<String>) -> Self {
        Self::new("Error", message)
    }

    /// Captures any thrown value. Non-Error values keep their string form as the message.
    pub fn from_value<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> Self {
        if let Some(obj) = value.as_object() {
            let name = obj.get::<_, Option<String>>("name").ok().flatten().unwrap_or_else(|| "Error".to_owned());
            let message = obj.get::<_, Option<String>>("message").ok().flatten().unwrap_or_default();
            let stack = obj.get::<_, Option<String>>("stack").ok().flatten().filter(|s| !s.is_empty());
            let dom =
                ctx.globals().get::<_, rquickjs::Function>("DOMException").is_ok_and(|ctor| obj.is_instance_of(&ctor));
            return JsException { name, message, stack, dom };
        }
        // A thrown primitive: its `String(value)` form, as engines print it.
        let message = match value.as_string() {
            Some(s) => s.to_string().unwrap_or_default(),
            None => {
                rquickjs::Coerced::<String>::from_js(ctx, value).map(|s| s.0).unwrap_or_else(|_| "exception".to_owned())
            }
        };
        JsException { name: "Uncaught".to_owned(), message, stack: None, dom: false }
    }

    /// Re-creates the error in `ctx` with the same constructor (falling back to `Error`).
    pub fn to_value<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let globals = ctx.globals();
        let dom_ctor = || globals.get::<_, rquickjs::Constructor>("DOMException").ok();
        let ctor: Option<rquickjs::Constructor> = if self.dom { None } else { globals.get(self.name.as_str()).ok() };
        let error: Object = match (ctor, self.dom.then(dom_ctor).flatten()) {
            (_, Some(dom)) => dom.construct((self.message.as_str(), self.name.as_str()))?,
            (Some(ctor), None) => ctor.construct((self.message.as_str(),))?,
            (None, None) => {
                let ctor: rquickjs::Constructor = globals.get("Error")?;
                let e: Object = ctor.construct((self.message.as_str(),))?;
                e.set("name", self.name.as_str())?;
                e
            }
        };
        if let Some(stack) = &self.stack {
            error.set("stack", stack.as_str())?;
        }
        Ok(error.into_value())
    }

    /// Throws this exception in `ctx`; returns the `Error::Exception` marker to propagate.
    pub fn throw(&self, ctx: &Ctx<'_>) -> rquickjs::Error {
        match self.to_value(ctx) {
            Ok(value) => ctx.throw(value),
            Err(e) => e,
        }
    }
}

impl std::fmt::Display for JsException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name == "Uncaught" {
            write!(f, "Uncaught {}", self.message)?;
        } else {
            write!(f, "{}: {}", self.name, self.message)?;
        }
        if let Some(stack) = &self.stack {
            write!(f, "\n{}", stack.trim_end())?;
        }
        Ok(())
    }
}

impl std::error::Error for JsException {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thrown_primitives_read_as_engines_print_them() {
        let runtime = rquickjs::Runtime::new().unwrap();
        let context = rquickjs::Context::full(&runtime).unwrap();
        context.with(|ctx| {
            for (source, want) in [
                ("null", "Uncaught null"),
                ("42", "Uncaught 42"),
                ("'text'", "Uncaught text"),
                ("undefined", "Uncaught undefined"),
            ] {
                let value: Value = ctx.eval(source).unwrap();
                assert_eq!(JsException::from_value(&ctx, value).to_string(), want);
            }
        });
    }
}
