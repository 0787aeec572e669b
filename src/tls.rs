//! Whom the library trusts over TLS, and how a certificate failure is reported.
//!
//! By default, the system's trust store as OpenSSL and Go read it: the files named by
//! `SSL_CERT_FILE` and `SSL_CERT_DIR` when either is set, otherwise the system bundle
//! (`/etc/ssl/certs` and the other places OpenSSL looks); when the system offers no
//! certificate at all (a scratch container), the Mozilla roots compiled into the library.
//! It is read once per process, at the first client that needs it. A client's `caFile`
//! adds the certificates of one PEM bundle to that store.

use std::sync::{Arc, LazyLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, RootCertStore};
use serde_json::json;

use crate::error::{codes, invalid_named_argument, quoted, ApiError};
use crate::proxy::Proxy;

/// Where the default trust store came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustSource {
    /// `SSL_CERT_FILE` and/or `SSL_CERT_DIR`.
    Environment,
    /// The system bundle.
    System,
    /// The Mozilla roots compiled in, since the system offered none.
    Bundled,
}

struct SystemTrust {
    roots: Arc<RootCertStore>,
    source: TrustSource,
    config: Arc<rustls::ClientConfig>,
}

static SYSTEM_TRUST: LazyLock<SystemTrust> = LazyLock::new(|| {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    // Certificates the parser refuses are skipped, as OpenSSL skips them.
    let (_added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    let from_environment =
        std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some();
    let source = if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        TrustSource::Bundled
    } else if from_environment {
        TrustSource::Environment
    } else {
        TrustSource::System
    };
    let roots = Arc::new(roots);
    let config = client_config(Arc::clone(&roots));
    SystemTrust {
        roots,
        source,
        config,
    }
});

fn client_config(roots: Arc<RootCertStore>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The library speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Where the default trust store came from.
pub fn system_trust_source() -> TrustSource {
    SYSTEM_TRUST.source
}

/// The TLS configuration of clients without `caFile`.
pub fn default_config() -> Arc<rustls::ClientConfig> {
    Arc::clone(&SYSTEM_TRUST.config)
}

/// A `caFile`: its certificates, trusted besides the default store.
#[derive(Debug)]
pub struct ExtraTrust {
    pub path: String,
    certificates: Vec<CertificateDer<'static>>,
    config: Arc<rustls::ClientConfig>,
}

/// Two clients with the same certificates share connections, whatever the file's name.
impl PartialEq for ExtraTrust {
    fn eq(&self, other: &ExtraTrust) -> bool {
        self.certificates == other.certificates
    }
}

impl Eq for ExtraTrust {}

impl ExtraTrust {
    /// Reads the PEM bundle at `path`; a file that is missing, unreadable or holds no
    /// certificate is `invalid_argument` naming it.
    pub fn load(path: &str) -> Result<ExtraTrust, ApiError> {
        let refused = |why: String| {
            let mut error = invalid_named_argument(
                "caFile",
                format!("{} {why}; pass a PEM file of CA certificates", quoted(path)),
            );
            error.items[0]["details"]["path"] = json!(path);
            error
        };
        let pem = std::fs::read(path).map_err(|err| refused(format!("cannot be read: {err}")))?;
        let mut certificates = Vec::new();
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            certificates.push(certificate.map_err(|err| {
                refused(format!("holds a certificate that is not valid PEM: {err}"))
            })?);
        }
        if certificates.is_empty() {
            return Err(refused(
                "holds no certificate (no -----BEGIN CERTIFICATE----- block)".to_owned(),
            ));
        }
        let mut roots = (*SYSTEM_TRUST.roots).clone();
        let (added, _ignored) = roots.add_parsable_certificates(certificates.iter().cloned());
        if added == 0 {
            return Err(refused(
                "holds no certificate that can serve as a trust anchor".to_owned(),
            ));
        }
        Ok(ExtraTrust {
            path: path.to_owned(),
            certificates,
            config: client_config(Arc::new(roots)),
        })
    }

    pub fn config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.config)
    }
}

/// The first error in `err`'s chain for which `find` answers. `io::Error` hides the error
/// it wraps from `source()`, so it is looked into with `get_ref()`.
pub(crate) fn find_in_chain<'a, T>(
    err: &'a (dyn std::error::Error + 'static),
    find: &impl Fn(&'a (dyn std::error::Error + 'static)) -> Option<T>,
) -> Option<T> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(found) = find(err) {
            return Some(found);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if let Some(found) = find_in_chain(inner, find) {
                return Some(found);
            }
        }
        current = err.source();
    }
    None
}

/// The rustls error somewhere in an error's chain.
pub fn rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    find_in_chain(err, &|err| err.downcast_ref::<rustls::Error>())
}

/// Whether the server closed the connection in the middle of the TLS handshake (tokio-rustls
/// reports it as an `UnexpectedEof` I/O error of its own): a server that does not speak
/// TLS, or refuses this client's.
pub fn closed_during_handshake(err: &(dyn std::error::Error + 'static)) -> bool {
    find_in_chain(err, &|err| {
        err.downcast_ref::<std::io::Error>()
            .filter(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
            .filter(|io| io.to_string() == "tls handshake eof")
    })
    .is_some()
}

/// Whom a TLS connection was opened to.
pub enum Peer<'a> {
    /// The service at `url`, whose host is `host`.
    Service { url: &'a str, host: &'a str },
    /// An `https://` proxy.
    Proxy(&'a Proxy),
}

/// `tls_error` for a certificate or handshake failure talking to `peer`.
pub fn tls_error(description: &str, peer: &Peer<'_>, err: &rustls::Error) -> ApiError {
    let (to, host, setting, details) = match peer {
        Peer::Service { url, host } => (
            (*url).to_owned(),
            (*host).to_owned(),
            "envUrl",
            json!({ "tls": err.to_string() }),
        ),
        Peer::Proxy(proxy) => (
            format!("the proxy {} (from {})", proxy.shown(), proxy.origin),
            proxy.host().to_owned(),
            "the proxy setting",
            json!({ "tls": err.to_string(), "proxy": proxy.shown() }),
        ),
    };
    let (what, advice) = match err {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => (
            format!("the certificate of {host} is not signed by a CA this machine trusts"),
            trust_advice(),
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => (
            format!("the certificate of {host} has expired"),
            "Renew the server's certificate, or check this machine's clock.".to_owned(),
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => (
            format!("the certificate of {host} is not valid yet"),
            "Check this machine's clock.".to_owned(),
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => (
            format!("the certificate of the server is not valid for the name {host}"),
            format!("Use the host name the certificate was issued for in {setting}."),
        ),
        rustls::Error::InvalidCertificate(other) => (
            format!("the certificate of {host} was refused ({other:?})"),
            trust_advice(),
        ),
        rustls::Error::AlertReceived(alert) => (
            format!("{host} refused the TLS handshake (alert {alert:?})"),
            format!(
                "Check that {setting} names the right port and that the server accepts TLS 1.2 \
                 or 1.3."
            ),
        ),
        rustls::Error::HandshakeNotComplete => (
            format!("{host} closed the connection during the TLS handshake (is it a plain http:// service?)"),
            format!("Check the scheme and port of {setting}."),
        ),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => (
            format!("{host} did not answer in TLS (is it a plain http:// service?)"),
            format!("Check the scheme and port of {setting}."),
        ),
        other => (
            format!("the TLS connection to {host} failed ({other})"),
            trust_advice(),
        ),
    };
    ApiError::client(
        codes::TLS_ERROR,
        format!("{description} could not open a trusted TLS connection to {to}: {what}. {advice}"),
        Some(details),
    )
}

fn trust_advice() -> String {
    let store = match system_trust_source() {
        TrustSource::Environment => "the files named by SSL_CERT_FILE/SSL_CERT_DIR",
        TrustSource::System => "the system's trust store",
        TrustSource::Bundled => "the Mozilla roots built into the library (the system has none)",
    };
    format!(
        "Add the CA with caFile in the client options or SSL_CERT_FILE (the library trusts \
         {store})."
    )
}
