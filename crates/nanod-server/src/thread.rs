//! Thread-per-core: each event-loop thread is a tokio current-thread runtime plus a `LocalSet`
//! that accepts on every socket and owns its own isolates. Nothing is shared between threads
//! but the immutable [`Prepared`] config and bytecode.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use nanod_js::JsException;
use nanod_web::body::Body;

use crate::http::SocketSettings;
use crate::prepare::{Prepared, PreparedService};
use crate::service::worker::WorkerService;
use crate::socket::{listen, BoundSocket};
use crate::ServerError;

/// This thread's view of every service.
pub struct ThreadServices {
    prepared: Arc<Prepared>,
    workers: RefCell<HashMap<String, Rc<WorkerService>>>,
    this: Weak<ThreadServices>,
}

impl ThreadServices {
    pub fn new(prepared: Arc<Prepared>) -> Rc<ThreadServices> {
        Rc::new_cyclic(|this| ThreadServices { prepared, workers: RefCell::new(HashMap::new()), this: this.clone() })
    }

    /// Hands `request` (with an absolute URI) to service `name` on this thread.
    pub async fn dispatch(
        &self,
        name: &str,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, JsException> {
        match self.prepared.services.get(name) {
            Some(PreparedService::Worker(prepared)) => {
                let existing = self.workers.borrow().get(name).cloned();
                let worker = existing.unwrap_or_else(|| {
                    let worker = Rc::new(WorkerService::new(prepared.clone(), self.this.clone()));
                    self.workers.borrow_mut().insert(name.to_owned(), worker.clone());
                    worker
                });
                worker.fetch(request).await
            }
            Some(PreparedService::Disk(disk)) => disk.clone().fetch(request).await,
            Some(PreparedService::Network(network)) => network.fetch(request).await,
            Some(PreparedService::External(external)) => external.fetch(request).await,
            Some(PreparedService::Unimplemented { kind }) => {
                Err(JsException::error(format!("service \"{name}\" is a {kind} service, which nanod cannot serve yet")))
            }
            None => Err(JsException::error(format!("no service named \"{name}\""))),
        }
    }

    /// This thread's service for Worker `name` (made on first use; its isolate starts on its
    /// first call); `None` if `name` is not a Worker. For named entrypoints and JS RPC.
    pub fn worker(&self, name: &str) -> Option<Rc<WorkerService>> {
        let Some(PreparedService::Worker(prepared)) = self.prepared.services.get(name) else { return None };
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

/// Starts `threads` event-loop threads and waits for them.
pub fn run(prepared: Arc<Prepared>, sockets: Vec<BoundSocket>, threads: usize) -> Result<(), ServerError> {
    // Thread 0 takes the listeners bound at start-up; the others open their own on the same
    // addresses (SO_REUSEPORT).
    let plan: Vec<(Arc<SocketSettings>, Vec<std::net::SocketAddr>)> =
        sockets.iter().map(|s| (s.settings.clone(), s.addrs())).collect();
    let mut first: Option<Vec<(Arc<SocketSettings>, std::net::TcpListener)>> =
        Some(sockets.into_iter().flat_map(|s| s.listeners.into_iter().map(move |l| (s.settings.clone(), l))).collect());
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
                            Err(e) => eprintln!("nanod: thread {index}: cannot listen on {addr}: {e}"),
                        }
                    }
                }
                own
            }
        };
        let prepared = prepared.clone();
        let handle = std::thread::Builder::new()
            .name(format!("nanod-{index}"))
            .stack_size(8 << 20)
            .spawn(move || thread_main(prepared, listeners))
            .map_err(ServerError::Thread)?;
        handles.push(handle);
    }
    for handle in handles {
        let _ = handle.join();
    }
    Ok(())
}

fn thread_main(prepared: Arc<Prepared>, listeners: Vec<(Arc<SocketSettings>, std::net::TcpListener)>) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nanod: cannot start an event loop: {e}");
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
                    eprintln!("nanod: cannot register a listener: {e}");
                    continue;
                }
            };
            tokio::task::spawn_local(crate::http::accept_loop(listener, services.clone(), settings));
        }
        std::future::pending::<()>().await;
    });
}
