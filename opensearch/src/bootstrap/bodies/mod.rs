//! The request bodies the bootstrap sends, built from the configuration: pure functions, no
//! network, one file per kind of object.
//!
//! Every body follows `contracts/opensearch.md` (the project's copy of the plugins' contracts):
//! - [`index`](mod@index): the composable index template, the ISM policy, the first index behind
//!   the write alias, the security role for Firehose and its mapping;
//! - [`channel`](mod@channel): the Notifications channels;
//! - [`detector`](mod@detector): the anomaly detectors;
//! - [`monitor`](mod@monitor): the alerting monitors (AD monitors in the shape the Dashboards UIs
//!   recognise; query-level and bucket-level monitors over the rule tags);
//! - [`saved_objects`](mod@saved_objects): the Dashboards saved objects;
//! - [`mark`]: how each carries wafwatch's mark and the fingerprint of the body sent, so `apply`
//!   can tell "unchanged" from "changed" without depending on how the server normalises what it
//!   stores.
//!
//! The plan snapshots (`tests/snapshots/bootstrap_plan__*.snap` in the root crate) pin these
//! bodies byte for byte.

pub mod channel;
pub mod detector;
pub mod index;
pub mod mark;
pub mod monitor;
pub mod saved_objects;

pub use channel::{channel_config, channel_create, mask_secrets};
pub use detector::{detector, detector_placeholder};
pub use index::{
    firehose_role, firehose_role_mapping, first_index, index_template, ism_policy, policy_id, template_name,
};
pub use mark::{MANAGED_BY, carried_fingerprint, fingerprint, is_managed, managed_suffix};
pub use monitor::{AD_RESULTS_PATTERN, monitor, new_values_condition};
pub use saved_objects::{RESULTS_PATTERN_ID, dashboard_id, index_pattern_id, saved_objects, saved_objects_ndjson};
