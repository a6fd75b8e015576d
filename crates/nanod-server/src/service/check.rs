//! Start-up evaluation: every Worker's code runs once, in a throwaway isolate, before the
//! server accepts a connection. A Worker that throws at the top level or imports a module that
//! does not exist stops start-up with `service NAME: Uncaught ...`, as in workerd; serving
//! isolates are still created lazily, per thread, on first use.
//!
//! Once every Worker has started, each service binding's named entrypoint is checked against
//! its target's exports (`binding::check_entrypoints`), as workerd does at start-up.
//!
//! The Workers are spread over `threads` threads, each with its own event loop, so the check
//! costs start-up time divided by the number of cores.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::prepare::{Prepared, PreparedService};
use crate::service::worker::WorkerService;
use crate::thread::ThreadServices;
use crate::ServerError;

/// Evaluates every Worker of `prepared`; returns the first failure in config order.
pub fn evaluate_all(
    prepared: &Arc<Prepared>,
    order: &[String],
    sockets: &[nanod_config::Socket],
    threads: usize,
) -> Result<(), ServerError> {
    let workers: Vec<&String> =
        order.iter().filter(|name| matches!(prepared.services.get(*name), Some(PreparedService::Worker(_)))).collect();
    if workers.is_empty() {
        return Ok(());
    }
    let threads = threads.clamp(1, workers.len());
    let chunk = workers.len().div_ceil(threads);
    let results: Vec<Result<Exports, (usize, ServerError)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .chunks(chunk)
            .enumerate()
            .map(|(index, names)| {
                let prepared = prepared.clone();
                scope.spawn(move || evaluate_some(prepared, names, index * chunk))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err((0, ServerError::Thread(std::io::Error::other("check thread panicked")))))
            })
            .collect()
    });
    let mut exports = Exports::new();
    let mut first_error: Option<(usize, ServerError)> = None;
    for result in results {
        match result {
            Ok(some) => exports.extend(some),
            Err((position, error)) => {
                if first_error.as_ref().is_none_or(|(first, _)| position < *first) {
                    first_error = Some((position, error));
                }
            }
        }
    }
    match first_error {
        Some((_, error)) => Err(error),
        // Named entrypoints can be checked only once every Worker's exports are known.
        None => crate::binding::check_entrypoints(prepared, order, sockets, &exports),
    }
}

/// Worker name → the names of its exports that can be named entrypoints.
type Exports = HashMap<String, Vec<String>>;

fn evaluate_some(
    prepared: Arc<Prepared>,
    names: &[&String],
    first_position: usize,
) -> Result<Exports, (usize, ServerError)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| (first_position, ServerError::Thread(e)))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let services = ThreadServices::new(prepared.clone());
        let mut exports = Exports::new();
        for (offset, name) in names.iter().enumerate() {
            let Some(PreparedService::Worker(worker)) = prepared.services.get(name.as_str()) else { continue };
            let service = WorkerService::new(worker.clone(), Rc::downgrade(&services));
            match service.start().await {
                Ok(instance) => {
                    exports.insert((*name).clone(), instance.entrypoint_names());
                }
                Err(exception) => {
                    return Err((
                        first_position + offset,
                        ServerError::WorkerStart { service: (*name).clone(), message: exception.to_string() },
                    ))
                }
            }
        }
        Ok(exports)
    })
}
