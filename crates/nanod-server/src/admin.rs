//! The admin socket (`nanod serve --admin ADDR`, off by default): `GET /metrics` (OpenMetrics
//! text, see [`crate::metrics`]), `GET /healthz` (200 while the process runs) and `GET /readyz`
//! (200 while serving, 503 before and while draining). Anything else is a 404.
//!
//! It runs on a thread of its own (a current-thread tokio runtime with hyper HTTP/1.1), not on
//! the event-loop threads, so it answers while they are busy running JS; `/metrics` waits for
//! their isolate snapshots at most [`crate::metrics::SNAPSHOT_TIMEOUT`].

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::{metrics, Server};

/// Turns metrics on for `server`'s services, binds `addr` and starts the admin thread; returns
/// the bound address (port 0 resolved).
pub fn start(server: &Server, addr: &str) -> std::io::Result<SocketAddr> {
    let addr: SocketAddr = addr.parse().map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("--admin: \"{addr}\" is not an IP:port address"))
    })?;
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    metrics::enable(server.prepared.services.keys().map(String::as_str));
    std::thread::Builder::new().name("nanod-admin".to_owned()).spawn(move || serve(listener))?;
    Ok(local)
}

fn serve(listener: std::net::TcpListener) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("nanod: admin socket: cannot start its event loop: {e}");
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => {
                tracing::error!("nanod: admin socket: {e}");
                return;
            }
        };
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("nanod: admin socket: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            tokio::task::spawn_local(async move {
                let service = service_fn(|request: hyper::Request<Incoming>| async move {
                    Ok::<_, Infallible>(route(request.method(), request.uri().path()).await)
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
}

async fn route(method: &Method, path: &str) -> http::Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    match path {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if metrics::ready() => text(StatusCode::OK, "ready\n"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        "/metrics" => match metrics::render().await {
            Some(body) => {
                let mut response = http::Response::new(Full::new(Bytes::from(body)));
                response.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static(metrics::CONTENT_TYPE));
                response
            }
            None => text(StatusCode::INTERNAL_SERVER_ERROR, "metrics are off\n"),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn text(status: StatusCode, body: &'static str) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
