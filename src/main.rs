//! The `wafwatch` command line: parse, set up logging, run (see `wafwatch::cli`).

use std::process::ExitCode;

use clap::Parser;
use wafwatch::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    wafwatch_transformer::cli::init_cli_tracing(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(2)
        }
    }
}
