//! The generate mode, in its three time modes: backfill (`--from`, as fast as possible), cron
//! one-shot (`--files N`, the current minute in N parts) and real time (a second of traffic each
//! second, until `--duration` or Ctrl-C).

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};

use crate::batch::Batch;
use crate::run::args::GenerateArgs;
use crate::run::outcome::{Outcome, RunError, summarize};
use crate::run::output::{finish, open_sinks, write_all};
use crate::sim::{Label, SimConfig, Simulation};
use crate::sinks::Sink;

/// A backfill hands the sinks what it generated each time this much has accumulated.
const BACKFILL_BATCH_BYTES: usize = 4 << 20;

/// Runs the generate mode.
pub async fn generate(args: &GenerateArgs) -> Result<Outcome, RunError> {
    check(args)?;
    let mut sim = Simulation::new(sim_config(args));
    let mut sinks = open_sinks(&args.output, args.format).await?;
    let seconds = sim.config().duration_ms.map(|d| (d as u64).div_ceil(1000));
    let pb = progress(seconds, args.output.no_progress);
    let open = match (args.files, args.from) {
        (Some(files), _) => cron_one_shot(&mut sim, files, &mut sinks).await?,
        (None, None) => real_time(&mut sim, &mut sinks, &pb).await?,
        (None, Some(_)) => backfill(&mut sim, &mut sinks, &pb).await?,
    };
    pb.finish_and_clear();
    let mut outcome =
        Outcome { records: sim.generated(), stdout_closed: !open, labels: sim.labels(), ..Outcome::default() };
    finish(&mut sinks, &args.output, &mut outcome).await?;
    if let Some(path) = &args.labels {
        write_labels(path, &outcome.labels)?;
    }
    summarize(&outcome, sim.random_anomalies());
    Ok(outcome)
}

/// The checks clap cannot make.
fn check(args: &GenerateArgs) -> Result<(), RunError> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return Err(RunError::Usage(format!(
            "--rate must be a positive number of requests per second, got {}",
            args.rate
        )));
    }
    if !(0.0..=1.0).contains(&args.anomaly_rate) {
        return Err(RunError::Usage(format!(
            "--anomaly-rate is a probability between 0 and 1, got {}",
            args.anomaly_rate
        )));
    }
    if args.from.is_some() && args.duration.is_none() {
        return Err(RunError::Usage(
            "--from needs --duration: how much time to backfill (for example --duration 24h)".into(),
        ));
    }
    if args.files == Some(0) {
        return Err(RunError::Usage("--files needs at least 1".into()));
    }
    Ok(())
}

/// What to simulate: the seed (a random one, logged, when none is given) and the time window of
/// the time mode.
fn sim_config(args: &GenerateArgs) -> SimConfig {
    let seed = args.seed.unwrap_or_else(rand::random);
    if args.seed.is_none() {
        tracing::info!(seed, "No --seed given; pass this one to repeat the run.");
    }
    let now = Utc::now().timestamp_millis();
    let (start_ms, duration_ms) = match (args.from, args.files) {
        (Some(from), _) => (from.timestamp_millis(), args.duration.map(|d| d.as_millis() as i64)),
        (None, Some(_)) => (now - now.rem_euclid(60_000), Some(60_000)),
        (None, None) => (now - now.rem_euclid(1000), args.duration.map(|d| d.as_millis() as i64)),
    };
    SimConfig {
        start_ms,
        duration_ms,
        rate: args.rate,
        seed,
        format: args.format,
        scenarios: args.scenarios.clone(),
        anomaly_rate: args.anomaly_rate,
    }
}

/// A progress bar over the simulated seconds, on a terminal only.
fn progress(total: Option<u64>, no_progress: bool) -> ProgressBar {
    match total {
        Some(n) if !no_progress && std::io::stderr().is_terminal() => {
            let pb = ProgressBar::new(n);
            pb.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {percent}% of simulated time, {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            pb
        }
        _ => ProgressBar::hidden(),
    }
}

/// Cron one-shot: the whole minute, cut into `files` parts, one object or file each. Returns
/// false when standard output was closed.
async fn cron_one_shot(sim: &mut Simulation, files: u32, sinks: &mut [Sink]) -> Result<bool, RunError> {
    let mut batch = Batch::default();
    while sim.next_second(&mut batch).is_some() {}
    let per = batch.len().div_ceil(files as usize).max(1);
    let mut part = Batch::default();
    let mut open = true;
    for i in 0..batch.len() {
        part.push(batch.line(i), batch.timestamps[i]);
        if part.len() == per || i + 1 == batch.len() {
            open = write_all(sinks, &part).await?;
            for s in sinks.iter_mut() {
                s.rotate().await?;
            }
            part.clear();
        }
    }
    Ok(open)
}

/// Real time: each second's traffic when that second has passed, until the run is over, Ctrl-C
/// or standard output is closed. Returns false when standard output was closed.
async fn real_time(sim: &mut Simulation, sinks: &mut [Sink], pb: &ProgressBar) -> Result<bool, RunError> {
    let mut batch = Batch::default();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let second_end = sim.next_second_start() + 1000;
        let wait = (second_end - Utc::now().timestamp_millis()).max(0) as u64;
        tokio::select! {
            _ = &mut ctrl_c => {
                tracing::info!("Interrupted; flushing every sink.");
                return Ok(true);
            }
            () = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
        if sim.next_second(&mut batch).is_none() {
            return Ok(true);
        }
        let open = write_all(sinks, &batch).await?;
        pb.inc(1);
        batch.clear();
        if !open || sim.finished() {
            return Ok(open);
        }
    }
}

/// Backfill: as fast as possible, handing the sinks a few MiB at a time. Returns false when
/// standard output was closed.
async fn backfill(sim: &mut Simulation, sinks: &mut [Sink], pb: &ProgressBar) -> Result<bool, RunError> {
    let mut batch = Batch::default();
    while sim.next_second(&mut batch).is_some() {
        pb.inc(1);
        if batch.data.len() >= BACKFILL_BATCH_BYTES {
            let open = write_all(sinks, &batch).await?;
            pb.set_message(format!("{} records", sim.generated()));
            batch.clear();
            if !open {
                return Ok(false);
            }
        }
    }
    write_all(sinks, &batch).await
}

/// Writes the ground truth as NDJSON, one object per scenario.
fn write_labels(path: &Path, labels: &[Label]) -> Result<(), RunError> {
    std::fs::write(path, Label::ndjson(labels))
        .map_err(|e| RunError::Io(format!("writing labels to {}: {e}", path.display())))
}
