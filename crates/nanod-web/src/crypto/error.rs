//! Errors of the crypto APIs, and how they reach JS.
//!
//! [`CryptoError`] is plain data (a WebCrypto error name and a message) so that the provider and
//! the algorithms stay free of JS. [`Failure`] joins it with exceptions thrown by JS itself (a
//! throwing getter on an algorithm dictionary, say), and [`promise_of`] turns either into a
//! rejected promise: every `crypto.subtle` method reports errors by rejection, never by throwing.

use rquickjs::{Constructor, Ctx, Promise, Value};

/// The exception a crypto error becomes in JS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A plain `TypeError` (bad argument types).
    Type,
    /// The remaining kinds are `DOMException`s with this name.
    NotSupported,
    Syntax,
    InvalidAccess,
    Data,
    Operation,
    TypeMismatch,
    QuotaExceeded,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Type => "TypeError",
            ErrorKind::NotSupported => "NotSupportedError",
            ErrorKind::Syntax => "SyntaxError",
            ErrorKind::InvalidAccess => "InvalidAccessError",
            ErrorKind::Data => "DataError",
            ErrorKind::Operation => "OperationError",
            ErrorKind::TypeMismatch => "TypeMismatchError",
            ErrorKind::QuotaExceeded => "QuotaExceededError",
        }
    }
}

/// A WebCrypto error: the exception name and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct CryptoError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CryptoError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CryptoError { kind, message: message.into() }
    }
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Type, message)
    }
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotSupported, message)
    }
    pub fn syntax(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Syntax, message)
    }
    pub fn invalid_access(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidAccess, message)
    }
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }
    pub fn operation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Operation, message)
    }

    /// The JS exception: a `TypeError`, or a `DOMException` named after the kind.
    pub fn to_value<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        if self.kind == ErrorKind::Type {
            return nanod_js::JsException::type_error(self.message.as_str()).to_value(ctx);
        }
        match ctx.globals().get::<_, Option<Constructor>>("DOMException")? {
            Some(ctor) => ctor.construct((self.message.as_str(), self.kind.name())),
            None => nanod_js::JsException::new(self.kind.name(), self.message.as_str()).to_value(ctx),
        }
    }

    /// Throws the exception in `ctx`; returns the marker error to propagate.
    pub fn throw(&self, ctx: &Ctx<'_>) -> rquickjs::Error {
        match self.to_value(ctx) {
            Ok(value) => ctx.throw(value),
            Err(e) => e,
        }
    }
}

/// Why a crypto operation failed: a crypto error, or an exception JS code threw.
#[derive(Debug)]
pub enum Failure {
    Crypto(CryptoError),
    Js(rquickjs::Error),
}

impl From<CryptoError> for Failure {
    fn from(error: CryptoError) -> Self {
        Failure::Crypto(error)
    }
}

impl From<rquickjs::Error> for Failure {
    fn from(error: rquickjs::Error) -> Self {
        Failure::Js(error)
    }
}

impl Failure {
    /// The exception value, taking a pending JS exception off the context.
    fn into_value<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        match self {
            Failure::Crypto(error) => error.to_value(ctx),
            Failure::Js(rquickjs::Error::Exception) => Ok(ctx.catch()),
            // A conversion error rquickjs raised without a JS exception.
            Failure::Js(other) => CryptoError::type_error(other.to_string()).to_value(ctx),
        }
    }

    /// Throws the failure in `ctx` (for the synchronous `crypto` methods).
    pub fn throw(self, ctx: &Ctx<'_>) -> rquickjs::Error {
        match self {
            Failure::Js(error @ rquickjs::Error::Exception) => error,
            other => match other.into_value(ctx) {
                Ok(value) => ctx.throw(value),
                Err(e) => e,
            },
        }
    }
}

/// Runs `op` now and returns a promise already settled with its outcome.
pub fn promise_of<'js>(
    ctx: &Ctx<'js>,
    op: impl FnOnce() -> Result<Value<'js>, Failure>,
) -> rquickjs::Result<Promise<'js>> {
    let (promise, resolve, reject) = ctx.promise()?;
    match op() {
        Ok(value) => resolve.call::<_, ()>((value,))?,
        Err(failure) => reject.call::<_, ()>((failure.into_value(ctx)?,))?,
    }
    Ok(promise)
}
