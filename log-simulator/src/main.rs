//! `log-simulator`: the EC2 cron job, load generator and ground truth of wafwatch.

use std::process::ExitCode;

use clap::Parser;
use wafwatch_log_simulator::run::SimCli;

fn main() -> ExitCode {
    let cli = SimCli::parse();
    wafwatch_transformer::cli::init_cli_tracing(cli.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "Could not start the async runtime.");
            return ExitCode::from(2);
        }
    };
    rt.block_on(wafwatch_log_simulator::run::main(cli.args))
}
