//! rustls client configurations for PostgreSQL's `sslmode`, as libpq applies
//! it, with the *ring* provider.
//!
//! Roots are read only by the modes that check the certificate: the modes that
//! do not (`allow`, `prefer`, `require`) accept any certificate (the handshake's
//! signatures are still checked against its key) and never open a root store,
//! which with the system's bundle costs tens of milliseconds.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::url::{TlsConfig, TlsMode};

/// The client configuration for `tls` (whose mode is not `Disable`).
pub(crate) fn client_config(tls: &TlsConfig) -> Result<ClientConfig, String> {
    let provider = Arc::new(provider());
    let algorithms = provider.signature_verification_algorithms;
    let roots = match tls.mode {
        TlsMode::VerifyCa | TlsMode::VerifyFull => Some(Arc::new(roots(tls.root_cert.as_deref())?)),
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => None,
    };
    let verifier = Verifier { roots, check_name: tls.mode == TlsMode::VerifyFull, algorithms };
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("could not set up tls: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let (chain, key_der) = identity(cert, key)?;
            builder.with_client_auth_cert(chain, key_der).map_err(|e| key_error(cert, key, &e.to_string()))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// *ring*'s provider with P-256 as the first key exchange group: TLS 1.3 sends a key share
/// for the first group only, and PostgreSQL's default `ssl_ecdh_curve` is `prime256v1`, so
/// with X25519 first (rustls' order) the server asks again (a HelloRetryRequest), one more
/// round trip on every connection. A server that prefers another offered group still gets it,
/// at the cost of that round trip.
fn provider() -> rustls::crypto::CryptoProvider {
    use rustls::crypto::ring::kx_group::{SECP256R1, SECP384R1, X25519};
    rustls::crypto::CryptoProvider {
        kx_groups: vec![SECP256R1, X25519, SECP384R1],
        ..rustls::crypto::ring::default_provider()
    }
}

/// The roots a verifying mode trusts: only `sslrootcert`'s when given (as in
/// libpq), the system's otherwise.
fn roots(root_cert: Option<&Path>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let Some(path) = root_cert else {
        // Unreadable entries are skipped, as OpenSSL does; an empty store
        // fails the handshake with an unknown issuer, which names the remedy.
        let found = rustls_native_certs::load_native_certs();
        store.add_parsable_certificates(found.certs);
        return Ok(store);
    };
    let certs = pem_certs(path, "sslrootcert")?;
    for cert in certs {
        store.add(cert).map_err(|e| format!("sslrootcert {}: not a usable ca certificate: {e}", path.display()))?;
    }
    Ok(store)
}

/// Every certificate in the PEM file at `path`, at least one.
fn pem_certs(path: &Path, param: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{param} {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{param} {}: not a pem certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{param} {}: no certificate in the file", path.display()));
    }
    Ok(certs)
}

/// The client certificate chain and its key, PEM.
fn identity(cert: &Path, key: &Path) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let chain = pem_certs(cert, "sslcert")?;
    let pem = std::fs::read(key).map_err(|e| format!("sslkey {}: {e}", key.display()))?;
    let key_der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        let e = match e {
            rustls::pki_types::pem::Error::NoItemsFound => "no private key in the file".to_string(),
            other => other.to_string(),
        };
        key_error(cert, key, &e)
    })?;
    Ok((chain, key_der))
}

fn key_error(cert: &Path, key: &Path, e: &str) -> String {
    format!(
        "sslcert {} / sslkey {}: {e} (the key must be an unencrypted pem private key matching the certificate: \
         PKCS#8 `BEGIN PRIVATE KEY`, PKCS#1 `BEGIN RSA PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`; convert one \
         with `openssl pkcs8 -topk8 -nocrypt`)",
        cert.display(),
        key.display()
    )
}

/// libpq's checks: none without roots (`require` and below), the chain
/// against the roots (`verify-ca`), and the host name too (`verify-full`).
/// The handshake's signatures are checked in every mode.
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    check_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(&cert, roots, intermediates, now, self.algorithms.all)?;
        if self.check_name {
            verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The rustls error `e` is or wraps (also inside an `io::Error`), if any.
pub(crate) fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(found) = err.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref())
            && let Some(found) = rustls_error(found)
        {
            return Some(found);
        }
        cur = err.source();
    }
    None
}

/// Whether the server's certificate names another host.
pub(crate) fn is_name_mismatch(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. }
        )
    )
}
