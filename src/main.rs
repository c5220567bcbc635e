//! The `wafwatch` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wafwatch_config::file::BUNDLED_DEFAULT_TOML;
use wafwatch_config::wire::{LAMBDA_ENV_TOTAL_BYTES, TRANSFORM_CONFIG_ENV};
use wafwatch_transformer::Transformer;
use wafwatch_transformer::cli::{self, TransformCommand};

/// Find attacks and outages in web-firewall logs while they happen.
///
/// Everything is driven by one configuration file, wafwatch.toml: --config FILE, else
/// $WAFWATCH_CONFIG, else ./wafwatch.toml, else the bundled default (see `wafwatch config default`).
#[derive(Debug, Parser)]
#[command(name = "wafwatch", version, max_term_width = 100)]
struct Cli {
    /// The configuration file (default: $WAFWATCH_CONFIG, ./wafwatch.toml, then the bundled default).
    #[arg(long, short, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// More logging on stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the whole configuration and print the columns, rules, delivery, detectors and
    /// monitors it resolves to.
    ///
    /// Exit status 0 when valid, 2 when not (every problem is listed with its key).
    Check,
    /// Produce configuration for other places.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the transformation here: the same code the Lambda runs.
    #[command(subcommand)]
    Transform(TransformCommand),
    /// Simulate WAF traffic with labelled attacks (the same as the log-simulator binary).
    ///
    /// Backfill with --from, cron one-shot with --files N, real time otherwise. See
    /// `wafwatch simulate --help` and `wafwatch simulate scenarios`.
    Simulate(Box<wafwatch_log_simulator::run::SimArgs>),
    /// The whole config on this machine, scored against ground truth: simulate, encode with the
    /// transformer, detect with Random Cut Forest, alert, report.
    ///
    /// Writes report.html, results.ndjson and alerts.ndjson to --out. Exit status 0 when the run
    /// completes (see the summary for what was detected), 2 for bad options or configuration.
    Run(Box<wafwatch::run::RunArgs>),
    /// Create and keep in step the OpenSearch side: index template, ISM policy, first index,
    /// Firehose's security role, notification channels, anomaly detectors, monitors, dashboards.
    ///
    /// `plan` needs no network; `apply` is safe to run on every deploy; `status` shows detector
    /// states, recent anomalies and active alerts; `destroy --yes` removes what apply created.
    #[command(subcommand)]
    Bootstrap(wafwatch::bootstrap::BootstrapCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the transformer's sections as compact JSON for the Lambda's WAFWATCH_TRANSFORM_CONFIG.
    ///
    /// Variables are expanded now, so the Lambda needs none. Fails (exit 2) when the value would
    /// not fit Lambda's 4 KB limit for all environment variables.
    LambdaEnv,
    /// Print the bundled default wafwatch.toml, to start your own from.
    Default,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_cli_tracing(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(2)
        }
    }
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check => {
            let loaded = wafwatch_config::file::load(cli.config.as_deref())?;
            let config = loaded.config()?;
            write_stdout(&wafwatch::check::render(&loaded, &config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Default) => {
            write_stdout(BUNDLED_DEFAULT_TOML)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::LambdaEnv) => {
            let loaded = wafwatch_config::file::load(cli.config.as_deref())?;
            let json = loaded.transform()?.resolved().to_compact_json();
            let size = TRANSFORM_CONFIG_ENV.len() + json.len();
            anyhow::ensure!(
                size <= LAMBDA_ENV_TOTAL_BYTES,
                "{TRANSFORM_CONFIG_ENV} would be {size} bytes, over Lambda's {LAMBDA_ENV_TOTAL_BYTES}-byte limit for all variables: \
                 shorten descriptions and patterns, or drop rules"
            );
            write_stdout(&format!("{json}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Transform(cmd) => {
            let loaded = wafwatch_config::file::load(cli.config.as_deref())?;
            let t = Transformer::new(loaded.transform()?)?;
            Ok(cli::run(cmd, &t))
        }
        Command::Simulate(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            Ok(rt.block_on(wafwatch_log_simulator::run::main(*args)))
        }
        Command::Bootstrap(cmd) => {
            let loaded = wafwatch_config::file::load(cli.config.as_deref())?;
            let config = loaded.config()?;
            wafwatch::bootstrap::run(cmd, &config)
        }
        Command::Run(args) => {
            let loaded = wafwatch_config::file::load(cli.config.as_deref())?;
            let config = loaded.config()?;
            match wafwatch::run::run(&args, &config) {
                Ok(summary) => match summary.deliveries {
                    Some(d) if d.failed > 0 => {
                        tracing::error!(
                            failed = d.failed,
                            "Some alerts could not be delivered (see the warnings above)."
                        );
                        Ok(ExitCode::FAILURE)
                    }
                    _ => Ok(ExitCode::SUCCESS),
                },
                Err(wafwatch::run::RunError::Usage(e)) => {
                    tracing::error!("{e}");
                    Ok(ExitCode::from(2))
                }
                Err(e @ wafwatch::run::RunError::Disagreement(_)) => {
                    tracing::error!("{e}");
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
