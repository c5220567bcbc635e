//! The Firehose data-transformation contract: the [`event`], the [`response`], and the
//! [`handler`].
//!
//! Every input `recordId` gets exactly one answer, in input order, with a result of exactly `Ok`,
//! `Dropped` or `ProcessingFailed`; one bad record never fails the invocation; and the serialised
//! response is kept under [`RESPONSE_BUDGET_BYTES`](crate::limits::RESPONSE_BUDGET_BYTES).

pub mod event;
pub mod handler;
pub mod response;

pub use self::event::{FirehoseEvent, FirehoseRecord};
pub use self::handler::{handle, handle_raw, stream_name};
pub use self::response::{FirehoseResponse, Outcome, RawResponse, ResponseMetadata, ResponseRecord, record_cost};
