//! The HTTP layer: one request at a time to the cluster's base URL, authenticated as the
//! connection says (basic auth, SigV4, or none).

use std::time::Duration;

pub use reqwest::Method;
pub use reqwest::StatusCode;
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::sigv4::Signer;

/// How requests are authenticated.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    /// No authentication (a cluster without the security plugin).
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// AWS Signature Version 4.
    SigV4(Signer),
}

/// Why a request could not be made (a refusal by the cluster is a [`Response`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The path does not make a URL with the base.
    #[error("`{path}` does not make a URL with {base}: {reason}")]
    Url {
        /// The base URL.
        base: String,
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// SigV4 signing failed (no credentials, say).
    #[error("signing the request with SigV4: {0}")]
    Signing(String),
    /// The request failed on the way: connection refused, TLS, timeout.
    #[error("{}", describe(.0))]
    Transport(#[from] reqwest::Error),
}

/// The underlying error with its causes, which say what actually went wrong (a TLS certificate the
/// platform does not trust, a refused connection).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A cluster's answer.
#[derive(Debug)]
pub struct Response(reqwest::Response);

impl Response {
    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    /// The body as text.
    pub async fn text(self) -> Result<String, ClientError> {
        Ok(self.0.text().await?)
    }
}

/// A connection to one OpenSearch cluster (or one Dashboards origin).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: reqwest::Url,
    auth: Auth,
}

impl Client {
    pub(crate) fn new(http: reqwest::Client, base: reqwest::Url, auth: Auth) -> Self {
        Client { http, base, auth }
    }

    /// The base URL.
    pub fn url(&self) -> &reqwest::Url {
        &self.base
    }

    /// Sends one request: `path` (with the base URL's own path in front), `query` pairs, `headers`
    /// (`content-type: application/json` when a body is given without one), an optional body and
    /// timeout.
    pub async fn send<Q: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        query: Option<&Q>,
        body: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<Response, ClientError> {
        let url = self.url_for(path)?;
        let mut req = self.http.request(method, url).headers(headers);
        if let Some(q) = query {
            req = req.query(q);
        }
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let mut req = req.build()?;
        if req.body().is_some() && !req.headers().contains_key(reqwest::header::CONTENT_TYPE) {
            req.headers_mut().insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        match &self.auth {
            Auth::None => {}
            Auth::Basic { user, password } => {
                let value = basic_auth(user, password);
                req.headers_mut().insert(reqwest::header::AUTHORIZATION, value);
            }
            Auth::SigV4(signer) => signer.sign(&mut req).await.map_err(ClientError::Signing)?,
        }
        Ok(Response(self.http.execute(req).await?))
    }

    /// The URL of `path` under the base URL (whose own path, such as a Dashboards prefix, stays).
    fn url_for(&self, path: &str) -> Result<reqwest::Url, ClientError> {
        let base = self.base.as_str().trim_end_matches('/');
        let joined = format!("{base}/{}", path.trim_start_matches('/'));
        reqwest::Url::parse(&joined).map_err(|e| ClientError::Url {
            base: self.base.to_string(),
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// `Basic base64(user:password)`, marked sensitive so it never appears in debug output.
fn basic_auth(user: &str, password: &str) -> HeaderValue {
    let encoded = base64_simd::STANDARD.encode_to_string(format!("{user}:{password}"));
    let mut value =
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(
            wafwatch_http::client(&wafwatch_http::Tls::default(), std::time::Duration::from_secs(1)).unwrap(),
            reqwest::Url::parse(base).unwrap(),
            Auth::None,
        )
    }

    #[test]
    fn paths_join_the_base_and_keep_its_prefix() {
        assert_eq!(client("http://h:9200").url_for("/_cat/health").unwrap().as_str(), "http://h:9200/_cat/health");
        assert_eq!(
            client("https://d.example/_dashboards/").url_for("/api/status").unwrap().as_str(),
            "https://d.example/_dashboards/api/status"
        );
    }

    #[test]
    fn basic_auth_is_the_standard_header_and_sensitive() {
        let v = basic_auth("admin", "secret");
        assert_eq!(v.to_str().unwrap(), "Basic YWRtaW46c2VjcmV0");
        assert!(v.is_sensitive());
    }
}
