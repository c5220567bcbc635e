//! [`Batch`]: newline-terminated records back to back, what the generator fills, replay reads and
//! every sink takes.

/// Records: newline-terminated lines back to back, with each line's end and timestamp.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// The lines.
    pub data: Vec<u8>,
    /// End offset (exclusive, after the newline) of each line.
    pub ends: Vec<usize>,
    /// Timestamp (epoch ms) of each line.
    pub timestamps: Vec<i64>,
}

impl Batch {
    /// Number of lines.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        self.timestamps.clear();
    }
    /// Line `i`, with its newline.
    pub fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }
    /// Iterates over the lines, with their newlines.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.line(i))
    }
    /// Appends a line (a newline is added when missing).
    pub fn push(&mut self, line: &[u8], timestamp: i64) {
        self.data.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            self.data.push(b'\n');
        }
        self.end_line(timestamp);
    }
    /// Ends the line just written straight into [`Batch::data`] (which must end with its newline).
    pub fn end_line(&mut self, timestamp: i64) {
        self.ends.push(self.data.len());
        self.timestamps.push(timestamp);
    }
}
