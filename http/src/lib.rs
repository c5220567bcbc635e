//! # wafwatch-http
//!
//! The one TLS stack of wafwatch: rustls with the `ring` crypto provider (no C library built from
//! source), for every HTTPS client: the OpenSearch connection and webhook delivery build theirs
//! here with [`client`], and the AWS SDK's client (`wafwatch-aws`) uses the same rustls and ring.
//!
//! Certificates are verified against the platform's roots, plus a CA given by the user (a
//! self-managed cluster with its own CA, the demo CA of a test node); verification is off only
//! when asked (`insecure`, for throwaway test clusters).
//!
//! ```
//! let client = wafwatch_http::client(&wafwatch_http::Tls::default(), std::time::Duration::from_secs(15)).unwrap();
//! # let _ = client;
//! ```

use std::path::PathBuf;
use std::time::Duration;

/// How to trust servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    /// A PEM file of CA certificates trusted beside the platform's roots.
    pub ca: Option<PathBuf>,
    /// Accept any certificate (self-signed test clusters only).
    pub insecure: bool,
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The CA file could not be read.
    #[error("reading the CA certificates in {path}: {source}")]
    ReadCa {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CA file holds no usable certificate.
    #[error("{path} holds no PEM certificate: {reason}")]
    BadCa {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The client could not be built.
    #[error("building the HTTPS client: {0}")]
    Build(String),
}

/// Makes `ring` the process's rustls provider (idempotent). reqwest is built without a provider
/// of its own, so this must run before a client is built; [`client`] does it.
pub fn install_ring() {
    // An error only says a provider is installed already, which is all this asks for.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTPS client with rustls and ring, trusting as `tls` says, with a whole-request timeout.
pub fn client(tls: &Tls, timeout: Duration) -> Result<reqwest::Client, HttpError> {
    install_ring();
    let mut builder =
        reqwest::Client::builder().timeout(timeout).user_agent(concat!("wafwatch/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &tls.ca {
        let pem = std::fs::read(path).map_err(|source| HttpError::ReadCa { path: path.clone(), source })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| HttpError::BadCa { path: path.clone(), reason: e.to_string() })?;
        if certs.is_empty() {
            return Err(HttpError::BadCa { path: path.clone(), reason: "no certificate found".into() });
        }
        builder = builder.tls_certs_merge(certs);
    }
    if tls.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| HttpError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let missing = Tls { ca: Some("/nonexistent/ca.pem".into()), insecure: false };
        let err = client(&missing, Duration::from_secs(1)).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        let dir = std::env::temp_dir().join(format!("wafwatch-http-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err =
            client(&Tls { ca: Some(empty.clone()), insecure: false }, Duration::from_secs(1)).unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn builds_with_ring_and_without_a_global_provider_set_elsewhere() {
        assert!(client(&Tls::default(), Duration::from_secs(1)).is_ok());
        assert!(client(&Tls { ca: None, insecure: true }, Duration::from_secs(1)).is_ok());
    }
}
