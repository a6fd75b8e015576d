//! Unit tests of the outbound client against in-process HTTP/1.1 servers on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::*;

/// A keep-alive HTTP/1.1 server answering `ok N` (N = connection number); with `close_after`,
/// it closes each connection after that many responses. Returns its port and accept count.
fn server(close_after: Option<usize>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut served = 0;
                loop {
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let body = format!("ok {n}");
                    let response = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                    if reader.get_mut().write_all(response.as_bytes()).is_err() {
                        return;
                    }
                    served += 1;
                    if close_after == Some(served) {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}

fn run<F: Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    tokio::task::LocalSet::new().block_on(&runtime, future)
}

fn request(port: u16) -> Request<Body> {
    Request::get(format!("http://127.0.0.1:{port}/x")).body(Body::Empty).unwrap()
}

async fn text(response: Response<Body>) -> String {
    String::from_utf8(response.into_body().collect_bytes().await.unwrap().to_vec()).unwrap()
}

fn target(ports: &[u16]) -> Target {
    Target {
        peers: ports.iter().map(|p| Peer(SocketAddr::from(([127, 0, 0, 1], *p)))).collect(),
        server_name: None,
        form: RequestForm::Origin,
    }
}

#[test]
fn sequential_requests_reuse_one_pooled_connection() {
    let (port, accepted) = server(None);
    run(async move {
        let client = Client::new(None, Settings::default());
        for _ in 0..3 {
            let response = client.send(&target(&[port]), request(port)).await.unwrap();
            assert_eq!(text(response).await, "ok 1");
        }
        assert_eq!(pool::counts().0, 1);
        // Another client (another service) does not share the connection.
        let other = Client::new(None, Settings::default());
        assert_eq!(text(other.send(&target(&[port]), request(port)).await.unwrap()).await, "ok 2");
    });
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn a_connection_the_server_closed_is_replaced() {
    let (port, accepted) = server(Some(1));
    run(async move {
        let client = Client::new(None, Settings::default());
        assert_eq!(text(client.send(&target(&[port]), request(port)).await.unwrap()).await, "ok 1");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(text(client.send(&target(&[port]), request(port)).await.unwrap()).await, "ok 2");
    });
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn zero_idle_connections_means_no_reuse() {
    let (port, accepted) = server(None);
    run(async move {
        let client = Client::new(None, Settings { max_idle_per_key: 0, ..Settings::default() });
        for n in 1..=2 {
            assert_eq!(text(client.send(&target(&[port]), request(port)).await.unwrap()).await, format!("ok {n}"));
        }
    });
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn a_refusing_address_is_skipped_for_the_next_one() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (port, _) = server(None);
    run(async move {
        let client = Client::new(None, Settings::default());
        assert_eq!(text(client.send(&target(&[closed, port]), request(port)).await.unwrap()).await, "ok 1");
        let error = client.send(&target(&[closed]), request(closed)).await.unwrap_err();
        assert!(matches!(error, OutboundError::Connect { .. }), "{error}");
    });
}

#[test]
fn https_without_a_tls_config_is_refused() {
    run(async move {
        let client = Client::new(None, Settings::default());
        let mut target = target(&[1]);
        target.server_name = Some(ServerName::try_from("localhost").unwrap());
        assert!(matches!(client.send(&target, request(1)).await, Err(OutboundError::NoTlsConfig)));
    });
}
