//! `wafwatch bootstrap plan|apply|status|destroy`: the OpenSearch side of the config, from the
//! same `wafwatch.toml`. The work is done by `wafwatch_opensearch::bootstrap`; this module parses
//! the options, builds the connection and prints.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use wafwatch_aws::AwsArgs;
use wafwatch_config::channel::Resolve;
use wafwatch_config::expand::process_env;
use wafwatch_opensearch::bootstrap::apply::{ApplyOptions, BootstrapError};
use wafwatch_opensearch::bootstrap::client::{Clients, RetryPolicy};
use wafwatch_opensearch::bootstrap::{self as boot, Dashboards};
use wafwatch_opensearch::connection::ConnectionArgs;

use wafwatch_config::Config;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// JSON only on stdout.
    Json,
}

/// Where OpenSearch Dashboards is.
// The field docs are --help text, where URLs read best bare.
#[allow(rustdoc::bare_urls)]
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DashboardsArgs {
    /// OpenSearch Dashboards' URL, with its path prefix (default: the OpenSearch URL followed by
    /// /_dashboards, as on Amazon OpenSearch Service; a self-managed one is often
    /// http://localhost:5601). Alert messages link to its wafwatch dashboard.
    #[arg(long, env = "WAFWATCH_DASHBOARDS_URL", value_name = "URL")]
    pub dashboards_url: Option<String>,
    /// Leave the Dashboards saved objects out.
    #[arg(long)]
    pub no_dashboards: bool,
}

/// How to reach the cluster: its URL, authentication and TLS, and for SigV4 the AWS credentials.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// The connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// AWS credentials and region, for --opensearch-sigv4.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `wafwatch bootstrap ...`.
// The flattened argument groups carry their own documentation (it is the --help text); a doc
// comment on the field would add nothing.
#[allow(missing_docs)]
#[derive(Debug, clap::Subcommand)]
pub enum BootstrapCommand {
    /// Print the requests a first `apply` sends to an empty cluster, in order. No network.
    ///
    /// Ids known only after apply show as {{detector:NAME}}; variables not set here as
    /// {{env:NAME}}; secrets always as {{secret:NAME}}. Every request is checked against the
    /// OpenSearch contract first (exit status 2 if one breaks it).
    Plan {
        /// `text` (a numbered list) or `json` (an array of {"method", "path", "body"} and nothing
        /// else on stdout).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        dashboards: DashboardsArgs,
    },
    /// Create what is missing, update what differs, leave what is equal: safe on every deploy.
    ///
    /// A second apply sends no write. Detectors need documents in the index: on an empty index
    /// everything else is created and the detectors (and their monitors) are reported as waiting;
    /// --wait-for-data polls until documents arrive. Exit status 0 when done (even with waiting
    /// detectors), 1 when the cluster refused something, 2 for bad options or configuration.
    Apply {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        dashboards: DashboardsArgs,
        /// Read only: print what would be written, with what differs.
        #[arg(long)]
        dry_run: bool,
        /// Wait (up to this long, such as 10m) for the first documents, then create the detectors.
        #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "10m", value_parser = humantime::parse_duration)]
        wait_for_data: Option<Duration>,
        /// Also start a historical analysis of every detector over this range (RFC 3339:
        /// 2026-01-01T00:00:00Z..2026-01-08T00:00:00Z).
        #[arg(long, value_name = "FROM..TO")]
        historical: Option<String>,
        /// `text` or `json` (the report as JSON).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Each detector's state and recent anomalies, each monitor's active alerts.
    Status {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Remove what apply created (objects carrying wafwatch's mark), never indices or documents.
    Destroy {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        dashboards: DashboardsArgs,
        /// Really do it.
        #[arg(long)]
        yes: bool,
    },
}

/// Splits a Dashboards URL into its origin and path prefix.
fn split_url(url: &str) -> (String, String) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => (url[..after_scheme + i].to_owned(), url[after_scheme + i..].trim_end_matches('/').to_owned()),
        None => (url.trim_end_matches('/').to_owned(), String::new()),
    }
}

fn dashboards_url(connection: Option<&ConnectionArgs>, args: &DashboardsArgs) -> Option<String> {
    args.dashboards_url
        .clone()
        .or_else(|| connection.and_then(|c| c.url.as_ref()).map(|u| format!("{}/_dashboards", u.trim_end_matches('/'))))
}

fn dashboards(url: Option<&str>) -> Dashboards {
    match url {
        Some(u) => Dashboards { prefix: split_url(u).1, public_url: Some(u.to_owned()) },
        None => Dashboards::default(),
    }
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}

async fn clients(connection: &ConnectionArgs, aws: &AwsArgs, dashboards: Option<&str>) -> anyhow::Result<Clients> {
    let sdk = match connection.sigv4 {
        Some(service) => {
            let conf = aws.sdk_config().await;
            let name = match service {
                wafwatch_opensearch::connection::SigV4Service::Es => "es",
                wafwatch_opensearch::connection::SigV4Service::Aoss => "aoss",
            };
            boot::validate::auth(name, conf.region().map(|r| r.as_ref()))
                .map_err(|p| anyhow::anyhow!("{}", p.message))?;
            Some(conf)
        }
        None => None,
    };
    let cluster = connection.client(sdk.as_ref())?;
    let dashboards_client = match dashboards {
        Some(u) => {
            let origin = ConnectionArgs { url: Some(split_url(u).0), ..connection.clone() };
            Some(origin.client(sdk.as_ref())?)
        }
        None => None,
    };
    Ok(Clients {
        cluster,
        cluster_url: connection.describe().to_owned(),
        dashboards: dashboards_client,
        dashboards_url: dashboards.unwrap_or("(none)").to_owned(),
        retry: RetryPolicy::default(),
    })
}

fn parse_range(text: &str) -> anyhow::Result<(i64, i64)> {
    let (a, b) = text
        .split_once("..")
        .context("--historical takes FROM..TO, such as 2026-01-01T00:00:00Z..2026-01-08T00:00:00Z")?;
    let t = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s.trim())
            .map(|d| d.timestamp_millis())
            .with_context(|| format!("--historical: `{s}` is not an RFC 3339 time"))
    };
    let (from, to) = (t(a)?, t(b)?);
    anyhow::ensure!(to > from, "--historical: the end must come after the start");
    Ok((from, to))
}

fn spec(config: &Config, mode: Resolve, dashboards: Dashboards) -> Result<boot::Spec, ExitCode> {
    boot::Spec::from_config(config, mode, &process_env, dashboards).map_err(|e| {
        tracing::error!("{e}");
        ExitCode::from(2)
    })
}

/// Runs a bootstrap command.
pub fn run(command: BootstrapCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let failed = |e: BootstrapError| -> ExitCode {
        tracing::error!("{e}");
        match e {
            BootstrapError::Invalid(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    };
    match command {
        BootstrapCommand::Plan { format, dashboards: dargs } => {
            let spec = match spec(config, Resolve::Placeholders, dashboards(dashboards_url(None, &dargs).as_deref())) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let mut requests = boot::plan(&spec);
            if dargs.no_dashboards {
                requests.retain(|r| !r.path.contains("/api/saved_objects/"));
            }
            if let Err(problems) = boot::validate::validate(&requests) {
                return Ok(failed(BootstrapError::Invalid(problems)));
            }
            match format {
                Format::Json => print(&(serde_json::to_string_pretty(&requests)? + "\n"))?,
                Format::Text => print(&boot::render_plan(&requests))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        BootstrapCommand::Apply {
            cluster: ClusterArgs { connection, aws },
            dashboards: dargs,
            dry_run,
            wait_for_data,
            historical,
            format,
        } => {
            let durl = (!dargs.no_dashboards).then(|| dashboards_url(Some(&connection), &dargs)).flatten();
            let spec = match spec(config, Resolve::Live, dashboards(durl.as_deref())) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let opts = ApplyOptions {
                dry_run,
                wait_for_data,
                poll: Duration::from_secs(10),
                historical: historical.as_deref().map(parse_range).transpose()?,
                skip_dashboards: dargs.no_dashboards,
            };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let result = rt.block_on(async {
                let c = clients(&connection, &aws, durl.as_deref()).await?;
                anyhow::Ok(boot::apply::apply(&c, connection.describe(), &spec, &opts).await)
            })?;
            match result {
                Ok(report) => {
                    match format {
                        Format::Json => print(&(serde_json::to_string_pretty(&report)? + "\n"))?,
                        Format::Text => print(&report.render(dry_run))?,
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(failed(e)),
            }
        }
        BootstrapCommand::Status { cluster: ClusterArgs { connection, aws }, format } => {
            let spec = match spec(config, Resolve::Placeholders, Dashboards::default()) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let result = rt.block_on(async {
                let c = clients(&connection, &aws, None).await?;
                anyhow::Ok(boot::apply::status(&c, connection.describe(), &spec).await)
            })?;
            match result {
                Ok(lines) => {
                    match format {
                        Format::Json => print(&(serde_json::to_string_pretty(&lines)? + "\n"))?,
                        Format::Text => print(&boot::apply::render_status(&lines))?,
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(failed(e)),
            }
        }
        BootstrapCommand::Destroy { cluster: ClusterArgs { connection, aws }, dashboards: dargs, yes } => {
            if !yes {
                tracing::error!(
                    "destroy deletes the detectors, monitors, channels, dashboards, template and policy wafwatch created \
                     (never indices or documents): run it again with --yes"
                );
                return Ok(ExitCode::from(2));
            }
            let durl = (!dargs.no_dashboards).then(|| dashboards_url(Some(&connection), &dargs)).flatten();
            let spec = match spec(config, Resolve::Placeholders, dashboards(durl.as_deref())) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let result = rt.block_on(async {
                let c = clients(&connection, &aws, durl.as_deref()).await?;
                anyhow::Ok(boot::apply::destroy(&c, connection.describe(), &spec, dargs.no_dashboards).await)
            })?;
            match result {
                Ok(report) => {
                    print(&report.render(false))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(failed(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_dashboards_urls() {
        assert_eq!(
            split_url("https://search-x.es.amazonaws.com/_dashboards"),
            ("https://search-x.es.amazonaws.com".into(), "/_dashboards".into())
        );
        assert_eq!(split_url("http://localhost:5601/"), ("http://localhost:5601".into(), String::new()));
        assert_eq!(split_url("http://localhost:5601"), ("http://localhost:5601".into(), String::new()));
    }

    #[test]
    fn historical_ranges() {
        assert_eq!(
            parse_range("2026-01-01T00:00:00Z..2026-01-01T01:00:00Z").unwrap(),
            (1_767_225_600_000, 1_767_229_200_000)
        );
        assert!(
            parse_range("2026-01-02T00:00:00Z..2026-01-01T00:00:00Z")
                .unwrap_err()
                .to_string()
                .contains("end must come after")
        );
        assert!(parse_range("yesterday").is_err());
    }
}
