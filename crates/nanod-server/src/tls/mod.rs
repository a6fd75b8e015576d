//! TLS on rustls (ring provider): PEM parsing shared by both sides, the client configs of
//! `network` and `external` services ([`client`]), and the server configs of `https` sockets
//! ([`server`]). Every config is built once at start-up, so a bad certificate or key stops
//! start-up with a message instead of failing a request.

pub mod client;
pub mod server;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The one crypto provider every TLS config uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in a PEM text (a chain, or a list of CAs), in order.
pub fn certificates_from_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("invalid PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found".to_owned());
    }
    Ok(certs)
}

/// The private key in a PEM text: PKCS#8, or a "traditional" RSA or EC key.
pub fn private_key_from_pem(pem: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("invalid PEM private key: {e}"))
}

/// rustls's protocol versions for a workerd `minVersion`. rustls speaks only TLS 1.2 and 1.3,
/// so asking for anything older is refused rather than silently raised.
pub fn protocol_versions(
    min: nanod_config::TlsVersion,
) -> Result<&'static [&'static rustls::SupportedProtocolVersion], String> {
    use nanod_config::TlsVersion;
    static BOTH: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    static ONLY_13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
    match min {
        TlsVersion::GoodDefault | TlsVersion::Tls1Dot2 => Ok(BOTH),
        TlsVersion::Tls1Dot3 => Ok(ONLY_13),
        TlsVersion::Ssl3 | TlsVersion::Tls1Dot0 | TlsVersion::Tls1Dot1 => {
            Err("minVersion older than TLS 1.2 is not supported (rustls speaks TLS 1.2 and 1.3)".to_owned())
        }
    }
}
