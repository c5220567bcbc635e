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
//!
//! With `--baseline`, the same three measures are of a naive baseline instead ([`baseline`]: a
//! rolling z-score on per-minute counts of the detectors' columns), to compare with.

pub mod baseline;
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
use wafwatch_engine::Background;
use wafwatch_log_simulator::run::parse_duration;
use wafwatch_log_simulator::scenario::{ScenarioKind, ScenarioSpec};
use wafwatch_log_simulator::sim::SimConfig;
use wafwatch_log_simulator::sim::inject::inject;
use wafwatch_log_simulator::sim::observe::Observed;
use wafwatch_transformer::Transformer;

use self::baseline::ZScoreBaseline;
use self::limit::{Limit, WITHIN_INTERVALS, bisect};
use self::pipeline::{Detects, Pass};
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
    /// Measure the naive baseline instead of the configuration's detectors and monitors: a rolling
    /// z-score over the previous hour on per-minute counts of the columns the detectors use,
    /// thresholds set for the same false-alert rate (one `zscore:COLUMN` monitor per column).
    #[arg(long)]
    pub baseline: bool,
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
    if args.write && args.baseline {
        tracing::error!(
            "--write --baseline: the baseline's thresholds are not the configuration's; measure without --write"
        );
        return Ok(ExitCode::from(2));
    }
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

/// What the passes measure: the configuration's detectors and monitors, or the naive baseline.
#[derive(Clone)]
enum Measure {
    /// The engine over this detection.
    Engine(Detection),
    /// The baseline, with these thresholds.
    Baseline(ZScoreBaseline),
}

impl Measure {
    /// The configuration's engine, or with `baseline` the baseline over its detectors' columns.
    fn new(detection: &Detection, baseline: bool) -> Result<Self, RunError> {
        if !baseline {
            return Ok(Measure::Engine(detection.clone()));
        }
        let b = ZScoreBaseline::new(detection);
        if b.names().is_empty() {
            return Err(RunError::Usage("--baseline: no detector of the configuration uses a column".into()));
        }
        Ok(Measure::Baseline(b))
    }

    /// A fresh one for a pass with `seed`, keeping the backgrounds when `keep`.
    fn start(&self, seed: u64, keep: bool) -> Result<Box<dyn Detects>, RunError> {
        Ok(match self {
            Measure::Engine(d) => Box::new(pipeline::engine(d, seed, keep)?),
            Measure::Baseline(b) => {
                let mut b = b.clone();
                if keep {
                    b.keep_backgrounds();
                }
                Box::new(b)
            }
        })
    }

    /// Each monitor's suggestion from its `background` (in order) over `days`.
    fn suggest(&self, backgrounds: &[Background], days: f64, per_day: f64) -> Vec<Suggestion> {
        match self {
            Measure::Engine(d) => {
                d.monitors.iter().zip(backgrounds).map(|(m, bg)| suggest(m, bg, days, per_day)).collect()
            }
            Measure::Baseline(_) => {
                backgrounds.iter().map(|bg| baseline::suggest(&bg.monitor, bg, days, per_day)).collect()
            }
        }
    }

    /// The same with the suggested thresholds.
    fn with_thresholds(&self, suggestions: &[Suggestion]) -> Self {
        match self {
            Measure::Engine(d) => {
                let mut tuned = d.clone();
                for (m, s) in tuned.monitors.iter_mut().zip(suggestions) {
                    *m = with_threshold(m, s.suggested);
                }
                Measure::Engine(tuned)
            }
            Measure::Baseline(b) => {
                Measure::Baseline(b.with_thresholds(&suggestions.iter().map(|s| s.suggested).collect::<Vec<_>>()))
            }
        }
    }
}

/// Measures the background, suggests thresholds, and measures the limits they give: of the
/// configuration's monitors, or with `--baseline` of the naive baseline's.
pub fn tune(
    args: &TuneArgs,
    transformer: &Transformer,
    detection: &Detection,
) -> Result<(Vec<Suggestion>, Vec<Limit>), RunError> {
    let kinds = kinds(&args.scenarios)?;
    if !(args.false_alerts_per_day > 0.0 && args.traffic.rate > 0.0) {
        return Err(RunError::Usage("--false-alerts-per-day and --rate must be positive".into()));
    }
    let measure = Measure::new(detection, args.baseline)?;
    let seed = args.traffic.seed;
    let mut background = measure.start(seed, true)?;
    let (pass, observed) = if args.inputs.is_empty() {
        let config = sim_config(args, transformer, seed, args.traffic.duration, vec![]);
        (pipeline::simulate(transformer, &mut *background, config), None)
    } else {
        let pass = pipeline::inputs(transformer, &mut *background, &args.inputs, None)?;
        (pass, Some(crate::run::inject::observe(&args.inputs, transformer, seed)?))
    };
    let suggestions = suggestions(args, &measure, &pass);
    let tuned = measure.with_thresholds(&suggestions);
    let mut limits = Vec::new();
    for kind in kinds {
        let limit = bisect(kind.name(), args.steps, |i| {
            probe(args, transformer, detection, &tuned, observed.as_ref(), kind, i)
        })?;
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
fn suggestions(args: &TuneArgs, measure: &Measure, pass: &Pass) -> Vec<Suggestion> {
    let after = pass.span.0 + args.warmup.as_millis() as i64;
    let days = ((pass.span.1 - after) as f64 / 86_400_000.0).max(1.0 / 1_440.0);
    let backgrounds: Vec<Background> = pass
        .backgrounds
        .iter()
        .map(|bg| {
            let mut bg = bg.clone();
            bg.values.retain(|v| v.at >= after);
            bg
        })
        .collect();
    measure.suggest(&backgrounds, days, args.false_alerts_per_day)
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

/// Whether `kind` at `intensity` is detected within three intervals at every offset and seed by
/// what `measure` runs: the monitor that detected it first in the first probe, or `None`. A probe
/// is a simulated run, or, with `observed` inputs, the inputs with the scenario injected; it is
/// scored against `detection`'s detectors' intervals (a minute for the baseline's alerts). The
/// probes run two at a time.
fn probe(
    args: &TuneArgs,
    transformer: &Transformer,
    detection: &Detection,
    measure: &Measure,
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
        let mut detects = measure.start(seed, false)?;
        let pass = match observed {
            None => {
                let duration = start + SCENARIO + tail.unwrap_or(Duration::from_secs(240));
                pipeline::simulate(
                    transformer,
                    &mut *detects,
                    sim_config(args, transformer, seed, duration, vec![spec]),
                )
            }
            Some(observed) => {
                let injection = inject(&[spec], observed, seed).map_err(|e| RunError::Usage(e.to_string()))?;
                pipeline::inputs(transformer, &mut *detects, &args.inputs, Some(&injection))?
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
