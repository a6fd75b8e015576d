//! `TextEncoder` and `TextDecoder` (Encoding Standard §7), backed by `encoding_rs`.
//!
//! ```js
//! new TextEncoder().encode("€");                       // Uint8Array [226, 130, 172]
//! const d = new TextDecoder("utf-8", { fatal: true });
//! d.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + d.decode(new Uint8Array([0xac])); // "€"
//! ```
//!
//! `TextDecoder` keeps the `encoding_rs::Decoder` between `decode(…, {stream: true})` calls and
//! drops it after a flushing call, so a multi-byte sequence split across chunks decodes once.
//! BOM handling follows the spec: unless `ignoreBOM`, a BOM of the decoder's own encoding
//! (UTF-8, UTF-16LE/BE) is removed at the start of a stream; TextDecoder never sniffs.
//!
//! Input bytes are copied out through [`crate::buffer_source`] (the crate's one audited
//! `unsafe`); `encodeInto` writes without `unsafe`, through `Uint8Array.prototype.set` on the
//! destination, so the encoded prefix is copied once more.
//!
//! Also home of [`usv_string`], the WebIDL `USVString` conversion (JS string → well-formed
//! Rust `String`), used here and by the URL classes.

use encoding_rs::{CoderResult, Decoder, DecoderResult, Encoding, UTF_8};
use rquickjs::atom::PredefinedAtom;
use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Coerced, Ctx, FromJs, Function, JsLifetime, Object, TypedArray, Value};

use crate::buffer_source;
use crate::headers::constructor;
use crate::webidl::{range_error, type_error};

/// `USVString`: converts with JS `String(value)` semantics, then replaces lone surrogates with
/// U+FFFD (symbols throw a `TypeError`).
pub fn usv_string<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<String> {
    if value.is_symbol() {
        return Err(type_error(ctx, "Cannot convert a Symbol value to a string"));
    }
    let string = Coerced::<rquickjs::String>::from_js(ctx, value)?.0;
    match string.to_string() {
        Ok(s) => Ok(s),
        // QuickJS hands lone surrogates out as WTF-8, which is not UTF-8: let the engine's
        // `String.prototype.toWellFormed` replace them, then convert again.
        Err(rquickjs::Error::Utf8(_)) => {
            let to_well_formed: Function = ctx
                .globals()
                .get::<_, Object>("String")?
                .get::<_, Object>(PredefinedAtom::Prototype)?
                .get("toWellFormed")?;
            let well_formed: rquickjs::String = to_well_formed.call((This(string),))?;
            well_formed.to_string()
        }
        Err(e) => Err(e),
    }
}

/// A WebIDL dictionary argument: `undefined`/`null` → absent, an object → its members.
fn dictionary<'js>(ctx: &Ctx<'js>, value: Opt<Value<'js>>, what: &str) -> rquickjs::Result<Option<Object<'js>>> {
    match value.0 {
        None => Ok(None),
        Some(v) if v.is_undefined() || v.is_null() => Ok(None),
        Some(v) => match v.into_object() {
            Some(obj) => Ok(Some(obj)),
            None => Err(type_error(ctx, &format!("{what}: The provided value is not of type 'object'."))),
        },
    }
}

/// A `boolean` dictionary member (default `false`).
fn bool_member<'js>(ctx: &Ctx<'js>, dict: Option<&Object<'js>>, name: &str) -> rquickjs::Result<bool> {
    match dict {
        None => Ok(false),
        Some(dict) => Coerced::<bool>::from_js(ctx, dict.get(name)?).map(|b| b.0),
    }
}

#[derive(Trace, JsLifetime, Default)]
#[rquickjs::class]
pub struct TextEncoder {}

/// Encodes `source` as UTF-8 for as many whole characters as fit in `space` bytes; returns the
/// UTF-16 code units read and the bytes.
fn encode_prefix(source: &str, space: usize) -> (usize, Vec<u8>) {
    let mut read = 0;
    let mut end = 0;
    for c in source.chars() {
        if end + c.len_utf8() > space {
            break;
        }
        end += c.len_utf8();
        read += c.len_utf16();
    }
    (read, source.as_bytes().get(..end).unwrap_or_default().to_vec())
}

#[rquickjs::methods(rename_all = "camelCase")]
impl TextEncoder {
    #[qjs(constructor)]
    pub fn new() -> Self {
        TextEncoder {}
    }

    #[qjs(get)]
    pub fn encoding(&self) -> &'static str {
        "utf-8"
    }

    pub fn encode<'js>(&self, ctx: Ctx<'js>, input: Opt<Value<'js>>) -> rquickjs::Result<TypedArray<'js, u8>> {
        let input = match input.0 {
            Some(v) if !v.is_undefined() => usv_string(&ctx, v)?,
            _ => String::new(),
        };
        TypedArray::new(ctx, input.into_bytes())
    }

    pub fn encode_into<'js>(
        &self,
        ctx: Ctx<'js>,
        source: Opt<Value<'js>>,
        destination: Opt<Value<'js>>,
    ) -> rquickjs::Result<Object<'js>> {
        let source = match source.0 {
            Some(v) => usv_string(&ctx, v)?,
            None => {
                return Err(type_error(&ctx, "Failed to execute 'encodeInto' on 'TextEncoder': 2 arguments required."))
            }
        };
        let Some(destination) = destination.0.and_then(|d| d.into_object()).filter(|d| d.is_typed_array::<u8>()) else {
            return Err(type_error(
                &ctx,
                "Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.",
            ));
        };
        let space: usize = destination.get("length")?;
        let (read, bytes) = encode_prefix(&source, space);
        let written = bytes.len();
        if written > 0 {
            let set: Function = destination.get("set")?;
            set.call::<_, ()>((This(destination.clone()), TypedArray::<u8>::new(ctx.clone(), bytes)?))?;
        }
        let result = Object::new(ctx)?;
        result.set("read", read)?;
        result.set("written", written)?;
        Ok(result)
    }
}

/// A fatal `TextDecoder` met bytes that are not valid in its encoding.
#[derive(Debug, thiserror::Error)]
#[error("The encoded data was not valid for encoding {}", .0.name().to_ascii_lowercase())]
pub struct MalformedInput(pub &'static Encoding);

#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct TextDecoder {
    #[qjs(skip_trace)]
    encoding: &'static Encoding,
    #[qjs(skip_trace)]
    fatal: bool,
    #[qjs(skip_trace)]
    ignore_bom: bool,
    /// The decoder of a stream in progress (after `decode(…, {stream: true})`).
    #[qjs(skip_trace)]
    decoder: Option<Decoder>,
}

impl TextDecoder {
    /// A decoder for `label` (an Encoding Standard label); `None` for unknown labels and for
    /// those that map to the "replacement" encoding.
    pub fn for_label(label: &str, fatal: bool, ignore_bom: bool) -> Option<Self> {
        let encoding = Encoding::for_label_no_replacement(label.as_bytes())?;
        Some(TextDecoder { encoding, fatal, ignore_bom, decoder: None })
    }

    fn new_decoder(&self) -> Decoder {
        if self.ignore_bom {
            self.encoding.new_decoder_without_bom_handling()
        } else {
            self.encoding.new_decoder_with_bom_removal()
        }
    }

    /// Decodes one chunk; `last` flushes. Fails on malformed input only when fatal, and then
    /// forgets the stream in progress.
    pub fn decode_bytes(&mut self, bytes: &[u8], last: bool) -> Result<String, MalformedInput> {
        let mut decoder = match self.decoder.take() {
            Some(decoder) => decoder,
            None => self.new_decoder(),
        };
        let decoded = if self.fatal {
            decode_fatal(&mut decoder, bytes, last).map_err(|()| MalformedInput(self.encoding))
        } else {
            Ok(decode_lossy(&mut decoder, bytes, last))
        };
        if !last && decoded.is_ok() {
            self.decoder = Some(decoder);
        }
        decoded
    }
}

/// Room for decoding `len` more bytes (at least some, so each round makes progress).
fn room(decoder: &Decoder, len: usize) -> usize {
    decoder.max_utf8_buffer_length(len).unwrap_or(len).max(16)
}

fn decode_lossy(decoder: &mut Decoder, mut src: &[u8], last: bool) -> String {
    let mut out = String::with_capacity(room(decoder, src.len()));
    loop {
        let (result, read, _) = decoder.decode_to_string(src, &mut out, last);
        src = src.get(read..).unwrap_or_default();
        match result {
            CoderResult::InputEmpty => return out,
            CoderResult::OutputFull => out.reserve(room(decoder, src.len())),
        }
    }
}

/// `Err(())` at the first malformed sequence.
#[allow(clippy::result_unit_err, reason = "private; the caller adds the encoding")]
fn decode_fatal(decoder: &mut Decoder, mut src: &[u8], last: bool) -> Result<String, ()> {
    let mut out = String::with_capacity(room(decoder, src.len()));
    loop {
        let (result, read) = decoder.decode_to_string_without_replacement(src, &mut out, last);
        src = src.get(read..).unwrap_or_default();
        match result {
            DecoderResult::InputEmpty => return Ok(out),
            DecoderResult::OutputFull => out.reserve(room(decoder, src.len())),
            DecoderResult::Malformed(..) => return Err(()),
        }
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl TextDecoder {
    #[qjs(constructor)]
    pub fn new<'js>(ctx: Ctx<'js>, label: Opt<Value<'js>>, options: Opt<Value<'js>>) -> rquickjs::Result<Self> {
        let label = match label.0 {
            Some(v) if !v.is_undefined() => usv_string(&ctx, v)?,
            _ => String::from("utf-8"),
        };
        let options = dictionary(&ctx, options, "Failed to construct 'TextDecoder'")?;
        let fatal = bool_member(&ctx, options.as_ref(), "fatal")?;
        let ignore_bom = bool_member(&ctx, options.as_ref(), "ignoreBOM")?;
        TextDecoder::for_label(&label, fatal, ignore_bom).ok_or_else(|| {
            range_error(
                &ctx,
                &format!("Failed to construct 'TextDecoder': The encoding label provided ('{label}') is invalid."),
            )
        })
    }

    #[qjs(get)]
    pub fn encoding(&self) -> String {
        self.encoding.name().to_ascii_lowercase()
    }

    #[qjs(get)]
    pub fn fatal(&self) -> bool {
        self.fatal
    }

    #[qjs(get, rename = "ignoreBOM")]
    pub fn ignore_bom(&self) -> bool {
        self.ignore_bom
    }

    pub fn decode<'js>(
        &mut self,
        ctx: Ctx<'js>,
        input: Opt<Value<'js>>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<String> {
        let bytes = match input.0 {
            None => bytes::Bytes::new(),
            Some(v) if v.is_undefined() => bytes::Bytes::new(),
            Some(v) => buffer_source::copy_bytes(&ctx, &v)?.ok_or_else(|| {
                type_error(
                    &ctx,
                    "Failed to execute 'decode' on 'TextDecoder': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.",
                )
            })?,
        };
        let options = dictionary(&ctx, options, "Failed to execute 'decode' on 'TextDecoder'")?;
        let stream = bool_member(&ctx, options.as_ref(), "stream")?;
        self.decode_bytes(&bytes, !stream).map_err(|e| type_error(&ctx, &e.to_string()))
    }
}

impl Default for TextDecoder {
    fn default() -> Self {
        TextDecoder { encoding: UTF_8, fatal: false, ignore_bom: false, decoder: None }
    }
}

/// Installs the `TextEncoder` constructor.
pub fn install_text_encoder<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    constructor::<TextEncoder>(ctx)
}

/// Installs the `TextDecoder` constructor.
pub fn install_text_decoder<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    constructor::<TextDecoder>(ctx)
}
