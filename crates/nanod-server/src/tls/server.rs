//! Server-side TLS: the `rustls::ServerConfig` of an `https` socket, built once at start-up
//! from workerd's `TlsOptions` (so a bad certificate or key stops start-up, never a
//! connection).
//!
//! `keypair` is required (workerd: "a TLS listener needs a keypair"); the key must match the
//! chain's leaf. `requireClientCerts` verifies client certificates against
//! `trustedCertificates` (and the browser CAs when `trustBrowserCas` is set) and refuses a
//! client that presents none. ALPN advertises `http/1.1` only: that is all nanod serves over
//! TLS, as workerd. Not supported: `cipherList` (rustls chooses its own cipher suites; a config
//! naming one is refused rather than silently ignored).

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use super::{certificates_from_pem, private_key_from_pem, protocol_versions, provider};

/// ALPN protocols an `https` socket accepts.
pub const ALPN: [&[u8]; 1] = [b"http/1.1"];

/// The server config of an `https` socket with `options`.
pub fn server_config(options: &nanod_config::TlsOptions) -> Result<Arc<ServerConfig>, String> {
    if options.cipher_list.is_some() {
        return Err("tlsOptions.cipherList is not supported (rustls chooses its own cipher suites)".to_owned());
    }
    let keypair = options.keypair.as_ref().ok_or_else(|| {
        "an https socket needs tlsOptions.keypair (a certificate chain and its private key)".to_owned()
    })?;
    let chain =
        certificates_from_pem(&keypair.certificate_chain).map_err(|e| format!("keypair.certificateChain: {e}"))?;
    let key = private_key_from_pem(&keypair.private_key).map_err(|e| format!("keypair.privateKey: {e}"))?;
    let versions = protocol_versions(options.min_version).map_err(|e| format!("tlsOptions.{e}"))?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS configuration: {e}"))?;
    let builder = if options.require_client_certs {
        let mut roots = RootCertStore::empty();
        if options.trust_browser_cas {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for (index, pem) in options.trusted_certificates.iter().enumerate() {
            for cert in certificates_from_pem(pem).map_err(|e| format!("trustedCertificates[{index}]: {e}"))? {
                roots.add(cert).map_err(|e| format!("trustedCertificates[{index}]: {e}"))?;
            }
        }
        if roots.is_empty() {
            return Err("requireClientCerts needs a CA to check client certificates against: set trustedCertificates"
                .to_owned());
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| format!("requireClientCerts: {e}"))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            "keypair: privateKey does not match the first certificate of certificateChain".to_owned()
        }
        e => format!("keypair: {e}"),
    })?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanod_config::{TlsKeypair, TlsOptions, TlsVersion};
    use rcgen::{CertificateParams, KeyPair};

    fn keypair() -> TlsKeypair {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
        TlsKeypair { private_key: key.serialize_pem(), certificate_chain: cert.pem() }
    }

    fn error(options: TlsOptions) -> String {
        server_config(&options).err().unwrap_or_else(|| panic!("accepted {options:?}"))
    }

    #[test]
    fn a_keypair_makes_a_config() {
        let config = server_config(&TlsOptions { keypair: Some(keypair()), ..Default::default() }).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        let only13 = TlsOptions { keypair: Some(keypair()), min_version: TlsVersion::Tls1Dot3, ..Default::default() };
        assert!(server_config(&only13).is_ok());
    }

    #[test]
    fn bad_keypairs_are_refused() {
        assert!(error(TlsOptions::default()).contains("needs tlsOptions.keypair"));
        let mut pair = keypair();
        pair.certificate_chain = "garbage".to_owned();
        assert!(error(TlsOptions { keypair: Some(pair), ..Default::default() }).contains("certificateChain"));
        let mut pair = keypair();
        pair.private_key = "garbage".to_owned();
        assert!(error(TlsOptions { keypair: Some(pair), ..Default::default() }).contains("privateKey"));
        // A key that is not the certificate's.
        let mut pair = keypair();
        pair.private_key = keypair().private_key;
        assert!(error(TlsOptions { keypair: Some(pair), ..Default::default() }).starts_with("keypair: "));
    }

    #[test]
    fn unsupported_options_are_refused() {
        let old = TlsOptions { keypair: Some(keypair()), min_version: TlsVersion::Tls1Dot0, ..Default::default() };
        assert!(error(old).contains("minVersion"));
        let ciphers =
            TlsOptions { keypair: Some(keypair()), cipher_list: Some("HIGH".to_owned()), ..Default::default() };
        assert!(error(ciphers).contains("cipherList"));
    }

    #[test]
    fn client_certificates_need_a_ca() {
        let no_ca = TlsOptions { keypair: Some(keypair()), require_client_certs: true, ..Default::default() };
        assert!(error(no_ca).contains("trustedCertificates"));
        let bad_ca = TlsOptions {
            keypair: Some(keypair()),
            require_client_certs: true,
            trusted_certificates: vec!["junk".to_owned()],
            ..Default::default()
        };
        assert!(error(bad_ca).contains("trustedCertificates[0]"));
        let ca = keypair().certificate_chain;
        let good = TlsOptions {
            keypair: Some(keypair()),
            require_client_certs: true,
            trusted_certificates: vec![ca],
            ..Default::default()
        };
        assert!(server_config(&good).is_ok());
    }
}
