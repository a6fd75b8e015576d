//! Errors that stop the server from starting.

use std::net::SocketAddr;

/// A config position to prefix an error with (`file:line:col: `), when known.
#[derive(Debug, Default, Clone)]
pub struct Location(pub Option<nanod_config::Span>);

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(span) if span.line > 0 => write!(f, "{span}: "),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{at}service \"{service}\": module \"{module}\": {message}")]
    Compile { at: Location, service: String, module: String, message: String },
    #[error("{at}service \"{service}\": {message}")]
    Worker { at: Location, service: String, message: String },
    /// A Worker's code failed when first evaluated (workerd's wording).
    #[error("service {service}: Uncaught {message}")]
    WorkerStart { service: String, message: String },
    /// Compatibility date and flag problems, one line each in workerd's wording (errors, then
    /// warnings), each after the config position it concerns.
    #[error("{}", compat_lines(.service, .lines))]
    Compat { service: String, lines: Vec<(Location, String)> },
    #[error("{at}service \"{service}\": binding \"{binding}\": {message}")]
    Binding { at: Location, service: String, binding: String, message: String },
    /// A binding's named entrypoint that its target does not export (workerd's wording).
    #[error("{0}")]
    Entrypoint(String),
    #[error("{at}socket \"{socket}\": {message}")]
    Socket { at: Location, socket: String, message: String },
    // `error` is not a `source`: its text is in the message already, and a source would be
    // printed a second time by the binary's error chain.
    #[error("{at}socket \"{socket}\": cannot listen on {addr}: {error}")]
    Listen { at: Location, socket: String, addr: SocketAddr, error: std::io::Error },
    #[error("--socket-addr {name}=...: no socket named \"{name}\" in the config")]
    UnknownSocketOverride { name: String },
    #[error("cannot start thread: {0}")]
    Thread(std::io::Error),
}

fn compat_lines(service: &str, lines: &[(Location, String)]) -> String {
    let lines: Vec<String> = lines.iter().map(|(at, message)| format!("{at}service {service}: {message}")).collect();
    lines.join("\n")
}
