//! The request builder's validation rules (contract §9), checked on the requests themselves before
//! any is sent.
//!
//! The configuration is validated when it is loaded; this second check looks at the JSON that would
//! go on the wire, in plan order, so a bug in a body builder (or a hand-edited plan) is caught here
//! rather than by a cluster that answers a validation failure with a 500. Every problem names the
//! contract's rule number, the request and what is wrong. Where a rule is also a naming rule of
//! the configuration, both use the same function (`wafwatch_config::names`,
//! `wafwatch_config::channel`), so the two can never disagree.
//!
//! One file per group of rules: `detector` (1 to 12), `monitor` (13 to 15), `channel` (16),
//! `index` (17, 18), `saved_objects` (19); [`auth`] (20) is here.

mod channel;
mod check;
mod detector;
mod index;
mod monitor;
mod saved_objects;

pub use check::Problem;
pub use saved_objects::{MAX_IMPORT_BYTES, MAX_IMPORT_OBJECTS};

use super::request::{Body, Request};
use check::{Check, Seen, str_at};

/// Checks every request, in order, against the contract's rules.
pub fn validate(requests: &[Request]) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut seen = Seen::default();
    for r in requests {
        let mut c = Check { request: format!("{} {}", r.method, r.path), problems: &mut problems };
        let path = r.path.split('?').next().unwrap_or("");
        let query = r.path.split_once('?').map_or("", |(_, q)| q);
        match (&r.body, r.method.as_str()) {
            (Some(Body::Json(b)), "PUT") if path.starts_with("/_index_template/") => {
                index::template(b, &mut seen, &mut c)
            }
            (Some(Body::Json(b)), "PUT") if path.starts_with("/_plugins/_ism/policies/") => index::policy(b, &mut c),
            (Some(Body::Json(b)), "POST") if path == "/_plugins/_notifications/configs" => {
                channel::channel(b, true, &mut c);
                if let Some(id) = str_at(b, "/config_id") {
                    seen.channels.insert(id.to_owned());
                }
            }
            (Some(Body::Json(b)), "PUT") if path.starts_with("/_plugins/_notifications/configs/") => {
                channel::channel(b, false, &mut c);
                seen.channels.insert(path.trim_start_matches("/_plugins/_notifications/configs/").to_owned());
            }
            (Some(Body::Json(b)), "POST" | "PUT")
                if path.starts_with("/_plugins/_anomaly_detection/detectors")
                    && !path.contains("/_start")
                    && !path.contains("/_stop")
                    && !path.contains("/_search") =>
            {
                detector::detector(b, &seen, &mut c)
            }
            (Some(Body::Json(b)), "POST") if path.ends_with("/_start") => detector::historical(b, &mut c),
            (Some(Body::Json(b)), "POST" | "PUT")
                if path.starts_with("/_plugins/_alerting/monitors") && !path.contains("/_search") =>
            {
                monitor::monitor(b, &seen, &mut c)
            }
            (Some(Body::Json(b)), "PUT") if !path.starts_with("/_") && path.matches('/').count() == 1 => {
                index::first_index(path.trim_start_matches('/'), b, &mut seen, &mut c)
            }
            (Some(Body::Ndjson(text)), "POST") if path.ends_with("/api/saved_objects/_import") => {
                saved_objects::saved_objects(text, query, &mut c)
            }
            _ => {}
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// Rule 20: SigV4 signs for `es` (domains) or `aoss` (Serverless), in a region.
pub fn auth(service: &str, region: Option<&str>) -> Result<(), Problem> {
    let fail = |message: String| Problem { rule: 20, request: "(connection)".into(), message };
    if service != "es" && service != "aoss" {
        return Err(fail(format!("SigV4 service {service} is neither es nor aoss")));
    }
    if region.is_none_or(str::is_empty) {
        return Err(fail("SigV4 needs a region (AWS_REGION or --region)".into()));
    }
    Ok(())
}
