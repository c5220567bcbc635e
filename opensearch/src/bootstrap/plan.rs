//! `plan`: the requests a first `apply` sends to an empty cluster, in order, with no network.

use super::request::Request;
use super::resource::{Resource, resources};
use super::spec::Spec;

/// The requests a first `apply` sends to an empty cluster, in order (lookups left out): every
/// resource's create requests, in the order of [`resources`].
pub fn plan(spec: &Spec) -> Vec<Request> {
    resources(spec).iter().flat_map(Resource::plan).collect()
}

/// The plan for people: one line per request.
pub fn render_plan(requests: &[Request]) -> String {
    let mut s = String::new();
    for (i, r) in requests.iter().enumerate() {
        s.push_str(&format!("{:>3}. {:<6} {}\n     {}\n", i + 1, r.method, r.path, r.summary));
    }
    s.push_str(&format!(
        "\n{} requests. Lookups are left out: apply reads before it writes, so a second apply sends none of these.\n\
         Placeholders: {{{{detector:NAME}}}} is the id the cluster gives the detector; {{{{env:NAME}}}} a variable\n\
         that is not set here; {{{{secret:NAME}}}} a secret apply reads from the environment or a file.\n",
        requests.len()
    ));
    s
}
