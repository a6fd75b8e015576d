//! `CryptoKey` (WebCrypto §13): an opaque key handed to `crypto.subtle` methods.
//!
//! The Rust side ([`KeyData`]) holds the key material and is what operations read; JS sees
//! `type`, `extractable`, `algorithm` and `usages` as read-only own data properties of each key,
//! as workerd defines them (the same object on every read, so `key.algorithm === key.algorithm`).
//! Changing those JS objects changes nothing about the key. Keys cannot be constructed from JS.

use rquickjs::class::Trace;
use rquickjs::object::Property;
use rquickjs::{Class, Ctx, JsLifetime, Object, Value};

use super::algorithm::{KeyUsage, Usages};
use super::error::CryptoError;
use super::provider::Hash;
use crate::webidl::type_error;

/// `KeyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Secret,
    Public,
    Private,
}

impl KeyKind {
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Secret => "secret",
            KeyKind::Public => "public",
            KeyKind::Private => "private",
        }
    }
}

/// A key's algorithm and its parameters, as `key.algorithm` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyParams {
    /// `HmacKeyAlgorithm`; `length` in bits.
    Hmac { hash: Hash, length: u32 },
}

impl KeyParams {
    pub fn name(&self) -> &'static str {
        match self {
            KeyParams::Hmac { .. } => "HMAC",
        }
    }

    /// The `KeyAlgorithm` dictionary.
    fn to_object<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
        let object = Object::new(ctx.clone())?;
        object.set("name", self.name())?;
        match self {
            KeyParams::Hmac { hash, length } => {
                let hash_object = Object::new(ctx.clone())?;
                hash_object.set("name", hash.name())?;
                object.set("hash", hash_object)?;
                object.set("length", *length)?;
            }
        }
        Ok(object)
    }
}

/// Key material.
pub enum KeyMaterial {
    Secret(Vec<u8>),
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyMaterial::Secret(bytes) => write!(f, "Secret({} bytes)", bytes.len()),
        }
    }
}

/// Everything a key is, on the Rust side.
#[derive(Debug)]
pub struct KeyData {
    pub kind: KeyKind,
    pub extractable: bool,
    pub usages: Usages,
    pub params: KeyParams,
    pub material: KeyMaterial,
}

impl KeyData {
    /// Fails with workerd's `InvalidAccessError` unless the key allows `usage`.
    pub fn require_usage(&self, usage: KeyUsage) -> Result<(), CryptoError> {
        if self.usages.contains(usage) {
            return Ok(());
        }
        Err(CryptoError::invalid_access(format!(
            "Requested key usage \"{}\" does not match any usage listed in this CryptoKey.",
            usage.name()
        )))
    }

    /// Fails with workerd's `InvalidAccessError` unless `requested` names this key's algorithm.
    pub fn require_algorithm(&self, requested: &str) -> Result<(), CryptoError> {
        if self.params.name().eq_ignore_ascii_case(requested) {
            return Ok(());
        }
        Err(CryptoError::invalid_access(format!(
            "Requested algorithm \"{requested}\" does not match this CryptoKey's algorithm \"{}\".",
            self.params.name()
        )))
    }

    /// The secret bytes of a secret key.
    pub fn secret(&self) -> &[u8] {
        match &self.material {
            KeyMaterial::Secret(bytes) => bytes,
        }
    }
}

#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct CryptoKey {
    #[qjs(skip_trace)]
    data: KeyData,
}

impl CryptoKey {
    pub fn data(&self) -> &KeyData {
        &self.data
    }

    /// A new JS `CryptoKey` for `data`, with its attribute properties defined.
    pub fn create<'js>(ctx: &Ctx<'js>, data: KeyData) -> rquickjs::Result<Value<'js>> {
        let kind = data.kind.name();
        let extractable = data.extractable;
        let algorithm = data.params.to_object(ctx)?;
        let usages = data.usages.to_array(ctx)?;
        let key = Class::instance(ctx.clone(), CryptoKey { data })?;
        let object = key.as_inner();
        let attribute = |value: Value<'js>| Property::from(value).enumerable().configurable();
        // workerd's order, which `Object.keys(key)` shows.
        object.prop("usages", attribute(usages.into_value()))?;
        object.prop("algorithm", attribute(algorithm.into_value()))?;
        object.prop("extractable", attribute(Value::new_bool(ctx.clone(), extractable)))?;
        object.prop("type", attribute(rquickjs::String::from_str(ctx.clone(), kind)?.into_value()))?;
        Ok(key.into_value())
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl CryptoKey {
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> rquickjs::Result<Self> {
        Err(type_error(&ctx, "Illegal constructor"))
    }
}

/// Installs the `CryptoKey` constructor (which throws: keys come from `crypto.subtle`).
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    crate::headers::constructor::<CryptoKey>(ctx)
}
