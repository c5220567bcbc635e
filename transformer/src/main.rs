//! `transformer`: the Lambda bootstrap, and the same transformation offline.
//!
//! With no arguments inside Lambda (provided.al2023) it serves the Runtime API. Outside Lambda,
//! `transformer invoke --event FILE` and `transformer encode` run the very same code.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use wafwatch_transformer::cli::{self, TransformCommand};
use wafwatch_transformer::reingest::FirehoseReingest;
use wafwatch_transformer::{FirehoseEvent, FirehoseResponse, Transformer, handle, lambda_config};

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
    let config = match lambda_config() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "Invalid configuration; the function cannot start.");
            return ExitCode::from(2);
        }
    };
    let transformer = Arc::new(Transformer::new(config));
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
        async move { Ok::<FirehoseResponse, Error>(handle(ev.payload, &transformer, &*reingest).await) }
    })));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "The Lambda runtime stopped.");
            ExitCode::FAILURE
        }
    }
}

fn offline(cmd: TransformCommand) -> ExitCode {
    let transformer = match lambda_config() {
        Ok(c) => Transformer::new(c),
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    match cmd {
        TransformCommand::Invoke(args) => {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "Could not start the async runtime.");
                    return ExitCode::from(2);
                }
            };
            match rt.block_on(cli::invoke(&args, &transformer, std::io::stdout().lock())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    ExitCode::from(e.exit_code())
                }
            }
        }
        TransformCommand::Encode(args) => match cli::encode(&args, &transformer) {
            Ok(s) if s.failed == 0 => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::from(e.exit_code())
            }
        },
    }
}
