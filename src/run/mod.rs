//! `wafwatch run`: the whole pipeline on one machine, scored against ground truth.
//!
//! Simulated traffic (the simulator) is encoded record by record by the transformer's record
//! function (the code the Lambda runs), aggregated and scored by the local engine (the detectors
//! and monitors of `wafwatch.toml`, with Random Cut Forest), and the alerts are scored against the
//! simulator's labels; or the same runs over the user's own logs (`--input`).
//!
//! The modules, in the order a run goes through them: [`args`] (the options), `simulated` or
//! `inputs` (the two sources), [`inject`] (simulated scenarios merged into the inputs),
//! [`outputs`] (where events go), [`samples`] (records shown with
//! alerts), [`deliver`] (alerts to channels), [`exact`] (the Lambda handler on real Firehose
//! events), [`score`] (against the labels), [`summary`] and [`report`] (what the run says).

pub mod args;
pub mod deliver;
mod error;
pub mod exact;
mod finish;
pub mod inject;
mod inputs;
pub mod open;
pub mod outputs;
pub mod report;
pub mod samples;
pub mod score;
pub mod shape;
mod simulated;
pub mod summary;

use std::path::Path;
use std::process::ExitCode;

use wafwatch_config::Config;
use wafwatch_transformer::Transformer;

pub use self::args::{DEFAULT_FROM, DEFAULT_SCENARIOS, RunArgs};
use self::deliver::Deliverer;
pub use self::error::RunError;
pub use self::summary::Summary;

/// Resolves the channels for `--deliver`; the alerts link to the report this run writes.
fn deliverer(args: &RunArgs, config: &Config) -> Result<Deliverer, RunError> {
    let report = std::path::absolute(args.out.join("report.html")).unwrap_or_else(|_| args.out.join("report.html"));
    let link = format!("file://{}", report.display());
    let rules: Vec<(&str, wafwatch_config::Severity, &str)> =
        config.transform.rules().iter().map(|r| (r.name.as_str(), r.severity, r.description.as_str())).collect();
    let pattern = config.index.pattern();
    let site = wafwatch_message::Site { index_pattern: &pattern, link: Some(&link), rules: &rules };
    let d = Deliverer::new(&config.channels, &config.detection, &site, args.aws.clone())
        .map_err(|e| RunError::Usage(e.to_string()))?;
    if d.channel_ids().is_empty() {
        return Err(RunError::Usage("--deliver: no monitor names a [[channel]]; there is nowhere to deliver".into()));
    }
    tracing::info!(channels = %d.channel_ids().join(", "), "Delivering alerts.");
    Ok(d)
}

/// Refuses what cannot run: nothing to detect with, or no traffic to simulate.
fn check_args(args: &RunArgs, config: &Config) -> Result<(), RunError> {
    let detection = &config.detection;
    if !args.inputs.is_empty() && detection.detectors.is_empty() && detection.monitors.is_empty() {
        return Err(RunError::Usage(
            "the configuration has no [[detector]] or [[monitor]]: there is nothing to detect with".into(),
        ));
    }
    if args.inputs.is_empty() && !(args.traffic.rate.is_finite() && args.traffic.rate > 0.0) {
        return Err(RunError::Usage(format!("--rate must be positive, got {}", args.traffic.rate)));
    }
    if args.inputs.is_empty() && detection.detectors.is_empty() {
        return Err(RunError::Usage("the configuration has no [[detector]]: there is nothing to detect with".into()));
    }
    Ok(())
}

/// Runs `wafwatch run` with the configuration chosen by `config_flag`, and says how it went as an
/// exit status: 1 when alerts could not be delivered or the Lambda handler disagreed with the
/// record function, 2 for bad options.
pub fn command(args: &RunArgs, config_flag: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = wafwatch_config::file::load(config_flag)?.config()?;
    match run(args, &config) {
        Ok(summary) => match summary.deliveries {
            Some(d) if d.failed > 0 => {
                tracing::error!(failed = d.failed, "Some alerts could not be delivered (see the warnings above).");
                Ok(ExitCode::FAILURE)
            }
            _ => Ok(ExitCode::SUCCESS),
        },
        Err(RunError::Usage(e)) => {
            tracing::error!("{e}");
            Ok(ExitCode::from(2))
        }
        Err(e @ RunError::Disagreement(_)) => {
            tracing::error!("{e}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs the pipeline: on simulated traffic, scored against its labels, or on `--input` files.
pub fn run(args: &RunArgs, config: &Config) -> Result<Summary, RunError> {
    check_args(args, config)?;
    let captures: Vec<_> = config.detection.captures.iter().map(|f| f.pointer().clone()).collect();
    let transformer =
        Transformer::with_captures(config.transform.clone(), &captures).map_err(|e| RunError::Usage(e.to_string()))?;
    let deliverer = if args.deliver { Some(deliverer(args, config)?) } else { None };
    if args.inputs.is_empty() {
        simulated::run(args, &transformer, &config.detection, deliverer)
    } else {
        inputs::run(args, &transformer, &config.detection, deliverer)
    }
}
