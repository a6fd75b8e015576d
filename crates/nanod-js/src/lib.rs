//! nanod-js: isolates on QuickJS-ng (through rquickjs).
//!
//! An [`Isolate`] is one QuickJS `Runtime` + `Context`: its own heap, GC, module map and limits.
//! One exists per Worker per thread, created lazily and then reused for every request that
//! thread serves. This crate owns:
//! - [`bytecode`]: compiling modules once per process and loading them into any isolate
//!   (the crate's only `unsafe`, audited there);
//! - [`loader`]: resolving `import` specifiers against a Worker's module list;
//! - [`isolate`]: entering an isolate, draining its job queue, turning Rust futures into JS
//!   promises without ever holding JS values across an `await`;
//! - [`timers`]: `setTimeout`/`setInterval` backed by the thread's tokio timer wheel;
//! - [`globals`]: lazily installed globals, so an isolate pays only for what its code touches.
//!
//! It does not know HTTP, sockets or any web API: those live in `nanod-web` and `nanod-server`.

pub mod bytecode;
pub mod exception;
pub mod globals;
pub mod isolate;
pub mod limits;
pub mod loader;
pub mod timers;

pub use exception::JsException;
pub use isolate::{
    await_value, current_request, spawn_cancellable, spawn_promise, Cancellable, Isolate, IsolateLimits, OpGuard,
    RequestId, Settle, WeakIsolate, HUNG, MAX_REQUEST_DEPTH,
};
pub use limits::{CpuClock, Exceeded, RequestGuard};
pub use rquickjs;
