//! `SubtleCrypto` (WebCrypto §14): `crypto.subtle`.
//!
//! Each method converts its arguments, looks the algorithm up in [`super::algorithm::ALGORITHMS`]
//! and calls the implementation; nothing here is specific to one algorithm. Every method returns
//! a promise and reports every error by rejecting it (a wrong `this` is the only synchronous
//! throw). The work is fast enough (digests, HMAC) to run before returning, so the promise is
//! already settled. Errors follow workerd's names and messages. `timingSafeEqual` is workerd's
//! non-standard, synchronous extension.

use bytes::Bytes;
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Class, Coerced, Ctx, FromJs, JsLifetime, Promise, Value};

use super::algorithm::{hash_by_name, key_algorithm, ops_of, usages_arg, AlgorithmArg, KeyFormat, KeyInput, KeyUsage};
use super::error::{promise_of, CryptoError, Failure};
use super::key::{CryptoKey, KeyKind};
use super::provider::{constant_time_eq, provider};
use crate::buffer_source::{array_buffer, copy_bytes};
use crate::webidl::{dom_string, type_error};

#[derive(Trace, JsLifetime, Default)]
#[rquickjs::class]
pub struct SubtleCrypto {}

/// `undefined` for a missing argument.
fn arg<'js>(ctx: &Ctx<'js>, value: Opt<Value<'js>>) -> Value<'js> {
    value.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()))
}

/// A WebIDL `boolean` argument (`ToBoolean`).
fn boolean_arg<'js>(ctx: &Ctx<'js>, value: Opt<Value<'js>>) -> Result<bool, Failure> {
    Ok(Coerced::<bool>::from_js(ctx, arg(ctx, value))?.0)
}

fn not_of_type(method: &str, index: u32, what: &str) -> Failure {
    CryptoError::type_error(format!(
        "Failed to execute '{method}' on 'SubtleCrypto': parameter {index} is not of type '{what}'."
    ))
    .into()
}

/// A `BufferSource` argument's bytes.
fn buffer_arg<'js>(ctx: &Ctx<'js>, value: &Value<'js>, method: &str, index: u32) -> Result<Bytes, Failure> {
    copy_bytes(ctx, value)?.ok_or_else(|| not_of_type(method, index, "BufferSource"))
}

/// A `CryptoKey` argument.
fn key_arg<'js>(value: &Value<'js>, method: &str, index: u32) -> Result<Class<'js, CryptoKey>, Failure> {
    Class::<CryptoKey>::from_value(value).map_err(|_| not_of_type(method, index, "CryptoKey"))
}

/// The checks every operation on an existing key makes, in workerd's order: the requested
/// algorithm names the key's, and the key allows `usage`.
fn check_key(key: &Class<'_, CryptoKey>, algorithm: &AlgorithmArg<'_>, usage: KeyUsage) -> Result<(), Failure> {
    let key = key.borrow();
    key.data().require_algorithm(&algorithm.name)?;
    key.data().require_usage(usage)?;
    Ok(())
}

/// WebCrypto's last step of `importKey`/`generateKey`/`unwrapKey`.
fn require_usages(kind: KeyKind, empty: bool) -> Result<(), CryptoError> {
    if empty && matches!(kind, KeyKind::Secret | KeyKind::Private) {
        return Err(CryptoError::syntax("Secret/private CryptoKeys must have at least one usage."));
    }
    Ok(())
}

/// An operation nanod's algorithms do not provide yet, after the key checks workerd makes first.
fn unimplemented_operation(method: &str, algorithm: &AlgorithmArg<'_>) -> Failure {
    CryptoError::not_supported(format!("{method} with \"{}\" is not implemented by nanod yet.", algorithm.name)).into()
}

#[rquickjs::methods(rename_all = "camelCase")]
impl SubtleCrypto {
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'_>) -> rquickjs::Result<Self> {
        Err(type_error(&ctx, "Illegal constructor"))
    }

    pub fn digest<'js>(
        &self,
        ctx: Ctx<'js>,
        algorithm: Opt<Value<'js>>,
        data: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        promise_of(&ctx, || {
            let algorithm = AlgorithmArg::read(&ctx, arg(&ctx, algorithm), "digest", 1, "HashAlgorithm")?;
            let data = buffer_arg(&ctx, &arg(&ctx, data), "digest", 2)?;
            let hash = hash_by_name(&algorithm.name)?;
            Ok(array_buffer(&ctx, Bytes::from(provider().digest(hash, &data)))?)
        })
    }

    pub fn import_key<'js>(
        &self,
        ctx: Ctx<'js>,
        format: Opt<Value<'js>>,
        key_data: Opt<Value<'js>>,
        algorithm: Opt<Value<'js>>,
        extractable: Opt<Value<'js>>,
        key_usages: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        const M: &str = "importKey";
        promise_of(&ctx, || {
            let format = dom_string(&ctx, arg(&ctx, format))?;
            let key_data = arg(&ctx, key_data);
            let Some(key_object) = key_data.as_object() else {
                return Err(not_of_type(M, 2, "BufferSource or JsonWebKey"));
            };
            let algorithm = AlgorithmArg::read(&ctx, arg(&ctx, algorithm), M, 3, "Algorithm")?;
            let extractable = boolean_arg(&ctx, extractable)?;
            let usages = usages_arg(&ctx, arg(&ctx, key_usages), M, 5)?;
            let format = KeyFormat::from_name(&format)
                .ok_or_else(|| CryptoError::not_supported(format!("Unrecognized key import format \"{format}\".")))?;
            let input = match (format, copy_bytes(&ctx, &key_data)?) {
                (KeyFormat::Jwk, None) => KeyInput::Jwk(key_object.clone()),
                (KeyFormat::Jwk, Some(_)) => {
                    return Err(CryptoError::type_error(
                        "Import data provided for \"jwk\" import format must be a JsonWebKey.",
                    )
                    .into());
                }
                (_, Some(bytes)) => KeyInput::Bytes(bytes),
                (_, None) => {
                    return Err(CryptoError::type_error(
                        "Import data provided for buffer-based import formats must be a buffer source.",
                    )
                    .into());
                }
            };
            let ops = key_algorithm(&algorithm.name, "key import")?;
            let key = ops.import_key(&ctx, format, input, &algorithm, extractable, &usages)?;
            require_usages(key.kind, key.usages.is_empty())?;
            Ok(CryptoKey::create(&ctx, key)?)
        })
    }

    pub fn generate_key<'js>(
        &self,
        ctx: Ctx<'js>,
        algorithm: Opt<Value<'js>>,
        extractable: Opt<Value<'js>>,
        key_usages: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        const M: &str = "generateKey";
        promise_of(&ctx, || {
            let algorithm = AlgorithmArg::read(&ctx, arg(&ctx, algorithm), M, 1, "Algorithm")?;
            let extractable = boolean_arg(&ctx, extractable)?;
            let usages = usages_arg(&ctx, arg(&ctx, key_usages), M, 3)?;
            let ops = key_algorithm(&algorithm.name, "key generation")?;
            let key = ops.generate_key(&ctx, &algorithm, extractable, &usages)?;
            require_usages(key.kind, key.usages.is_empty())?;
            Ok(CryptoKey::create(&ctx, key)?)
        })
    }

    pub fn export_key<'js>(
        &self,
        ctx: Ctx<'js>,
        format: Opt<Value<'js>>,
        key: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        const M: &str = "exportKey";
        promise_of(&ctx, || {
            let format = dom_string(&ctx, arg(&ctx, format))?;
            let key = key_arg(&arg(&ctx, key), M, 2)?;
            let key = key.borrow();
            let data = key.data();
            let ops = ops_of(data)?;
            if !data.extractable {
                return Err(CryptoError::invalid_access(format!(
                    "Attempt to export non-extractable {} key.",
                    data.params.name()
                ))
                .into());
            }
            let format = KeyFormat::from_name(&format)
                .ok_or_else(|| CryptoError::not_supported(format!("Unimplemented key export format \"{format}\".")))?;
            ops.export_key(&ctx, data, format)
        })
    }

    pub fn sign<'js>(
        &self,
        ctx: Ctx<'js>,
        algorithm: Opt<Value<'js>>,
        key: Opt<Value<'js>>,
        data: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        const M: &str = "sign";
        promise_of(&ctx, || {
            let algorithm = AlgorithmArg::read(&ctx, arg(&ctx, algorithm), M, 1, "Algorithm")?;
            let key = key_arg(&arg(&ctx, key), M, 2)?;
            let data = buffer_arg(&ctx, &arg(&ctx, data), M, 3)?;
            check_key(&key, &algorithm, KeyUsage::Sign)?;
            let key = key.borrow();
            let signature = ops_of(key.data())?.sign(key.data(), &data)?;
            Ok(array_buffer(&ctx, Bytes::from(signature))?)
        })
    }

    pub fn verify<'js>(
        &self,
        ctx: Ctx<'js>,
        algorithm: Opt<Value<'js>>,
        key: Opt<Value<'js>>,
        signature: Opt<Value<'js>>,
        data: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        const M: &str = "verify";
        promise_of(&ctx, || {
            let algorithm = AlgorithmArg::read(&ctx, arg(&ctx, algorithm), M, 1, "Algorithm")?;
            let key = key_arg(&arg(&ctx, key), M, 2)?;
            let signature = buffer_arg(&ctx, &arg(&ctx, signature), M, 3)?;
            let data = buffer_arg(&ctx, &arg(&ctx, data), M, 4)?;
            check_key(&key, &algorithm, KeyUsage::Verify)?;
            let key = key.borrow();
            let valid = ops_of(key.data())?.verify(key.data(), &signature, &data)?;
            Ok(Value::new_bool(ctx.clone(), valid))
        })
    }

    pub fn encrypt<'js>(
        &self,
        ctx: Ctx<'js>,
        algorithm: Opt<Value<'js>>,
        key: Opt<Value<'js>>,
        data: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        promise_of(&ctx, || cipher(&ctx, "encrypt", KeyUsage::Encrypt, algorithm, key, data))
    }

    pub fn decrypt<'js>(
        &self,
        ctx: Ctx<'js>,
        algorithm: Opt<Value<'js>>,
        key: Opt<Value<'js>>,
        data: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        promise_of(&ctx, || cipher(&ctx, "decrypt", KeyUsage::Decrypt, algorithm, key, data))
    }

    pub fn derive_bits<'js>(
        &self,
        ctx: Ctx<'js>,
        algorithm: Opt<Value<'js>>,
        base_key: Opt<Value<'js>>,
        _length: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        const M: &str = "deriveBits";
        promise_of(&ctx, || {
            let algorithm = AlgorithmArg::read(&ctx, arg(&ctx, algorithm), M, 1, "Algorithm")?;
            let key = key_arg(&arg(&ctx, base_key), M, 2)?;
            check_key(&key, &algorithm, KeyUsage::DeriveBits)?;
            Err(unimplemented_operation(M, &algorithm))
        })
    }

    pub fn derive_key<'js>(
        &self,
        ctx: Ctx<'js>,
        algorithm: Opt<Value<'js>>,
        base_key: Opt<Value<'js>>,
        derived_key_type: Opt<Value<'js>>,
        _extractable: Opt<Value<'js>>,
        key_usages: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        const M: &str = "deriveKey";
        promise_of(&ctx, || {
            let algorithm = AlgorithmArg::read(&ctx, arg(&ctx, algorithm), M, 1, "Algorithm")?;
            let key = key_arg(&arg(&ctx, base_key), M, 2)?;
            AlgorithmArg::read(&ctx, arg(&ctx, derived_key_type), M, 3, "Algorithm")?;
            usages_arg(&ctx, arg(&ctx, key_usages), M, 5)?;
            check_key(&key, &algorithm, KeyUsage::DeriveKey)?;
            Err(unimplemented_operation(M, &algorithm))
        })
    }

    pub fn wrap_key<'js>(
        &self,
        ctx: Ctx<'js>,
        _format: Opt<Value<'js>>,
        key: Opt<Value<'js>>,
        wrapping_key: Opt<Value<'js>>,
        wrap_algorithm: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        const M: &str = "wrapKey";
        promise_of(&ctx, || {
            key_arg(&arg(&ctx, key), M, 2)?;
            let wrapping_key = key_arg(&arg(&ctx, wrapping_key), M, 3)?;
            let algorithm = AlgorithmArg::read(&ctx, arg(&ctx, wrap_algorithm), M, 4, "Algorithm")?;
            check_key(&wrapping_key, &algorithm, KeyUsage::WrapKey)?;
            Err(unimplemented_operation(M, &algorithm))
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn unwrap_key<'js>(
        &self,
        ctx: Ctx<'js>,
        _format: Opt<Value<'js>>,
        wrapped_key: Opt<Value<'js>>,
        unwrapping_key: Opt<Value<'js>>,
        unwrap_algorithm: Opt<Value<'js>>,
        _unwrapped_key_algorithm: Opt<Value<'js>>,
        _extractable: Opt<Value<'js>>,
        _key_usages: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        const M: &str = "unwrapKey";
        promise_of(&ctx, || {
            buffer_arg(&ctx, &arg(&ctx, wrapped_key), M, 2)?;
            let unwrapping_key = key_arg(&arg(&ctx, unwrapping_key), M, 3)?;
            let algorithm = AlgorithmArg::read(&ctx, arg(&ctx, unwrap_algorithm), M, 4, "Algorithm")?;
            check_key(&unwrapping_key, &algorithm, KeyUsage::UnwrapKey)?;
            Err(unimplemented_operation(M, &algorithm))
        })
    }

    /// workerd's extension: constant-time equality of two equally long buffers.
    pub fn timing_safe_equal<'js>(
        &self,
        ctx: Ctx<'js>,
        a: Opt<Value<'js>>,
        b: Opt<Value<'js>>,
    ) -> rquickjs::Result<bool> {
        const M: &str = "timingSafeEqual";
        let result = (|| {
            let a = buffer_arg(&ctx, &arg(&ctx, a), M, 1)?;
            let b = buffer_arg(&ctx, &arg(&ctx, b), M, 2)?;
            if a.len() != b.len() {
                return Err(CryptoError::type_error("Input buffers must have the same byte length.").into());
            }
            Ok(constant_time_eq(&a, &b))
        })();
        result.map_err(|failure: Failure| failure.throw(&ctx))
    }
}

/// `encrypt`/`decrypt`: no implemented algorithm has them yet, but the key checks run first so
/// the errors match workerd's for the keys nanod can make.
fn cipher<'js>(
    ctx: &Ctx<'js>,
    method: &str,
    usage: KeyUsage,
    algorithm: Opt<Value<'js>>,
    key: Opt<Value<'js>>,
    data: Opt<Value<'js>>,
) -> Result<Value<'js>, Failure> {
    let algorithm = AlgorithmArg::read(ctx, arg(ctx, algorithm), method, 1, "Algorithm")?;
    let key = key_arg(&arg(ctx, key), method, 2)?;
    buffer_arg(ctx, &arg(ctx, data), method, 3)?;
    check_key(&key, &algorithm, usage)?;
    Err(unimplemented_operation(method, &algorithm))
}

/// Installs the `SubtleCrypto` constructor (which throws: the instance is `crypto.subtle`).
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    crate::headers::constructor::<SubtleCrypto>(ctx)
}
