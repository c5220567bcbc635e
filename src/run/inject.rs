//! `wafwatch run --input FILE... --inject SPEC`: the simulator's scenarios overlaid on the user's
//! own logs, so that a run on them can be scored.
//!
//! The inputs are read twice: first to learn what injection needs (the first and last
//! timestamps, the mean rate, a sample of the requests, in the shape the configuration reads),
//! then by the run, which merges the injected records in time order (`Injected::before`). The
//! injection itself is the simulator's (`wafwatch_log_simulator::sim::inject`).

use std::path::PathBuf;

use wafwatch_config::Transform;
use wafwatch_config::transform::Format;
use wafwatch_log_simulator::sim::inject::{Injection, inject};
use wafwatch_log_simulator::sim::observe::Observed;
use wafwatch_log_simulator::sim::{Label, OutputFormat};
use wafwatch_transformer::{Facts, Transformer};

use super::args::RunArgs;
use super::error::RunError;
use super::open::for_each_line;

/// Given as a record's arrival time, marks one without a timestamp of its own: no log is dated
/// 0000-01-01T00:00:00Z.
const NO_TIMESTAMP: i64 = -62_167_219_200_000;

/// The injected records still to merge into the input.
pub(crate) struct Injected {
    injection: Injection,
    next: usize,
    /// The facts of the injected record being fed.
    pub(crate) facts: Facts,
}

impl Injected {
    /// The next injected record if it is older than `ts` (epoch ms): its line, without newline.
    pub(crate) fn before(&mut self, ts: i64) -> Option<&[u8]> {
        let batch = &self.injection.batch;
        if self.next >= batch.len() || batch.timestamps[self.next] >= ts {
            return None;
        }
        self.next += 1;
        let line = batch.line(self.next - 1);
        Some(line.strip_suffix(b"\n").unwrap_or(line))
    }
}

/// The record shape injected records take: the one the configuration reads. AWS WAF's when it
/// reads any member under `/httpRequest`, the flat shape otherwise; text input cannot take either.
pub fn shape(transform: &Transform) -> Result<OutputFormat, RunError> {
    if transform.format() != Format::Json {
        return Err(RunError::Usage(
            "--inject writes JSON WAF records (the flat or the AWS WAF shape), but the configuration reads \
             text or CloudWatch Logs ([source] format): inject into JSON WAF logs"
                .into(),
        ));
    }
    Ok(super::shape::record_shape(transform))
}

/// Reads `inputs` once to learn what injection needs (in the shape the configuration reads);
/// `seed` draws the sample of their requests.
pub fn observe(inputs: &[PathBuf], transformer: &Transformer, seed: u64) -> Result<Observed, RunError> {
    let mut observed = Observed::new(shape(transformer.config())?, seed);
    let (mut facts, mut doc) = (Facts::default(), Vec::new());
    for path in inputs {
        if path.as_os_str() == "-" {
            return Err(RunError::Usage(
                "--inject reads the inputs twice (first for their time span, rate and requests), so they must be \
                 files, not standard input"
                    .into(),
            ));
        }
        for_each_line(path, |record| {
            doc.clear();
            if !record.is_empty()
                && transformer.transform_with_facts(record, NO_TIMESTAMP, &mut doc, &mut facts).is_ok()
            {
                observed.record(record, (facts.timestamp_ms != NO_TIMESTAMP).then_some(facts.timestamp_ms));
            }
            Ok(())
        })?;
    }
    Ok(observed)
}

/// With `--inject`: the records to merge into the inputs, after one reading of them; `None`
/// without. Every problem is one message: text input, standard input, no timestamps, an offset
/// past the input's end.
pub(crate) fn prepare(args: &RunArgs, transformer: &Transformer) -> Result<Option<Injected>, RunError> {
    if args.injects.is_empty() {
        return Ok(None);
    }
    let observed = observe(&args.inputs, transformer, args.traffic.seed)?;
    let (timed, untimed) = observed.counts();
    if timed > 0 && untimed > 0 {
        tracing::warn!(records = untimed, "Records without a timestamp are placed at the time they are read.");
    }
    let pointer = transformer.config().timestamp();
    let injection = inject(&args.injects, &observed, args.traffic.seed)
        .map_err(|e| RunError::Usage(format!("cannot inject: {e} (the timestamp is read at `{pointer}`)")))?;
    tracing::info!(
        records = injection.batch.len(),
        input_rate = format!("{:.1}/s", observed.rate()),
        format = ?observed.format(),
        "Scenarios injected."
    );
    Ok(Some(Injected { injection, next: 0, facts: Facts::default() }))
}

impl Injected {
    /// The ground truth of what was injected.
    pub(crate) fn labels(&self) -> &[Label] {
        &self.injection.labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transform(toml: &str) -> Transform {
        use wafwatch_config::file::{Origin, parse};
        parse(toml, Origin::Bundled).unwrap().config().unwrap().transform
    }

    #[test]
    fn injected_records_take_the_shape_the_configuration_reads() {
        let flat = transform(wafwatch_config::file::BUNDLED_DEFAULT_TOML);
        assert_eq!(shape(&flat).unwrap(), OutputFormat::Flat);
        let waf = transform(include_str!("../../presets/aws-waf.toml"));
        assert_eq!(shape(&waf).unwrap(), OutputFormat::AwsWaf);
        let text = transform(include_str!("../../presets/text-logs.toml"));
        assert!(shape(&text).unwrap_err().to_string().starts_with("--inject writes JSON WAF records"));
    }
}
