//! `atob` and `btoa` (HTML §8.3), over WHATWG Infra's forgiving-base64.
//!
//! QuickJS-ng's own `atob`/`btoa` decode every WPT `base64.json` case correctly, but they do
//! not enforce WebIDL's required argument: `atob()` decoded the string `"undefined"` and
//! `btoa()` encoded it, where Node and workerd throw a `TypeError`. These replace them (listed
//! in `lib.rs`'s `FUNCTIONS`). Errors are `DOMException`s named `InvalidCharacterError`, with
//! workerd's messages.
//!
//! ```js
//! atob(" YW Jj ") === "abc"; btoa("\xff") === "/w==";
//! ```

use rquickjs::function::Opt;
use rquickjs::{Ctx, Function, Value};

use crate::webidl::{dom_string, latin1_bytes, latin1_string, type_error};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Forgiving-base64 decode (Infra §4.6): `None` is failure.
pub fn forgiving_decode(input: &str) -> Option<Vec<u8>> {
    let mut data: Vec<u8> = Vec::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\t' | '\n' | '\u{c}' | '\r' | ' ' => {}
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' | '=' => data.push(c as u8),
            _ => return None,
        }
    }
    if data.len().is_multiple_of(4) {
        for _ in 0..2 {
            if data.last() == Some(&b'=') {
                data.pop();
            }
        }
    }
    if data.len() % 4 == 1 || data.contains(&b'=') {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in data {
        let value = ALPHABET.iter().position(|&a| a == byte)?;
        buffer = (buffer << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The argument as a string; `None` for a string with a lone surrogate (which no Rust string
/// holds, and which is an invalid character for both functions anyway).
fn required<'js>(ctx: &Ctx<'js>, name: &str, value: Opt<Value<'js>>) -> rquickjs::Result<Option<String>> {
    let Some(value) = value.0 else {
        return Err(type_error(ctx, &format!("Failed to execute '{name}': 1 argument required, but only 0 present.")));
    };
    let is_string = value.is_string();
    match dom_string(ctx, value) {
        Ok(s) => Ok(Some(s)),
        Err(rquickjs::Error::Utf8(_)) if is_string => Ok(None),
        Err(e) => Err(e),
    }
}

/// Installs `atob`.
pub fn install_atob<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let f = Function::new(ctx.clone(), |ctx: Ctx<'js>, data: Opt<Value<'js>>| {
        let data = required(&ctx, "atob", data)?;
        match data.and_then(|d| forgiving_decode(&d)) {
            Some(bytes) => Ok(latin1_string(&bytes)),
            None => Err(crate::webidl::dom_exception(
                &ctx,
                "InvalidCharacterError",
                "atob() called with invalid base64-encoded data. (Only whitespace, '+', '/', alphanumeric ASCII, and \
                 up to two terminal '=' signs when the input data length is divisible by 4 are allowed.)",
            )),
        }
    })?
    .with_name("atob")?;
    Ok(f.into_value())
}

/// Installs `btoa`.
pub fn install_btoa<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let f = Function::new(ctx.clone(), |ctx: Ctx<'js>, data: Opt<Value<'js>>| {
        let data = required(&ctx, "btoa", data)?;
        match data.and_then(|d| latin1_bytes(&d)) {
            Some(bytes) => Ok(encode(&bytes)),
            None => Err(crate::webidl::dom_exception(
                &ctx,
                "InvalidCharacterError",
                "btoa() can only operate on characters in the Latin1 (ISO/IEC 8859-1) range.",
            )),
        }
    })?
    .with_name("btoa")?;
    Ok(f.into_value())
}

#[cfg(test)]
mod tests {
    use super::{encode, forgiving_decode};

    #[test]
    fn decode_and_encode() {
        assert_eq!(forgiving_decode(" YW Jj "), Some(b"abc".to_vec()));
        assert_eq!(forgiving_decode("ab=="), Some(vec![105]));
        assert_eq!(forgiving_decode("ab="), None);
        assert_eq!(forgiving_decode("a"), None);
        assert_eq!(forgiving_decode("\u{10000}"), None);
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"a"), "YQ==");
        assert_eq!(encode(b"ab"), "YWI=");
        assert_eq!(encode(b"abc"), "YWJj");
        assert_eq!(encode(&[0xff, 0xfe]), "//4=");
    }
}
