//! `Blob` (File API §3): immutable bytes with a MIME type.
//!
//! ```js
//! const b = new Blob(["héllo", new Uint8Array([33])], { type: "Text/Plain" });
//! b.size;                     // 7
//! b.type;                     // "text/plain"
//! await b.slice(-3).text();   // "lo!"
//! ```
//!
//! The bytes are a `bytes::Bytes`: `slice()`, `File`s made from a Blob, bodies made from a
//! Blob and Blobs made from one part share one allocation. A `File` ([`crate::file`]) is a
//! separate native class whose prototype inherits from `Blob.prototype`; the methods here take
//! their receiver as a plain value and accept either class ([`Blob::from_value`]), so
//! `file.slice()`, `file.text()`... run this code.
//!
//! Differences from the spec, following workerd: `text()` does not strip a UTF-8 BOM.
//! `endings: "native"` converts line breaks to `\n` (workerd rejects `endings` altogether).
//! This file does not read bodies; `Response.blob()` is in [`crate::body`].

use bytes::{Bytes, BytesMut};
use rquickjs::atom::PredefinedAtom;
use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Array, Class, Coerced, Ctx, FromJs, Function, JsLifetime, Object, Value};

use crate::body::BodySlot;
use crate::buffer_source;
use crate::encoding::usv_string;
use crate::file::File;
use crate::headers::constructor;
use crate::webidl::{dom_string, type_error};

#[derive(Trace, JsLifetime, Clone, Default, Debug)]
#[rquickjs::class]
pub struct Blob {
    #[qjs(skip_trace)]
    bytes: Bytes,
    /// The `type`: lowercase printable ASCII, or empty.
    #[qjs(skip_trace)]
    kind: String,
}

impl Blob {
    /// A Blob of `bytes`; `kind` is normalized as the constructor's `type` option is.
    pub fn new(bytes: Bytes, kind: &str) -> Blob {
        Blob { bytes, kind: normalize_type(kind) }
    }

    /// A Blob of `bytes` whose type is `kind` as is (e.g. a serialized MIME type, which may
    /// keep uppercase parameter values, as `Response.blob()` does in workerd).
    pub fn with_raw_type(bytes: Bytes, kind: String) -> Blob {
        Blob { bytes, kind }
    }

    /// The contents.
    pub fn data(&self) -> &Bytes {
        &self.bytes
    }

    /// The `type` attribute.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The Blob behind a JS `Blob` or `File` object (a cheap copy); `None` for anything else.
    pub fn from_value(value: &Value<'_>) -> Option<Blob> {
        if let Ok(blob) = Class::<Blob>::from_value(value) {
            return blob.try_borrow().ok().map(|b| b.clone());
        }
        let file = Class::<File>::from_value(value).ok()?;
        let file = file.try_borrow().ok()?;
        Some(file.blob().clone())
    }
}

/// The receiver of a `Blob.prototype` method: a `Blob` or a `File`.
fn this_blob(ctx: &Ctx<'_>, this: &Value<'_>) -> rquickjs::Result<Blob> {
    Blob::from_value(this).ok_or_else(|| type_error(ctx, "Illegal invocation: the receiver is not a Blob."))
}

/// The `type` rule of the Blob constructor and `slice()`: lowercased when every character is
/// printable ASCII (U+0020–U+007E), otherwise the empty string.
pub fn normalize_type(kind: &str) -> String {
    if kind.chars().all(|c| matches!(c, ' '..='~')) {
        kind.to_ascii_lowercase()
    } else {
        String::new()
    }
}

/// A WebIDL dictionary argument: `undefined`/`null` → absent, an object → its members.
pub(crate) fn dictionary<'js>(
    ctx: &Ctx<'js>,
    value: Opt<Value<'js>>,
    what: &str,
) -> rquickjs::Result<Option<Object<'js>>> {
    match value.0 {
        None => Ok(None),
        Some(v) if v.is_undefined() || v.is_null() => Ok(None),
        Some(v) => v.into_object().map(Some).ok_or_else(|| {
            type_error(
                ctx,
                &format!("Failed to construct '{what}': The provided value is not of type 'BlobPropertyBag'."),
            )
        }),
    }
}

/// `BlobPropertyBag`'s `endings` ("transparent" or "native"): whether to convert line breaks.
pub(crate) fn native_endings<'js>(ctx: &Ctx<'js>, options: Option<&Object<'js>>, what: &str) -> rquickjs::Result<bool> {
    let Some(options) = options else { return Ok(false) };
    let endings: Value = options.get("endings")?;
    if endings.is_undefined() {
        return Ok(false);
    }
    match dom_string(ctx, endings)?.as_str() {
        "transparent" => Ok(false),
        "native" => Ok(true),
        other => Err(type_error(
            ctx,
            &format!("Failed to construct '{what}': '{other}' is not a valid value for 'endings'."),
        )),
    }
}

/// `BlobPropertyBag`'s `type`, normalized.
pub(crate) fn type_option<'js>(ctx: &Ctx<'js>, options: Option<&Object<'js>>) -> rquickjs::Result<String> {
    let Some(options) = options else { return Ok(String::new()) };
    let kind: Value = options.get("type")?;
    if kind.is_undefined() {
        return Ok(String::new());
    }
    Ok(normalize_type(&dom_string(ctx, kind)?))
}

/// "Process blob parts": concatenates a `sequence<BlobPart>` (Blobs, BufferSources, strings
/// as UTF-8). `undefined` is the empty sequence.
pub(crate) fn process_parts<'js>(
    ctx: &Ctx<'js>,
    parts: Option<Value<'js>>,
    native: bool,
    what: &str,
) -> rquickjs::Result<Bytes> {
    let Some(parts) = parts.filter(|p| !p.is_undefined()) else { return Ok(Bytes::new()) };
    let not_a_sequence = || {
        type_error(ctx, &format!("Failed to construct '{what}': The provided value cannot be converted to a sequence."))
    };
    let iterable = parts
        .as_object()
        .map(|o| o.get::<_, Value>(PredefinedAtom::SymbolIterator))
        .transpose()?
        .is_some_and(|f| f.is_function());
    if !iterable {
        return Err(not_a_sequence());
    }
    let array_from: Function = ctx.globals().get::<_, Object>("Array")?.get("from")?;
    let parts: Array = array_from.call((parts,))?;
    let mut chunks: Vec<Bytes> = Vec::with_capacity(parts.len());
    for part in parts.iter::<Value>() {
        let part = part?;
        if let Some(blob) = Blob::from_value(&part) {
            chunks.push(blob.bytes);
        } else if let Some(bytes) = buffer_source::copy_bytes(ctx, &part)? {
            chunks.push(bytes);
        } else {
            let text = usv_string(ctx, part)?;
            let text = if native { native_line_endings(&text) } else { text };
            chunks.push(Bytes::from(text));
        }
    }
    if chunks.len() == 1 {
        return Ok(chunks.pop().unwrap_or_default());
    }
    let mut all = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
    for chunk in chunks {
        all.extend_from_slice(&chunk);
    }
    Ok(all.freeze())
}

/// "Convert line endings to native" on a POSIX system: CRLF, CR and LF all become LF.
fn native_line_endings(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// A `[Clamp] long long` slice index made relative to `size` (negative counts from the end).
fn relative_index<'js>(
    ctx: &Ctx<'js>,
    value: Option<Value<'js>>,
    size: usize,
    default: usize,
) -> rquickjs::Result<usize> {
    let Some(value) = value.filter(|v| !v.is_undefined()) else { return Ok(default) };
    let n = Coerced::<f64>::from_js(ctx, value)?.0;
    let n = if n.is_nan() { 0.0 } else { n.round_ties_even() };
    let size = size as f64;
    let index = if n < 0.0 { (size + n).max(0.0) } else { n.min(size) };
    // `index` is a whole number in [0, size].
    Ok(index as usize)
}

/// `Promise.resolve(value)`.
fn resolved<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let (promise, resolve, _reject) = ctx.promise()?;
    resolve.call::<_, ()>((value,))?;
    Ok(promise.into_value())
}

#[rquickjs::methods(rename_all = "camelCase")]
impl Blob {
    #[qjs(constructor)]
    pub fn constructor<'js>(ctx: Ctx<'js>, parts: Opt<Value<'js>>, options: Opt<Value<'js>>) -> rquickjs::Result<Self> {
        let bytes_first = parts.0;
        let options = dictionary(&ctx, options, "Blob")?;
        let native = native_endings(&ctx, options.as_ref(), "Blob")?;
        let kind = type_option(&ctx, options.as_ref())?;
        let bytes = process_parts(&ctx, bytes_first, native, "Blob")?;
        Ok(Blob { bytes, kind })
    }

    #[qjs(get)]
    pub fn size<'js>(this: This<Value<'js>>, ctx: Ctx<'js>) -> rquickjs::Result<usize> {
        Ok(this_blob(&ctx, &this.0)?.bytes.len())
    }

    #[qjs(get, rename = "type")]
    pub fn get_type<'js>(this: This<Value<'js>>, ctx: Ctx<'js>) -> rquickjs::Result<String> {
        Ok(this_blob(&ctx, &this.0)?.kind)
    }

    pub fn slice<'js>(
        this: This<Value<'js>>,
        ctx: Ctx<'js>,
        start: Opt<Value<'js>>,
        end: Opt<Value<'js>>,
        content_type: Opt<Value<'js>>,
    ) -> rquickjs::Result<Class<'js, Blob>> {
        let blob = this_blob(&ctx, &this.0)?;
        let size = blob.bytes.len();
        let start = relative_index(&ctx, start.0, size, 0)?;
        let end = relative_index(&ctx, end.0, size, size)?;
        let kind = match content_type.0.filter(|v| !v.is_undefined()) {
            Some(kind) => normalize_type(&dom_string(&ctx, kind)?),
            None => String::new(),
        };
        let bytes = if start < end { blob.bytes.slice(start..end) } else { Bytes::new() };
        Class::instance(ctx, Blob { bytes, kind })
    }

    pub fn text<'js>(this: This<Value<'js>>, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let blob = this_blob(&ctx, &this.0)?;
        let text = String::from_utf8_lossy(&blob.bytes);
        let text = rquickjs::String::from_str(ctx.clone(), &text)?.into_value();
        resolved(&ctx, text)
    }

    pub fn array_buffer<'js>(this: This<Value<'js>>, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let blob = this_blob(&ctx, &this.0)?;
        let buffer = buffer_source::array_buffer(&ctx, blob.bytes)?;
        resolved(&ctx, buffer)
    }

    pub fn bytes<'js>(this: This<Value<'js>>, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let blob = this_blob(&ctx, &this.0)?;
        let array = buffer_source::uint8_array(&ctx, blob.bytes)?;
        resolved(&ctx, array)
    }

    pub fn stream<'js>(this: This<Value<'js>>, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let blob = this_blob(&ctx, &this.0)?;
        BodySlot::Bytes(blob.bytes).stream(&ctx)
    }
}

/// Installs the `Blob` constructor.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    constructor::<Blob>(ctx)
}
