//! `apply` for the detectors: created and started only once the index holds documents; a changed
//! one stopped (its real-time job and any historical analysis), updated and started again, or
//! deleted and created again when its category fields change; with `--historical`, a historical
//! analysis of every detector, one at a time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::client::{Api, Target};
use super::compare::fingerprint_detail;
use super::error::BootstrapError;
use super::historical;
use super::lookup::Lookups;
use super::report::Action;
use super::resource::detector::{self, Detector};
use super::session::Session;

/// What the detectors' reconcile needs and learns, carried along the walk: whether the index holds
/// documents (read once, when the first detector is reached), and the ids it settles, which the
/// monitors after it follow.
#[derive(Debug, Clone, Default)]
pub struct DetectorRun {
    alias: String,
    wait_for_data: Option<Duration>,
    poll: Duration,
    historical: Option<(i64, i64)>,
    has_docs: Option<bool>,
    /// The id of each detector as apply left it, by name.
    pub ids: HashMap<String, String>,
    /// The detectors not created because the index holds no documents yet.
    pub waiting: Vec<String>,
}

impl DetectorRun {
    /// A run for the detectors over `alias`: with `wait_for_data`, poll every `poll` (at most that
    /// long) until the index holds documents; with `historical`, also analyse `[start, end)`
    /// (epoch ms) with every detector (waiting `poll` between tries when no task slot is free).
    pub fn new(alias: &str, wait_for_data: Option<Duration>, poll: Duration, historical: Option<(i64, i64)>) -> Self {
        DetectorRun { alias: alias.to_owned(), wait_for_data, poll, historical, ..DetectorRun::default() }
    }
}

/// Reconciles one detector; with `--historical`, then starts its analysis (every detector that
/// has an id, whether this apply changed it or not: the option asks for all of them).
pub async fn reconcile<A: Api>(
    cx: &mut Session<'_, A>,
    lookups: &mut Lookups<'_>,
    run: &mut DetectorRun,
    d: &Detector,
) -> Result<(), BootstrapError> {
    let has_docs = run.has_docs(cx).await?;
    let id = match lookups.detector(cx, &d.name).await? {
        None if !has_docs => {
            run.waiting.push(d.name.clone());
            let why = format!("{} holds no documents yet (apply --wait-for-data waits for them)", run.alias);
            cx.outcome("detector", &d.name, Action::Waiting, why);
            if run.historical.is_some() {
                cx.outcome("historical", &d.name, Action::Waiting, "its detector waits for documents");
            }
            return Ok(());
        }
        None => match create(cx, d).await? {
            Created::New(id) => {
                start_job(cx, d, &id).await?;
                cx.outcome("detector", &d.name, Action::Created, format!("id {id}, started"));
                id
            }
            Created::Existing(id) => update(cx, d, &id, has_docs).await?,
        },
        Some(id) => update(cx, d, &id, has_docs).await?,
    };
    run.ids.insert(d.name.clone(), id.clone());
    if let Some(range) = run.historical {
        historical::start(cx, d, &id, range, run.poll).await?;
    }
    Ok(())
}

/// What a create left.
enum Created {
    /// A new detector, under this id (a placeholder in a dry run).
    New(String),
    /// The create answered 409 (the name is taken) and the detector of that name has this id: the
    /// create reached the cluster before, its answer lost and the request retried, or someone made
    /// it since the lookup. It is then compared like any detector found.
    Existing(String),
}

/// Creates a detector.
async fn create<A: Api>(cx: &mut Session<'_, A>, d: &Detector) -> Result<Created, BootstrapError> {
    let request = d.create();
    let path = request.path.clone();
    let created = cx.send(Target::Cluster, request, d.dry_created()).await?;
    if created.ok() {
        return Ok(Created::New(created.body.get("_id").and_then(Value::as_str).unwrap_or_default().to_owned()));
    }
    if created.status == 409
        && let Some(id) = detector::find(cx, &[d.name.as_str()]).await?.remove(&d.name)
    {
        tracing::info!(detector = %d.name, id = %id, "The create answered 409: the detector exists already.");
        return Ok(Created::Existing(id));
    }
    Err(cx.fail(&format!("creating detector {}", d.name), &path, &created))
}

/// Starts the real-time job of the detector `id`. A job already running is what was wanted: the
/// plugin answers that with 200 and an error body ("Anomaly detector job is already running"),
/// which is no proof of anything else, so any other error fails.
async fn start_job<A: Api>(cx: &mut Session<'_, A>, d: &Detector, id: &str) -> Result<(), BootstrapError> {
    let request = d.job(id, true);
    let path = request.path.clone();
    let reply = cx.send(Target::Cluster, request, json!({"_id": id})).await?;
    if reply.ok() || reply.reason().contains("job is already running") {
        return Ok(());
    }
    Err(cx.fail(&format!("starting detector {}", d.name), &path, &reply))
}

/// Brings the detector `id` in line and says under which id it is now: started if it is as wanted
/// but stopped, else stopped (a running detector refuses updates and deletes, and so does one
/// whose historical analysis runs), updated or recreated, and started again.
async fn update<A: Api>(
    cx: &mut Session<'_, A>,
    d: &Detector,
    id: &str,
    has_docs: bool,
) -> Result<String, BootstrapError> {
    let path = Detector::read_path(id);
    let live = Detector::live(&cx.read(Target::Cluster, &path, &format!("reading detector {}", d.name)).await?.body);
    if d.same(&live) {
        if live.running || !has_docs {
            let state = if live.running { "running" } else { "stopped" };
            cx.outcome("detector", &d.name, Action::Unchanged, format!("id {id}, {state}"));
        } else {
            start_job(cx, d, id).await?;
            cx.outcome("detector", &d.name, Action::Started, format!("id {id}"));
        }
        return Ok(id.to_owned());
    }
    let detail = fingerprint_detail(&d.desired, &live.config);
    if live.running {
        cx.write(Target::Cluster, d.job(id, false), json!({"_id": id})).await?;
    }
    historical::stop_if_running(cx, d, id, &live).await?;
    let (new_id, action) = if d.same_category(&live) {
        cx.write(Target::Cluster, d.update(id), json!({"_id": id})).await?;
        (id.to_owned(), Action::Updated)
    } else {
        // category_field is immutable: delete and create again.
        let delete = d.delete(id).doing(format!("deleting detector {} to change its category fields", d.name));
        cx.write(Target::Cluster, delete, json!({})).await?;
        let (Created::New(new_id) | Created::Existing(new_id)) = create(cx, d).await?;
        (new_id, Action::Recreated)
    };
    if has_docs {
        start_job(cx, d, &new_id).await?;
    }
    cx.outcome("detector", &d.name, action, detail);
    Ok(new_id)
}

impl DetectorRun {
    /// Whether the index holds documents: counted once, polling first with `wait_for_data`.
    async fn has_docs<A: Api>(&mut self, cx: &Session<'_, A>) -> Result<bool, BootstrapError> {
        if let Some(known) = self.has_docs {
            return Ok(known);
        }
        let mut has_docs = count(cx, &self.alias).await? > 0;
        if !has_docs && let Some(limit) = self.wait_for_data {
            let started = Instant::now();
            tracing::info!(alias = %self.alias, "Waiting for documents before creating the detectors.");
            while !has_docs {
                if started.elapsed() >= limit {
                    return Err(BootstrapError::Precondition(format!(
                        "no document reached {} within {}: send traffic (Firehose, or the simulator) and apply again",
                        self.alias,
                        humantime::format_duration(limit)
                    )));
                }
                tokio::time::sleep(self.poll).await;
                has_docs = count(cx, &self.alias).await? > 0;
            }
        }
        Ok(*self.has_docs.insert(has_docs))
    }
}

/// The documents behind the alias.
async fn count<A: Api>(cx: &Session<'_, A>, alias: &str) -> Result<u64, BootstrapError> {
    let path = format!("/{alias}/_count");
    let r = cx.get(Target::Cluster, &path).await?;
    match r.status {
        200 => Ok(r.body.get("count").and_then(Value::as_u64).unwrap_or(0)),
        // A dry run against an empty cluster: the alias does not exist yet.
        404 => Ok(0),
        _ => Err(cx.fail(&format!("counting documents in {alias}"), &path, &r)),
    }
}
