//! OpenSearch Dashboards' saved objects (contract §7), under the `/_dashboards` prefix.

use std::collections::HashSet;

use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Req, State, error, reply};

/// Answers a request to its part of the API.
pub(super) fn route(s: &mut State, r: &Req<'_>) -> Response {
    let path = r.path;
    let query = r.query;
    let (m, seg) = (r.method, r.seg);
    match (m, seg) {
        (_, ["_dashboards", "api", "saved_objects", ..]) if m != "GET" && !r.headers.contains_key("osd-xsrf") => {
            s.violate(format!("{m} {path} without osd-xsrf"));
            error(400, "bad_request", "Request must contain a osd-xsrf header.")
        }
        ("POST", ["_dashboards", "api", "saved_objects", "_import"]) => import(s, r.headers, r.body, query),
        ("GET", ["_dashboards", "api", "saved_objects", t, id]) => {
            match s.saved.get(&((*t).to_owned(), (*id).to_owned())) {
                Some(o) => reply(200, o.clone()),
                None => reply(
                    404,
                    json!({"statusCode": 404, "error": "Not Found", "message": format!("Saved object [{t}/{id}] not found")}),
                ),
            }
        }
        ("DELETE", ["_dashboards", "api", "saved_objects", t, id]) => {
            match s.saved.remove(&((*t).to_owned(), (*id).to_owned())) {
                Some(_) => reply(200, json!({})),
                None => reply(404, json!({"statusCode": 404, "error": "Not Found"})),
            }
        }
        _ => r.no_handler(),
    }
}

fn import(s: &mut State, headers: &HeaderMap, body: &[u8], query: &str) -> Response {
    let ctype = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(boundary) = ctype.strip_prefix("multipart/form-data; boundary=") else {
        s.violate(format!("import content-type {ctype}"));
        return error(400, "bad_request", "Unsupported Media Type");
    };
    let text = String::from_utf8_lossy(body);
    let Some(part) = text.split(&format!("--{boundary}")).nth(1) else {
        return error(400, "bad_request", "[request body.file]: expected value of type [Stream]");
    };
    let (head, content) = part.split_once("\r\n\r\n").unwrap_or(("", ""));
    if !head.contains("name=\"file\"") {
        s.violate("import part not named file".into());
        return error(400, "bad_request", "[request body.file]: expected value of type [Stream]");
    }
    if !head.contains(".ndjson\"") {
        s.violate("import filename is not .ndjson".into());
        return error(400, "bad_request", "Invalid file extension .json");
    }
    let overwrite = query.split('&').any(|p| p == "overwrite=true");
    if overwrite && query.contains("createNewCopies") {
        return error(400, "bad_request", "cannot use [overwrite] with [createNewCopies]");
    }
    let objects: Vec<Value> =
        content.split("\r\n").filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect();
    let in_file: HashSet<(String, String)> = objects
        .iter()
        .map(|o| (o["type"].as_str().unwrap_or("").to_owned(), o["id"].as_str().unwrap_or("").to_owned()))
        .collect();
    let mut errors = Vec::new();
    let mut success = 0;
    for o in &objects {
        let key = (o["type"].as_str().unwrap_or("").to_owned(), o["id"].as_str().unwrap_or("").to_owned());
        let dangling = o["references"].as_array().into_iter().flatten().any(|r| {
            let k = (r["type"].as_str().unwrap_or("").to_owned(), r["id"].as_str().unwrap_or("").to_owned());
            !in_file.contains(&k) && !s.saved.contains_key(&k)
        });
        if dangling {
            errors.push(json!({"type": key.0, "id": key.1, "error": {"type": "missing_references"}}));
        } else if s.saved.contains_key(&key) && !overwrite {
            errors.push(json!({"type": key.0, "id": key.1, "error": {"type": "conflict"}}));
        } else {
            s.saved.insert(key, o.clone());
            success += 1;
        }
    }
    reply(200, json!({"success": errors.is_empty(), "successCount": success, "errors": errors}))
}
