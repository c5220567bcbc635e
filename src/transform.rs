//! `wafwatch transform`: the transformation on this machine, with the configuration's transformer
//! sections; the same commands as the `transformer` binary (`invoke`, `encode`).

use std::path::Path;
use std::process::ExitCode;

use wafwatch_transformer::Transformer;
use wafwatch_transformer::cli::TransformCommand;

/// Runs a `transform` subcommand.
pub fn run(cmd: TransformCommand, config_flag: Option<&Path>) -> anyhow::Result<ExitCode> {
    let transform = wafwatch_config::file::load(config_flag)?.transform()?;
    let t = Transformer::new(transform)?;
    Ok(wafwatch_transformer::cli::run(cmd, &t))
}
