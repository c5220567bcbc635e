//! # wafwatch-aws
//!
//! The one home of the AWS SDK configuration. Every command that talks to AWS (the simulator's S3
//! and Firehose sinks, replay, alert delivery to SNS, SigV4 for OpenSearch) takes the same
//! [`AwsArgs`] (`--region`, `--profile`, `--endpoint-url`) and builds its `SdkConfig` here, so there
//! is one switch for "which AWS" (a real account, or moto on loopback in tests); the Lambda builds
//! its configuration here too ([`AwsArgs::lambda`]). Every SDK client talks through
//! [`http_client`]: rustls with `ring`, the workspace's one TLS stack. [`explain`] turns an SDK error into one
//! sentence that names the resource and says what to do.
//!
//! ```no_run
//! # async fn f() {
//! let args = wafwatch_aws::AwsArgs { endpoint_url: Some("http://127.0.0.1:5000".into()), ..Default::default() };
//! let conf = args.sdk_config().await;
//! assert!(args.has_endpoint());
//! # let _ = conf;
//! # }
//! ```

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, Connector};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

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
    /// What the Lambda uses: the function's own environment (its role, its region), nothing
    /// overridden.
    pub fn lambda() -> Self {
        AwsArgs::default()
    }

    /// Loads the SDK configuration.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        self.loader().load().await
    }

    /// The configuration loader with these arguments applied, for callers that add to it (tests
    /// give moto's fixed credentials). It carries [`http_client`]: the SDK crates are built
    /// without their default client.
    pub fn loader(&self) -> aws_config::ConfigLoader {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
        if let Some(r) = &self.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        if let Some(u) = &self.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        loader
    }

    /// Whether requests go to an endpoint of the user's choosing (S3 then needs path-style
    /// addressing, as compatible servers do).
    pub fn has_endpoint(&self) -> bool {
        self.endpoint_url.is_some()
    }

    /// Where requests go, for messages.
    pub fn describe(&self) -> String {
        match &self.endpoint_url {
            Some(u) => format!("endpoint {u}"),
            None => "AWS".to_owned(),
        }
    }
}

/// The HTTPS client every AWS SDK client uses: hyper 1 and rustls with `ring`, the workspace's one
/// TLS stack (the SDK's own default is rustls with aws-lc-rs, a C library built from source).
/// Like the SDK's default client, it honours the standard proxy variables (`HTTPS_PROXY`,
/// `NO_PROXY`).
pub fn http_client() -> SharedHttpClient {
    // `build_with_connector_fn` is what the SDK builds its own default client with; the shorter
    // `tls_provider(..).build_https()` would ignore the proxy variables.
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = Connector::builder().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// Turns an SDK error into one sentence that names the resource (`what`) and says what to do.
pub fn explain<E>(what: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let detail = DisplayErrorContext(err);
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
