//! A tiny HTTP/1.1 upstream on a loopback address (127.0.0.0/8 or ::1), started by a test, that records every
//! connection it accepts and every request read on it. A test proves a refused fetch opened
//! no connection by finding the log empty, and a pooled fetch reused one by counting entries.
//! [`Upstream::start_slow`] answers only after a delay and records a connection the client
//! closed meanwhile, so a test proves that an aborted fetch dropped its connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the upstream answers to one request (given as text: head and body): the raw bytes of
/// the response, written as they are.
pub type Responder = dyn Fn(&str) -> Vec<u8> + Send + Sync;

pub struct Upstream {
    pub port: u16,
    /// Per accepted connection: the requests read on it, in order.
    log: Arc<Mutex<Vec<Vec<String>>>>,
    /// Connections (by index) the client closed, with when (only [`Upstream::start_slow`]).
    closed: Arc<Mutex<Vec<(usize, Instant)>>>,
}

impl Upstream {
    /// Answers every request with `201 Created`, `X-Upstream: yes`, body `hello from upstream`,
    /// and closes the connection.
    pub fn start(ip: impl Into<IpAddr>) -> Upstream {
        Upstream::start_with(ip, Arc::new(|_: &str| fixed_response("hello from upstream", true)))
    }

    /// Answers each request with `respond`; a connection stays open for more requests unless
    /// the response says `Connection: close`.
    pub fn start_with(ip: impl Into<IpAddr>, respond: Arc<Responder>) -> Upstream {
        Upstream::listen(ip.into(), move |stream, index, log, _closed| serve_connection(stream, index, log, &*respond))
    }

    /// Like [`Upstream::start_with`], but each response is written only after `delay`, during
    /// which the connection is watched: if the client closes it, that is recorded (see
    /// [`Upstream::wait_closed`]) and nothing is written. Closes after a response are
    /// recorded too.
    pub fn start_slow(ip: impl Into<IpAddr>, delay: Duration, respond: Arc<Responder>) -> Upstream {
        Upstream::listen(ip.into(), move |stream, index, log, closed| {
            serve_slowly(stream, index, log, closed, delay, &*respond)
        })
    }

    /// Listens on `ip` and serves each accepted connection (numbered in the log) on its own
    /// thread with `serve`.
    fn listen(
        ip: IpAddr,
        serve: impl Fn(TcpStream, usize, &Mutex<Vec<Vec<String>>>, &Mutex<Vec<(usize, Instant)>>) + Send + Sync + 'static,
    ) -> Upstream {
        let listener = TcpListener::bind((ip, 0)).expect("bind upstream");
        let port = listener.local_addr().expect("upstream addr").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(Mutex::new(Vec::new()));
        let (sink, closed_sink, serve) = (log.clone(), closed.clone(), Arc::new(serve));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let index = {
                    let mut log = sink.lock().expect("log lock");
                    log.push(Vec::new());
                    log.len() - 1
                };
                let (sink, closed, serve) = (sink.clone(), closed_sink.clone(), serve.clone());
                std::thread::spawn(move || serve(stream, index, &sink, &closed));
            }
        });
        Upstream { port, log, closed }
    }

    /// Waits up to `timeout` until `count` connections were closed by the client; returns when
    /// each close was seen, in order (empty if too few closed in time).
    pub fn wait_closed(&self, count: usize, timeout: Duration) -> Vec<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let closed: Vec<Instant> = self.closed.lock().expect("closed lock").iter().map(|c| c.1).collect();
            if closed.len() >= count {
                return closed;
            }
            if Instant::now() >= deadline {
                return Vec::new();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    /// Each accepted connection's requests, concatenated (one request per connection unless
    /// the responder keeps connections alive).
    pub fn connections(&self) -> Vec<String> {
        self.log.lock().expect("log lock").iter().map(|requests| requests.concat()).collect()
    }

    /// Every request read, across connections, in order of connection then arrival.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().expect("log lock").iter().flatten().cloned().collect()
    }
}

fn serve_connection(stream: TcpStream, index: usize, log: &Mutex<Vec<Vec<String>>>, respond: &Responder) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut reader) else { return };
        log.lock().expect("log lock")[index].push(request.clone());
        let response = respond(&request);
        if reader.get_mut().write_all(&response).is_err() {
            return;
        }
        let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(response.len());
        if String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase().contains("connection: close") {
            return;
        }
    }
}

/// A `201 Created` with `body`; `close` adds `Connection: close`.
pub fn fixed_response(body: &str, close: bool) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nX-Upstream: yes\r\nContent-Length: {}\r\n{connection}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one request: head, then a `Content-Length` or chunked body; `None` at end of stream.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut text = String::new();
    let mut length = 0;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return if text.is_empty() { None } else { Some(text) };
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
        text.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    if chunked {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            if reader.read_exact(&mut chunk).is_err() {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&chunk[..size]));
            if size == 0 {
                break;
            }
        }
    } else {
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_ok() {
            text.push_str(&String::from_utf8_lossy(&body));
        }
    }
    Some(text)
}

fn serve_slowly(
    stream: TcpStream,
    index: usize,
    log: &Mutex<Vec<Vec<String>>>,
    closed: &Mutex<Vec<(usize, Instant)>>,
    delay: Duration,
    respond: &Responder,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let record_close = || closed.lock().expect("closed lock").push((index, Instant::now()));
    loop {
        let Some(request) = read_request(&mut reader) else {
            record_close();
            return;
        };
        log.lock().expect("log lock")[index].push(request.clone());
        let until = Instant::now() + delay;
        let _ = reader.get_ref().set_read_timeout(Some(Duration::from_millis(20)));
        while Instant::now() < until {
            let mut byte = [0u8; 1];
            match reader.get_ref().peek(&mut byte) {
                Ok(0) => {
                    record_close();
                    return;
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => {
                    record_close();
                    return;
                }
            }
        }
        let _ = reader.get_ref().set_read_timeout(Some(Duration::from_secs(10)));
        if reader.get_mut().write_all(&respond(&request)).is_err() {
            record_close();
            return;
        }
    }
}
