//! The OpenSearch connection every part of wafwatch uses: URL, authentication, TLS.
//!
//! Self-managed clusters use basic authentication, with the password from the environment
//! (`WAFWATCH_OPENSEARCH_PASSWORD`) or a file, never a flag. Amazon OpenSearch Service domains use
//! SigV4 with service `es`, Serverless collections `aoss`, through the standard AWS credential
//! chain ([`sigv4`]). TLS certificates are verified against the platform's roots and the CA given
//! with `--opensearch-ca`, unless `--opensearch-insecure` is given. The [`Client`] is a thin layer
//! over the workspace's one HTTPS client (`wafwatch-http`: rustls with ring): wafwatch sends the
//! plugins' REST requests as they are, so it needs no typed client.

mod client;
pub mod sigv4;

use std::path::PathBuf;
use std::time::Duration;

pub use self::client::{Client, ClientError, HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use self::sigv4::Signer;

/// The environment variable holding the basic-auth password.
pub const PASSWORD_ENV: &str = "WAFWATCH_OPENSEARCH_PASSWORD";

/// SigV4 signing service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SigV4Service {
    /// Amazon OpenSearch Service domains.
    Es,
    /// Amazon OpenSearch Serverless collections.
    Aoss,
}

/// How to reach OpenSearch.
// The field docs are --help text, where URLs read best bare.
#[allow(rustdoc::bare_urls)]
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectionArgs {
    /// OpenSearch URL, such as https://search-x.eu-west-1.es.amazonaws.com or https://localhost:9200.
    #[arg(long = "opensearch-url", env = "WAFWATCH_OPENSEARCH_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Basic-auth user for a self-managed cluster; the password comes from
    /// $WAFWATCH_OPENSEARCH_PASSWORD or --opensearch-password-file, never from a flag.
    #[arg(long = "opensearch-user", env = "WAFWATCH_OPENSEARCH_USER", value_name = "USER")]
    pub user: Option<String>,
    /// File holding the basic-auth password (its first line).
    #[arg(long = "opensearch-password-file", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Sign requests with SigV4 for Amazon OpenSearch Service (es) or Serverless (aoss), using the
    /// standard AWS credential chain and region.
    #[arg(long = "opensearch-sigv4", value_enum, value_name = "SERVICE")]
    pub sigv4: Option<SigV4Service>,
    /// A PEM file of CA certificates to trust beside the platform's (a cluster with its own CA,
    /// such as the demo CA of a test node).
    #[arg(long = "opensearch-ca", env = "WAFWATCH_OPENSEARCH_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Do not verify the server's TLS certificate (self-signed test clusters only).
    #[arg(long = "opensearch-insecure")]
    pub insecure: bool,
}

/// Why a connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No URL.
    #[error("no OpenSearch URL: pass --opensearch-url or set WAFWATCH_OPENSEARCH_URL")]
    NoUrl,
    /// Not a URL.
    #[error("`{0}` is not a URL (write https://host:port)")]
    BadUrl(String),
    /// A user without a password.
    #[error("--opensearch-user is set but there is no password: set {PASSWORD_ENV} or pass --opensearch-password-file")]
    NoPassword,
    /// The password file could not be read.
    #[error("reading the OpenSearch password from {path}: {source}")]
    PasswordFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// SigV4 without credentials or region.
    #[error("SigV4 signing needs AWS credentials and a region (set AWS_REGION or --region): {0}")]
    SigV4(String),
    /// Both SigV4 and basic auth.
    #[error("choose one authentication: --opensearch-sigv4 or --opensearch-user, not both")]
    TwoAuths,
    /// The client could not be built (a CA file that cannot be read, say).
    #[error("building the OpenSearch client: {0}")]
    Build(String),
}

impl ConnectionArgs {
    /// Whether a URL was given.
    pub fn is_set(&self) -> bool {
        self.url.is_some()
    }

    /// The URL, for messages.
    pub fn describe(&self) -> &str {
        self.url.as_deref().unwrap_or("(no URL)")
    }

    fn password(&self) -> Result<Option<String>, ConnectionError> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConnectionError::PasswordFile { path: path.display().to_string(), source })?;
            return Ok(Some(text.lines().next().unwrap_or("").to_owned()));
        }
        Ok(std::env::var(PASSWORD_ENV).ok())
    }

    /// Builds the client. SigV4 takes its credentials and region from `aws`.
    pub fn client(&self, aws: Option<&wafwatch_aws::SdkConfig>) -> Result<Client, ConnectionError> {
        let raw = self.url.as_deref().ok_or(ConnectionError::NoUrl)?;
        let url = reqwest::Url::parse(raw).map_err(|_| ConnectionError::BadUrl(raw.to_owned()))?;
        let auth = match (&self.sigv4, &self.user) {
            (Some(_), Some(_)) => return Err(ConnectionError::TwoAuths),
            (Some(service), None) => {
                let conf = aws.ok_or_else(|| ConnectionError::SigV4("no AWS configuration was loaded".into()))?;
                client::Auth::SigV4(Signer::new(conf, *service).map_err(ConnectionError::SigV4)?)
            }
            (None, Some(user)) => {
                let password = self.password()?.ok_or(ConnectionError::NoPassword)?;
                client::Auth::Basic { user: user.clone(), password }
            }
            (None, None) => client::Auth::None,
        };
        let tls = wafwatch_http::Tls { ca: self.ca.clone(), insecure: self.insecure };
        let http = wafwatch_http::client(&tls, REQUEST_TIMEOUT).map_err(|e| ConnectionError::Build(e.to_string()))?;
        Ok(Client::new(http, url, auth))
    }
}

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Explains an HTTP status from OpenSearch in one sentence.
pub fn explain_status(status: u16, url: &str) -> Option<String> {
    match status {
        401 => Some(format!(
            "OpenSearch at {url} refused the credentials (401): check the user and password, or use --opensearch-sigv4 for Amazon OpenSearch Service"
        )),
        403 => Some(format!(
            "OpenSearch at {url} denied the request (403): map this identity to a role with the needed permissions (fine-grained access control)"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_cannot_work() {
        let none = ConnectionArgs::default();
        assert!(matches!(none.client(None), Err(ConnectionError::NoUrl)));
        let bad = ConnectionArgs { url: Some("not a url".into()), ..ConnectionArgs::default() };
        assert!(matches!(bad.client(None), Err(ConnectionError::BadUrl(_))));
        let both = ConnectionArgs {
            url: Some("https://localhost:9200".into()),
            user: Some("admin".into()),
            sigv4: Some(SigV4Service::Es),
            ..ConnectionArgs::default()
        };
        assert!(matches!(both.client(None), Err(ConnectionError::TwoAuths)));
        let sig = ConnectionArgs {
            url: Some("https://x".into()),
            sigv4: Some(SigV4Service::Aoss),
            ..ConnectionArgs::default()
        };
        assert!(matches!(sig.client(None), Err(ConnectionError::SigV4(_))));
        let file = ConnectionArgs {
            url: Some("https://localhost:9200".into()),
            user: Some("admin".into()),
            password_file: Some("/nonexistent/pw".into()),
            ..ConnectionArgs::default()
        };
        assert!(matches!(file.client(None), Err(ConnectionError::PasswordFile { .. })));
    }
}
