//! The AWS SDK configuration, built in one place for every command that talks to AWS.

use aws_config::BehaviorVersion;

/// Which AWS to talk to: the standard credential chain, with optional overrides.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// AWS region (default: the standard chain: AWS_REGION, the profile, instance metadata).
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config.
    #[arg(long, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Send S3, Firehose and SNS requests to this endpoint instead of AWS (any compatible server,
    /// such as moto on loopback).
    #[arg(long, env = "WAFWATCH_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    /// Loads the SDK configuration.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = &self.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        if let Some(u) = &self.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        loader.load().await
    }

    /// An S3 client (path-style addressing when an endpoint is given, as compatible servers need).
    pub fn s3(&self, conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
        let b = aws_sdk_s3::config::Builder::from(conf).force_path_style(self.endpoint_url.is_some());
        aws_sdk_s3::Client::from_conf(b.build())
    }

    /// A Firehose client.
    pub fn firehose(&self, conf: &aws_config::SdkConfig) -> aws_sdk_firehose::Client {
        aws_sdk_firehose::Client::new(conf)
    }

    /// Where requests go, for messages.
    pub fn describe(&self) -> String {
        match &self.endpoint_url {
            Some(u) => format!("endpoint {u}"),
            None => "AWS".to_owned(),
        }
    }
}

/// Turns an SDK error into one sentence that names the resource and says what to do.
pub fn explain<E>(what: &str, err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> String
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
{
    use aws_sdk_s3::error::SdkError;
    let detail = aws_sdk_s3::error::DisplayErrorContext(err);
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            format!("cannot reach the service for {what}: check --endpoint-url, the region and the network ({detail})")
        }
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let status = se.raw().status().as_u16();
            match (code, status) {
                ("NoSuchBucket" | "NotFound" | "ResourceNotFoundException", _) | (_, 404) => {
                    format!("{what} does not exist (or is in another region): create it or fix the name ({detail})")
                }
                ("AccessDenied" | "AccessDeniedException" | "Forbidden", _) | (_, 403) => {
                    format!(
                        "access to {what} is denied: grant this identity the permission, or use another --profile ({detail})"
                    )
                }
                _ => format!("{what}: {detail}"),
            }
        }
        _ => format!("{what}: {detail}"),
    }
}
