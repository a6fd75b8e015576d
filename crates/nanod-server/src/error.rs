//! Errors that stop the server from starting.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("service \"{service}\": module \"{module}\": {message}")]
    Compile { service: String, module: String, message: String },
    #[error("service \"{service}\": {message}")]
    Worker { service: String, message: String },
    #[error("service \"{service}\": binding \"{binding}\": {message}")]
    Binding { service: String, binding: String, message: String },
    #[error("socket \"{socket}\": {message}")]
    Socket { socket: String, message: String },
    #[error("socket \"{socket}\": cannot listen on {addr}: {source}")]
    Listen { socket: String, addr: SocketAddr, source: std::io::Error },
    #[error("--socket-addr {name}=...: no socket named \"{name}\" in the config")]
    UnknownSocketOverride { name: String },
    #[error("cannot start thread: {0}")]
    Thread(std::io::Error),
}
