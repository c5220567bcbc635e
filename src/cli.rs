//! The command line: `wafwatch`'s arguments (their doc comments are the `--help` text) and the
//! dispatch to one module per command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wafwatch_transformer::cli::TransformCommand;

/// Find attacks and outages in web-firewall logs while they happen.
///
/// Everything is driven by one configuration file, wafwatch.toml: --config FILE, else
/// $WAFWATCH_CONFIG, else ./wafwatch.toml, else the bundled default (see `wafwatch config default`).
#[derive(Debug, Parser)]
#[command(name = "wafwatch", version, max_term_width = 100)]
pub struct Cli {
    /// The configuration file (default: $WAFWATCH_CONFIG, ./wafwatch.toml, then the bundled default).
    #[arg(long, short, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More logging on stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the whole configuration and print the columns, rules, delivery, detectors and
    /// monitors it resolves to.
    ///
    /// Exit status 0 when valid, 2 when not (every problem is listed with its key).
    Check,
    /// Produce configuration for other places.
    #[command(subcommand)]
    Config(crate::config::ConfigCommand),
    /// Run the transformation here: the same code the Lambda runs.
    #[command(subcommand)]
    Transform(TransformCommand),
    /// Simulate WAF traffic with labelled attacks (the same as the log-simulator binary).
    ///
    /// Backfill with --from, cron one-shot with --files N, real time otherwise. See
    /// `wafwatch simulate --help` and `wafwatch simulate scenarios`.
    Simulate(Box<wafwatch_log_simulator::run::SimArgs>),
    /// The whole pipeline on this machine, scored against ground truth: simulate, encode with the
    /// transformer, detect with Random Cut Forest, alert, report.
    ///
    /// Writes report.html, results.ndjson and alerts.ndjson to --out. Exit status 0 when the run
    /// completes (see the summary for what was detected), 1 when alerts could not be delivered or
    /// the Lambda handler disagreed with the record function, 2 for bad options or configuration.
    Run(Box<crate::run::RunArgs>),
    /// Thresholds from the background, and the detection limit they give.
    ///
    /// Measures each monitor's background (count monitors' counts per window, anomaly monitors'
    /// grades per interval) over a simulated span with no scenario or over --input, suggests the
    /// thresholds that give --false-alerts-per-day (the quantile, a margin, and what each threshold
    /// would have fired on), then, at those thresholds, bisects each scenario's lowest intensity
    /// detected within 3 intervals at every offset and seed tried. Prints a table; --json FILE;
    /// --write puts the thresholds into the configuration file, keeping its comments.
    Tune(Box<crate::tune::TuneArgs>),
    /// Create and keep in step the OpenSearch side: index template, ISM policy, first index,
    /// Firehose's security role, notification channels, anomaly detectors, monitors, dashboards.
    ///
    /// `plan` needs no network; `apply` is safe to run on every deploy; `status` shows detector
    /// states, recent anomalies and active alerts; `destroy --yes` removes what apply created.
    #[command(subcommand)]
    Bootstrap(Box<crate::bootstrap::BootstrapCommand>),
}

/// Runs the command; an error is a usage or configuration problem (exit status 2).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let flag = cli.config.as_deref();
    match cli.command {
        Command::Check => crate::check::run(flag),
        Command::Config(cmd) => crate::config::run(cmd, flag),
        Command::Transform(cmd) => crate::transform::run(cmd, flag),
        Command::Simulate(args) => crate::simulate::run(*args),
        Command::Run(args) => crate::run::command(&args, flag),
        Command::Tune(args) => crate::tune::command(&args, flag),
        Command::Bootstrap(cmd) => {
            let config = wafwatch_config::file::load(flag)?.config()?;
            crate::bootstrap::run(*cmd, &config)
        }
    }
}
