//! `tls_config` to a rustls client configuration, for `https` scrapes.
//!
//! Prometheus's rules: without `ca`/`ca_file` the system's roots are trusted; `server_name`
//! replaces the target's host in certificate verification; `insecure_skip_verify` accepts any
//! certificate (signatures of the handshake are still checked, so the connection is still
//! private against a passive listener); a client certificate is sent when one is configured.
//! rustls speaks TLS 1.2 and 1.3 only, so `min_version` below 1.2 allows 1.2 and 1.3.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::TlsConfig;

/// What was wrong with a `tls_config`: the field (`.ca_file`, ...) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tls_config{}: {}", self.field, self.message)
    }
}

fn err(field: &str, message: impl Into<String>) -> TlsError {
    TlsError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The provider every TLS connection of the relay uses (ring, as reqwest's own).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn version(field: &str, v: Option<&str>) -> Result<Option<u8>, TlsError> {
    Ok(match v {
        None | Some("") => None,
        Some("TLS10") => Some(10),
        Some("TLS11") => Some(11),
        Some("TLS12") => Some(12),
        Some("TLS13") => Some(13),
        Some(other) => {
            return Err(err(
                field,
                format!("unknown TLS version: {other} (use TLS10, TLS11, TLS12 or TLS13)"),
            ));
        }
    })
}

/// PEM text given inline or in a file, exactly one of them.
fn pem_source(
    inline: &Option<String>,
    file: &Option<std::path::PathBuf>,
    name: &str,
) -> Result<Option<(Vec<u8>, String)>, TlsError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(err(
            "",
            format!("at most one of {name} and {name}_file must be configured"),
        )),
        (Some(text), None) => Ok(Some((text.clone().into_bytes(), format!(".{name}")))),
        (None, Some(path)) => {
            let field = format!(".{name}_file");
            let bytes = std::fs::read(path)
                .map_err(|e| err(&field, format!("cannot read {}: {e}", path.display())))?;
            Ok(Some((bytes, field)))
        }
        (None, None) => Ok(None),
    }
}

fn certificates(pem: &[u8], field: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| err(field, format!("invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(err(field, "no PEM certificate found"));
    }
    Ok(certs)
}

/// The configuration of jobs without `tls_config`: the system's roots, read once.
pub(crate) fn default_client_config() -> Option<ClientConfig> {
    static DEFAULT: std::sync::OnceLock<Option<ClientConfig>> = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(|| client_config(&TlsConfig::default()).ok())
        .clone()
}

/// Builds the client configuration of one job's `tls_config`, reading its files.
pub fn client_config(t: &TlsConfig) -> Result<ClientConfig, TlsError> {
    let min = version(".min_version", t.min_version.as_deref())?.unwrap_or(12);
    let max = version(".max_version", t.max_version.as_deref())?.unwrap_or(13);
    if max < 12 {
        return Err(err(
            ".max_version",
            "TLS 1.0 and 1.1 are not supported: max_version must be TLS12 or TLS13",
        ));
    }
    if min > max {
        return Err(err(".min_version", "min_version is above max_version"));
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min.max(12)..=max).contains(v))
            .map(|(_, p)| p)
            .collect();

    let provider = provider();
    let mut roots = RootCertStore::empty();
    match pem_source(&t.ca, &t.ca_file, "ca")? {
        Some((pem, field)) => {
            for c in certificates(&pem, &field)? {
                roots
                    .add(c)
                    .map_err(|e| err(&field, format!("not a usable CA certificate: {e}")))?;
            }
        }
        None => {
            // Unreadable system certificates are skipped, as Go's system pool skips them.
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| err(".ca", format!("cannot verify with these roots: {e}")))?;
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = if t.insecure_skip_verify {
        Arc::new(AnyCertificate(algorithms))
    } else if let Some(name) = t.server_name.as_deref().filter(|n| !n.is_empty()) {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|e| err(".server_name", format!("{name:?}: {e}")))?;
        Arc::new(FixedName {
            inner: webpki,
            name,
        })
    } else {
        webpki
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| err(".min_version", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let cert = pem_source(&t.cert, &t.cert_file, "cert")?;
    let key = pem_source(&t.key, &t.key_file, "key")?;
    let config = match (cert, key) {
        (Some((cert, cf)), Some((key, kf))) => {
            let chain = certificates(&cert, &cf)?;
            let key = PrivateKeyDer::from_pem_slice(&key)
                .map_err(|e| err(&kf, format!("no usable PEM private key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| err(&kf, format!("does not match the certificate: {e}")))?
        }
        (Some(_), None) => {
            return Err(err(
                "",
                "exactly one of key or key_file must be configured when a client certificate is configured",
            ));
        }
        (None, Some(_)) => {
            return Err(err(
                "",
                "exactly one of cert or cert_file must be configured when a client key is configured",
            ));
        }
        (None, None) => builder.with_no_client_auth(),
    };
    Ok(config)
}

/// Verifies the certificate against the configured `server_name` instead of the URL's host.
#[derive(Debug)]
struct FixedName {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for FixedName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _host: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `insecure_skip_verify`: any certificate is accepted; handshake signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _host: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// A plain-words reason for a TLS failure found in an error's chain, in the words Go's
/// crypto/tls uses where there is an equivalent, so operators can search for it.
pub(crate) fn explain(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        // An io::Error's `source()` skips the error it wraps (here rustls's, wrapped twice).
        let mut inner = c;
        while let Some(wrapped) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            inner = wrapped;
        }
        let tls = inner.downcast_ref::<rustls::Error>();
        if let Some(t) = tls {
            use rustls::CertificateError as C;
            return Some(match t {
                rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
                    "tls: failed to verify certificate: certificate signed by unknown authority \
                     (not by the tls_config CA, or the system's)"
                        .into()
                }
                rustls::Error::InvalidCertificate(C::NotValidForName)
                | rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => {
                    format!(
                        "tls: failed to verify certificate: the certificate is not valid for this \
                         host (set tls_config.server_name to the name it is for) ({t})"
                    )
                }
                rustls::Error::InvalidCertificate(C::Expired)
                | rustls::Error::InvalidCertificate(C::ExpiredContext { .. }) => {
                    format!("tls: failed to verify certificate: certificate has expired ({t})")
                }
                other => format!("tls: {other}"),
            });
        }
        cur = c.source();
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_name_their_field() {
        let t = TlsConfig {
            min_version: Some("TLS9".into()),
            ..TlsConfig::default()
        };
        assert_eq!(client_config(&t).unwrap_err().field, ".min_version");
        let t = TlsConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsConfig::default()
        };
        let e = client_config(&t).unwrap_err();
        assert_eq!(e.field, ".ca_file");
        assert!(e.message.contains("/nonexistent/ca.pem"), "{e}");
        let t = TlsConfig {
            ca: Some("not pem".into()),
            ..TlsConfig::default()
        };
        assert!(client_config(&t).is_err());
        let t = TlsConfig {
            cert: Some("x".into()),
            ..TlsConfig::default()
        };
        assert!(client_config(&t).unwrap_err().message.contains("key_file"));
        assert!(client_config(&TlsConfig::default()).is_ok());
    }
}
