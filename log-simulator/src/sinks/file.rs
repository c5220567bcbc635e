//! The file sink: records into local files, cut by record count or size ([`Rotation`]), gzip
//! when asked; and the rolling writer ([`Rolling`]) it shares with the S3 sink, which only
//! changes where a finished file goes ([`Destination`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Timelike, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::batch::Batch;
use crate::sinks::report::{SinkError, SinkReport};

/// How file and S3 sinks cut their output into files or objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Start a new file after this many records (0: never).
    pub records: u64,
    /// Start a new file after this many bytes, before compression (0: never).
    pub bytes: u64,
    /// Gzip the files.
    pub gzip: bool,
}

/// Where a finished file goes.
pub(crate) trait Destination {
    /// Whether a file must not span an hour (S3 objects sit in date partitions).
    const BY_HOUR: bool;

    /// Stores file number `seq` (from 1), whose first record is at `first_ts`; `data` is its
    /// records, uncompressed.
    async fn put(&mut self, first_ts: i64, seq: u64, rotation: Rotation, data: Vec<u8>) -> Result<(), SinkError>;
}

/// Accumulates records into a file, and hands it to its [`Destination`] when full.
pub(crate) struct Rolling<D> {
    destination: D,
    rotation: Rotation,
    data: Vec<u8>,
    records: u64,
    first_ts: Option<i64>,
    /// Files stored so far.
    seq: u64,
    report: SinkReport,
}

/// The UTC time of epoch milliseconds `ms` (the epoch itself when out of range).
pub(crate) fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// `data`, gzip-compressed.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 6), Compression::new(6));
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

impl<D: Destination> Rolling<D> {
    /// A writer into `destination`.
    pub(crate) fn new(destination: D, rotation: Rotation, report: SinkReport) -> Self {
        Rolling { destination, rotation, data: Vec::new(), records: 0, first_ts: None, seq: 0, report }
    }

    /// The report so far.
    pub(crate) fn report(&self) -> &SinkReport {
        &self.report
    }

    /// Adds a batch, storing every file it fills.
    pub(crate) async fn write(&mut self, batch: &Batch) -> Result<(), SinkError> {
        for (line, &ts) in batch.lines().zip(&batch.timestamps) {
            if self.records > 0 && (self.full() || (D::BY_HOUR && self.first_ts.is_some_and(|f| !same_hour(f, ts)))) {
                self.rotate().await?;
            }
            self.first_ts.get_or_insert(ts);
            self.data.extend_from_slice(line);
            self.records += 1;
        }
        Ok(())
    }

    fn full(&self) -> bool {
        (self.rotation.records > 0 && self.records >= self.rotation.records)
            || (self.rotation.bytes > 0 && self.data.len() as u64 >= self.rotation.bytes)
    }

    /// Stores the current file (when it holds anything) and starts the next.
    pub(crate) async fn rotate(&mut self) -> Result<(), SinkError> {
        let Some(first) = self.first_ts else { return Ok(()) };
        self.seq += 1;
        let data = std::mem::take(&mut self.data);
        let bytes = data.len() as u64;
        self.destination.put(first, self.seq, self.rotation, data).await?;
        self.report.records += self.records;
        self.report.bytes += bytes;
        self.report.writes += 1;
        self.records = 0;
        self.first_ts = None;
        Ok(())
    }
}

fn same_hour(a: i64, b: i64) -> bool {
    let (a, b) = (utc(a), utc(b));
    a.date_naive() == b.date_naive() && a.hour() == b.hour()
}

/// Local files: one file, or, when the path is a directory (or ends with `/`), generated names in it.
pub(crate) struct LocalFiles {
    path: PathBuf,
}

impl LocalFiles {
    /// Files at `path`; a path ending with `/` is created as a directory.
    pub(crate) fn open(path: &Path) -> Result<Self, SinkError> {
        if path.as_os_str().to_string_lossy().ends_with('/') {
            std::fs::create_dir_all(path)
                .map_err(|source| SinkError::Io { path: path.display().to_string(), source })?;
        }
        Ok(LocalFiles { path: path.to_owned() })
    }
}

impl Destination for LocalFiles {
    const BY_HOUR: bool = false;

    async fn put(&mut self, first_ts: i64, seq: u64, rotation: Rotation, data: Vec<u8>) -> Result<(), SinkError> {
        let rotating = rotation.records > 0 || rotation.bytes > 0 || seq > 1;
        let target = file_name(&self.path, first_ts, seq, rotation.gzip, rotating);
        let body = if rotation.gzip { gzip(&data) } else { data };
        std::fs::write(&target, body).map_err(|source| SinkError::Io { path: target.display().to_string(), source })
    }
}

/// Files in a directory are named from the first record's time; a single file gets `-0001`... when rotated.
fn file_name(path: &Path, first_ts: i64, seq: u64, gzip: bool, rotating: bool) -> PathBuf {
    let ext = if gzip { ".log.gz" } else { ".log" };
    if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') {
        return path.join(format!("wafwatch-{}-{seq:04}{ext}", utc(first_ts).format("%Y%m%dT%H%M%SZ")));
    }
    let mut name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if gzip && !name.ends_with(".gz") {
        name.push_str(".gz");
    }
    if !rotating {
        return path.with_file_name(name);
    }
    let (stem, suffix) = match name.find('.') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name.as_str(), ""),
    };
    path.with_file_name(format!("{stem}-{seq:04}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_file_names() {
        let p = Path::new("/tmp/out.ndjson");
        assert_eq!(file_name(p, 0, 1, false, false), Path::new("/tmp/out.ndjson"));
        assert_eq!(file_name(p, 0, 2, false, true), Path::new("/tmp/out-0002.ndjson"));
        assert_eq!(file_name(p, 0, 2, true, true), Path::new("/tmp/out-0002.ndjson.gz"));
        assert_eq!(file_name(p, 0, 1, true, false), Path::new("/tmp/out.ndjson.gz"));
        assert_eq!(
            file_name(Path::new("/tmp/d/"), 0, 3, true, true),
            Path::new("/tmp/d/wafwatch-19700101T000000Z-0003.log.gz")
        );
    }

    /// Collects what it is given.
    #[derive(Default)]
    struct Kept(Vec<(i64, u64, Vec<u8>)>);

    impl Destination for Kept {
        const BY_HOUR: bool = true;
        async fn put(&mut self, first_ts: i64, seq: u64, _: Rotation, data: Vec<u8>) -> Result<(), SinkError> {
            self.0.push((first_ts, seq, data));
            Ok(())
        }
    }

    #[tokio::test]
    async fn files_are_cut_by_count_and_at_the_hour_and_counted_once() {
        let rotation = Rotation { records: 2, bytes: 0, gzip: false };
        let mut rolling = Rolling::new(Kept::default(), rotation, SinkReport::named("t".into()));
        let mut batch = Batch::default();
        for ts in [3_599_000, 3_599_500, 3_599_900, 3_600_000, 3_600_001] {
            batch.push(ts.to_string().as_bytes(), ts);
        }
        rolling.write(&batch).await.unwrap();
        rolling.rotate().await.unwrap();
        rolling.rotate().await.unwrap();
        let files: Vec<(i64, u64, String)> =
            rolling.destination.0.iter().map(|(t, s, d)| (*t, *s, String::from_utf8(d.clone()).unwrap())).collect();
        assert_eq!(
            files,
            [
                (3_599_000, 1, "3599000\n3599500\n".to_owned()),
                (3_599_900, 2, "3599900\n".to_owned()),
                (3_600_000, 3, "3600000\n3600001\n".to_owned())
            ]
        );
        assert_eq!((rolling.report().records, rolling.report().writes, rolling.report().bytes), (5, 3, 40));
    }
}
