//! `apply` for the Dashboards saved objects: each read at its own path, and those missing or
//! different imported together. The import does not depend on the query string of a signed POST.

use serde_json::{Value, json};

use super::client::{Api, Reply, Target};
use super::error::{BootstrapError, not_dashboards};
use super::report::Action;
use super::resource::saved_objects::SavedObjects;
use super::session::Session;

/// Checks, before anything is written, that Dashboards answers where it is expected: a
/// self-managed cluster's default Dashboards URL is OpenSearch itself, which answers "no handler
/// found" (audit finding 13: apply stopped there after writing everything else).
pub async fn check<A: Api>(cx: &Session<'_, A>, s: &SavedObjects) -> Result<(), BootstrapError> {
    let Some(first) = s.objects.first() else { return Ok(()) };
    let (t, id) = SavedObjects::key(first);
    let path = s.path(t, id);
    let r = cx.get(Target::Dashboards, &path).await?;
    if matches!(r.status, 400 | 404 | 405) && r.reason().contains("no handler found") {
        return Err(BootstrapError::Precondition(not_dashboards(&path)));
    }
    Ok(())
}

/// Imports the saved objects that are missing or differ.
pub async fn reconcile<A: Api>(cx: &mut Session<'_, A>, s: &SavedObjects) -> Result<(), BootstrapError> {
    let stale = stale(cx, s).await?;
    let total = s.objects.len();
    if stale.is_empty() {
        cx.outcome("dashboards", &s.dashboard, Action::Unchanged, format!("{total} saved objects"));
        return Ok(());
    }
    let objects: Vec<Value> = stale.iter().map(|(o, _)| o.clone()).collect();
    let r = cx.write(Target::Dashboards, s.import(&objects), json!({"success": true})).await?;
    if !succeeded(&r) {
        replace_conflicts(cx, s, &objects, &r).await?;
    }
    let updated = stale.iter().filter(|(_, existed)| *existed).count();
    let action = if updated == 0 { Action::Created } else { Action::Updated };
    cx.outcome("dashboards", &s.dashboard, action, format!("{} of {total} saved objects written", stale.len()));
    Ok(())
}

/// The objects missing or different, each with whether it exists.
async fn stale<A: Api>(cx: &Session<'_, A>, s: &SavedObjects) -> Result<Vec<(Value, bool)>, BootstrapError> {
    let mut stale = Vec::new();
    for o in &s.objects {
        let (t, id) = SavedObjects::key(o);
        let path = s.path(t, id);
        let live = cx.get(Target::Dashboards, &path).await?;
        match live.status {
            200 if SavedObjects::same(o, &live.body) => {}
            200 | 404 => stale.push((o.clone(), live.status == 200)),
            _ => return Err(cx.fail(&format!("reading Dashboards {t} {id}"), &path, &live)),
        }
    }
    Ok(stale)
}

fn succeeded(r: &Reply) -> bool {
    r.body.get("success").and_then(Value::as_bool) == Some(true)
}

/// After an import that did not overwrite (signed POSTs may lose their query string, and with it
/// `overwrite=true`): deletes what conflicts and imports again, so the outcome never depends on it.
async fn replace_conflicts<A: Api>(
    cx: &mut Session<'_, A>,
    s: &SavedObjects,
    objects: &[Value],
    first: &Reply,
) -> Result<(), BootstrapError> {
    let refused = |explanation: String| BootstrapError::Refused {
        doing: "importing Dashboards saved objects".into(),
        explanation,
    };
    let conflicts: Vec<(String, String)> = first
        .items("/errors")
        .filter(|e| e.pointer("/error/type").and_then(Value::as_str) == Some("conflict"))
        .filter_map(|e| Some((e.get("type")?.as_str()?.to_owned(), e.get("id")?.as_str()?.to_owned())))
        .collect();
    if conflicts.is_empty() {
        return Err(refused(first.body.get("errors").map(Value::to_string).unwrap_or_else(|| first.reason())));
    }
    for (t, id) in conflicts {
        cx.write(Target::Dashboards, s.delete(&t, &id, "replacing"), json!({})).await?;
    }
    let again = cx.write(Target::Dashboards, s.import(objects), json!({"success": true})).await?;
    if succeeded(&again) { Ok(()) } else { Err(refused(again.reason())) }
}
