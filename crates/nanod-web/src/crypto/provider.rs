//! The crypto provider seam: every random byte, digest and MAC nanod computes goes through
//! [`CryptoProvider`].
//!
//! The rest of `crypto/` (argument conversion, key objects, algorithm tables) never calls a
//! crypto crate directly, so a different backend (aws-lc-rs, say, or a FIPS build) is one new
//! implementation of this trait and one line in [`provider`]. [`RustCrypto`] is the default:
//! RustCrypto's `md-5` (MD5 only because workerd accepts it), `sha1`, `sha2` and `hmac`, and
//! `getrandom` for the OS generator.
//!
//! This module knows no JS: inputs are byte slices, outputs are bytes or [`CryptoError`]s.

use hmac::{KeyInit, Mac};

use super::error::CryptoError;

/// A hash function WebCrypto can name: `digest`, and the `hash` of HMAC keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// Not in WebCrypto; workerd accepts it (digest and HMAC) and so does nanod.
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub const ALL: [Hash; 5] = [Hash::Md5, Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512];

    /// The registered name, as `algorithm.hash.name` reports it.
    pub fn name(self) -> &'static str {
        match self {
            Hash::Md5 => "MD5",
            Hash::Sha1 => "SHA-1",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }

    /// Looks a name up ASCII case-insensitively, as WebCrypto's algorithm normalization does.
    pub fn from_name(name: &str) -> Option<Hash> {
        Hash::ALL.into_iter().find(|hash| hash.name().eq_ignore_ascii_case(name))
    }

    /// The block size in bits: the default HMAC key length for this hash.
    pub fn block_bits(self) -> u32 {
        match self {
            Hash::Md5 | Hash::Sha1 | Hash::Sha256 => 512,
            Hash::Sha384 | Hash::Sha512 => 1024,
        }
    }

    /// The JWK `alg` of an HMAC key with this hash (RFC 7518 §3.2); MD5 has none.
    pub fn hmac_jwk_alg(self) -> Option<&'static str> {
        match self {
            Hash::Md5 => None,
            Hash::Sha1 => Some("HS1"),
            Hash::Sha256 => Some("HS256"),
            Hash::Sha384 => Some("HS384"),
            Hash::Sha512 => Some("HS512"),
        }
    }
}

/// The primitives behind `crypto` and `crypto.subtle`.
pub trait CryptoProvider: Sync {
    /// Fills `dest` from a cryptographically secure generator.
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), CryptoError>;

    /// The digest of `data`.
    fn digest(&self, hash: Hash, data: &[u8]) -> Vec<u8>;

    /// HMAC (RFC 2104) of `data` under `key`.
    fn hmac_sign(&self, hash: Hash, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Whether `signature` is the HMAC of `data` under `key`, compared in constant time.
    fn hmac_verify(&self, hash: Hash, key: &[u8], data: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
        Ok(constant_time_eq(&self.hmac_sign(hash, key, data)?, signature))
    }
}

/// The provider in use.
pub fn provider() -> &'static dyn CryptoProvider {
    &RustCrypto
}

/// The default provider: RustCrypto crates and the OS random generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

impl CryptoProvider for RustCrypto {
    fn fill_random(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        getrandom::fill(dest).map_err(|e| CryptoError::operation(format!("The random number generator failed: {e}")))
    }

    fn digest(&self, hash: Hash, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match hash {
            Hash::Md5 => md5::Md5::digest(data).to_vec(),
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn hmac_sign(&self, hash: Hash, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match hash {
            Hash::Md5 => Ok(mac::<hmac::Hmac<md5::Md5>>(key, data)?.finalize().into_bytes().to_vec()),
            Hash::Sha1 => Ok(mac::<hmac::Hmac<sha1::Sha1>>(key, data)?.finalize().into_bytes().to_vec()),
            Hash::Sha256 => Ok(mac::<hmac::Hmac<sha2::Sha256>>(key, data)?.finalize().into_bytes().to_vec()),
            Hash::Sha384 => Ok(mac::<hmac::Hmac<sha2::Sha384>>(key, data)?.finalize().into_bytes().to_vec()),
            Hash::Sha512 => Ok(mac::<hmac::Hmac<sha2::Sha512>>(key, data)?.finalize().into_bytes().to_vec()),
        }
    }

    fn hmac_verify(&self, hash: Hash, key: &[u8], data: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
        // `verify_slice` compares in constant time (and rejects a wrong length up front).
        match hash {
            Hash::Md5 => Ok(mac::<hmac::Hmac<md5::Md5>>(key, data)?.verify_slice(signature).is_ok()),
            Hash::Sha1 => Ok(mac::<hmac::Hmac<sha1::Sha1>>(key, data)?.verify_slice(signature).is_ok()),
            Hash::Sha256 => Ok(mac::<hmac::Hmac<sha2::Sha256>>(key, data)?.verify_slice(signature).is_ok()),
            Hash::Sha384 => Ok(mac::<hmac::Hmac<sha2::Sha384>>(key, data)?.verify_slice(signature).is_ok()),
            Hash::Sha512 => Ok(mac::<hmac::Hmac<sha2::Sha512>>(key, data)?.verify_slice(signature).is_ok()),
        }
    }
}

/// A MAC keyed with `key` that has absorbed `data`.
fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Result<M, CryptoError> {
    let mut mac =
        <M as KeyInit>::new_from_slice(key).map_err(|_| CryptoError::operation("Invalid HMAC key length."))?;
    mac.update(data);
    Ok(mac)
}

/// Byte equality whose running time depends only on the lengths, not on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::{provider, Hash};

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 2202 §2: HMAC-MD5 test cases 1–7.
    #[test]
    fn hmac_md5_rfc2202() {
        let long_key = [0xaa; 80];
        let cases: [(&[u8], &[u8], &str); 7] = [
            (&[0x0b; 16], b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
            (b"Jefe", b"what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738"),
            (&[0xaa; 16], &[0xdd; 50], "56be34521d144c88dbb8c733f0e8b3f6"),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
                &[0xcd; 50],
                "697eaf0aca3a3aea3a75164746ffaa79",
            ),
            (&[0x0c; 16], b"Test With Truncation", "56461ef2342edc00f9bab995690efd4c"),
            (&long_key, b"Test Using Larger Than Block-Size Key - Hash Key First", "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"),
            (
                &long_key,
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
                "6f630fad67cda0ee1fb1f562db3aa53e",
            ),
        ];
        for (key, data, want) in cases {
            let got = provider().hmac_sign(Hash::Md5, key, data).map(|m| hex(&m));
            assert_eq!(got.as_deref(), Ok(want));
        }
    }

    #[test]
    fn verify_rejects_wrong_length_and_bits() {
        let p = provider();
        for hash in Hash::ALL {
            let Ok(mac) = p.hmac_sign(hash, b"k", b"m") else { panic!("sign {hash:?}") };
            assert_eq!(p.hmac_verify(hash, b"k", b"m", &mac), Ok(true), "{hash:?}");
            assert_eq!(p.hmac_verify(hash, b"k", b"m", &mac[1..]), Ok(false), "{hash:?}");
            let mut flipped = mac.clone();
            flipped[0] ^= 1;
            assert_eq!(p.hmac_verify(hash, b"k", b"m", &flipped), Ok(false), "{hash:?}");
        }
    }

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(Hash::from_name("sha-256"), Some(Hash::Sha256));
        assert_eq!(Hash::from_name("md5"), Some(Hash::Md5));
        assert_eq!(Hash::from_name("SHA-224"), None);
    }
}
