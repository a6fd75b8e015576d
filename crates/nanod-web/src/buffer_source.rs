//! `BufferSource` (ArrayBuffer, any TypedArray, DataView) → bytes.
//!
//! The one module of this crate allowed `unsafe`: rquickjs exposes an ArrayBuffer's memory only
//! through an unsafe accessor, sound as long as no JS runs while the slice lives. Every use
//! here copies the bytes out before returning, with no JS call in between.

use bytes::Bytes;
use rquickjs::{ArrayBuffer, Ctx, Value};

/// The bytes a buffer source views, copied; `None` if `value` is not a buffer source.
/// A detached buffer reads as empty.
pub fn copy_bytes<'js>(_ctx: &Ctx<'js>, value: &Value<'js>) -> rquickjs::Result<Option<Bytes>> {
    let Some(object) = value.as_object() else { return Ok(None) };
    if let Some(buffer) = ArrayBuffer::from_value(value.clone()) {
        return Ok(Some(Bytes::copy_from_slice(buffer_bytes(&buffer, 0, usize::MAX))));
    }
    let Ok(buffer) = object.get::<_, ArrayBuffer>("buffer") else { return Ok(None) };
    let is_view = object.get::<_, Option<f64>>("byteOffset")?.is_some();
    if !is_view {
        return Ok(None);
    }
    let offset = object.get::<_, f64>("byteOffset")? as usize;
    let length = object.get::<_, f64>("byteLength")? as usize;
    Ok(Some(Bytes::copy_from_slice(buffer_bytes(&buffer, offset, length))))
}

fn buffer_bytes<'a>(buffer: &'a ArrayBuffer<'_>, offset: usize, length: usize) -> &'a [u8] {
    // SAFETY: the slice is copied by every caller before any JS runs (see module doc).
    #[allow(unsafe_code)]
    let all = unsafe { buffer.as_bytes() }.unwrap_or_default();
    let start = offset.min(all.len());
    let end = start.saturating_add(length).min(all.len());
    all.get(start..end).unwrap_or_default()
}

/// A new `Uint8Array` owning `bytes` (moved, not copied, when `bytes` is uniquely owned).
pub fn uint8_array<'js>(ctx: &Ctx<'js>, bytes: Bytes) -> rquickjs::Result<Value<'js>> {
    let buffer = ArrayBuffer::from_source(ctx.clone(), Vec::from(bytes))?;
    rquickjs::TypedArray::<u8>::from_arraybuffer(buffer).map(|a| a.into_value())
}

/// A new `ArrayBuffer` owning `bytes`.
pub fn array_buffer<'js>(ctx: &Ctx<'js>, bytes: Bytes) -> rquickjs::Result<Value<'js>> {
    ArrayBuffer::from_source(ctx.clone(), Vec::from(bytes)).map(|b| b.into_value())
}
