//! `CompressionStream` and `DecompressionStream` (Compression Streams): gzip, deflate (zlib) and
//! deflate-raw, with the codec in Rust (flate2).
//!
//! The stream classes themselves are thin glue over `TransformStream` (`js/compression.js`);
//! each chunk goes through a native [`Codec`], which compresses or decompresses it and hands
//! back whatever output is ready. Corrupt input, input after the end of the compressed data,
//! and input that ends early all error the stream with a `TypeError`, as the spec asks.

use std::io::Write;

use flate2::write::{DeflateDecoder, DeflateEncoder, GzDecoder, GzEncoder, ZlibDecoder, ZlibEncoder};
use flate2::Compression;
use rquickjs::class::Trace;
use rquickjs::{Ctx, Function, JsLifetime, Object, Value};

use crate::buffer_source;
use crate::glue::{self, Glue};
use crate::webidl::type_error;

static COMPRESSION: Glue = Glue::new("nanod:compression", include_str!("js/compression.js"));

/// One direction of one format.
trait Coder {
    /// Feeds input; returns the output produced so far and how much input was consumed.
    fn push(&mut self, input: &[u8]) -> std::io::Result<(Vec<u8>, usize)>;
    /// Ends the stream; returns the remaining output.
    fn finish(&mut self) -> std::io::Result<Vec<u8>>;
}

macro_rules! coder {
    ($ty:ident) => {
        impl Coder for $ty<Vec<u8>> {
            fn push(&mut self, input: &[u8]) -> std::io::Result<(Vec<u8>, usize)> {
                let mut consumed = 0;
                while consumed < input.len() {
                    let rest = input.get(consumed..).unwrap_or_default();
                    let n = self.write(rest)?;
                    if n == 0 {
                        break; // the compressed data ended before the input did
                    }
                    consumed += n;
                }
                Ok((std::mem::take(self.get_mut()), consumed))
            }
            fn finish(&mut self) -> std::io::Result<Vec<u8>> {
                self.try_finish()?;
                Ok(std::mem::take(self.get_mut()))
            }
        }
    };
}

coder!(GzEncoder);
coder!(ZlibEncoder);
coder!(DeflateEncoder);
coder!(GzDecoder);
coder!(ZlibDecoder);
coder!(DeflateDecoder);

/// The native half of a (de)compression stream.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct Codec {
    #[qjs(skip_trace)]
    coder: Option<Box<dyn Coder>>,
    #[qjs(skip_trace)]
    decompress: bool,
}

fn make_coder(format: &str, decompress: bool) -> Option<Box<dyn Coder>> {
    let level = Compression::default();
    Some(match (format, decompress) {
        ("gzip", false) => Box::new(GzEncoder::new(Vec::new(), level)),
        ("deflate", false) => Box::new(ZlibEncoder::new(Vec::new(), level)),
        ("deflate-raw", false) => Box::new(DeflateEncoder::new(Vec::new(), level)),
        ("gzip", true) => Box::new(GzDecoder::new(Vec::new())),
        ("deflate", true) => Box::new(ZlibDecoder::new(Vec::new())),
        ("deflate-raw", true) => Box::new(DeflateDecoder::new(Vec::new())),
        _ => return None,
    })
}

#[rquickjs::methods(rename_all = "camelCase")]
impl Codec {
    #[qjs(constructor)]
    pub fn new<'js>(ctx: Ctx<'js>, format: Value<'js>, decompress: bool) -> rquickjs::Result<Self> {
        let format = crate::webidl::dom_string(&ctx, format)?;
        let coder = make_coder(&format, decompress).ok_or_else(|| {
            type_error(
                &ctx,
                &format!("The provided value '{format}' is not a valid enum value of type CompressionFormat."),
            )
        })?;
        Ok(Codec { coder: Some(coder), decompress })
    }

    /// Processes one chunk (any BufferSource); returns the output ready so far.
    pub fn push<'js>(&mut self, ctx: Ctx<'js>, chunk: Value<'js>) -> rquickjs::Result<Value<'js>> {
        let bytes = buffer_source::copy_bytes(&ctx, &chunk)?
            .ok_or_else(|| type_error(&ctx, "The provided value is not of type '(ArrayBuffer or ArrayBufferView)'."))?;
        let decompress = self.decompress;
        let coder = self.coder.as_mut().ok_or_else(|| type_error(&ctx, "The stream has already ended."))?;
        let (output, consumed) = coder.push(&bytes).map_err(|e| codec_error(&ctx, decompress, &e))?;
        if consumed < bytes.len() {
            self.coder = None;
            return Err(type_error(&ctx, "Trailing bytes after the end of the compressed data."));
        }
        buffer_source::uint8_array(&ctx, output.into())
    }

    /// Ends the stream; returns the remaining output.
    pub fn finish<'js>(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let decompress = self.decompress;
        let mut coder = self.coder.take().ok_or_else(|| type_error(&ctx, "The stream has already ended."))?;
        let output = coder.finish().map_err(|e| codec_error(&ctx, decompress, &e))?;
        buffer_source::uint8_array(&ctx, output.into())
    }
}

fn codec_error(ctx: &Ctx<'_>, decompress: bool, error: &std::io::Error) -> rquickjs::Error {
    if decompress {
        type_error(ctx, &format!("The compressed data is invalid or incomplete: {error}"))
    } else {
        type_error(ctx, &format!("Compression failed: {error}"))
    }
}

fn classes<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let codec = crate::headers::constructor::<Codec>(ctx)?;
    let transform = crate::streams::install_transform_stream(ctx)?;
    let make: Function = glue::function(ctx, &COMPRESSION, "makeClasses")?;
    // The glue caches the classes per isolate, so both globals share one pair.
    make.call((codec, transform))
}

pub fn install_compression_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    classes(ctx)?.get("CompressionStream")
}

pub fn install_decompression_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    classes(ctx)?.get("DecompressionStream")
}
