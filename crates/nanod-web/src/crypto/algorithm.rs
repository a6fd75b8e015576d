//! WebCrypto's algorithm layer: normalizing `AlgorithmIdentifier`s, key usages and formats, and
//! the table of key algorithms ([`ALGORITHMS`]).
//!
//! Adding an algorithm is one [`Registered`] entry pointing at a [`KeyAlgorithm`] implementation
//! (plus its variant of [`super::key::KeyParams`]); `subtle.rs` dispatches through the table and
//! knows no algorithm by name. Names workerd recognizes but nanod does not implement yet stay in
//! the table with `ops: None`, so they reject with `NotSupportedError` naming the algorithm rather
//! than as unknown.

use rquickjs::{Array, Ctx, FromJs, Object, Value};

use super::error::{CryptoError, Failure};
use super::hmac::Hmac;
use super::key::KeyData;
use super::provider::Hash;
use crate::webidl::dom_string;

/// An algorithm argument as given: its name and, when a dictionary was passed, the dictionary.
pub struct AlgorithmArg<'js> {
    pub name: String,
    params: Option<Object<'js>>,
}

impl<'js> AlgorithmArg<'js> {
    /// Reads an `AlgorithmIdentifier` (a string or a dictionary with `name`) of `method`'s
    /// parameter `index`. As in workerd, a missing or non-string `name` is stringified
    /// (`"undefined"`) and fails later as an unrecognized algorithm.
    pub fn read(ctx: &Ctx<'js>, value: Value<'js>, method: &str, index: u32, what: &str) -> Result<Self, Failure> {
        if value.is_undefined() || value.is_null() {
            return Err(CryptoError::type_error(format!(
                "Failed to execute '{method}' on 'SubtleCrypto': parameter {index} is not of type 'string or {what}'."
            ))
            .into());
        }
        match value.as_object() {
            Some(object) => {
                let name = dom_string(ctx, object.get("name")?)?;
                Ok(AlgorithmArg { name, params: Some(object.clone()) })
            }
            None => Ok(AlgorithmArg { name: dom_string(ctx, value)?, params: None }),
        }
    }

    /// A dictionary member; `None` when absent or `undefined`.
    pub fn member(&self, key: &str) -> Result<Option<Value<'js>>, Failure> {
        let Some(params) = &self.params else { return Ok(None) };
        let value: Value = params.get(key)?;
        Ok((!value.is_undefined()).then_some(value))
    }

    /// The required `hash` member (a `HashAlgorithmIdentifier`).
    pub fn hash(&self, ctx: &Ctx<'js>) -> Result<Hash, Failure> {
        let Some(value) = self.member("hash")? else {
            return Err(CryptoError::type_error("Missing field \"hash\" in \"algorithm\".").into());
        };
        let name = match value.as_object() {
            Some(object) => dom_string(ctx, object.get("name")?)?,
            None => dom_string(ctx, value)?,
        };
        hash_by_name(&name).map_err(Failure::from)
    }

    /// An optional `[EnforceRange]`-free integer member such as `length`: converted with
    /// `ToNumber` and truncated; outside the 32-bit signed range is a `TypeError`, as in workerd.
    pub fn integer(&self, ctx: &Ctx<'js>, key: &str) -> Result<Option<i64>, Failure> {
        let Some(value) = self.member(key)? else { return Ok(None) };
        let number = rquickjs::Coerced::<f64>::from_js(ctx, value)?.0;
        let number = if number.is_nan() { 0.0 } else { number.trunc() };
        if number < f64::from(i32::MIN) || number > f64::from(i32::MAX) {
            return Err(CryptoError::type_error(
                "Value out of range. Must be between -2147483648 and 2147483647 (inclusive).",
            )
            .into());
        }
        Ok(Some(number as i64))
    }
}

/// A digest algorithm by name (ASCII case-insensitive).
pub fn hash_by_name(name: &str) -> Result<Hash, CryptoError> {
    Hash::from_name(name)
        .ok_or_else(|| CryptoError::not_supported("Unrecognized or unimplemented digest algorithm requested."))
}

/// What a key algorithm implements. Every operation defaults to `NotSupportedError`, so an
/// algorithm implements only what it supports.
pub trait KeyAlgorithm: Sync {
    /// The registered name (`"HMAC"`).
    fn name(&self) -> &'static str;

    /// `importKey`: `usages` are the strings as given (the algorithm validates them).
    fn import_key<'js>(
        &self,
        ctx: &Ctx<'js>,
        format: KeyFormat,
        data: KeyInput<'js>,
        params: &AlgorithmArg<'js>,
        extractable: bool,
        usages: &[String],
    ) -> Result<KeyData, Failure> {
        let _ = (ctx, format, data, params, extractable, usages);
        Err(unsupported(self.name(), "importKey").into())
    }

    /// `generateKey` for an algorithm with a single (secret) key.
    fn generate_key<'js>(
        &self,
        ctx: &Ctx<'js>,
        params: &AlgorithmArg<'js>,
        extractable: bool,
        usages: &[String],
    ) -> Result<KeyData, Failure> {
        let _ = (ctx, params, extractable, usages);
        Err(unsupported(self.name(), "generateKey").into())
    }

    /// `exportKey` of an extractable key of this algorithm.
    fn export_key<'js>(&self, ctx: &Ctx<'js>, key: &KeyData, format: KeyFormat) -> Result<Value<'js>, Failure> {
        let _ = (ctx, key, format);
        Err(unsupported(self.name(), "exportKey").into())
    }

    fn sign(&self, key: &KeyData, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let _ = (key, data);
        Err(unsupported(self.name(), "sign"))
    }

    fn verify(&self, key: &KeyData, signature: &[u8], data: &[u8]) -> Result<bool, CryptoError> {
        let _ = (key, signature, data);
        Err(unsupported(self.name(), "verify"))
    }
}

fn unsupported(name: &str, operation: &str) -> CryptoError {
    CryptoError::not_supported(format!("The \"{name}\" algorithm does not support {operation}."))
}

/// A table entry: a registered algorithm name and its implementation, if nanod has one.
pub struct Registered {
    pub name: &'static str,
    pub ops: Option<&'static dyn KeyAlgorithm>,
}

/// Every key algorithm name workerd recognizes. `ops: None` is recognized but not implemented
/// yet (rejects with `NotSupportedError` naming it).
pub const ALGORITHMS: &[Registered] = &[
    Registered { name: "HMAC", ops: Some(&Hmac) },
    Registered { name: "AES-CTR", ops: None },
    Registered { name: "AES-CBC", ops: None },
    Registered { name: "AES-GCM", ops: None },
    Registered { name: "AES-KW", ops: None },
    Registered { name: "PBKDF2", ops: None },
    Registered { name: "HKDF", ops: None },
    Registered { name: "RSASSA-PKCS1-v1_5", ops: None },
    Registered { name: "RSA-PSS", ops: None },
    Registered { name: "RSA-OAEP", ops: None },
    Registered { name: "RSA-RAW", ops: None },
    Registered { name: "ECDSA", ops: None },
    Registered { name: "ECDH", ops: None },
    Registered { name: "Ed25519", ops: None },
    Registered { name: "X25519", ops: None },
    Registered { name: "NODE-ED25519", ops: None },
];

/// The implementation of a key algorithm named `name` (ASCII case-insensitive) for `operation`
/// (`"key import"`, `"key generation"`).
pub fn key_algorithm(name: &str, operation: &str) -> Result<&'static dyn KeyAlgorithm, CryptoError> {
    match ALGORITHMS.iter().find(|entry| entry.name.eq_ignore_ascii_case(name)) {
        Some(Registered { ops: Some(ops), .. }) => Ok(*ops),
        Some(Registered { name, ops: None }) => Err(CryptoError::not_supported(format!(
            "The {operation} algorithm \"{name}\" is not implemented by nanod yet."
        ))),
        None => Err(CryptoError::not_supported(format!("Unrecognized {operation} algorithm \"{name}\" requested."))),
    }
}

/// The implementation behind an existing key's algorithm.
pub fn ops_of(key: &KeyData) -> Result<&'static dyn KeyAlgorithm, CryptoError> {
    key_algorithm(key.params.name(), "key")
}

/// The key data `importKey` was given, already matched to its format.
pub enum KeyInput<'js> {
    /// `raw`, `spki`, `pkcs8`: the bytes of a `BufferSource`.
    Bytes(bytes::Bytes),
    /// `jwk`: the `JsonWebKey` dictionary.
    Jwk(Object<'js>),
}

/// `KeyFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    Raw,
    Pkcs8,
    Spki,
    Jwk,
}

impl KeyFormat {
    pub fn from_name(name: &str) -> Option<KeyFormat> {
        match name {
            "raw" => Some(KeyFormat::Raw),
            "pkcs8" => Some(KeyFormat::Pkcs8),
            "spki" => Some(KeyFormat::Spki),
            "jwk" => Some(KeyFormat::Jwk),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyFormat::Raw => "raw",
            KeyFormat::Pkcs8 => "pkcs8",
            KeyFormat::Spki => "spki",
            KeyFormat::Jwk => "jwk",
        }
    }
}

/// `KeyUsage`, in the order a key's `usages` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsage {
    Encrypt,
    Decrypt,
    Sign,
    Verify,
    DeriveKey,
    DeriveBits,
    WrapKey,
    UnwrapKey,
}

impl KeyUsage {
    pub const ALL: [KeyUsage; 8] = [
        KeyUsage::Encrypt,
        KeyUsage::Decrypt,
        KeyUsage::Sign,
        KeyUsage::Verify,
        KeyUsage::DeriveKey,
        KeyUsage::DeriveBits,
        KeyUsage::WrapKey,
        KeyUsage::UnwrapKey,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyUsage::Encrypt => "encrypt",
            KeyUsage::Decrypt => "decrypt",
            KeyUsage::Sign => "sign",
            KeyUsage::Verify => "verify",
            KeyUsage::DeriveKey => "deriveKey",
            KeyUsage::DeriveBits => "deriveBits",
            KeyUsage::WrapKey => "wrapKey",
            KeyUsage::UnwrapKey => "unwrapKey",
        }
    }

    pub fn from_name(name: &str) -> Option<KeyUsage> {
        KeyUsage::ALL.into_iter().find(|usage| usage.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of key usages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usages(u8);

impl Usages {
    pub fn of(usages: &[KeyUsage]) -> Usages {
        Usages(usages.iter().fold(0, |set, usage| set | usage.bit()))
    }
    pub fn contains(self, usage: KeyUsage) -> bool {
        self.0 & usage.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The usages in canonical order, without repeats.
    pub fn iter(self) -> impl Iterator<Item = KeyUsage> {
        KeyUsage::ALL.into_iter().filter(move |usage| self.contains(*usage))
    }

    /// Validates requested usage strings against what an algorithm allows; `what` completes
    /// "Attempt to ... with invalid usage" (workerd's wording).
    pub fn check(requested: &[String], allowed: Usages, what: &str) -> Result<Usages, CryptoError> {
        let mut set = Usages::default();
        for name in requested {
            match KeyUsage::from_name(name) {
                Some(usage) if allowed.contains(usage) => set.0 |= usage.bit(),
                _ => {
                    return Err(CryptoError::syntax(format!("Attempt to {what} with invalid usage \"{name}\".")));
                }
            }
        }
        Ok(set)
    }

    /// The usages as a JS array of strings.
    pub fn to_array<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Array<'js>> {
        let array = Array::new(ctx.clone())?;
        for (i, usage) in self.iter().enumerate() {
            array.set(i, usage.name())?;
        }
        Ok(array)
    }
}

/// A `sequence<KeyUsage>` argument: must be an array; its items are stringified.
pub fn usages_arg<'js>(ctx: &Ctx<'js>, value: Value<'js>, method: &str, index: u32) -> Result<Vec<String>, Failure> {
    let Some(array) = value.as_array() else {
        return Err(CryptoError::type_error(format!(
            "Failed to execute '{method}' on 'SubtleCrypto': parameter {index} is not of type 'Array'."
        ))
        .into());
    };
    let mut usages = Vec::with_capacity(array.len());
    for item in array.iter::<Value>() {
        usages.push(dom_string(ctx, item?)?);
    }
    Ok(usages)
}
