//! Opening an input of `wafwatch run --input`: a file or standard input, gzip or not.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::error::RunError;

/// Opens an input: a file or `-`, gunzipped when it starts with gzip's magic bytes.
pub fn open_input(path: &Path) -> Result<Box<dyn BufRead>, RunError> {
    let raw: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| RunError::Usage(format!("cannot read input {}: {e}", path.display())))?,
        )
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let gzip = reader.fill_buf().map(|b| b.starts_with(&[0x1f, 0x8b])).unwrap_or(false);
    Ok(if gzip { Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(reader))) } else { Box::new(reader) })
}

/// Calls `each` with every line of the input at `path` (without its line end; empty lines too).
pub fn for_each_line(path: &Path, mut each: impl FnMut(&[u8]) -> Result<(), RunError>) -> Result<(), RunError> {
    let mut input = open_input(path)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let got = input
            .read_until(b'\n', &mut line)
            .map_err(|e| RunError::Usage(format!("reading {}: {e}", path.display())))?;
        if got == 0 {
            return Ok(());
        }
        each(line.trim_ascii_end())?;
    }
}
