//! Writes a Firehose transformation event of ~650-byte flat WAF records to stdout, of about the
//! given size in MB (default 4.3: what a 3 MB processor buffer arrives as once base64-encoded), for
//! measuring the whole process as Lambda runs it:
//!
//! ```sh
//! cargo run --release -p wafwatch-transformer --example event -- 4.3 > target/event.json
//! hyperfine -N 'target/release/transformer invoke --event target/event.json'
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // a measuring tool: stdout is its output

#[path = "../tests/support/events.rs"]
mod events;

fn main() {
    let mb: f64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(4.3);
    let (event, bytes) = events::event_of((0..).map(events::flat_record), (mb * 1e6) as usize);
    eprintln!("{} records, {bytes} bytes", event.records.len());
    println!("{}", serde_json::to_string(&event).unwrap());
}
