//! The simulator's commands: generate (backfill, real time, cron one-shot), replay, scenarios.
//!
//! [`main`] is what both `log-simulator` and `wafwatch simulate` call with the parsed [`SimArgs`]
//! (`args`). The generate mode is in `generate`, replay (local and S3 inputs, Firehose's error
//! output decoded) in `replay`; both open their sinks and finish them through `output`, and end
//! with the summary of `outcome`.

mod args;
mod generate;
mod outcome;
mod output;
mod replay;

use std::process::ExitCode;

use crate::scenario::ScenarioKind;

pub use args::{GenerateArgs, OutputArgs, ReplayArgs, SimArgs, SimCli, SimCommand, parse_duration, parse_instant};
pub use generate::generate;
pub use outcome::{Outcome, RunError};
pub use replay::{records_of, replay};

/// The scenario list, one a line.
pub fn scenarios_text() -> String {
    ScenarioKind::ALL.iter().map(|k| format!("{:<20} {}\n", k.name(), k.description())).collect()
}

/// Runs the command line: what both `log-simulator` and `wafwatch simulate` call. Exit status:
/// 0 when everything was delivered, 1 when some records could not be or the run failed, 2 for
/// usage errors.
pub async fn main(cli: SimArgs) -> ExitCode {
    let result = match &cli.command {
        Some(SimCommand::Scenarios) => {
            let text = scenarios_text();
            let mut out = std::io::stdout().lock();
            let _ = std::io::Write::write_all(&mut out, text.as_bytes());
            return ExitCode::SUCCESS;
        }
        Some(SimCommand::Replay(args)) => replay(args).await,
        None => generate(&cli.generate).await,
    };
    match result {
        Ok(o) if o.failed() > 0 => ExitCode::FAILURE,
        Ok(_) => ExitCode::SUCCESS,
        Err(RunError::Usage(e)) => {
            tracing::error!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
