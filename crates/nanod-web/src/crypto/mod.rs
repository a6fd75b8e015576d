//! Web Crypto: the `crypto` global (`getRandomValues`, `randomUUID`), `crypto.subtle` and
//! `CryptoKey` (W3C Web Cryptography API, with workerd's extensions and error messages).
//!
//! ```js
//! const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
//! const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("message"));
//! const sum = await crypto.subtle.digest("SHA-256", body);
//! ```
//!
//! Map of the module:
//! - `random.rs`: the `Crypto` class (the `crypto` object).
//! - `subtle.rs`: the `SubtleCrypto` class: argument conversion and dispatch.
//! - `key.rs`: the `CryptoKey` class and the Rust key data behind it.
//! - `algorithm.rs`: algorithm normalization, usages, formats, and [`algorithm::ALGORITHMS`],
//!   the table of key algorithms (one entry per algorithm).
//! - `hmac.rs`: HMAC, the one key algorithm implemented so far; `jwk.rs`: JSON Web Keys.
//! - `provider.rs`: the seam to the crypto primitives (RustCrypto by default); `md5.rs`: MD5.
//! - `error.rs`: errors as data, turned into `TypeError`/`DOMException` rejections.
//!
//! Implemented: `digest` (SHA-1/256/384/512 and workerd's MD5), HMAC (`importKey` raw/jwk,
//! `generateKey`, `exportKey` raw/jwk, `sign`, `verify`), workerd's `timingSafeEqual`. Other
//! algorithms (AES, RSA, ECDSA, HKDF, PBKDF2...) are recognized and reject with
//! `NotSupportedError`. Not provided: `crypto.DigestStream`, the `Crypto` global constructor.
//! All work is synchronous: the returned promises are already settled.

pub mod algorithm;
pub mod error;
pub mod hmac;
pub mod jwk;
pub mod key;
pub mod provider;
pub mod random;
pub mod subtle;

use rquickjs::{Ctx, Value};

pub use key::CryptoKey;
pub use random::Crypto;
pub use subtle::SubtleCrypto;

/// Installs the `crypto` object.
pub fn install_crypto<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    random::install(ctx)
}

/// Installs the `CryptoKey` constructor.
pub fn install_crypto_key<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    key::install(ctx)
}

/// Installs the `SubtleCrypto` constructor.
pub fn install_subtle_crypto<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    subtle::install(ctx)
}
