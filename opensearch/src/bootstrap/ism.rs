//! The indices an ISM policy manages. A managed index keeps the copy of the policy it started
//! with: updating the policy changes nothing for it until `change_policy` moves it to the new
//! version, and deleting the policy leaves it managed by the deleted one (rolling over and deleting
//! after the old retention). A policy's `ism_template` attaches it only to indices created after
//! it, so a policy created again (after a destroy) must be added to the indices that exist.

use serde_json::{Value, json};

use super::client::{Api, Target};
use super::error::BootstrapError;
use super::request::Request;
use super::resource::object::Object;
use super::session::Session;

/// The ISM API.
const ISM: &str = "/_plugins/_ism";

/// The index patterns a policy body attaches itself to (its `ism_template`).
fn patterns(policy: &Value) -> Vec<String> {
    policy
        .pointer("/policy/ism_template")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|t| t.get("index_patterns").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect()
}

/// The indices matching `o`'s patterns, each with the id of the policy that manages it (None when
/// none does), as `explain` says. `explain` answers 400 "no documents to get" when no index
/// matches: that is no index.
async fn explain<A: Api>(cx: &Session<'_, A>, o: &Object) -> Result<Vec<(String, Option<String>)>, BootstrapError> {
    let mut out = Vec::new();
    for pattern in patterns(&o.desired) {
        let path = format!("{ISM}/explain/{pattern}");
        let r = cx.get(Target::Cluster, &path).await?;
        if r.status == 400 && r.reason().contains("no documents to get") || r.status == 404 {
            continue;
        }
        if !r.ok() {
            return Err(cx.fail(&format!("reading which indices ISM policy {} manages", o.name), &path, &r));
        }
        for (index, e) in r.body.as_object().into_iter().flatten() {
            if let Some(e) = e.as_object() {
                let policy = e.get("index.plugins.index_state_management.policy_id").and_then(Value::as_str);
                out.push((index.clone(), policy.map(str::to_owned)));
            }
        }
    }
    Ok(out)
}

/// Sends an ISM index operation (`add`, `change_policy`, `remove`) for `indices`; failures for the
/// `benign` reason (the index is already as wanted) are not failures. How many indices changed.
async fn operate<A: Api>(cx: &mut Session<'_, A>, request: Request, benign: &str) -> Result<u64, BootstrapError> {
    let (doing, path) = (request.summary.clone(), request.path.clone());
    let r = cx.write(Target::Cluster, request, json!({"updated_indices": 0, "failures": false})).await?;
    let failed: Vec<String> = r
        .items("/failed_indices")
        .filter_map(|f| {
            let reason = f.get("reason")?.as_str()?;
            let index = f.get("index_name").and_then(Value::as_str).unwrap_or("?");
            (!reason.contains(benign)).then(|| format!("{index}: {reason}"))
        })
        .collect();
    if !failed.is_empty() {
        return Err(BootstrapError::Refused { doing, explanation: format!("{path}: {}", failed.join("; ")) });
    }
    Ok(r.body.get("updated_indices").and_then(Value::as_u64).unwrap_or(0))
}

fn names(indices: &[String]) -> String {
    indices.join(",")
}

/// After the policy was created: adds it to the existing indices of its patterns that no policy
/// manages (those of a destroyed deployment); says how many.
pub async fn after_create<A: Api>(cx: &mut Session<'_, A>, o: &Object) -> Result<u64, BootstrapError> {
    let unmanaged: Vec<String> =
        explain(cx, o).await?.into_iter().filter(|(_, p)| p.is_none()).map(|(i, _)| i).collect();
    if unmanaged.is_empty() {
        return Ok(0);
    }
    let body = json!({"policy_id": o.name});
    let request = Request::json(
        "POST",
        format!("{ISM}/add/{}", names(&unmanaged)),
        body,
        format!("adding ISM policy {} to {}", o.name, names(&unmanaged)),
    );
    operate(cx, request, "already has a policy").await
}

/// After the policy was updated: moves the indices it manages to the new version (ISM switches at
/// the index's next safe state transition); says how many.
pub async fn after_update<A: Api>(cx: &mut Session<'_, A>, o: &Object) -> Result<u64, BootstrapError> {
    let ours = managed_by(cx, o).await?;
    if ours.is_empty() {
        return Ok(0);
    }
    let body = json!({"policy_id": o.name});
    let request = Request::json(
        "POST",
        format!("{ISM}/change_policy/{}", names(&ours)),
        body,
        format!("moving {} to the new version of ISM policy {}", names(&ours), o.name),
    );
    operate(cx, request, "not being managed").await
}

/// Before the policy is deleted: takes it off the indices it manages, so ISM stops rolling them
/// over and deleting them (the indices and documents stay); says how many.
pub async fn before_delete<A: Api>(cx: &mut Session<'_, A>, o: &Object) -> Result<u64, BootstrapError> {
    let ours = managed_by(cx, o).await?;
    if ours.is_empty() {
        return Ok(0);
    }
    let request = Request::bare(
        "POST",
        format!("{ISM}/remove/{}", names(&ours)),
        format!("removing ISM policy {} from {}", o.name, names(&ours)),
    );
    operate(cx, request, "does not have a policy").await
}

/// The indices of the policy's patterns that this policy manages.
async fn managed_by<A: Api>(cx: &Session<'_, A>, o: &Object) -> Result<Vec<String>, BootstrapError> {
    Ok(explain(cx, o)
        .await?
        .into_iter()
        .filter(|(_, p)| p.as_deref() == Some(o.name.as_str()))
        .map(|(i, _)| i)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_names_its_indices_in_its_ism_template() {
        let p = json!({"policy": {"ism_template": [{"index_patterns": ["waf-logs-*"], "priority": 100}]}});
        assert_eq!(patterns(&p), ["waf-logs-*"]);
        assert!(patterns(&json!({"policy": {}})).is_empty());
    }
}
