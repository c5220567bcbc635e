//! `destroy`: the list of resources in reverse, deleting what carries wafwatch's mark and listing
//! what does not. Indices and documents are never deleted.

use serde_json::json;

use super::client::{Api, Target};
use super::error::BootstrapError;
use super::lookup::Lookups;
use super::report::{Action, Report};
use super::resource::detector::Detector;
use super::resource::monitor::{Mark, Monitor};
use super::resource::object::{Found, Object, ObjectKind};
use super::resource::saved_objects::SavedObjects;
use super::resource::{Resource, resources};
use super::session::Session;
use super::spec::Spec;
use super::{dashboards, historical, ism};

/// What a report says of an object wafwatch did not create.
const NOT_OURS: &str = "not created by wafwatch";

/// `destroy`: removes what apply created and carries wafwatch's mark, in reverse order. Indices and
/// documents are never deleted.
pub async fn destroy<A: Api>(api: &A, url: &str, spec: &Spec, skip_dashboards: bool) -> Result<Report, BootstrapError> {
    let mut cx = Session::new(api, url, false);
    if !skip_dashboards {
        dashboards::check(&cx, &SavedObjects::new(spec)).await?;
    }
    let mut lookups = Lookups::new(spec);
    for resource in resources(spec).iter().rev() {
        match resource {
            Resource::SavedObjects(_) if skip_dashboards => {}
            Resource::SavedObjects(s) => saved_objects(&mut cx, s).await?,
            Resource::Monitor(m) => monitor(&mut cx, &mut lookups, m).await?,
            Resource::Detector(d) => detector(&mut cx, &mut lookups, d).await?,
            Resource::Object(o) => object(&mut cx, o).await?,
            Resource::FirstIndex(i) => {
                cx.outcome("index", &i.pattern, Action::Kept, "your documents: delete them yourself if you mean to")
            }
        }
    }
    Ok(cx.finish())
}

async fn saved_objects<A: Api>(cx: &mut Session<'_, A>, s: &SavedObjects) -> Result<(), BootstrapError> {
    for o in s.objects.iter().rev() {
        let (t, id) = SavedObjects::key(o);
        let live = cx.get(Target::Dashboards, &s.path(t, id)).await?;
        if live.status != 200 {
            continue;
        }
        if SavedObjects::is_ours(t, &live.body) {
            cx.write(Target::Dashboards, s.delete(t, id, "deleting"), json!({})).await?;
            cx.outcome("saved object", format!("{t} {id}"), Action::Deleted, "");
        } else {
            cx.outcome("saved object", format!("{t} {id}"), Action::Kept, NOT_OURS);
        }
    }
    Ok(())
}

async fn monitor<A: Api>(
    cx: &mut Session<'_, A>,
    lookups: &mut Lookups<'_>,
    m: &Monitor<'_>,
) -> Result<(), BootstrapError> {
    let Some(id) = lookups.monitor(cx, &m.name).await? else { return Ok(()) };
    let live = cx.get(Target::Cluster, &Monitor::path(&id)).await?;
    match Monitor::mark(&Monitor::live(&live.body)) {
        Mark::Ours => {
            cx.write(Target::Cluster, m.delete(&id), json!({})).await?;
            cx.outcome("monitor", &m.name, Action::Deleted, format!("id {id}"));
        }
        Mark::Foreign => cx.outcome("monitor", &m.name, Action::Kept, NOT_OURS),
        Mark::Unreadable => cx.outcome(
            "monitor",
            &m.name,
            Action::Kept,
            format!(
                "id {id}: the cluster answered without its ui_metadata, so whether wafwatch created it cannot be told; \
                 delete it yourself if it did"
            ),
        ),
    }
    Ok(())
}

/// Deletes a detector of wafwatch's, stopping it first (its real-time job and any historical
/// analysis: the plugin refuses the delete while either runs).
async fn detector<A: Api>(
    cx: &mut Session<'_, A>,
    lookups: &mut Lookups<'_>,
    d: &Detector,
) -> Result<(), BootstrapError> {
    let Some(id) = lookups.detector(cx, &d.name).await? else { return Ok(()) };
    let live = Detector::live(&cx.get(Target::Cluster, &Detector::read_path(&id)).await?.body);
    if !Detector::is_ours(&live) {
        cx.outcome("detector", &d.name, Action::Kept, NOT_OURS);
        return Ok(());
    }
    if live.running {
        cx.write(Target::Cluster, d.job(&id, false), json!({"_id": id})).await?;
    }
    historical::stop_if_running(cx, d, &id, &live).await?;
    cx.write(Target::Cluster, d.delete(&id), json!({})).await?;
    cx.outcome("detector", &d.name, Action::Deleted, format!("id {id}"));
    Ok(())
}

/// Deletes an object of wafwatch's. A role mapping carries no mark: it is deleted (if it exists)
/// when the role it maps is wafwatch's.
async fn object<A: Api>(cx: &mut Session<'_, A>, o: &Object) -> Result<(), BootstrapError> {
    let mark_path = o.mark_path();
    let marked = cx.get(Target::Cluster, &mark_path).await?;
    let Found::Live(live) = o.found(&marked) else { return Ok(()) };
    if !o.is_ours(&live) {
        cx.outcome(o.kind.label(), &o.name, Action::Kept, NOT_OURS);
        return Ok(());
    }
    if mark_path != o.path && cx.get(Target::Cluster, &o.path).await?.status != 200 {
        return Ok(());
    }
    let mut detail = String::new();
    if o.kind == ObjectKind::IsmPolicy {
        // Else the indices stay managed by the deleted policy, rolled over and deleted as before.
        let n = ism::before_delete(cx, o).await?;
        detail = format!("first removed from the {n} index(es) it managed (they and their documents stay)");
    }
    cx.write(Target::Cluster, o.delete(), json!({})).await?;
    cx.outcome(o.kind.label(), &o.name, Action::Deleted, detail);
    Ok(())
}
