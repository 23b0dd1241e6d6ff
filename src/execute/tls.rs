//! A suite's TLS settings as one rustls configuration, shared by every client
//! of its principals. The system's trust store is read once, on the first
//! handshake that needs it: reading it costs milliseconds, and a run against
//! plain HTTP never needs it at all.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error, SignatureScheme};

use crate::suite::TlsOptions;

/// Why a suite's `tls:` settings make no TLS configuration.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsError {
    /// A PEM file that holds no certificate or key.
    #[error("tls.{field}: {message}")]
    Pem {
        /// `ca_file`, `client_cert` or `client_key`.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// rustls refused the configuration.
    #[error("TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// The rustls configuration for clients of a suite with these `tls:` settings.
pub(super) fn client_config(tls: &TlsOptions) -> Result<rustls::ClientConfig, TlsError> {
    let pem_error = |field| {
        move |e: rustls::pki_types::pem::Error| TlsError::Pem {
            field,
            message: e.to_string(),
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra_roots = match &tls.ca {
        Some(pem) => CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_error("ca_file"))?,
        None => Vec::new(),
    };
    let verifier = Arc::new(Verifier {
        provider: provider.clone(),
        extra_roots,
        insecure: tls.insecure,
        platform: OnceLock::new(),
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match &tls.client_identity {
        Some(pem) => {
            let chain = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(pem_error("client_cert"))?;
            let key = PrivateKeyDer::from_pem_slice(pem).map_err(pem_error("client_key"))?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Checks the server's certificate with the platform's verifier (system roots
/// plus `ca_file`), built on first use; with `insecure: true` any certificate
/// is accepted. The handshake's signatures are checked either way, so the peer
/// must hold the key of the certificate it presented.
struct Verifier {
    provider: Arc<CryptoProvider>,
    extra_roots: Vec<CertificateDer<'static>>,
    insecure: bool,
    platform: OnceLock<Result<rustls_platform_verifier::Verifier, Error>>,
}

impl Verifier {
    fn platform(&self) -> Result<&rustls_platform_verifier::Verifier, Error> {
        self.platform
            .get_or_init(|| {
                rustls_platform_verifier::Verifier::new_with_extra_roots(
                    self.extra_roots.iter().cloned(),
                    self.provider.clone(),
                )
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        self.platform()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    // The platform verifier checks signatures the same way (webpki, the provider's algorithms).
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms(&self.provider))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms(&self.provider))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms(&self.provider).supported_schemes()
    }
}

fn algorithms(provider: &CryptoProvider) -> &WebPkiSupportedAlgorithms {
    &provider.signature_verification_algorithms
}
