//! `Crypto` (WebCrypto §10): the `crypto` global, with `getRandomValues`, `randomUUID` and
//! `subtle`.
//!
//! Random bytes come from the [`provider`](super::provider). `getRandomValues` fills the
//! caller's array in place through `Uint8Array.prototype.set` on a view of its buffer, so no
//! Rust reference into JS memory is ever taken. `DigestStream` (a workerd extension) is not
//! provided.

use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{ArrayBuffer, Class, Ctx, Function, JsLifetime, Object, TypedArray, Value};

use super::error::{CryptoError, ErrorKind, Failure};
use super::provider::provider;
use super::subtle::SubtleCrypto;
use crate::buffer_source::uint8_array;
use crate::webidl::type_error;

/// The most bytes one `getRandomValues` call fills.
const QUOTA: usize = 65536;

#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct Crypto<'js> {
    subtle: Class<'js, SubtleCrypto>,
}

impl<'js> Crypto<'js> {
    /// The `crypto` object of an isolate, with its own `subtle`.
    pub fn create(ctx: &Ctx<'js>) -> rquickjs::Result<Class<'js, Crypto<'js>>> {
        let subtle = Class::instance(ctx.clone(), SubtleCrypto::default())?;
        Class::instance(ctx.clone(), Crypto { subtle })
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Crypto<'js> {
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'js>) -> rquickjs::Result<Self> {
        Err(type_error(&ctx, "Illegal constructor"))
    }

    #[qjs(get, enumerable, configurable)]
    pub fn subtle(&self) -> Class<'js, SubtleCrypto> {
        self.subtle.clone()
    }

    pub fn get_random_values(&self, ctx: Ctx<'js>, array: Opt<Value<'js>>) -> rquickjs::Result<Value<'js>> {
        let array = array.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        fill_random_values(&ctx, &array).map_err(|failure| failure.throw(&ctx))?;
        Ok(array)
    }

    #[qjs(rename = "randomUUID")]
    pub fn random_uuid(&self, ctx: Ctx<'js>) -> rquickjs::Result<String> {
        let mut bytes = [0u8; 16];
        provider().fill_random(&mut bytes).map_err(|e| e.throw(&ctx))?;
        Ok(format_uuid_v4(bytes))
    }
}

/// `getRandomValues(array)`: fills an integer typed array with random bytes.
fn fill_random_values<'js>(ctx: &Ctx<'js>, array: &Value<'js>) -> Result<(), Failure> {
    let not_a_view = || {
        CryptoError::type_error(
            "Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.",
        )
    };
    let Some(object) = array.as_object() else { return Err(not_a_view().into()) };
    if !is_integer_typed_array(object) {
        if is_array_buffer_view(object)? {
            return Err(CryptoError::new(
                ErrorKind::TypeMismatch,
                "ArrayBufferView argument to getRandomValues() must be an integer-typed view.",
            )
            .into());
        }
        return Err(not_a_view().into());
    }
    let byte_length = object.get::<_, f64>("byteLength")? as usize;
    if byte_length > QUOTA {
        return Err(CryptoError::new(
            ErrorKind::QuotaExceeded,
            format!("getRandomValues() only accepts buffers of size <= 64K but provided {byte_length} bytes."),
        )
        .into());
    }
    if byte_length == 0 {
        return Ok(());
    }
    let byte_offset = object.get::<_, f64>("byteOffset")?;
    let buffer: ArrayBuffer = object.get("buffer")?;
    let mut random = vec![0u8; byte_length];
    provider().fill_random(&mut random)?;
    let whole = TypedArray::<u8>::from_arraybuffer(buffer)?;
    let set: Function = whole.as_object().get("set")?;
    set.call::<_, ()>((This(whole), uint8_array(ctx, random.into())?, byte_offset))?;
    Ok(())
}

fn is_integer_typed_array(object: &Object<'_>) -> bool {
    object.is_typed_array::<i8>()
        || object.is_typed_array::<u8>()
        || object.is_typed_array::<rquickjs::U8Clamped>()
        || object.is_typed_array::<i16>()
        || object.is_typed_array::<u16>()
        || object.is_typed_array::<i32>()
        || object.is_typed_array::<u32>()
        || object.is_typed_array::<i64>()
        || object.is_typed_array::<u64>()
}

/// A float typed array or a `DataView`: something with a `buffer` and a `byteOffset`.
fn is_array_buffer_view(object: &Object<'_>) -> rquickjs::Result<bool> {
    let buffer: Value = object.get("buffer")?;
    Ok(ArrayBuffer::from_value(buffer).is_some() && object.get::<_, Value>("byteOffset")?.is_number())
}

/// A version 4 UUID (RFC 9562 §5.4) from 16 random bytes, lowercase.
fn format_uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Installs the `crypto` object.
///
/// Also reads the `Crypto`, `SubtleCrypto` and `CryptoKey` globals (installing them if lazy), so
/// that `constructor` on the prototypes is the global constructor; without a `Crypto` global,
/// `crypto.constructor` still gets a (throwing) constructor of its own.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let crypto = Crypto::create(ctx)?;
    for name in ["SubtleCrypto", "CryptoKey"] {
        nanod_js::globals::get(ctx, name)?;
    }
    if !nanod_js::globals::get(ctx, "Crypto")?.is_function() {
        Class::<Crypto>::create_constructor(ctx)?;
    }
    Ok(crypto.into_value())
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_layout() {
        let uuid = super::format_uuid_v4([0xff; 16]);
        assert_eq!(uuid, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let uuid = super::format_uuid_v4([0; 16]);
        assert_eq!(uuid, "00000000-0000-4000-8000-000000000000");
    }
}
