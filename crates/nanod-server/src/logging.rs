//! Logs: nanod's own messages, one access line per socket request and the Workers' `console.*`
//! output, all `tracing` events, written to stderr one event per line (a multi-line console
//! call or stack trace stays one event) in one of two formats:
//!
//! - `pretty` (the default): what nanod always printed. A message is printed as is, with
//!   ` [req ID]` at the end of its first line when it is about a request (an uncaught
//!   exception, a broken limit, a fallback taking over); fields other than those the line
//!   already says ([`PRETTY_HIDDEN`]) follow as ` key=value`. Console output is `NAME: text`
//!   per line, `NAME [req ID]: text` when it ran for a request; an access line is
//!   `NAME [req ID]: GET /path 200 0.42ms`.
//! - `json`: one object per event: `time` (RFC 3339, UTC), `level`, `target`, `message` and
//!   every field (`service`, `request_id`, and for access lines `method`, `path`, `status`,
//!   `duration_ms`).
//!
//! Targets: [`ACCESS`] for access lines, [`CONSOLE`] (`nanod_web::console::TARGET`) for console
//! output, whose events carry the console method's level (`console.warn` is `warn`, `debug`
//! and `trace` are let through). Everything else logs at `info` and above.
//!
//! Access lines, one per request, are not written by the event loop: each thread appends them
//! to its own buffer, which a `nanod-log` thread writes every [`WRITE_INTERVAL`] with one
//! `write`, so a request costs its line's formatting, not a system call (a `write` per line to
//! a file measured ~3 µs a request, a quarter of a hello request's CPU; a channel to a writer
//! thread cost more still, in wake-ups). Every other line is written at once, so errors are
//! never held back; [`flush`] writes what is buffered, at exit.

use std::cell::OnceCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

/// The target of access lines.
pub const ACCESS: &str = "nanod::access";
/// The target of `console.*` output.
pub const CONSOLE: &str = nanod_web::console::TARGET;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// What `nanod serve` logs and how.
#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    pub format: LogFormat,
    /// One line per socket request, at `info`.
    pub access: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions { format: LogFormat::Pretty, access: true }
    }
}

/// Installs the process's logger (stderr). A second call does nothing.
pub fn init(options: LogOptions) {
    if tracing::subscriber::set_global_default(subscriber(options, Stderr)).is_ok() {
        PRETTY_ACCESS.store(options.access && options.format == LogFormat::Pretty, Relaxed);
    }
}

/// Whether [`access`] writes pretty lines into the buffers itself instead of through
/// `tracing`: the default logger's case. An event through the subscriber costs its fields'
/// `String`s and the dispatch, ~0.7 µs of a hello request's ~12; the line is the same.
static PRETTY_ACCESS: AtomicBool = AtomicBool::new(false);

/// Writes every access line still buffered; for the exit.
pub fn flush() {
    write_buffered();
}

/// How often the `nanod-log` thread writes the buffered access lines.
const WRITE_INTERVAL: Duration = Duration::from_millis(20);
/// A thread's buffer size past which it writes its lines itself (the log thread is behind).
const BUFFER_LIMIT: usize = 1 << 20;

type Buffer = Arc<Mutex<Vec<u8>>>;

/// Every thread's access-line buffer.
static BUFFERS: Mutex<Vec<Buffer>> = Mutex::new(Vec::new());
static WRITER: OnceLock<bool> = OnceLock::new();

thread_local! {
    static BUFFER: OnceCell<Buffer> = const { OnceCell::new() };
}

/// Appends `line` to this thread's buffer (made, and the writer thread started, on first use);
/// writes it at once if that is not possible.
fn buffer_line(line: &[u8]) {
    let started = *WRITER.get_or_init(|| {
        std::thread::Builder::new()
            .name("nanod-log".to_owned())
            .spawn(|| loop {
                std::thread::sleep(WRITE_INTERVAL);
                write_buffered();
            })
            .is_ok()
    });
    if !started {
        let _ = std::io::stderr().write_all(line);
        return;
    }
    let full = BUFFER.with(|buffer| {
        let buffer = buffer.get_or_init(|| {
            let buffer = Buffer::default();
            if let Ok(mut all) = BUFFERS.lock() {
                all.push(buffer.clone());
            }
            buffer
        });
        let Ok(mut buffer) = buffer.lock() else { return None };
        buffer.extend_from_slice(line);
        (buffer.len() > BUFFER_LIMIT).then(|| std::mem::take(&mut *buffer))
    });
    if let Some(lines) = full {
        let _ = std::io::stderr().write_all(&lines);
    }
}

/// Writes (and empties) every thread's buffer: one `write` per buffer.
fn write_buffered() {
    let buffers: Vec<Buffer> = match BUFFERS.lock() {
        Ok(all) => all.clone(),
        Err(_) => return,
    };
    for buffer in buffers {
        let lines = match buffer.lock() {
            Ok(mut lines) if !lines.is_empty() => std::mem::take(&mut *lines),
            _ => continue,
        };
        let _ = std::io::stderr().write_all(&lines);
    }
}

/// stderr, through the per-thread buffers for access lines.
struct Stderr;

enum LineWriter {
    Now(std::io::Stderr),
    Buffered,
}

impl std::io::Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            LineWriter::Now(stderr) => stderr.write(buf),
            LineWriter::Buffered => {
                buffer_line(buf);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            LineWriter::Now(stderr) => stderr.flush(),
            LineWriter::Buffered => Ok(()),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter::Now(std::io::stderr())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LineWriter {
        if meta.target() == ACCESS {
            LineWriter::Buffered
        } else {
            LineWriter::Now(std::io::stderr())
        }
    }
}

/// The logger of `options`, writing to `writer`.
fn subscriber<W>(options: LogOptions, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let targets = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target(CONSOLE, LevelFilter::TRACE)
        .with_target(ACCESS, if options.access { LevelFilter::INFO } else { LevelFilter::OFF });
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    let registry = tracing_subscriber::registry();
    match options.format {
        LogFormat::Pretty => Box::new(registry.with(layer.event_format(Pretty)).with(targets)),
        LogFormat::Json => Box::new(registry.with(layer.event_format(Json)).with(targets)),
    }
}

/// Whether access lines are logged: callers check before gathering a line's fields.
#[inline]
pub fn access_enabled() -> bool {
    tracing::enabled!(target: ACCESS, Level::INFO)
}

/// Logs the access line of one socket request.
pub fn access(
    service: &str,
    request_id: nanod_js::RequestId,
    method: &http::Method,
    path: &str,
    status: u16,
    elapsed: std::time::Duration,
) {
    let duration_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    if PRETTY_ACCESS.load(Relaxed) {
        thread_local! {
            static LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        LINE.with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else { return };
            line.clear();
            let who = format_args!("{service} [req {request_id}]");
            if pretty_access(&mut *line, who, method.as_str(), path, status, duration_ms).is_ok() {
                buffer_line(line.as_bytes());
            }
        });
        return;
    }
    tracing::info!(
        target: ACCESS,
        service,
        request_id = %request_id,
        method = method.as_str(),
        path,
        status,
        duration_ms,
        "request"
    );
}

/// An event's fields, in order; `message` apart.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, Value)>,
}

enum Value {
    Text(String),
    Number(String),
    Bool(bool),
}

impl Fields {
    fn of(event: &Event<'_>) -> Fields {
        let mut fields = Fields::default();
        event.record(&mut fields);
        fields
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, value)| match value {
            Value::Text(text) | Value::Number(text) => text.as_str(),
            Value::Bool(true) => "true",
            Value::Bool(false) => "false",
        })
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields.push((field.name(), Value::Text(value.to_owned())));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields.push((field.name(), Value::Text(format!("{value:?}"))));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.push((field.name(), Value::Number(value.to_string())));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name(), Value::Number(value.to_string())));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let number = if value.is_finite() { value.to_string() } else { "null".to_owned() };
        self.fields.push((field.name(), Value::Number(number)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name(), Value::Bool(value)));
    }
}

/// `NAME` or `NAME [req ID]`, the prefix of console and access lines.
fn who(fields: &Fields) -> String {
    let service = fields.text("service").unwrap_or_default();
    match fields.text("request_id") {
        Some(id) => format!("{service} [req {id}]"),
        None => service.to_owned(),
    }
}

/// A pretty access line: `NAME [req ID]: GET /path 200 0.42ms`.
fn pretty_access(
    out: &mut impl std::fmt::Write,
    who: impl std::fmt::Display,
    method: &str,
    path: &str,
    status: impl std::fmt::Display,
    duration_ms: impl std::fmt::Display,
) -> std::fmt::Result {
    writeln!(out, "{who}: {method} {path} {status} {duration_ms}ms")
}

/// Fields a pretty line leaves out: `service` starts nanod's messages, `request_id` is the
/// ` [req ID]`, and an event with a `limit` field names the limit in its message (the JSON
/// line keeps all three).
const PRETTY_HIDDEN: [&str; 3] = ["service", "request_id", "limit"];

struct Pretty;

impl<S, N> FormatEvent<S, N> for Pretty
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> std::fmt::Result {
        let fields = Fields::of(event);
        let metadata = event.metadata();
        match metadata.target() {
            CONSOLE => {
                let level = match *metadata.level() {
                    Level::INFO => "",
                    Level::WARN => "warn: ",
                    Level::ERROR => "error: ",
                    Level::DEBUG => "debug: ",
                    Level::TRACE => "trace: ",
                };
                let who = who(&fields);
                if fields.message.is_empty() {
                    return writeln!(writer, "{who}: {level}");
                }
                for line in fields.message.lines() {
                    writeln!(writer, "{who}: {level}{line}")?;
                }
                Ok(())
            }
            ACCESS => {
                let field = |name| fields.text(name).unwrap_or_default();
                let who = who(&fields);
                pretty_access(&mut writer, &who, field("method"), field("path"), field("status"), field("duration_ms"))
            }
            _ => {
                // On the first line: a stack trace's frames follow it.
                let (first, rest) = match fields.message.split_once('\n') {
                    Some((first, rest)) => (first, Some(rest)),
                    None => (fields.message.as_str(), None),
                };
                writer.write_str(first)?;
                if let Some(id) = fields.text("request_id") {
                    write!(writer, " [req {id}]")?;
                }
                if let Some(rest) = rest {
                    write!(writer, "\n{rest}")?;
                }
                for (name, _) in fields.fields.iter().filter(|(n, _)| !PRETTY_HIDDEN.contains(n)) {
                    write!(writer, " {name}={}", fields.text(name).unwrap_or_default())?;
                }
                writeln!(writer)
            }
        }
    }
}

struct Json;

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> std::fmt::Result {
        let fields = Fields::of(event);
        let metadata = event.metadata();
        let mut time = String::new();
        tracing_subscriber::fmt::time::SystemTime.format_time(&mut Writer::new(&mut time))?;
        let level = metadata.level().as_str().to_ascii_lowercase();
        write!(writer, "{{\"time\":{},\"level\":\"{level}\",\"target\":{}", quote(&time), quote(metadata.target()))?;
        write!(writer, ",\"message\":{}", quote(&fields.message))?;
        for (name, value) in &fields.fields {
            let value = match value {
                Value::Text(text) => quote(text),
                Value::Number(number) => number.clone(),
                Value::Bool(b) => b.to_string(),
            };
            write!(writer, ",{}:{value}", quote(name))?;
        }
        writeln!(writer, "}}")
    }
}

/// `text` as a JSON string.
fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formats `emit`'s events in `format` into a string.
    fn capture(format: LogFormat, emit: impl FnOnce()) -> String {
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = out.clone();
        let make_writer = move || Sink(sink.clone());
        tracing::subscriber::with_default(subscriber(LogOptions { format, access: true }, make_writer), emit);
        let bytes = out.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn emit_all() {
        let id = nanod_js::RequestId::new(0x1a2b);
        tracing::error!(service = "main", request_id = %id, "main: Uncaught Error: boom\n    at fetch (w.js:1:2)");
        tracing::info!(target: CONSOLE, service = "greeter", request_id = %id, "two\nlines");
        tracing::warn!(target: CONSOLE, service = "greeter", "careful");
        tracing::debug!(target: CONSOLE, service = "greeter", "");
        tracing::debug!("not shown at the default level");
        access("main", id, &http::Method::POST, "/a?b=1", 201, std::time::Duration::from_micros(1234));
        tracing::warn!(threads = 2, "plain \"quoted\"");
        tracing::error!(service = "main", request_id = %id, limit = "cpu", "main: limit exceeded (cpu): too long");
    }

    #[test]
    fn pretty_lines_keep_the_plain_shape() {
        let text = capture(LogFormat::Pretty, emit_all);
        assert_eq!(
            text,
            "main: Uncaught Error: boom [req 0000000000001a2b]\n    at fetch (w.js:1:2)\n\
             greeter [req 0000000000001a2b]: two\ngreeter [req 0000000000001a2b]: lines\n\
             greeter: warn: careful\n\
             greeter: debug: \n\
             main [req 0000000000001a2b]: POST /a?b=1 201 1.234ms\n\
             plain \"quoted\" threads=2\n\
             main: limit exceeded (cpu): too long [req 0000000000001a2b]\n"
        );
    }

    #[test]
    fn json_lines_are_objects_with_every_field() {
        let text = capture(LogFormat::Json, emit_all);
        let lines: Vec<serde_json::Value> =
            text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
        assert_eq!(lines.len(), 7, "{text}");
        assert_eq!(lines[0]["level"], "error");
        assert_eq!(lines[0]["message"], "main: Uncaught Error: boom\n    at fetch (w.js:1:2)");
        assert_eq!(lines[0]["request_id"], "0000000000001a2b");
        assert_eq!(lines[1]["target"], CONSOLE);
        assert_eq!(lines[1]["service"], "greeter");
        assert_eq!(lines[1]["message"], "two\nlines");
        assert_eq!(lines[2]["level"], "warn");
        assert!(lines[2].get("request_id").is_none());
        let access = &lines[4];
        assert_eq!(access["target"], ACCESS);
        assert_eq!(access["method"], "POST");
        assert_eq!(access["path"], "/a?b=1");
        assert_eq!(access["status"], 201);
        assert_eq!(access["duration_ms"], 1.234);
        assert!(access["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{access}");
        assert_eq!(lines[5]["threads"], 2);
        assert_eq!(lines[6]["limit"], "cpu", "JSON keeps what the pretty line leaves out");
        assert_eq!(lines[6]["request_id"], "0000000000001a2b");
    }
}
