//! The security plugin's roles and role mappings.

use axum::response::Response;
use serde_json::json;

use super::{Req, State, error, reply};

/// Answers a request to its part of the API.
pub(super) fn route(s: &mut State, r: &Req<'_>) -> Response {
    let json_body = r.json_body.clone();
    let (m, seg) = (r.method, r.seg);
    match (m, seg) {
        ("GET", ["_plugins", "_security", "api", kind @ ("roles" | "rolesmapping"), name]) => {
            let map = if *kind == "roles" { &s.roles } else { &s.mappings };
            match map.get(*name) {
                Some(v) => {
                    let mut v = v.clone();
                    v["reserved"] = json!(false);
                    v["hidden"] = json!(false);
                    reply(200, json!({*name: v}))
                }
                None => reply(404, json!({"status": "NOT_FOUND", "message": format!("Resource '{name}' not found.")})),
            }
        }
        ("PUT", ["_plugins", "_security", "api", kind @ ("roles" | "rolesmapping"), name]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            if *kind == "rolesmapping" && !s.roles.contains_key(*name) {
                return reply(404, json!({"status": "NOT_FOUND", "message": format!("role '{name}' not found.")}));
            }
            let map = if *kind == "roles" { &mut s.roles } else { &mut s.mappings };
            let created = map.insert((*name).to_owned(), b).is_none();
            reply(
                if created { 201 } else { 200 },
                json!({"status": if created { "CREATED" } else { "OK" }, "message": format!("'{name}' {}.", if created { "created" } else { "updated" })}),
            )
        }
        ("DELETE", ["_plugins", "_security", "api", kind @ ("roles" | "rolesmapping"), name]) => {
            let map = if *kind == "roles" { &mut s.roles } else { &mut s.mappings };
            match map.remove(*name) {
                Some(_) => reply(200, json!({"status": "OK", "message": format!("'{name}' deleted.")})),
                None => reply(404, json!({"status": "NOT_FOUND", "message": format!("Resource '{name}' not found.")})),
            }
        }
        _ => r.no_handler(),
    }
}
