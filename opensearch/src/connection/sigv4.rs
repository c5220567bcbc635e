//! AWS Signature Version 4 for Amazon OpenSearch Service (`es`) and Serverless (`aoss`): each
//! request is signed with the credentials the standard chain provides at that moment (so temporary
//! credentials refresh), over its method, URL, headers and a SHA-256 of its body
//! (`x-amz-content-sha256`, which Serverless requires and the managed service accepts).

use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use reqwest::header::{HeaderName, HeaderValue};

use super::SigV4Service;

/// Signs requests for one service in one region.
#[derive(Clone)]
pub struct Signer {
    service: &'static str,
    region: String,
    credentials: SharedCredentialsProvider,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("service", &self.service).field("region", &self.region).finish()
    }
}

impl SigV4Service {
    /// The signing name.
    pub fn name(self) -> &'static str {
        match self {
            SigV4Service::Es => "es",
            SigV4Service::Aoss => "aoss",
        }
    }
}

impl Signer {
    /// A signer for `service` with the region and credentials of `conf`.
    pub fn new(conf: &wafwatch_aws::SdkConfig, service: SigV4Service) -> Result<Self, String> {
        let region = conf.region().ok_or("no region is configured")?.to_string();
        let credentials = conf.credentials_provider().ok_or("no credentials provider is configured")?;
        Ok(Signer { service: service.name(), region, credentials })
    }

    /// A signer with fixed credentials (tests).
    pub fn with_credentials(service: SigV4Service, region: &str, credentials: SharedCredentialsProvider) -> Self {
        Signer { service: service.name(), region: region.to_owned(), credentials }
    }

    /// Signs `req` now, adding the signature headers.
    pub async fn sign(&self, req: &mut reqwest::Request) -> Result<(), String> {
        let creds = self.credentials.provide_credentials().await.map_err(|e| e.to_string())?;
        self.sign_at(req, creds.into(), SystemTime::now(), PayloadChecksumKind::XAmzSha256)
    }

    /// Signs `req` as of `time` with `identity`, with or without the payload hash header.
    fn sign_at(
        &self,
        req: &mut reqwest::Request,
        identity: aws_smithy_runtime_api::client::identity::Identity,
        time: SystemTime,
        checksum: PayloadChecksumKind,
    ) -> Result<(), String> {
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = checksum;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let headers: Vec<(&str, &str)> =
            req.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))).collect();
        let body = req.body().and_then(reqwest::Body::as_bytes).unwrap_or(&[]);
        let signable = SignableRequest::new(req.method().as_str(), req.url().as_str(), headers.into_iter(), {
            SignableBody::Bytes(body)
        })
        .map_err(|e| e.to_string())?;
        let (instructions, _signature) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
        let (headers, _params) = instructions.into_parts();
        for h in headers {
            let name = HeaderName::from_static(h.name());
            let mut value = HeaderValue::from_str(h.value()).map_err(|e| e.to_string())?;
            value.set_sensitive(h.sensitive());
            req.headers_mut().insert(name, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use aws_credential_types::Credentials;

    use super::*;

    fn example() -> (Signer, Credentials, reqwest::Request, SystemTime) {
        let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
        let signer = Signer {
            service: "iam",
            region: "us-east-1".into(),
            credentials: SharedCredentialsProvider::new(creds.clone()),
        };
        let req = wafwatch_http::client(&wafwatch_http::Tls::default(), Duration::from_secs(1))
            .unwrap()
            .get("https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08")
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .build()
            .unwrap();
        // 2015-08-30T12:36:00Z
        (signer, creds, req, UNIX_EPOCH + Duration::from_secs(1_440_938_160))
    }

    /// The example of AWS's SigV4 documentation (IAM ListUsers, the example key, 2015-08-30T12:36:00Z)
    /// must give the published signature: the request, its headers and the signing parameters are
    /// composed the way SigV4 defines them.
    #[test]
    fn signs_the_documented_example() {
        let (signer, creds, mut req, time) = example();
        signer.sign_at(&mut req, creds.into(), time, PayloadChecksumKind::NoHeader).unwrap();
        assert_eq!(
            req.headers()["authorization"].to_str().unwrap(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert_eq!(req.headers()["x-amz-date"], "20150830T123600Z");
    }

    /// What wafwatch sends: the payload hash is signed too (Serverless requires it).
    #[test]
    fn signs_the_payload_hash() {
        let (signer, creds, mut req, time) = example();
        signer.sign_at(&mut req, creds.into(), time, PayloadChecksumKind::XAmzSha256).unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert!(auth.contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date"), "{auth}");
        assert_eq!(
            req.headers()["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "the SHA-256 of the empty body"
        );
    }
}
