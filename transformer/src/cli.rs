//! The offline commands shared by the `transformer` binary and `wafwatch transform`:
//! `invoke` (a Firehose event in, the Lambda's response out) and `encode` (log lines in, encoded
//! NDJSON out), plus the CLI tracing set-up.

use std::io::{self, BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::firehose::{FirehoseEvent, handle_raw};
use crate::record::{Disposition, Transformer};
use crate::reingest::{FirehoseReingest, MemoryReingest};

/// `invoke`: run the Lambda handler on a Firehose event file and print its response.
#[derive(Debug, Clone, clap::Args)]
pub struct InvokeArgs {
    /// The Firehose transformation event (JSON), or `-` to read it from standard input.
    #[arg(long, short, value_name = "FILE")]
    pub event: PathBuf,
    /// Really re-ingest records that need it into the event's delivery stream, through the AWS SDK
    /// (standard credential chain; `AWS_ENDPOINT_URL_FIREHOSE` overrides the endpoint). Without it
    /// nothing leaves this machine: such records are answered `Dropped` as in Lambda, and counted.
    #[arg(long)]
    pub reingest: bool,
    /// Print the response indented instead of as one line.
    #[arg(long)]
    pub pretty: bool,
}

/// `encode`: one-hot encode log lines from standard input.
#[derive(Debug, Clone, clap::Args)]
pub struct EncodeArgs {
    /// Read this file instead of standard input (`-` is standard input).
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
}

/// The offline transformer commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TransformCommand {
    /// Run the Lambda handler on a Firehose event and print the response it would return.
    ///
    /// Exit status: 0 when a response is printed (even if some records failed: see their
    /// `result`), 1 when the input is not a Firehose event, 2 for usage or configuration errors.
    Invoke(InvokeArgs),
    /// Encode NDJSON or text lines (per the configured source format) to NDJSON on stdout.
    ///
    /// Bad lines are reported on stderr with their line number and reason, counted, and skipped.
    /// Exit status: 0 when every line was encoded, 1 when some lines failed, 2 for usage or
    /// configuration errors.
    Encode(EncodeArgs),
}

/// Why an offline command stopped.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input is not a Firehose event (exit status 1).
    #[error("{0}")]
    NotFirehose(String),
    /// Reading the input or writing the output failed (exit status 2).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: io::Error,
    },
}

impl CliError {
    /// The exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::NotFirehose(_) => 1,
            CliError::Io { .. } => 2,
        }
    }
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    let res = if path.as_os_str() == "-" {
        io::stdin().lock().read_to_end(&mut buf).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut buf)).map(|_| ())
    };
    res.map_err(|source| CliError::Io { context: format!("reading {}", path.display()), source })?;
    Ok(buf)
}

/// Parses a Firehose transformation event, explaining what is wrong when it is not one.
pub fn parse_event(bytes: &[u8]) -> Result<FirehoseEvent, CliError> {
    serde_json::from_slice::<FirehoseEvent>(bytes).map_err(|e| {
        CliError::NotFirehose(format!(
            "not a Firehose data-transformation event ({e}); expected {{\"records\": [{{\"recordId\", \"data\": BASE64}}...]}}"
        ))
    })
}

fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Runs `invoke`, writing the response to `out`.
pub async fn invoke(args: &InvokeArgs, t: &Transformer, mut out: impl Write) -> Result<(), CliError> {
    let event = parse_event(&read_input(&args.event)?)?;
    let response = if args.reingest {
        handle_raw(event, t, &FirehoseReingest::lazy()).await
    } else {
        let memory = MemoryReingest::default();
        let response = handle_raw(event, t, &memory).await;
        let n = memory.puts.lock().map(|p| p.len()).unwrap_or(0);
        if n > 0 {
            tracing::info!(records = n, "Records would be re-ingested in Lambda; pass --reingest to put them.");
        }
        response
    };
    // The response is already serialised: written as is, or re-read to indent it.
    let written = if args.pretty {
        serde_json::to_string_pretty(&response.parse())
            .map_err(|e| CliError::Io { context: "serialising the response".into(), source: e.into() })
            .and_then(|text| writeln!(out, "{text}").map_err(|e| io_error("writing the response", e)))
    } else {
        out.write_all(response.as_str().as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| io_error("writing the response", e))
    };
    match written.and_then(|()| out.flush().map_err(|e| io_error("writing the response", e))) {
        Err(CliError::Io { source, .. }) if is_broken_pipe(&source) => Ok(()),
        other => other,
    }
}

fn io_error(context: &str, source: io::Error) -> CliError {
    CliError::Io { context: context.into(), source }
}

/// Counts from `encode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeSummary {
    /// Lines read (blank lines included).
    pub lines: u64,
    /// Documents written.
    pub documents: u64,
    /// Lines dropped on purpose (control messages, blank lines).
    pub dropped: u64,
    /// Lines that failed.
    pub failed: u64,
}

/// Encodes every line of `input` to `out`, calling `on_error(line_number, reason)` for bad lines.
///
/// Records that the Lambda would re-ingest (several CloudWatch Logs events bound for OpenSearch)
/// are encoded here directly, one document each. A closed output (`| head`) stops quietly.
pub fn encode_lines(
    t: &Transformer,
    mut input: impl BufRead,
    mut out: impl Write,
    mut on_error: impl FnMut(u64, &str),
) -> Result<EncodeSummary, CliError> {
    let mut summary = EncodeSummary::default();
    let mut line = Vec::new();
    let mut doc = Vec::new();
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|source| CliError::Io { context: "reading input".into(), source })?;
        if n == 0 {
            break;
        }
        summary.lines += 1;
        if line.trim_ascii().is_empty() {
            summary.dropped += 1;
            continue;
        }
        let now = chrono::Utc::now().timestamp_millis();
        doc.clear();
        let mut pending = vec![std::mem::take(&mut line)];
        while let Some(rec) = pending.pop() {
            match t.transform(trim_newline(&rec), now, &mut doc) {
                Ok(Disposition::Deliver { .. }) => summary.documents += 1,
                Ok(Disposition::Drop(_)) => summary.dropped += 1,
                Ok(Disposition::Split(parts)) => pending.extend(parts.into_iter().rev()),
                Err(e) => {
                    summary.failed += 1;
                    on_error(summary.lines, &e.to_string());
                }
            }
            if pending.is_empty() {
                line = rec;
            }
        }
        if let Err(e) = out.write_all(&doc) {
            if is_broken_pipe(&e) {
                return Ok(summary);
            }
            return Err(CliError::Io { context: "writing output".into(), source: e });
        }
    }
    match out.flush() {
        Err(e) if !is_broken_pipe(&e) => Err(CliError::Io { context: "writing output".into(), source: e }),
        _ => Ok(summary),
    }
}

fn trim_newline(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// Runs `encode` on the file or standard input named in `args`, writing to standard output.
pub fn encode(args: &EncodeArgs, t: &Transformer) -> Result<EncodeSummary, CliError> {
    let stdout = io::stdout().lock();
    let out = io::BufWriter::with_capacity(1 << 16, stdout);
    let report = |line: u64, reason: &str| tracing::warn!(line, reason, "Line failed to encode; skipped.");
    let summary = if args.input.as_os_str() == "-" {
        encode_lines(t, io::stdin().lock(), out, report)?
    } else {
        let f = std::fs::File::open(&args.input)
            .map_err(|source| CliError::Io { context: format!("opening {}", args.input.display()), source })?;
        encode_lines(t, io::BufReader::with_capacity(1 << 16, f), out, report)?
    };
    tracing::info!(
        lines = summary.lines,
        documents = summary.documents,
        dropped = summary.dropped,
        failed = summary.failed,
        "Encoding finished."
    );
    Ok(summary)
}

/// Runs an offline command with `t` and says how it went as an exit status: the one dispatch both
/// the `transformer` binary and `wafwatch transform` use.
pub fn run(cmd: TransformCommand, t: &Transformer) -> ExitCode {
    let result = match cmd {
        TransformCommand::Invoke(args) => match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt.block_on(invoke(&args, t, io::stdout().lock())).map(|()| ExitCode::SUCCESS),
            Err(source) => Err(CliError::Io { context: "starting the async runtime".into(), source }),
        },
        TransformCommand::Encode(args) => {
            encode(&args, t).map(|s| if s.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    };
    result.unwrap_or_else(|e| {
        tracing::error!("{e}");
        ExitCode::from(e.exit_code())
    })
}

/// Sets up logging inside Lambda: JSON lines (one object per event, fields before the message) on
/// stdout, which Lambda sends to CloudWatch Logs, unless the function's log format is explicitly
/// `Text`. The level comes from `AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG`, then INFO.
pub fn init_lambda_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_default();
    let filter = tracing_subscriber::EnvFilter::try_new(if level.is_empty() { "info" } else { &level })
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(io::stdout);
    let _ = if text { builder.without_time().try_init() } else { builder.json().try_init() };
}

/// Sets up logging for a command-line tool: human-readable, to stderr, at INFO for wafwatch's own
/// crates and WARN for the rest; `-v` adds DEBUG and timestamps, `-vv` TRACE; `RUST_LOG` overrides
/// the levels. Colour only on a terminal, and never with `NO_COLOR` set.
pub fn init_cli_tracing(verbose: u8) {
    use std::io::IsTerminal;
    let level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let default = format!(
        "warn,wafwatch={level},wafwatch_config={level},wafwatch_transformer={level},wafwatch_engine={level},wafwatch_opensearch={level},wafwatch_log_simulator={level}"
    );
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).with_target(false).with_ansi(ansi);
    let _ = if verbose == 0 { builder.without_time().try_init() } else { builder.try_init() };
}
