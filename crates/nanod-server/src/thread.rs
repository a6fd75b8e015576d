//! Thread-per-core: each event-loop thread is a tokio current-thread runtime plus a `LocalSet`
//! that accepts on every socket and owns its own isolates. Nothing is shared between threads
//! but the immutable [`Prepared`] config and bytecode.
//!
//! Each thread also listens on its own [`Control`] channel: a reload swaps the thread's
//! [`Prepared`] and drops its state of the services that changed (requests in flight keep the
//! old `Rc<WorkerService>` until they finish), and a drain stops the accept loops, waits for
//! this thread's [`Busy`](crate::lifecycle::Busy) work and ends the thread (see
//! [`crate::lifecycle`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use nanod_js::JsException;
use nanod_web::body::Body;

use crate::http::SocketSettings;
use crate::lifecycle::{Control, Generation};
use crate::prepare::{Prepared, PreparedService};
use crate::service::worker::WorkerService;
use crate::socket::{listen, BoundSocket};
use crate::ServerError;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A thread's handle on the config it serves: a request holds it (the config it started
/// under) through an `Rc`, without touching the count of the `Arc` every thread shares.
struct Serving(Arc<Prepared>);

impl std::ops::Deref for Serving {
    type Target = Prepared;
    fn deref(&self) -> &Prepared {
        &self.0
    }
}

/// This thread's view of every service.
pub struct ThreadServices {
    /// The config being served; a reload replaces it.
    prepared: RefCell<Rc<Serving>>,
    workers: RefCell<HashMap<String, Rc<WorkerService>>>,
    this: Weak<ThreadServices>,
}

impl ThreadServices {
    pub fn new(prepared: Arc<Prepared>) -> Rc<ThreadServices> {
        Rc::new_cyclic(|this| ThreadServices {
            prepared: RefCell::new(Rc::new(Serving(prepared))),
            workers: RefCell::new(HashMap::new()),
            this: this.clone(),
        })
    }

    /// The config being served now.
    fn prepared(&self) -> Rc<Serving> {
        self.prepared.borrow().clone()
    }

    /// Serves `generation` from now on: services it names as changed lose their state on this
    /// thread (their next request starts a new isolate); the others keep theirs.
    pub(crate) fn switch(&self, generation: &Generation) {
        *self.prepared.borrow_mut() = Rc::new(Serving(generation.prepared.clone()));
        self.workers.borrow_mut().retain(|name, _| !generation.changed.contains(name));
    }

    /// Hands `request` (with an absolute URI) to service `name` on this thread.
    pub async fn dispatch(
        &self,
        name: &str,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, JsException> {
        // Every request to a service, from a socket or a binding, is counted here (with
        // metrics off, `start` is one atomic load).
        let started = crate::metrics::start(name);
        let outcome = match self.prepared().services.get(name) {
            Some(PreparedService::Worker(prepared)) => {
                let existing = self.workers.borrow().get(name).cloned();
                let worker = existing.unwrap_or_else(|| {
                    let worker = Rc::new(WorkerService::new(prepared.clone(), self.this.clone()));
                    self.workers.borrow_mut().insert(name.to_owned(), worker.clone());
                    worker
                });
                worker.fetch(request).await
            }
            // Boxed: these futures are larger than a Worker's (a network fetch's is ~4 KiB), and
            // every request's future, a Worker's too, would be as large as the largest arm,
            // copied whole as it moves up the call chain.
            Some(PreparedService::Disk(disk)) => Box::pin(disk.clone().fetch(request)).await,
            Some(PreparedService::Network(network)) => Box::pin(network.fetch(request)).await,
            Some(PreparedService::External(external)) => Box::pin(external.fetch(request)).await,
            Some(PreparedService::Unimplemented { kind }) => {
                Err(JsException::error(format!("service \"{name}\" is a {kind} service, which nanod cannot serve yet")))
            }
            None => Err(JsException::error(format!("no service named \"{name}\""))),
        };
        crate::metrics::finish(started, &outcome);
        outcome
    }

    /// This thread's service for Worker `name` (made on first use; its isolate starts on its
    /// first call); `None` if `name` is not a Worker. For named entrypoints and JS RPC.
    pub fn worker(&self, name: &str) -> Option<Rc<WorkerService>> {
        let current = self.prepared();
        let Some(PreparedService::Worker(prepared)) = current.services.get(name) else { return None };
        let existing = self.workers.borrow().get(name).cloned();
        Some(existing.unwrap_or_else(|| {
            let worker = Rc::new(WorkerService::new(prepared.clone(), self.this.clone()));
            self.workers.borrow_mut().insert(name.to_owned(), worker.clone());
            worker
        }))
    }

    /// The worker services this thread has started, for diagnostics.
    pub fn started_workers(&self) -> usize {
        self.workers.borrow().len()
    }
}

/// The running event-loop threads, as the control side sees them.
pub(crate) struct Threads {
    /// One channel per thread, in thread order.
    pub controls: Vec<UnboundedSender<Control>>,
    /// Receives a thread's index when it ends (however it ends).
    pub exited: UnboundedReceiver<usize>,
    pub count: usize,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Threads {
    /// Waits for every thread to end (they end only when drained).
    pub fn join(self) {
        for handle in self.handles {
            let _ = handle.join();
        }
    }
}

/// Starts `threads` event-loop threads serving `prepared` on `sockets`.
pub(crate) fn spawn(
    prepared: Arc<Prepared>,
    sockets: Vec<BoundSocket>,
    threads: usize,
) -> Result<Threads, ServerError> {
    // Thread 0 takes the listeners bound at start-up; the others open their own on the same
    // addresses (SO_REUSEPORT).
    let plan: Vec<(Arc<SocketSettings>, Vec<std::net::SocketAddr>)> =
        sockets.iter().map(|s| (s.settings.clone(), s.addrs())).collect();
    let mut first: Option<Vec<(Arc<SocketSettings>, std::net::TcpListener)>> =
        Some(sockets.into_iter().flat_map(|s| s.listeners.into_iter().map(move |l| (s.settings.clone(), l))).collect());
    let (exit_notices, exited) = unbounded_channel();
    let mut controls = Vec::new();
    let mut handles = Vec::new();
    for index in 0..threads {
        let listeners = match first.take() {
            Some(listeners) => listeners,
            None => {
                let mut own = Vec::new();
                for (settings, addrs) in &plan {
                    for addr in addrs {
                        match listen(*addr) {
                            Ok(l) => own.push((settings.clone(), l)),
                            Err(e) => tracing::error!("nanod: thread {index}: cannot listen on {addr}: {e}"),
                        }
                    }
                }
                own
            }
        };
        let prepared = prepared.clone();
        let (control, receiver) = unbounded_channel();
        let notice = ExitNotice { index, to: exit_notices.clone() };
        let handle = std::thread::Builder::new()
            .name(format!("nanod-{index}"))
            .stack_size(8 << 20)
            .spawn(move || {
                let _notice = notice;
                thread_main(prepared, listeners, receiver)
            })
            .map_err(ServerError::Thread)?;
        controls.push(control);
        handles.push(handle);
    }
    Ok(Threads { controls, exited, count: threads, handles })
}

/// Tells the control side that a thread ended, when dropped: also when the thread panicked.
struct ExitNotice {
    index: usize,
    to: UnboundedSender<usize>,
}

impl Drop for ExitNotice {
    fn drop(&mut self) {
        let _ = self.to.send(self.index);
    }
}

fn thread_main(
    prepared: Arc<Prepared>,
    listeners: Vec<(Arc<SocketSettings>, std::net::TcpListener)>,
    mut control: UnboundedReceiver<Control>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("nanod: cannot start an event loop: {e}");
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let services = ThreadServices::new(prepared);
        for (settings, listener) in listeners {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!("nanod: cannot register a listener: {e}");
                    continue;
                }
            };
            tokio::task::spawn_local(crate::http::accept_loop(listener, services.clone(), settings));
        }
        while let Some(message) = control.recv().await {
            match message {
                Control::Reload(generation) => services.switch(&generation),
                Control::Drain => {
                    crate::lifecycle::start_drain();
                    crate::lifecycle::idle().await;
                    return;
                }
            }
        }
        // No control side (a server run without a lifecycle): serve until the process ends.
        std::future::pending::<()>().await;
    });
}
