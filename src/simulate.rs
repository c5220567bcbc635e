//! `wafwatch simulate`: the simulator, with exactly the arguments of the `log-simulator` binary.

use std::process::ExitCode;

use wafwatch_log_simulator::run::SimArgs;

/// Runs the simulator (two worker threads: generation and the sinks).
pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    Ok(rt.block_on(wafwatch_log_simulator::run::main(args)))
}
