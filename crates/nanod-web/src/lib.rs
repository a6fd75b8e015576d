//! nanod-web: the web platform APIs, as native classes registered into an isolate.
//!
//! One module per spec object, named after it. Every global is listed once in [`GLOBALS`] and
//! installed lazily (see `nanod_js::globals`): an isolate pays for a class only when its code
//! first reads the global. The code is shared by every isolate; only the few pieces that must be
//! JavaScript live in `js/`, compiled to bytecode once per process (see [`glue`]).
//!
//! This crate opens no socket and no file. Outbound requests leave an isolate only through a
//! [`fetcher::FetchTarget`] handed in by the embedder.

pub mod abort;
pub mod base64;
pub mod blob;
pub mod body;
pub mod buffer_source;
pub mod builtin_modules;
pub mod compat;
pub mod compression;
pub mod console;
pub mod crypto;
pub mod encoding;
pub mod event;
pub mod event_target;
pub mod fetcher;
pub mod file;
pub mod form_data;
pub mod glue;
pub mod headers;
pub mod mime;
pub mod navigator;
pub mod redirect;
pub mod request;
pub mod response;
pub mod rpc;
pub mod streams;
pub mod structured_clone;
pub mod timers;
pub mod url;
pub mod url_pattern;
pub mod url_search_params;
pub mod webidl;

use nanod_js::globals::{define_lazy, Install};
use rquickjs::Ctx;

/// Globals that are plain functions: installed eagerly, since a function costs less than the
/// getter/setter pair that would install it lazily.
pub const FUNCTIONS: &[(&str, Install)] = &[
    ("setTimeout", timers::install_set_timeout),
    ("setInterval", timers::install_set_interval),
    ("clearTimeout", timers::install_clear_timer),
    ("clearInterval", timers::install_clear_timer),
    ("queueMicrotask", timers::install_queue_microtask),
    ("fetch", fetcher::install_fetch),
    ("structuredClone", structured_clone::install),
    ("atob", base64::install_atob),
    ("btoa", base64::install_btoa),
];

/// Globals that are classes or objects: installed lazily, on first read.
pub const GLOBALS: &[(&str, Install)] = &[
    ("console", console::install),
    ("Headers", headers::install),
    ("Request", request::install),
    ("Response", response::install),
    ("ReadableStream", streams::install_readable_stream),
    ("ReadableStreamDefaultReader", streams::install_reader),
    ("WritableStream", streams::install_writable_stream),
    ("TransformStream", streams::install_transform_stream),
    ("IdentityTransformStream", streams::install_identity_transform_stream),
    ("ReadableStreamBYOBReader", streams::install_byob_reader),
    ("ReadableStreamBYOBRequest", streams::install_byob_request),
    ("ReadableStreamDefaultController", streams::install_default_controller),
    ("ReadableByteStreamController", streams::install_byte_controller),
    ("WritableStreamDefaultWriter", streams::install_writer),
    ("WritableStreamDefaultController", streams::install_writable_controller),
    ("TransformStreamDefaultController", streams::install_transform_controller),
    ("TextEncoderStream", streams::install_text_encoder_stream),
    ("TextDecoderStream", streams::install_text_decoder_stream),
    ("CompressionStream", compression::install_compression_stream),
    ("DecompressionStream", compression::install_decompression_stream),
    ("URL", url::install),
    ("URLSearchParams", url_search_params::install),
    ("URLPattern", url_pattern::install),
    ("TextEncoder", encoding::install_text_encoder),
    ("TextDecoder", encoding::install_text_decoder),
    ("Event", event::install_event),
    ("CustomEvent", event::install_custom_event),
    ("EventTarget", event_target::install),
    ("AbortController", abort::install_abort_controller),
    ("AbortSignal", abort::install_abort_signal),
    ("navigator", navigator::install),
    ("crypto", crypto::install_crypto),
    ("CryptoKey", crypto::install_crypto_key),
    ("SubtleCrypto", crypto::install_subtle_crypto),
    ("Blob", blob::install),
    ("File", file::install),
    ("FormData", form_data::install),
];

/// Installs every web global on the isolate's global object ([`GLOBALS`] lazily), less those
/// the isolate's compatibility flags ([`compat`]) leave out: `navigator` before
/// `global_navigator`.
pub fn install_globals(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    for &(name, install) in FUNCTIONS {
        globals.prop(name, rquickjs::object::Property::from(install(ctx)?).writable().configurable())?;
    }
    define_lazy(ctx, &globals, GLOBALS)?;
    if !compat::enabled(ctx, compat::GLOBAL_NAVIGATOR) {
        globals.remove("navigator")?;
    }
    Ok(())
}

#[doc(hidden)]
pub mod testing;
