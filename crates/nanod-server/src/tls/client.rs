//! Client-side TLS: the `rustls::ClientConfig` of a `network` or `external` service, built once
//! at start-up (so a bad PEM stops start-up, never a request).
//!
//! Trust follows workerd's `TlsOptions`: the browser CAs (webpki-roots) when `trustBrowserCas`
//! is set, plus every `trustedCertificates` PEM. A `network` service without `tlsOptions` (and
//! the implicit `internet`, which workerd defines as `tlsOptions = (trustBrowserCas = true)`)
//! trusts the browser CAs. `keypair` is the client certificate; `minVersion` bounds the
//! protocol versions. ALPN offers `h2` then `http/1.1`. Not supported: `cipherList` (rustls
//! picks its own suites; a config naming one is refused rather than silently ignored).

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};

use super::{certificates_from_pem, private_key_from_pem, protocol_versions, provider};

/// ALPN protocols every outbound TLS connection offers, in order of preference.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The client config of a service: `options` as configured, or `None` for "no `tlsOptions`"
/// (browser CAs only).
pub fn client_config(options: Option<&nanod_config::TlsOptions>) -> Result<Arc<ClientConfig>, String> {
    let default = nanod_config::TlsOptions { trust_browser_cas: true, ..Default::default() };
    let options = options.unwrap_or(&default);
    if options.cipher_list.is_some() {
        return Err("tlsOptions.cipherList is not supported (rustls chooses its own cipher suites)".to_owned());
    }
    let mut roots = RootCertStore::empty();
    if options.trust_browser_cas {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for (index, pem) in options.trusted_certificates.iter().enumerate() {
        let certs = certificates_from_pem(pem).map_err(|e| format!("tlsOptions.trustedCertificates[{index}]: {e}"))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("tlsOptions.trustedCertificates[{index}]: unusable CA certificate: {e}"))?;
        }
    }
    let versions = protocol_versions(options.min_version).map_err(|e| format!("tlsOptions.minVersion: {e}"))?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(|e| format!("tlsOptions: {e}"))?
        .with_root_certificates(roots);
    let mut config = match &options.keypair {
        Some(keypair) => {
            let chain = certificates_from_pem(&keypair.certificate_chain)
                .map_err(|e| format!("tlsOptions.keypair.certificateChain: {e}"))?;
            let key = private_key_from_pem(&keypair.private_key)
                .map_err(|e| format!("tlsOptions.keypair.privateKey: {e}"))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| format!("tlsOptions.keypair: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn no_options_trusts_browser_cas_and_offers_h2() {
        let config = client_config(None).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    #[test]
    fn trusted_certificates_and_keypair_are_checked() {
        let good = nanod_config::TlsOptions { trusted_certificates: vec![ca_pem()], ..Default::default() };
        assert!(client_config(Some(&good)).is_ok());

        let bad = nanod_config::TlsOptions { trusted_certificates: vec!["not a pem".to_owned()], ..Default::default() };
        let error = client_config(Some(&bad)).unwrap_err();
        assert!(error.starts_with("tlsOptions.trustedCertificates[0]: no PEM certificate"), "{error}");

        let bad_key = nanod_config::TlsOptions {
            keypair: Some(nanod_config::TlsKeypair { private_key: "nope".to_owned(), certificate_chain: ca_pem() }),
            ..Default::default()
        };
        let error = client_config(Some(&bad_key)).unwrap_err();
        assert!(error.starts_with("tlsOptions.keypair.privateKey:"), "{error}");

        let old = nanod_config::TlsOptions { min_version: nanod_config::TlsVersion::Tls1Dot0, ..Default::default() };
        assert!(client_config(Some(&old)).unwrap_err().starts_with("tlsOptions.minVersion:"));
        let ciphers = nanod_config::TlsOptions { cipher_list: Some("HIGH".to_owned()), ..Default::default() };
        assert!(client_config(Some(&ciphers)).unwrap_err().contains("cipherList"));
    }
}
