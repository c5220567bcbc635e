//! `wafwatch config`: the configuration for other places (the Lambda's environment variable, a
//! starting point for your own file).

use std::path::Path;
use std::process::ExitCode;

use wafwatch_config::file::BUNDLED_DEFAULT_TOML;
use wafwatch_config::wire::{LAMBDA_ENV_TOTAL_BYTES, TRANSFORM_CONFIG_ENV};

/// The `config` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print the transformer's sections as compact JSON for the Lambda's WAFWATCH_TRANSFORM_CONFIG.
    ///
    /// Variables are expanded now, so the Lambda needs none. Fails (exit 2) when the value would
    /// not fit Lambda's 4 KB limit for all environment variables.
    LambdaEnv,
    /// Print the bundled default wafwatch.toml, to start your own from.
    Default,
}

/// Runs a `config` subcommand.
pub fn run(cmd: ConfigCommand, config_flag: Option<&Path>) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Default => crate::stdout::write_stdout(BUNDLED_DEFAULT_TOML)?,
        ConfigCommand::LambdaEnv => {
            let transform = wafwatch_config::file::load(config_flag)?.transform()?;
            let json = transform.resolved().to_compact_json();
            let size = TRANSFORM_CONFIG_ENV.len() + json.len();
            anyhow::ensure!(
                size <= LAMBDA_ENV_TOTAL_BYTES,
                "{TRANSFORM_CONFIG_ENV} would be {size} bytes, over Lambda's {LAMBDA_ENV_TOTAL_BYTES}-byte limit for all variables: \
                 shorten descriptions and patterns, or drop rules"
            );
            crate::stdout::write_stdout(&format!("{json}\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
