//! ISM (contract §6): policies with their sequence numbers, and the indices they manage. A managed
//! index keeps the version of the policy it was given until `change_policy`; deleting a policy
//! that still manages an index is recorded as a breach (the real plugin lets it, and the index
//! goes on being rolled over and deleted by the deleted policy).

use axum::response::Response;
use serde_json::{Value, json};

use super::{Req, State, error, not_found, reply};

/// Answers a request to its part of the API.
pub(super) fn route(s: &mut State, r: &Req<'_>) -> Response {
    let json_body = r.json_body.clone();
    let (m, seg) = (r.method, r.seg);
    let q = |k: &str| r.q(k);
    match (m, seg) {
        ("GET", ["_plugins", "_ism", "policies", id]) => match s.policies.get(*id) {
            Some((p, seq)) => {
                reply(200, json!({"_id": id, "_version": seq + 1, "_seq_no": seq, "_primary_term": 1, "policy": p}))
            }
            None => error(404, "status_exception", "Policy not found"),
        },
        ("PUT", ["_plugins", "_ism", "policies", id]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            let Some(policy) = b.get("policy").cloned() else {
                return error(400, "illegal_argument_exception", "policy is missing");
            };
            check_policy(s, &policy);
            let seq_no = q("if_seq_no").and_then(|v| v.parse::<i64>().ok());
            let term = q("if_primary_term").and_then(|v| v.parse::<i64>().ok());
            match (s.policies.get(*id).map(|(_, seq)| *seq), seq_no, term) {
                (None, _, _) => {
                    s.policies.insert((*id).to_owned(), (policy.clone(), 0));
                    reply(
                        201,
                        json!({"_id": id, "_version": 1, "_primary_term": 1, "_seq_no": 0, "policy": {"policy": policy}}),
                    )
                }
                (Some(seq), Some(given), Some(1)) if seq == given => {
                    s.policies.insert((*id).to_owned(), (policy.clone(), seq + 1));
                    reply(
                        200,
                        json!({"_id": id, "_version": seq + 2, "_primary_term": 1, "_seq_no": seq + 1, "policy": {"policy": policy}}),
                    )
                }
                (Some(_), _, _) => error(
                    409,
                    "version_conflict_engine_exception",
                    &format!("[{id}]: version conflict, document already exists"),
                ),
            }
        }
        ("DELETE", ["_plugins", "_ism", "policies", id]) => {
            let managed: Vec<String> = s
                .indices
                .iter()
                .filter(|(_, i)| i.policy.as_ref().is_some_and(|(p, _)| p == id))
                .map(|(n, _)| n.clone())
                .collect();
            if !managed.is_empty() {
                s.violate(format!("policy {id} deleted while it manages {managed:?}"));
            }
            match s.policies.remove(*id) {
                Some(_) => reply(200, json!({"_id": id, "result": "deleted"})),
                None => not_found("policy"),
            }
        }
        ("GET", ["_plugins", "_ism", "explain", target]) => explain(s, target),
        ("POST", ["_plugins", "_ism", op @ ("add" | "change_policy" | "remove"), target]) => {
            let policy = json_body.as_ref().and_then(|b| b["policy_id"].as_str()).map(str::to_owned);
            operate(s, op, target, policy)
        }
        _ => r.no_handler(),
    }
}

/// `explain`: each matching index with the policy that manages it; 400 "no documents to get" when
/// none matches, as the plugin answers.
fn explain(s: &State, target: &str) -> Response {
    let names: Vec<String> = target.split(',').flat_map(|t| s.resolve(t)).collect();
    if names.is_empty() {
        return error(400, "action_request_validation_exception", "Validation Failed: 1: no documents to get;");
    }
    let mut out = serde_json::Map::new();
    let mut managed = 0;
    for n in names {
        let entry = match &s.indices[&n].policy {
            Some((p, seq)) => {
                managed += 1;
                json!({"index.plugins.index_state_management.policy_id": p, "index": n, "policy_id": p, "policy_seq_no": seq, "enabled": true})
            }
            None => json!({"index.plugins.index_state_management.policy_id": null, "enabled": null}),
        };
        out.insert(n, entry);
    }
    out.insert("total_managed_indices".into(), json!(managed));
    reply(200, Value::Object(out))
}

/// `add`, `change_policy` (applied at once here; the plugin waits for a safe transition) and
/// `remove`, with the plugin's per-index failures.
fn operate(s: &mut State, op: &str, target: &str, policy: Option<String>) -> Response {
    let names: Vec<String> = target.split(',').flat_map(|t| s.resolve(t)).collect();
    let seq = policy.as_ref().and_then(|p| s.policies.get(p)).map(|(_, seq)| *seq);
    if op != "remove" && seq.is_none() {
        return error(404, "index_management_exception", "Could not find policy");
    }
    let (mut updated, mut failed) = (0, Vec::new());
    for n in names {
        let index = s.indices.get_mut(&n).unwrap();
        let reason = match (op, &index.policy) {
            ("add", Some(_)) => {
                Some("This index already has a policy, use the update policy API to update index policies")
            }
            ("change_policy", None) => Some("This index is not being managed"),
            ("remove", None) => Some("This index does not have a policy to remove"),
            _ => None,
        };
        match reason {
            Some(reason) => failed.push(json!({"index_name": n, "reason": reason})),
            None => {
                index.policy = if op == "remove" { None } else { policy.clone().zip(seq) };
                updated += 1;
            }
        }
    }
    reply(200, json!({"updated_indices": updated, "failures": !failed.is_empty(), "failed_indices": failed}))
}

fn check_policy(s: &mut State, p: &Value) {
    let states = p["states"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = states.iter().filter_map(|x| x["name"].as_str()).collect();
    if !names.contains(&p["default_state"].as_str().unwrap_or("")) {
        s.violate("policy: default_state names no state".into());
    }
    for st in &states {
        for t in st["transitions"].as_array().into_iter().flatten() {
            if !names.contains(&t["state_name"].as_str().unwrap_or(""))
                || t["conditions"].as_object().is_some_and(|c| c.len() > 1)
            {
                s.violate(format!("policy: transition {t}"));
            }
        }
    }
}
