//! Why the bootstrap stopped: [`BootstrapError`], and [`refused`], which turns a refusal into one
//! sentence that says what was being done and what to do.

use super::client::{Reply, Unreachable};
use super::validate::Problem;

/// Why the bootstrap stopped.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The configuration would produce requests the contract forbids.
    #[error("the plan breaks the OpenSearch contract:\n{}", .0.iter().map(|p| format!("- {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    /// A service could not be reached.
    #[error(transparent)]
    Unreachable(#[from] Unreachable),
    /// The server refused a request.
    #[error("{doing}: {explanation}")]
    Refused {
        /// What was being done ("creating detector blocked-requests").
        doing: String,
        /// The server's reason, or what to do.
        explanation: String,
    },
    /// A precondition does not hold.
    #[error("{0}")]
    Precondition(String),
}

/// The plugins by the path prefix of their API, to name one that is missing.
const PLUGINS: [(&str, &str); 5] = [
    ("/_plugins/_anomaly_detection", "anomaly-detection"),
    ("/_plugins/_alerting", "alerting"),
    ("/_plugins/_notifications", "notifications"),
    ("/_plugins/_ism", "index-management"),
    ("/_plugins/_security", "security"),
];

/// What it means when a Dashboards path answers OpenSearch's "no handler found": the Dashboards URL
/// is OpenSearch's own (the default, the OpenSearch URL plus `/_dashboards`, is right only on
/// Amazon OpenSearch Service).
pub fn not_dashboards(path: &str) -> String {
    format!(
        "no OpenSearch Dashboards answers at the Dashboards URL (OpenSearch itself answered \"no handler found\" for {path}): \
         pass --dashboards-url with your Dashboards' URL (such as http://localhost:5601), or --no-dashboards"
    )
}

/// Turns a failed answer into one sentence: 401, 403 and a missing plugin explained, others with
/// the server's reason.
pub fn refused(doing: impl Into<String>, url: &str, path: &str, reply: &Reply) -> BootstrapError {
    let reason = reply.reason();
    let plugin = PLUGINS.into_iter().find(|(p, _)| path.starts_with(p)).map(|(_, name)| name);
    let explanation = match reply.status {
        401 | 403 => crate::connection::explain_status(reply.status, url).unwrap_or(reason),
        400 | 404 | 405 if reason.contains("no handler found") => match plugin {
            Some(name) => format!(
                "the {name} plugin is not installed on {url} (no handler for {path}): install it, or use Amazon OpenSearch Service, which includes it"
            ),
            None if path.contains("/api/saved_objects") => not_dashboards(path),
            None => format!("{url} has no handler for {path}: {reason}"),
        },
        // The index template's rollover_alias setting belongs to ISM: a node without it refuses
        // the whole template ("unknown setting [index.plugins.index_state_management...]").
        400 if reason.contains("unknown setting [index.plugins.index_state_management") => format!(
            "the index-management plugin is not installed on {url} (the template's rollover_alias setting is its own): \
             install it, or use Amazon OpenSearch Service, which includes it"
        ),
        status => format!("{status} {reason}"),
    };
    BootstrapError::Refused { doing: doing.into(), explanation }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_node_without_ism_refuses_the_template_and_is_said_so() {
        // What OpenSearch 2.19 answers for a setting of a plugin it does not have.
        let reason = "index_template [wafwatch-waf-logs] invalid, cause [Validation Failed: 1: unknown setting [index.plugins.index_state_management.rollover_alias] please check that any required plugins are installed, or check the breaking changes documentation for removed settings;]";
        let reply = Reply {
            status: 400,
            body: json!({"error": {"root_cause": [{"type": "invalid_index_template_exception", "reason": reason}]}, "status": 400}),
        };
        let e = refused(
            "creating index template wafwatch-waf-logs",
            "http://n",
            "/_index_template/wafwatch-waf-logs",
            &reply,
        );
        assert!(e.to_string().contains("the index-management plugin is not installed on http://n"), "{e}");
    }
}
