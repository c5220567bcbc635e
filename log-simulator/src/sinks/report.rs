//! What every sink reports, and why a sink stops the run: the types each sink file shares.

/// What one sink did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkReport {
    /// The sink, as named on the command line.
    pub name: String,
    /// Records delivered.
    pub records: u64,
    /// Bytes delivered (uncompressed).
    pub bytes: u64,
    /// Files, objects or API calls made.
    pub writes: u64,
    /// Records not delivered.
    pub failed: u64,
    /// The records not delivered, when kept (Firehose, OpenSearch).
    pub undelivered: Vec<Vec<u8>>,
    /// The last error.
    pub error: Option<String>,
}

impl SinkReport {
    /// An empty report for the sink called `name`.
    pub fn named(name: String) -> Self {
        SinkReport { name, ..SinkReport::default() }
    }
}

/// Why a sink stopped the run.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Standard output was closed (`| head`): the run ends quietly.
    #[error("standard output was closed")]
    Closed,
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The service refused or could not be reached.
    #[error("{0}")]
    Aws(String),
}
