//! A running server's life after start-up: signals, graceful drain and config reload.
//!
//! - **SIGTERM / SIGINT: drain.** `/readyz` turns unready ([`crate::metrics::set_ready`]), every
//!   thread stops accepting (connections the kernel already completed are still taken, then the
//!   listeners close, so a new connection is refused), each connection finishes the request it
//!   is serving and closes (hyper's graceful shutdown: a keep-alive connection closes after its
//!   current response; one that has not sent its first request yet gets
//!   [`FIRST_REQUEST_GRACE`] for it), and `ctx.waitUntil` work runs to its end. The process
//!   exits when every thread is idle, or when the drain timeout passes, whichever is first. A
//!   second SIGTERM/SIGINT during the drain stops at once ([`Shutdown::Forced`]).
//! - **SIGHUP, and file changes under `serve --watch`: reload.** The config is loaded, prepared
//!   and evaluated again exactly as at start-up ([`crate::check`]). If that fails, the error is
//!   printed and the old config keeps serving. Otherwise each thread switches to the new
//!   [`Prepared`]: services whose definition changed (or that were added or removed) get new
//!   per-thread state, so new requests start new isolates while requests in flight finish on the
//!   old ones (they hold their `Rc<WorkerService>`); unchanged services keep their isolates and
//!   module state. Sockets cannot change without a restart: a changed, added or removed socket
//!   is named in a warning and the bound sockets stay as they are.
//!
//! Threads hear of both through a [`Control`] channel each. What a thread must finish before it
//! exits is a thread-local count of [`Busy`] guards, held by each accept loop, each connection
//! and each `waitUntil` task: one `Cell` update per connection, nothing per request.
//!
//! This module does not bind sockets (the bound ones are kept across reloads) and does not exit
//! the process: [`Lifecycle::run`] returns a [`Shutdown`] for the binary to turn into an exit
//! code.

use std::cell::Cell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nanod_config::{Config, Service, Socket};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

use crate::prepare::Prepared;
use crate::thread::Threads;
use crate::ServeOptions;

/// `serve --drain-timeout`'s default.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a connection that has not sent its first request may still send it once the drain
/// starts: it was accepted before the listeners closed, so its request may be on the way.
pub const FIRST_REQUEST_GRACE: Duration = Duration::from_millis(250);

/// Under `--watch`, a reload waits for the files to be quiet this long (an editor's save is
/// often several events)...
const WATCH_QUIET: Duration = Duration::from_millis(100);
/// ...but no longer than this after the first event.
const WATCH_SETTLE_MAX: Duration = Duration::from_secs(1);

/// A config loaded as the binary loads it at start-up, with every file read to load it.
pub struct Loaded {
    pub config: Config,
    /// The config file and the files it embeds (what `--watch` watches).
    pub files: Vec<PathBuf>,
}

/// Loads the config again, as at start-up (the binary's command-line overrides included). The
/// error is the text to print, with its `file:line:col`.
pub type Loader = Box<dyn Fn() -> Result<Loaded, String> + Send>;

/// How the server reacts to signals and file changes.
pub struct LifecycleOptions {
    /// How long a drain may take before the process exits anyway.
    pub drain_timeout: Duration,
    /// Reloads the config; without one, SIGHUP only says it cannot.
    pub loader: Option<Loader>,
    /// The config's name in reload messages.
    pub config_name: String,
    /// `--watch`: reload when one of these files changes (from [`Loaded::files`]; a reload
    /// replaces the list).
    pub watch: Option<Vec<PathBuf>>,
}

/// How [`Lifecycle::run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// A signal asked for a drain and every thread finished its work.
    Drained,
    /// The drain timeout passed with work still in flight.
    TimedOut,
    /// A second signal arrived during the drain.
    Forced,
    /// Every event-loop thread stopped without being asked (none could start).
    Stopped,
}

/// The server's signal handlers and reload settings. Made before the server says it is
/// listening, so that a signal sent as soon as it does is handled, not fatal.
pub struct Lifecycle {
    runtime: tokio::runtime::Runtime,
    signals: Signals,
    options: LifecycleOptions,
}

struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Lifecycle {
    /// Installs the SIGTERM, SIGINT and SIGHUP handlers (from now on they no longer kill the
    /// process).
    pub fn new(options: LifecycleOptions) -> std::io::Result<Lifecycle> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let signals = {
            let _context = runtime.enter();
            Signals {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
                hangup: signal(SignalKind::hangup())?,
            }
        };
        Ok(Lifecycle { runtime, signals, options })
    }

    /// Handles signals and file changes for the running `threads` until the server stops.
    /// `current` is the config they serve.
    pub(crate) fn run(self, current: Current, threads: Threads) -> Shutdown {
        let Lifecycle { runtime, mut signals, options } = self;
        runtime.block_on(async move {
            let mut state = ControlState { current, threads, options, watcher: None };
            let (changes, mut changed) = unbounded_channel::<()>();
            if let Some(files) = state.options.watch.take() {
                state.watcher = Watcher::start(&files, changes);
            }
            let mut running = state.threads.count;
            loop {
                tokio::select! {
                    Some(()) = signals.terminate.recv() => return drain("SIGTERM", &mut signals, &mut state, running).await,
                    Some(()) = signals.interrupt.recv() => return drain("SIGINT", &mut signals, &mut state, running).await,
                    Some(()) = signals.hangup.recv() => state.reload(),
                    Some(()) = changed.recv() => {
                        settle(&mut changed).await;
                        state.reload();
                    }
                    exited = state.threads.exited.recv() => {
                        running = if exited.is_some() { running.saturating_sub(1) } else { 0 };
                        if running == 0 {
                            return Shutdown::Stopped;
                        }
                    }
                }
            }
        })
    }
}

/// What the control thread knows of the running server.
pub(crate) struct Current {
    /// The config being served, with the sockets as bound (a reload keeps them).
    pub config: Config,
    pub options: ServeOptions,
}

struct ControlState {
    current: Current,
    threads: Threads,
    options: LifecycleOptions,
    watcher: Option<Watcher>,
}

/// A message to one event-loop thread.
pub(crate) enum Control {
    /// Serve `Generation` from now on.
    Reload(Arc<Generation>),
    /// Stop accepting, finish what is in flight, then end the thread.
    Drain,
}

/// A reloaded config, as every thread switches to it.
pub(crate) struct Generation {
    pub prepared: Arc<Prepared>,
    /// Services whose per-thread state must be made anew: changed, added or removed.
    pub changed: HashSet<String>,
}

/// What a successful reload found.
#[derive(Debug, PartialEq, Eq)]
struct Diff {
    /// Services changed, added or removed: new config order, then the removed ones.
    changed: Vec<String>,
    unchanged: usize,
    /// Socket differences a reload cannot apply, as `NAME (changed|added|removed)`.
    sockets: Vec<String>,
}

impl ControlState {
    fn reload(&mut self) {
        let name = &self.options.config_name;
        let Some(loader) = &self.options.loader else {
            tracing::error!("nanod: cannot reload {name}: this server was started without a loader");
            return;
        };
        let loaded = match loader() {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::error!("nanod: reload of {name} failed, still serving the previous config: {error}");
                return;
            }
        };
        let files = loaded.files.clone();
        let (mut config, diff) = diff(&self.current.config, loaded.config);
        if !diff.sockets.is_empty() {
            tracing::warn!(
                "nanod: reload of {name}: socket changes need a restart; keeping the sockets as they are: {}",
                diff.sockets.join(", ")
            );
        }
        // The sockets that stay bound must still reach services of the new config.
        config.sockets.clone_from(&self.current.config.sockets);
        let checked = nanod_config::validate(&config)
            .map_err(|e| e.to_string())
            .and_then(|()| crate::check(&config, &self.current.options).map_err(|e| e.to_string()));
        let checked = match checked {
            Ok(checked) => checked,
            Err(error) => {
                tracing::error!("nanod: reload of {name} failed, still serving the previous config: {error}");
                return;
            }
        };
        let generation =
            Arc::new(Generation { prepared: checked.prepared, changed: diff.changed.iter().cloned().collect() });
        for control in &self.threads.controls {
            // A thread that has stopped needs no new config.
            let _ = control.send(Control::Reload(generation.clone()));
        }
        self.current.config = config;
        if let Some(watcher) = &mut self.watcher {
            watcher.set_files(&files);
        }
        let count = diff.changed.len();
        let list = if count == 0 { String::new() } else { format!(" ({})", diff.changed.join(", ")) };
        tracing::info!(
            "nanod: reloaded {name}: {count} service{} changed{list}, {} unchanged",
            if count == 1 { "" } else { "s" },
            diff.unchanged
        );
    }
}

/// Compares a reloaded config with the one being served: which services changed (their whole
/// definition, module sources included; positions in the file do not count) and which sockets
/// differ. Returns the new config and the differences.
fn diff(old: &Config, new: Config) -> (Config, Diff) {
    let find = |services: &[Service], name: &str| services.iter().position(|s| s.name == name);
    let mut changed = Vec::new();
    let mut unchanged = 0;
    for service in &new.services {
        match find(&old.services, &service.name) {
            Some(index) if old.services[index] == *service => unchanged += 1,
            _ => changed.push(service.name.clone()),
        }
    }
    for service in &old.services {
        if find(&new.services, &service.name).is_none() {
            changed.push(service.name.clone());
        }
    }
    let find_socket = |sockets: &[Socket], name: &str| sockets.iter().position(|s| s.name == name);
    let mut sockets = Vec::new();
    for socket in &new.sockets {
        match find_socket(&old.sockets, &socket.name) {
            Some(index) if old.sockets[index] == *socket => {}
            Some(_) => sockets.push(format!("{} (changed)", socket.name)),
            None => sockets.push(format!("{} (added)", socket.name)),
        }
    }
    for socket in &old.sockets {
        if find_socket(&new.sockets, &socket.name).is_none() {
            sockets.push(format!("{} (removed)", socket.name));
        }
    }
    (new, Diff { changed, unchanged, sockets })
}

/// Drains every thread (see the module doc), bounded by the drain timeout.
async fn drain(signal: &str, signals: &mut Signals, state: &mut ControlState, mut running: usize) -> Shutdown {
    crate::metrics::set_ready(false);
    let timeout = state.options.drain_timeout;
    tracing::info!(
        "nanod: {signal}: draining: accepting no new connections; requests in flight and waitUntil work have {}s to finish",
        timeout.as_secs_f64()
    );
    for control in &state.threads.controls {
        let _ = control.send(Control::Drain);
    }
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let forced = |signal: &str| {
        tracing::warn!("nanod: {signal} during the drain: stopping now");
        Shutdown::Forced
    };
    while running > 0 {
        tokio::select! {
            () = &mut deadline => {
                tracing::warn!("nanod: drain timeout ({}s) passed with work still in flight: exiting", timeout.as_secs_f64());
                return Shutdown::TimedOut;
            }
            Some(()) = signals.terminate.recv() => return forced("SIGTERM"),
            Some(()) = signals.interrupt.recv() => return forced("SIGINT"),
            exited = state.threads.exited.recv() => {
                running = if exited.is_some() { running - 1 } else { 0 };
            }
        }
    }
    tracing::info!("nanod: drained: exiting");
    Shutdown::Drained
}

/// Waits until file events stop for [`WATCH_QUIET`] (at most [`WATCH_SETTLE_MAX`]).
async fn settle(events: &mut UnboundedReceiver<()>) {
    let deadline = Instant::now() + WATCH_SETTLE_MAX;
    while Instant::now() < deadline {
        match tokio::time::timeout(WATCH_QUIET, events.recv()).await {
            Ok(Some(())) => continue,
            _ => break,
        }
    }
}

/// `--watch`: the directories of the config and its embedded files, watched non-recursively
/// (an editor that saves by renaming a new file over the old one replaces the file, which a
/// watch on the file itself would lose), with events for other files in them ignored.
struct Watcher {
    inner: notify::RecommendedWatcher,
    files: Arc<Mutex<HashSet<PathBuf>>>,
    dirs: HashSet<PathBuf>,
}

impl Watcher {
    /// Watches `files`, sending on `changes` when one of them changes; `None` (with a message)
    /// when the platform's watcher cannot start.
    fn start(files: &[PathBuf], changes: UnboundedSender<()>) -> Option<Watcher> {
        let watched = Arc::new(Mutex::new(HashSet::new()));
        let filter = watched.clone();
        let handler = move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            // Reading the files (a reload does) must not trigger a reload, nor must metadata.
            if matches!(
                event.kind,
                notify::EventKind::Access(_) | notify::EventKind::Modify(notify::event::ModifyKind::Metadata(_))
            ) {
                return;
            }
            let files = filter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if event.paths.iter().filter_map(|path| watch_key(path)).any(|key| files.contains(&key)) {
                let _ = changes.send(());
            }
        };
        let inner = match notify::recommended_watcher(handler) {
            Ok(inner) => inner,
            Err(e) => {
                tracing::warn!("nanod: --watch: cannot watch files: {e}");
                return None;
            }
        };
        let mut watcher = Watcher { inner, files: watched, dirs: HashSet::new() };
        watcher.set_files(files);
        Some(watcher)
    }

    /// Watches `files` from now on (after a reload, which may embed others).
    fn set_files(&mut self, files: &[PathBuf]) {
        use notify::Watcher as _;
        let keys: HashSet<PathBuf> = files.iter().filter_map(|file| watch_key(file)).collect();
        let dirs: HashSet<PathBuf> = keys.iter().filter_map(|key| key.parent().map(Path::to_owned)).collect();
        for dir in dirs.difference(&self.dirs) {
            if let Err(e) = self.inner.watch(dir, notify::RecursiveMode::NonRecursive) {
                tracing::warn!("nanod: --watch: cannot watch {}: {e}", dir.display());
            }
        }
        for dir in self.dirs.difference(&dirs) {
            let _ = self.inner.unwatch(dir);
        }
        self.dirs = dirs;
        *self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
    }
}

/// A file's name as events report it: its directory canonical (events name the watched
/// directory as it was given), its own name as is (it may not exist right now).
fn watch_key(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let name = absolute.file_name()?;
    Some(absolute.parent()?.canonicalize().ok()?.join(name))
}

/// This thread's drain state and its count of work to finish.
#[derive(Default)]
struct ThreadState {
    draining: Cell<bool>,
    drain: Notify,
    busy: Cell<usize>,
    idle: Notify,
}

thread_local! {
    static THREAD: Rc<ThreadState> = Rc::new(ThreadState::default());
}

fn state() -> Rc<ThreadState> {
    THREAD.with(Rc::clone)
}

/// Work a draining thread waits for (an accept loop, a connection, a `waitUntil` task), for as
/// long as the guard lives. Make it before spawning the task it stands for, so that no moment
/// passes in which the work exists uncounted.
pub struct Busy(Rc<ThreadState>);

/// Counts one piece of this thread's work until the guard is dropped.
pub fn busy() -> Busy {
    let state = state();
    state.busy.set(state.busy.get() + 1);
    Busy(state)
}

impl Drop for Busy {
    fn drop(&mut self) {
        let left = self.0.busy.get().saturating_sub(1);
        self.0.busy.set(left);
        if left == 0 {
            self.0.idle.notify_one();
        }
    }
}

/// Resolves once this thread has started draining (at once if it has).
pub async fn draining() {
    let state = state();
    loop {
        let notified = state.drain.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if state.draining.get() {
            return;
        }
        notified.await;
    }
}

/// Starts this thread's drain: [`draining`] resolves everywhere on it.
pub(crate) fn start_drain() {
    let state = state();
    state.draining.set(true);
    state.drain.notify_waiters();
}

/// Resolves once no [`Busy`] guard of this thread is left.
pub(crate) async fn idle() {
    let state = state();
    while state.busy.get() > 0 {
        state.idle.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(services: &str, sockets: &str) -> Config {
        let source = format!(
            r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = ( services = [{services}], sockets = [{sockets}] );"#
        );
        nanod_config::parse_capnp(Path::new("t.capnp"), &source, None).unwrap()
    }

    fn worker(name: &str, body: &str) -> String {
        format!(
            r#"(name = "{name}", worker = (modules = [(name = "w.js", esModule = "export default {{ fetch() {{ return new Response('{body}'); }} }};")], compatibilityDate = "2024-09-01"))"#
        )
    }

    #[test]
    fn a_reload_names_changed_added_and_removed_services_and_socket_changes() {
        let socket = r#"(name = "http", address = "127.0.0.1:1", http = (), service = "a")"#;
        let old = config(&[worker("a", "A"), worker("b", "B"), worker("c", "C")].join(", "), socket);
        // `a` only moves (positions do not count), `b` changes its source, `c` goes, `d` comes.
        let new = config(&[worker("d", "D"), worker("b", "B2"), worker("a", "A")].join(",\n  "), socket);
        let (_, found) = diff(&old, new);
        assert_eq!(
            found,
            Diff { changed: vec!["d".to_owned(), "b".to_owned(), "c".to_owned()], unchanged: 1, sockets: vec![] }
        );

        let sockets = [
            r#"(name = "http", address = "127.0.0.1:2", http = (), service = "a")"#,
            r#"(name = "admin", address = "127.0.0.1:3", http = (), service = "a")"#,
        ];
        let new = config(&worker("a", "A"), &sockets.join(", "));
        let (_, found) = diff(&config(&worker("a", "A"), socket), new);
        assert_eq!(found.sockets, ["http (changed)", "admin (added)"]);
        let (_, found) = diff(&config(&worker("a", "A"), &sockets.join(", ")), config(&worker("a", "A"), ""));
        assert_eq!(found.sockets, ["http (removed)", "admin (removed)"]);
        assert_eq!((found.changed.len(), found.unchanged), (0, 1));
    }

    #[test]
    fn a_thread_drains_when_its_last_busy_guard_goes() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            let work = busy();
            let (done, mut finished) = tokio::sync::oneshot::channel::<()>();
            tokio::task::spawn_local(async move {
                draining().await;
                // Work that notices the drain ends a little later, as a connection does.
                tokio::time::sleep(Duration::from_millis(20)).await;
                drop(work);
                let _ = done.send(());
            });
            tokio::task::yield_now().await;
            assert!(tokio::time::timeout(Duration::from_millis(30), idle()).await.is_err(), "busy before the drain");
            start_drain();
            tokio::time::timeout(Duration::from_secs(5), idle()).await.expect("idle after the drain");
            assert!(finished.try_recv().is_ok());
            // Once draining, it stays so.
            tokio::time::timeout(Duration::from_secs(1), draining()).await.expect("still draining");
        });
    }

    #[test]
    fn watch_keys_match_however_the_path_is_spelled() {
        let dir = std::env::temp_dir().join(format!("nanod-watch-key-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let direct = watch_key(&dir.join("w.js")).unwrap();
        assert_eq!(watch_key(&dir.join("sub/../w.js")).unwrap(), direct);
        assert_eq!(direct.parent().unwrap(), dir.canonicalize().unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
