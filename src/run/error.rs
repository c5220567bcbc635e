//! Why a run failed, and the one helper that names the file a write failed on.

use std::path::Path;

/// Why the run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad options.
    #[error("{0}")]
    Usage(String),
    /// Writing output.
    #[error("{0}")]
    Io(String),
    /// The engine.
    #[error(transparent)]
    Engine(#[from] wafwatch_engine::EngineError),
    /// `--exact-firehose`: the Lambda handler and the record function wrote different documents.
    #[error(
        "the Lambda handler and the record function disagreed on {0} records (see the errors above); this is a bug, please report it"
    )]
    Disagreement(u64),
}

/// Maps a write error to [`RunError::Io`] naming the file.
pub(crate) fn io<E: std::fmt::Display>(what: &Path) -> impl FnOnce(E) -> RunError + '_ {
    move |e| RunError::Io(format!("writing {}: {e}", what.display()))
}
