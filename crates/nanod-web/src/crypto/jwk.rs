//! JSON Web Keys (RFC 7517) as `importKey`/`exportKey` read and write them, and the base64url
//! coding of their members.
//!
//! Reading follows workerd rather than the letter of WebCrypto: `key_ops` must be an array but
//! is not compared with the requested usages, `use` is not checked, and `k` decodes leniently
//! (either base64 alphabet, optional correct padding, ASCII whitespace skipped).

use rquickjs::{Array, Ctx, FromJs, Object, Value};

use super::error::{CryptoError, Failure};
use crate::webidl::dom_string;

/// The members of a `JsonWebKey` that the implemented algorithms read.
#[derive(Debug, Default)]
pub struct Jwk {
    pub kty: Option<String>,
    pub alg: Option<String>,
    pub k: Option<String>,
    pub ext: Option<bool>,
    pub key_ops: Option<Vec<String>>,
}

impl Jwk {
    /// Converts a `JsonWebKey` dictionary.
    pub fn read<'js>(ctx: &Ctx<'js>, object: &Object<'js>) -> Result<Jwk, Failure> {
        let string = |key: &str| -> Result<Option<String>, Failure> {
            let value: Value = object.get(key)?;
            if value.is_undefined() {
                return Ok(None);
            }
            Ok(Some(dom_string(ctx, value)?))
        };
        let ext: Value = object.get("ext")?;
        let ext = (!ext.is_undefined()).then(|| rquickjs::Coerced::<bool>::from_js(ctx, ext).map(|b| b.0));
        let key_ops: Value = object.get("key_ops")?;
        let key_ops = if key_ops.is_undefined() {
            None
        } else {
            let Some(array) = key_ops.as_array() else {
                return Err(CryptoError::type_error(
                    "Incorrect type for the 'key_ops' field on 'JsonWebKey': the provided value is not of type 'Array'.",
                )
                .into());
            };
            let mut ops = Vec::with_capacity(array.len());
            for item in array.iter::<Value>() {
                ops.push(dom_string(ctx, item?)?);
            }
            Some(ops)
        };
        Ok(Jwk { kty: string("kty")?, alg: string("alg")?, k: string("k")?, ext: ext.transpose()?, key_ops })
    }
}

/// A secret-key JWK (`kty: "oct"`) in workerd's member order.
pub fn secret_jwk<'js>(
    ctx: &Ctx<'js>,
    key_ops: Array<'js>,
    alg: &str,
    ext: bool,
    secret: &[u8],
) -> rquickjs::Result<Value<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("kty", "oct")?;
    object.set("key_ops", key_ops)?;
    object.set("alg", alg)?;
    object.set("ext", ext)?;
    object.set("k", base64url_encode(secret))?;
    Ok(object.into_value())
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 §5), as JWK members are written.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    let symbol = |index: u32| char::from(ALPHABET[(index & 63) as usize]);
    for chunk in bytes.chunks(3) {
        let b = [chunk.first(), chunk.get(1), chunk.get(2)].map(|b| u32::from(b.copied().unwrap_or(0)));
        let n = (b[0] << 16) | (b[1] << 8) | b[2];
        out.push(symbol(n >> 18));
        out.push(symbol(n >> 12));
        if chunk.len() > 1 {
            out.push(symbol(n >> 6));
        }
        if chunk.len() > 2 {
            out.push(symbol(n));
        }
    }
    out
}

/// Decodes base64url or base64, padded or not, skipping ASCII whitespace; `None` if malformed.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut values = Vec::with_capacity(text.len());
    let mut padding = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => continue,
            _ => return None,
        };
        if padding > 0 {
            return None; // data after padding
        }
        values.push(u32::from(value));
    }
    let rem = values.len() % 4;
    if rem == 1 || (padding > 0 && (rem == 0 || rem + padding != 4)) {
        return None;
    }
    let mut out = Vec::with_capacity(values.len() * 3 / 4);
    for chunk in values.chunks(4) {
        let v = [chunk.first(), chunk.get(1), chunk.get(2), chunk.get(3)].map(|v| v.copied().unwrap_or(0));
        let n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(bytes.get(..chunk.len() - 1).unwrap_or_default());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{base64url_decode, base64url_encode};

    #[test]
    fn base64url_round_trip() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37).wrapping_add(250)).collect();
            let text = base64url_encode(&bytes);
            assert!(!text.contains(['=', '+', '/']), "{text}");
            assert_eq!(base64url_decode(&text), Some(bytes));
        }
    }

    #[test]
    fn decode_like_workerd() {
        assert_eq!(base64url_decode("a2V5").as_deref(), Some(&b"key"[..]));
        assert_eq!(base64url_decode("a2V5YQ==").as_deref(), Some(&b"keya"[..]));
        assert_eq!(base64url_decode("a2 V5").as_deref(), Some(&b"key"[..]));
        assert_eq!(base64url_decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(base64url_decode("+/8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(base64url_decode("a2V5="), None);
        assert_eq!(base64url_decode("a2V5Y"), None);
        assert_eq!(base64url_decode("a!V5"), None);
        assert_eq!(base64url_decode("a2V5YQ=a"), None);
        assert_eq!(base64url_decode("").as_deref(), Some(&[][..]));
    }
}
