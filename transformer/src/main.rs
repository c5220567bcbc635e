//! `transformer`: the Lambda bootstrap, and the same transformation offline.
//!
//! With no arguments inside Lambda (provided.al2023) it serves the Runtime API. Outside Lambda,
//! `transformer invoke --event FILE` and `transformer encode` run the very same code.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use wafwatch_config::Transform;
use wafwatch_config::wire::TRANSFORM_CONFIG_ENV;
use wafwatch_transformer::cli::{self, TransformCommand};
use wafwatch_transformer::reingest::FirehoseReingest;
use wafwatch_transformer::{FirehoseEvent, RawResponse, Transformer, handle_raw};

/// wafwatch's Firehose transformation Lambda.
///
/// Started with no command inside AWS Lambda, it is the function's bootstrap: it reads its
/// configuration once from WAFWATCH_TRANSFORM_CONFIG (produced by `wafwatch config lambda-env`), or
/// uses the bundled default, and transforms every Firehose batch it is given. The commands run the
/// same code on this machine.
#[derive(Debug, Parser)]
#[command(name = "transformer", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Option<TransformCommand>,
    /// More logging (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => lambda_main(),
        Some(cmd) => {
            cli::init_cli_tracing(cli.verbose);
            offline(cmd)
        }
    }
}

#[allow(clippy::print_stderr)] // there is no logger yet when we refuse to start
fn lambda_main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "transformer: not running inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set).\n\
             Use `transformer invoke --event FILE` or `transformer encode` to run it here; see --help."
        );
        return ExitCode::from(2);
    }
    cli::init_lambda_tracing();
    let transformer = match configured() {
        Ok(t) => Arc::new(t),
        Err(e) => {
            tracing::error!(error = %e, "Invalid configuration; the function cannot start.");
            return ExitCode::from(2);
        }
    };
    let reingest = Arc::new(FirehoseReingest::lazy());
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "Could not start the async runtime.");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(lambda_runtime::run(service_fn(move |ev: LambdaEvent<FirehoseEvent>| {
        let transformer = Arc::clone(&transformer);
        let reingest = Arc::clone(&reingest);
        async move { Ok::<RawResponse, Error>(handle_raw(ev.payload, &transformer, &*reingest).await) }
    })));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "The Lambda runtime stopped.");
            ExitCode::FAILURE
        }
    }
}

/// The transformer of `WAFWATCH_TRANSFORM_CONFIG`, or of the bundled default when it is unset.
fn configured() -> Result<Transformer, wafwatch_config::ConfigError> {
    let value = std::env::var(TRANSFORM_CONFIG_ENV).ok();
    Transformer::new(Transform::for_lambda(value.as_deref())?)
}

fn offline(cmd: TransformCommand) -> ExitCode {
    match configured() {
        Ok(t) => cli::run(cmd, &t),
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(2)
        }
    }
}
