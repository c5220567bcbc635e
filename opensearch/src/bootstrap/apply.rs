//! `apply`: the idempotent reconcile, one resource at a time in the order of the list. The live
//! entry points (`apply`, [`status`], [`destroy`]) and what they answer are all reachable from here.

use std::time::Duration;

pub use super::destroy::destroy;
pub use super::error::{BootstrapError, refused};
pub use super::report::{Action, Outcome, Report};
pub use super::status::{StatusLine, render_status, status};

use super::client::{Api, Target};
use super::detectors::{self, DetectorRun};
use super::lookup::Lookups;
use super::plan::plan;
use super::resource::saved_objects::SavedObjects;
use super::resource::{Resource, resources};
use super::session::Session;
use super::spec::{DASHBOARDS_PLACEHOLDER, Spec};
use super::{dashboards, monitors, reconcile, validate};

/// Options of `apply`.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Read only: report what would be written.
    pub dry_run: bool,
    /// Poll until the index holds documents (at most this long), then create the detectors.
    pub wait_for_data: Option<Duration>,
    /// How often to poll.
    pub poll: Duration,
    /// Also run a historical analysis over `[start, end)` (epoch ms) for every detector (one at a
    /// time, waiting `poll` between tries while the plugin has no task slot free).
    pub historical: Option<(i64, i64)>,
    /// Skip the Dashboards saved objects.
    pub skip_dashboards: bool,
}

/// Reconciles the cluster with the configuration: the plan is checked against the contract first,
/// then each resource is looked up and created, updated or left alone. A second apply sends no
/// write. See the [bootstrap](super) documentation.
pub async fn apply<A: Api>(api: &A, url: &str, spec: &Spec, opts: &ApplyOptions) -> Result<Report, BootstrapError> {
    let requests = plan(spec);
    validate::validate(&requests).map_err(BootstrapError::Invalid)?;
    if requests.iter().any(|r| {
        r.body.as_ref().is_some_and(|b| serde_json::to_string(b).is_ok_and(|t| t.contains(DASHBOARDS_PLACEHOLDER)))
    }) {
        return Err(BootstrapError::Precondition(format!(
            "the alert messages would link to the placeholder {DASHBOARDS_PLACEHOLDER}: give the Dashboards URL \
             (--dashboards-url) or none"
        )));
    }
    let mut cx = Session::new(api, url, opts.dry_run);
    cx.read(Target::Cluster, "/", "connecting").await?;
    if !opts.skip_dashboards {
        dashboards::check(&cx, &SavedObjects::new(spec)).await?;
    }
    let mut lookups = Lookups::new(spec);
    let mut detection = DetectorRun::new(&spec.index.alias, opts.wait_for_data, opts.poll, opts.historical);
    for resource in resources(spec) {
        match &resource {
            Resource::Object(o) => reconcile::object(&mut cx, o).await?,
            Resource::FirstIndex(i) => reconcile::first_index(&mut cx, i).await?,
            Resource::Detector(d) => detectors::reconcile(&mut cx, &mut lookups, &mut detection, d).await?,
            Resource::Monitor(m) => monitors::reconcile(&mut cx, &mut lookups, &detection, m).await?,
            Resource::SavedObjects(s) if opts.skip_dashboards => {
                cx.outcome("dashboards", &s.dashboard, Action::Unchanged, "skipped (--no-dashboards)")
            }
            Resource::SavedObjects(s) => dashboards::reconcile(&mut cx, s).await?,
        }
    }
    Ok(cx.finish())
}
