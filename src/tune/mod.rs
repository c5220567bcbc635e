//! `wafwatch tune`: thresholds from the background, and the detection limit they give.
//!
//! 1. The background: the configuration's detectors and monitors over the user's inputs, or over
//!    a simulated span with no scenario ([`pipeline`]), keeping what each monitor's condition
//!    measured at every evaluation after the warm-up.
//! 2. The thresholds ([`mod@suggest`]): for a target number of false alerts a day, the quantile of
//!    that background plus a margin, with what the current and the suggested thresholds would
//!    have fired on.
//! 3. The detection limit ([`limit`]): with the suggested thresholds, for each scenario, the lowest
//!    intensity detected within three intervals at every offset and seed tried, by bisection.
//! 4. A table on stdout, `--json FILE`, `--report FILE` ([`chart`]: detection against intensity),
//!    and `--write` ([`mod@write`]) into the configuration file.

pub mod chart;
pub mod limit;
pub mod pipeline;
pub mod suggest;
pub mod table;
pub mod write;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use wafwatch_config::detection::Detection;
use wafwatch_config::file::Origin;
use wafwatch_log_simulator::run::parse_duration;
use wafwatch_log_simulator::scenario::{ScenarioKind, ScenarioSpec};
use wafwatch_log_simulator::sim::SimConfig;
use wafwatch_log_simulator::sim::inject::inject;
use wafwatch_log_simulator::sim::observe::Observed;
use wafwatch_transformer::Transformer;

use self::limit::{Limit, WITHIN_INTERVALS, bisect};
use self::pipeline::Pass;
use self::suggest::{Suggestion, suggest, with_threshold};
use crate::run::RunError;

/// Options of `wafwatch tune`.
#[derive(Debug, Clone, clap::Args)]
pub struct TuneArgs {
    /// Measure on your own logs (as `run --input`) instead of a simulated span: the background is
    /// the inputs, and the limits' scenarios are injected into them (as `run --inject`; offsets
    /// count from the inputs' first timestamp). The inputs are read once per probe.
    #[arg(long = "input", value_name = "FILE", num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// False alerts a day the suggested thresholds aim at.
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    pub false_alerts_per_day: f64,
    /// The simulated background (without --input); the limits also try the seeds after --seed
    /// (--seeds).
    #[command(flatten)]
    pub traffic: crate::run::args::Traffic,
    /// Evaluations in the first this long are not background (the models are learning); the
    /// limits' scenarios start after it.
    #[arg(long, default_value = "3h", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Scenarios whose detection limit to measure, repeatable (default: all).
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Seeds each intensity is tried with.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub seeds: u64,
    /// Offsets after the warm-up each intensity is tried at (23 minutes apart).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub offsets: u64,
    /// Bisection steps between 0.001 and 1 (7 brackets the limit within a factor of 1.06).
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub steps: u32,
    /// Also write the results as JSON: {"monitors": [{"name", "threshold", "suggested", ...}],
    /// "detection_limits": [{"scenario", "min_intensity", "detected_by", ...}]}.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the limits as an HTML page: a chart of detection against intensity per scenario,
    /// and the table.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the suggested thresholds into the configuration file, keeping its comments and layout.
    #[arg(long)]
    pub write: bool,
}

/// The scenarios' window in a probe, and the offset between probes.
const SCENARIO: Duration = Duration::from_secs(600);
const OFFSET_STEP_S: u64 = 23 * 60;

/// Runs `wafwatch tune` with the configuration chosen by `config_flag`.
pub fn command(args: &TuneArgs, config_flag: Option<&Path>) -> anyhow::Result<ExitCode> {
    let loaded = wafwatch_config::file::load(config_flag)?;
    let path = match &loaded.origin {
        Origin::Flag(p) | Origin::Env(p) | Origin::WorkingDir(p) => Some(p.clone()),
        Origin::Bundled => None,
    };
    let config = loaded.config()?;
    if args.write && path.is_none() {
        tracing::error!("--write: the configuration is the bundled default, not a file; give --config FILE");
        return Ok(ExitCode::from(2));
    }
    let captures: Vec<_> = config.detection.captures.iter().map(|f| f.pointer().clone()).collect();
    let transformer = Transformer::with_captures(config.transform.clone(), &captures)?;
    let (suggestions, limits) = match tune(args, &transformer, &config.detection) {
        Ok(done) => done,
        Err(RunError::Usage(e)) => {
            tracing::error!("{e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let text = table::text(&suggestions, &limits, args.false_alerts_per_day);
    crate::stdout::write_stdout(&text)?;
    if let Some(report) = &args.report {
        std::fs::write(report, chart::html(&limits, &text))
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", report.display()))?;
    }
    if let Some(json) = &args.json {
        std::fs::write(json, table::json(&suggestions, &limits))
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", json.display()))?;
    }
    if let (true, Some(path)) = (args.write, path) {
        let text = std::fs::read_to_string(&path)?;
        let (new, changed) =
            write::write_thresholds(&text, &suggestions).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        std::fs::write(&path, new)?;
        tracing::info!(file = %path.display(), monitors = %changed.join(", "), "Thresholds written.");
    }
    Ok(ExitCode::SUCCESS)
}

/// Measures the background, suggests thresholds, and measures the limits they give.
pub fn tune(
    args: &TuneArgs,
    transformer: &Transformer,
    detection: &Detection,
) -> Result<(Vec<Suggestion>, Vec<Limit>), RunError> {
    let kinds = kinds(&args.scenarios)?;
    if !(args.false_alerts_per_day > 0.0 && args.traffic.rate > 0.0) {
        return Err(RunError::Usage("--false-alerts-per-day and --rate must be positive".into()));
    }
    let seed = args.traffic.seed;
    let (pass, observed) = if args.inputs.is_empty() {
        (
            pipeline::simulate(
                transformer,
                detection,
                sim_config(args, transformer, seed, args.traffic.duration, vec![]),
                true,
            )?,
            None,
        )
    } else {
        let pass = pipeline::inputs(transformer, detection, &args.inputs, seed, true, None)?;
        (pass, Some(crate::run::inject::observe(&args.inputs, transformer, seed)?))
    };
    let suggestions = suggestions(args, detection, &pass);
    let mut tuned = detection.clone();
    for (m, s) in tuned.monitors.iter_mut().zip(&suggestions) {
        *m = with_threshold(m, s.suggested);
    }
    let mut limits = Vec::new();
    for kind in kinds {
        let limit = bisect(kind.name(), args.steps, |i| probe(args, transformer, &tuned, observed.as_ref(), kind, i))?;
        tracing::info!(scenario = kind.name(), min_intensity = ?limit.min_intensity, "Detection limit measured.");
        limits.push(limit);
    }
    Ok((suggestions, limits))
}

/// The scenarios asked for, or all.
fn kinds(names: &[String]) -> Result<Vec<ScenarioKind>, RunError> {
    if names.is_empty() {
        return Ok(ScenarioKind::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| n.parse::<ScenarioSpec>().map(|s| s.kind).map_err(|e| RunError::Usage(e.to_string())))
        .collect()
}

/// Each monitor's suggestion from the background after the warm-up.
fn suggestions(args: &TuneArgs, detection: &Detection, pass: &Pass) -> Vec<Suggestion> {
    let after = pass.span.0 + args.warmup.as_millis() as i64;
    let days = ((pass.span.1 - after) as f64 / 86_400_000.0).max(1.0 / 1_440.0);
    detection
        .monitors
        .iter()
        .zip(&pass.backgrounds)
        .map(|(m, bg)| {
            let mut bg = bg.clone();
            bg.values.retain(|v| v.at >= after);
            suggest(m, &bg, days, args.false_alerts_per_day)
        })
        .collect()
}

/// A simulated span of `duration` from `--from` at `--rate`.
fn sim_config(
    args: &TuneArgs,
    transformer: &Transformer,
    seed: u64,
    duration: Duration,
    scenarios: Vec<ScenarioSpec>,
) -> SimConfig {
    SimConfig {
        start_ms: args.traffic.from.timestamp_millis(),
        duration_ms: Some(duration.as_millis() as i64),
        rate: args.traffic.rate,
        seed,
        format: crate::run::shape::record_shape(transformer.config()),
        scenarios,
        anomaly_rate: 0.0,
    }
}

/// Whether `kind` at `intensity` is detected within three intervals at every offset and seed: the
/// monitor that detected it first in the first probe, or `None`. A probe is a simulated run, or,
/// with `observed` inputs, the inputs with the scenario injected. The probes run two at a time.
fn probe(
    args: &TuneArgs,
    transformer: &Transformer,
    detection: &Detection,
    observed: Option<&Observed>,
    kind: ScenarioKind,
    intensity: f64,
) -> Result<Option<String>, RunError> {
    let tail = detection.detectors.iter().map(|d| d.interval * (WITHIN_INTERVALS as u32 + 1)).max();
    let seed = args.traffic.seed;
    let probes: Vec<(u64, Duration)> = (0..args.seeds.max(1))
        .flat_map(|s| (0..args.offsets.max(1)).map(move |o| (seed + s, Duration::from_secs(o * OFFSET_STEP_S))))
        .collect();
    let one = |(seed, offset): (u64, Duration)| -> Result<Option<String>, RunError> {
        let start = args.warmup + offset;
        let spec = ScenarioSpec { kind, offset: start, duration: SCENARIO, intensity };
        let pass = match observed {
            None => {
                let duration = start + SCENARIO + tail.unwrap_or(Duration::from_secs(240));
                pipeline::simulate(
                    transformer,
                    detection,
                    sim_config(args, transformer, seed, duration, vec![spec]),
                    false,
                )?
            }
            Some(observed) => {
                let injection = inject(&[spec], observed, seed).map_err(|e| RunError::Usage(e.to_string()))?;
                pipeline::inputs(transformer, detection, &args.inputs, seed, false, Some(&injection))?
            }
        };
        let (scores, _) = crate::run::score::score(&pass.labels, &pass.alerts, detection, pass.span.0, 0);
        Ok(scores
            .into_iter()
            .next()
            .filter(|s| s.intervals_to_detect.is_some_and(|n| n <= WITHIN_INTERVALS))
            .and_then(|s| s.detected_by))
    };
    let results: Vec<Result<Option<String>, RunError>> = std::thread::scope(|scope| {
        probes
            .chunks(2)
            .flat_map(|pair| {
                let handles: Vec<_> = pair.iter().map(|p| scope.spawn(move || one(*p))).collect();
                handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(RunError::Io("a probe failed".into()))))
            })
            .collect()
    });
    let mut first = None;
    for r in results {
        match r? {
            Some(by) => first = first.or(Some(by)),
            None => return Ok(None),
        }
    }
    Ok(first)
}
