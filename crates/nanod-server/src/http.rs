//! HTTP/1.1 on hyper: accepting connections, turning hyper requests into the `http::Request`
//! every service takes (absolute URI, streaming body), and a failed Worker into a `500`.

use std::convert::Infallible;
use std::rc::Rc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use nanod_web::body::Body;

use crate::thread::ThreadServices;

/// Accepts connections forever, serving each on this thread.
pub async fn accept_loop(listener: tokio::net::TcpListener, services: Rc<ThreadServices>, service: Rc<str>) {
    let local = listener.local_addr().ok();
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                eprintln!("nanod: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let services = services.clone();
        let service = service.clone();
        let authority = local.map(|a| a.to_string()).unwrap_or_else(|| "localhost".to_owned());
        tokio::task::spawn_local(async move {
            let handler = service_fn(move |request: hyper::Request<Incoming>| {
                let services = services.clone();
                let service = service.clone();
                let authority = authority.clone();
                async move { Ok::<_, Infallible>(handle(&services, &service, request, &authority).await) }
            });
            let _ = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), handler).await;
        });
    }
}

async fn handle(
    services: &ThreadServices,
    service: &str,
    request: hyper::Request<Incoming>,
    authority: &str,
) -> http::Response<Body> {
    let (mut parts, body) = request.into_parts();
    let host = parts.headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or(authority);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match format!("http://{host}{path}").parse() {
        Ok(uri) => uri,
        Err(_) => return plain_response(400, "Bad Request", true),
    };
    let request = http::Request::from_parts(parts, Body::stream(body));
    match services.dispatch(service, request).await {
        Ok(response) => response,
        Err(exception) => {
            eprintln!("{service}: Uncaught {exception}");
            // As workerd: no Content-Type on this 500.
            plain_response(500, "Internal Server Error", false)
        }
    }
}

fn plain_response(status: u16, text: &'static str, content_type: bool) -> http::Response<Body> {
    let mut response = http::Response::new(Body::Full(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if content_type {
        response.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain;charset=UTF-8"));
    }
    response
}
