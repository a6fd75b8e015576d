//! nanod-server: turns a checked [`nanod_config::Config`] into a running server.
//!
//! The life of a request: a thread accepts on a socket ([`socket`], [`thread`]), hyper parses
//! it ([`http`]), the socket's service handles it ([`service`]); a Worker service runs it in
//! that thread's isolate of the Worker, and a service binding ([`binding`]) hands a request to
//! another service on the same thread, without a socket.
//!
//! Start-up work that can fail on bad input (compiling modules, parsing JSON bindings,
//! resolving addresses, binding sockets) happens in [`prepare`] and [`Server::bind`], before
//! any thread starts, so a bad config exits with a message and never a half-started server.
//!
//! Once running ([`Server::run_with`]), [`lifecycle`] handles signals: SIGTERM/SIGINT drain the
//! threads, SIGHUP (and `serve --watch`) reloads the config through the same checks.

pub mod address;
pub mod admin;
pub mod binding;
pub mod error;
pub mod failover;
pub mod graph;
pub mod http;
pub mod http_options;
pub mod lifecycle;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod network;
pub mod outbound;
pub mod prepare;
pub mod service;
pub mod socket;
pub mod test_runner;
pub mod thread;
pub mod tls;

use std::sync::Arc;

pub use error::ServerError;
pub use prepare::Prepared;

/// Command-line settings that shape the server.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Event-loop threads; `None` means one per available core.
    pub threads: Option<usize>,
    /// `--socket-addr NAME=ADDR` overrides.
    pub socket_addrs: Vec<(String, String)>,
    /// `--experimental`: experimental compatibility flags are allowed.
    pub experimental: bool,
    /// `--compat-date DATE`: the compatibility date of every Worker (which must then set none).
    pub compat_date: Option<String>,
}

impl ServeOptions {
    /// The event-loop threads to run: `threads`, or one per available core.
    pub fn thread_count(&self) -> usize {
        self.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1)
    }

    /// What compatibility-flag resolution needs of the command line.
    pub fn compat(&self) -> nanod_config::compat::Options {
        nanod_config::compat::Options {
            experimental: self.experimental,
            compat_date: self.compat_date.clone(),
            today: None,
        }
    }
}

/// A config that passed every check short of binding a socket.
pub struct Checked {
    pub prepared: Arc<Prepared>,
    /// Each socket's protocol settings, in config order.
    pub sockets: Vec<Arc<http::SocketSettings>>,
}

/// Prepares `config` (services, with each Worker's compatibility flags resolved under
/// `options`, and socket settings) and evaluates every Worker once (on up to
/// `options.thread_count()` threads): everything `nanod serve` checks before binding a socket,
/// and all that `nanod check` does.
pub fn check(config: &nanod_config::Config, options: &ServeOptions) -> Result<Checked, ServerError> {
    let prepared = Arc::new(Prepared::new(config, &options.compat())?);
    let sockets = socket::prepare_all(config)?;
    let order: Vec<String> = config.services.iter().map(|s| s.name.clone()).collect();
    service::check::evaluate_all(&prepared, &order, &config.sockets, options.thread_count())?;
    Ok(Checked { prepared, sockets })
}

/// A prepared server with its sockets bound, ready to run.
pub struct Server {
    prepared: Arc<Prepared>,
    sockets: Vec<socket::BoundSocket>,
    threads: usize,
    /// What a reload compares a new config with, and checks it under.
    config: nanod_config::Config,
    options: ServeOptions,
}

impl Server {
    /// Compiles every Worker and binds every socket; nothing runs yet.
    pub fn bind(config: &nanod_config::Config, options: &ServeOptions) -> Result<Server, ServerError> {
        let threads = options.thread_count();
        let Checked { prepared, sockets } = check(config, options)?;
        let sockets = socket::bind_all(config, sockets, &options.socket_addrs)?;
        Ok(Server { prepared, sockets, threads, config: config.clone(), options: options.clone() })
    }

    /// The addresses actually bound, by socket name (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<(String, std::net::SocketAddr)> {
        self.sockets.iter().flat_map(|s| s.addrs().into_iter().map(|a| (s.name.clone(), a))).collect()
    }

    /// Runs the event-loop threads, without signal handling or reloads; returns only if they
    /// all stop.
    pub fn run(self) -> Result<(), ServerError> {
        thread::spawn(self.prepared, self.sockets, self.threads)?.join();
        Ok(())
    }

    /// Runs the event-loop threads under `lifecycle` (signals, drain, reload: see
    /// [`lifecycle`]) until it shuts the server down; the [`lifecycle::Shutdown`] says how.
    pub fn run_with(self, lifecycle: lifecycle::Lifecycle) -> Result<lifecycle::Shutdown, ServerError> {
        let threads = thread::spawn(self.prepared, self.sockets, self.threads)?;
        Ok(lifecycle.run(lifecycle::Current { config: self.config, options: self.options }, threads))
    }
}
