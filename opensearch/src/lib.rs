//! # wafwatch-opensearch
//!
//! wafwatch's OpenSearch side: how to reach a cluster, and the bootstrap that turns `wafwatch.toml`
//! into a working deployment (index template, ISM policy, first index, Firehose's security role,
//! notification channels, anomaly detectors, alerting monitors, Dashboards views) and keeps it in
//! step.
//!
//! ## Where to start
//!
//! - [`connection`]: the [`ConnectionArgs`](connection::ConnectionArgs) every part of wafwatch
//!   uses to reach OpenSearch (URL, basic auth with the password from the environment or a file,
//!   SigV4 for Amazon OpenSearch Service and Serverless, TLS verification on by default).
//! - [`bootstrap`]: a [`Spec`](bootstrap::Spec) is built once from the validated configuration;
//!   [`bootstrap::resource::resources`] turns it into one ordered list of resources, each knowing
//!   its path, its body, its mark and how to compare itself with what is live; and the four
//!   commands walk that list: [`plan`](bootstrap::plan()) (no network), [`apply`](bootstrap::apply::apply)
//!   (an idempotent reconcile), [`status`](bootstrap::status::status) and
//!   [`destroy`](bootstrap::destroy::destroy).
//! - [`bootstrap::validate`]: the contract's 20 rules, checked on every request body before any is
//!   sent.
//!
//! What it deploys comes from `wafwatch-config`; the monitors' messages from `wafwatch-message`;
//! retries from `wafwatch-retry`. It talks to the cluster through the `opensearch` crate, behind
//! the small [`Api`](bootstrap::client::Api) trait, so tests can stand in for the cluster.
//!
//! ## Example
//!
//! The plan of the bundled configuration, checked against the contract, with no network:
//!
//! ```
//! use wafwatch_config::channel::Resolve;
//! use wafwatch_config::file::{BUNDLED_DEFAULT_TOML, Origin, parse};
//! use wafwatch_opensearch::bootstrap::{self, Dashboards, Spec};
//!
//! let config = parse(BUNDLED_DEFAULT_TOML, Origin::Bundled).unwrap().config().unwrap();
//! // Placeholders stand for ${VAR}s and secrets, so a plan needs none of them.
//! let spec = Spec::from_config(&config, Resolve::Placeholders, &|_| None, Dashboards::default()).unwrap();
//! let requests = bootstrap::plan(&spec);
//! bootstrap::validate::validate(&requests).unwrap();
//! assert_eq!(requests[0].method, "PUT");
//! assert_eq!(requests[0].path, "/_index_template/wafwatch-waf-logs");
//! assert!(requests.last().unwrap().path.ends_with("/api/saved_objects/_import?overwrite=true"));
//! assert!(bootstrap::render_plan(&requests).starts_with("  1. PUT    /_index_template/wafwatch-waf-logs\n"));
//! ```
//!
//! Against a cluster, `apply` takes the same spec and the clients the connection builds:
//!
//! ```no_run
//! # use wafwatch_opensearch::bootstrap::{Spec, apply::{ApplyOptions, apply}, client::{Clients, DEFAULT_RETRY}};
//! # use wafwatch_opensearch::connection::ConnectionArgs;
//! # async fn f(spec: Spec) -> Result<(), Box<dyn std::error::Error>> {
//! let conn = ConnectionArgs { url: Some("https://localhost:9200".into()), ..ConnectionArgs::default() };
//! let clients = Clients {
//!     cluster: conn.client(None)?,
//!     cluster_url: conn.describe().to_owned(),
//!     dashboards: None,
//!     dashboards_url: String::new(),
//!     retry: DEFAULT_RETRY,
//! };
//! let options = ApplyOptions { skip_dashboards: true, ..ApplyOptions::default() };
//! let report = apply(&clients, conn.describe(), &spec, &options).await?;
//! tracing::info!(writes = report.writes, "Applied.\n{}", report.render(false));
//! # Ok(()) }
//! ```

pub mod bootstrap;
pub mod connection;
