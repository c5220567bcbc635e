//! The stdout sink: records as they are, through a large buffer. A closed pipe (`| head`) is
//! [`SinkError::Closed`], which ends the run quietly.

use std::io::{BufWriter, Stdout, Write};

use crate::batch::Batch;
use crate::sinks::report::{SinkError, SinkReport};

/// Standard output.
pub(crate) struct StdoutSink {
    out: BufWriter<Stdout>,
    report: SinkReport,
}

impl StdoutSink {
    /// Standard output, buffered by the MiB.
    pub(crate) fn new(report: SinkReport) -> Self {
        StdoutSink { out: BufWriter::with_capacity(1 << 20, std::io::stdout()), report }
    }

    /// The report so far.
    pub(crate) fn report(&self) -> &SinkReport {
        &self.report
    }

    /// Writes a batch.
    pub(crate) fn write(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.out.write_all(&batch.data).map_err(|e| stdout_error(&e))?;
        self.report.records += batch.len() as u64;
        self.report.bytes += batch.data.len() as u64;
        Ok(())
    }

    /// Flushes the buffer.
    pub(crate) fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| stdout_error(&e))
    }
}

fn stdout_error(e: &std::io::Error) -> SinkError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        SinkError::Closed
    } else {
        SinkError::Io { path: "standard output".into(), source: std::io::Error::new(e.kind(), e.to_string()) }
    }
}
