//! HMAC (WebCrypto §29): import (`raw`, `jwk`), generation, export, sign and verify.
//!
//! Key lengths are in bits. A `length` that is not a multiple of 8 keeps the leading bits of the
//! last byte and zeroes the rest, so the exported and the signing key agree (workerd does the
//! same). Errors and their messages follow workerd's. The MAC itself is computed by the
//! [`provider`](super::provider).

use rquickjs::{Ctx, Value};

use super::algorithm::{AlgorithmArg, KeyAlgorithm, KeyFormat, KeyInput, KeyUsage, Usages};
use super::error::{CryptoError, Failure};
use super::jwk::{base64url_decode, secret_jwk, Jwk};
use super::key::{KeyData, KeyKind, KeyMaterial, KeyParams};
use super::provider::{provider, Hash};
use crate::buffer_source::array_buffer;

/// Longest HMAC key `generateKey` makes, in bits (1 MiB of key; workerd's limit is the
/// 32-bit `length` alone). Bounds the memory one call can take outside the isolate's heap.
const MAX_GENERATED_BITS: i64 = 8 << 20;

const ALLOWED: [KeyUsage; 2] = [KeyUsage::Sign, KeyUsage::Verify];

pub struct Hmac;

impl KeyAlgorithm for Hmac {
    fn name(&self) -> &'static str {
        "HMAC"
    }

    fn import_key<'js>(
        &self,
        ctx: &Ctx<'js>,
        format: KeyFormat,
        data: KeyInput<'js>,
        params: &AlgorithmArg<'js>,
        extractable: bool,
        usages: &[String],
    ) -> Result<KeyData, Failure> {
        if !matches!(format, KeyFormat::Raw | KeyFormat::Jwk) {
            return Err(
                CryptoError::not_supported(format!("Unrecognized key import format \"{}\".", format.name())).into()
            );
        }
        let hash = params.hash(ctx)?;
        let usages = Usages::check(usages, Usages::of(&ALLOWED), "import secret HMAC key")?;
        let mut secret = match data {
            KeyInput::Bytes(bytes) => bytes.to_vec(),
            KeyInput::Jwk(object) => jwk_secret(&Jwk::read(ctx, &object)?, hash, extractable)?,
        };
        let data_bits = i64::try_from(secret.len()).unwrap_or(i64::MAX).saturating_mul(8);
        let length = params.integer(ctx, "length")?.unwrap_or(data_bits);
        if length <= 0 || length > data_bits || length <= data_bits - 8 {
            return Err(CryptoError::data(format!(
                "Imported HMAC key length ({length}) must be a non-zero value up to 7 bits less than, and no \
                 greater than, the bit length of the raw key data ({data_bits})."
            ))
            .into());
        }
        let length = u32::try_from(length).map_err(|_| CryptoError::data("HMAC key is too long."))?;
        truncate_to_bits(&mut secret, length);
        Ok(secret_key(hash, length, extractable, usages, secret))
    }

    fn generate_key<'js>(
        &self,
        ctx: &Ctx<'js>,
        params: &AlgorithmArg<'js>,
        extractable: bool,
        usages: &[String],
    ) -> Result<KeyData, Failure> {
        let hash = params.hash(ctx)?;
        let usages = Usages::check(usages, Usages::of(&ALLOWED), "generate HMAC key")?;
        let length = params.integer(ctx, "length")?.unwrap_or(i64::from(hash.block_bits()));
        if length <= 0 {
            return Err(CryptoError::operation(format!(
                "HMAC key length must be a non-zero unsigned long integer (requested {length})."
            ))
            .into());
        }
        if length > MAX_GENERATED_BITS {
            return Err(CryptoError::operation(format!(
                "HMAC key length must be at most {MAX_GENERATED_BITS} bits (requested {length})."
            ))
            .into());
        }
        let length = u32::try_from(length).map_err(|_| CryptoError::operation("HMAC key is too long."))?;
        let mut secret = vec![0u8; length.div_ceil(8) as usize];
        provider().fill_random(&mut secret)?;
        truncate_to_bits(&mut secret, length);
        Ok(secret_key(hash, length, extractable, usages, secret))
    }

    fn export_key<'js>(&self, ctx: &Ctx<'js>, key: &KeyData, format: KeyFormat) -> Result<Value<'js>, Failure> {
        let KeyParams::Hmac { hash, .. } = key.params;
        match format {
            KeyFormat::Raw => Ok(array_buffer(ctx, bytes::Bytes::copy_from_slice(key.secret()))?),
            KeyFormat::Jwk => {
                let Some(alg) = hash.hmac_jwk_alg() else {
                    return Err(CryptoError::not_supported(format!(
                        "Unimplemented JWK key export format for key algorithm \"{}\".",
                        hash.name()
                    ))
                    .into());
                };
                Ok(secret_jwk(ctx, key.usages.to_array(ctx)?, alg, key.extractable, key.secret())?)
            }
            other => {
                Err(CryptoError::not_supported(format!("Unimplemented key export format \"{}\".", other.name())).into())
            }
        }
    }

    fn sign(&self, key: &KeyData, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let KeyParams::Hmac { hash, .. } = key.params;
        provider().hmac_sign(hash, key.secret(), data)
    }

    fn verify(&self, key: &KeyData, signature: &[u8], data: &[u8]) -> Result<bool, CryptoError> {
        let KeyParams::Hmac { hash, .. } = key.params;
        provider().hmac_verify(hash, key.secret(), data, signature)
    }
}

fn secret_key(hash: Hash, length: u32, extractable: bool, usages: Usages, secret: Vec<u8>) -> KeyData {
    KeyData {
        kind: KeyKind::Secret,
        extractable,
        usages,
        params: KeyParams::Hmac { hash, length },
        material: KeyMaterial::Secret(secret),
    }
}

/// The key bytes of an HMAC JWK, after workerd's checks of `kty`, `k`, `alg` and `ext`.
fn jwk_secret(jwk: &Jwk, hash: Hash, extractable: bool) -> Result<Vec<u8>, CryptoError> {
    if jwk.kty.as_deref() != Some("oct") {
        return Err(CryptoError::data(format!(
            "HMAC \"jwk\" key import requires a JSON Web Key with Key Type parameter (\"kty\") equal to \"oct\" \
             (encountered \"{}\").",
            jwk.kty.as_deref().unwrap_or("undefined")
        )));
    }
    let secret = jwk
        .k
        .as_deref()
        .and_then(base64url_decode)
        .ok_or_else(|| CryptoError::data("HMAC \"jwk\" key import requires a base64Url encoding of the key"))?;
    if let Some(alg) = &jwk.alg {
        let Some(expected) = hash.hmac_jwk_alg() else {
            return Err(CryptoError::not_supported(format!(
                "HMAC \"jwk\" key import with \"alg\" \"{alg}\" is not supported for hash \"{}\".",
                hash.name()
            )));
        };
        if alg != expected {
            return Err(CryptoError::data(format!(
                "HMAC \"jwk\" key import specifies \"alg\" that is incompatible with the hash name \
                 (encountered \"{alg}\", expected \"{expected}\")."
            )));
        }
    }
    if jwk.ext == Some(false) && extractable {
        return Err(CryptoError::data("JWK ext field for \"HMAC\" is set to false but extractable is true"));
    }
    Ok(secret)
}

/// Keeps the first `bits` bits of `bytes`: whole bytes beyond are dropped, the trailing bits of
/// a partial last byte zeroed.
fn truncate_to_bits(bytes: &mut Vec<u8>, bits: u32) {
    bytes.truncate(bits.div_ceil(8) as usize);
    let partial = bits % 8;
    if partial != 0 {
        if let Some(last) = bytes.last_mut() {
            *last &= 0xffu8 << (8 - partial);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncate_to_bits() {
        let mut bytes = vec![0xff, 0xff, 0xff];
        super::truncate_to_bits(&mut bytes, 12);
        assert_eq!(bytes, [0xff, 0xf0]);
        let mut bytes = vec![0xff; 2];
        super::truncate_to_bits(&mut bytes, 16);
        assert_eq!(bytes, [0xff, 0xff]);
    }
}
