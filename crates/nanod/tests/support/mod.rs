//! Test support: start the real `nanod` binary on 127.0.0.1 and talk raw HTTP/1.1 to it.
//!
//! The client is deliberately small and exact (no connection pooling, no retries), so tests
//! see what went over the wire: status line, headers, chunking, `100 Continue`.

#![allow(dead_code)]

pub mod test_ca;
pub mod tls_upstream;
pub mod upstream;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn nanod() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nanod"))
}

/// A fresh directory for one test's config files.
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let dir = std::env::temp_dir().join(format!("nanod-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test dir");
        TestDir(dir)
    }
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, content).expect("write fixture");
        path
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `nanod serve`, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Serves `config` with its `http` socket on an ephemeral loopback port.
    pub fn start(config: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(config, extra, &[])
    }

    pub fn start_with_env(config: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = nanod();
        command.arg("serve").arg(config).arg("--socket-addr").arg("http=127.0.0.1:0").args(extra);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn nanod");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // Anywhere in the line: under `--log-format json` it is a JSON object's message.
                const LISTENING: &str = "nanod: listening on http=127.0.0.1:";
                if let Some(at) = line.find(LISTENING) {
                    let rest = &line[at + LISTENING.len()..];
                    let digits = rest.find(|c: char| !c.is_ascii_digit()).map_or(rest, |end| &rest[..end]);
                    if let (Some(tx), Ok(port)) = (port_tx.take(), digits.parse::<u16>()) {
                        let _ = tx.send(port);
                    }
                }
                let mut log = sink.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let port = match port_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                panic!("nanod did not start; stderr:\n{}", log.lock().expect("log").clone());
            }
        };
        Server { child, port, stderr: log }
    }

    /// The server's process id (to send it a signal).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything nanod wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("log lock").clone()
    }

    /// Waits until stderr contains `needle` (logs are written asynchronously).
    pub fn wait_for_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.stderr();
            if log.contains(needle) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn connect(&self) -> Conn {
        Conn::open(self.port)
    }

    /// One request on a fresh connection.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
        self.connect().request(method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], None)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        Conn { reader: BufReader::new(stream) }
    }

    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write");
    }

    pub fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: example.com\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        self.write_raw(head.as_bytes());
        if let Some(body) = body {
            self.write_raw(body);
        }
        self.read_response(method == "HEAD")
    }

    /// Reads a status line and headers only.
    pub fn read_head(&mut self) -> (u16, Vec<(String, String)>) {
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).expect("status line");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("header line");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        (status, headers)
    }

    /// Reads one chunk of a chunked body; `None` at the last chunk.
    pub fn read_chunk(&mut self) -> Option<Vec<u8>> {
        let mut size_line = String::new();
        self.reader.read_line(&mut size_line).expect("chunk size");
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16).expect("hex size");
        let mut chunk = vec![0; size];
        self.reader.read_exact(&mut chunk).expect("chunk");
        let mut crlf = [0; 2];
        self.reader.read_exact(&mut crlf).expect("crlf");
        if size == 0 {
            None
        } else {
            Some(chunk)
        }
    }

    pub fn read_response(&mut self, head_only: bool) -> Response {
        let (status, headers) = self.read_head();
        let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let chunked = find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let mut body = Vec::new();
        if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        } else if chunked {
            while let Some(chunk) = self.read_chunk() {
                body.extend_from_slice(&chunk);
            }
        } else if let Some(length) = find("content-length") {
            body = vec![0; length.parse().expect("content-length")];
            self.reader.read_exact(&mut body).expect("body");
        } else {
            self.reader.read_to_end(&mut body).expect("body to end");
        }
        Response { status, headers, body, chunked }
    }
}

/// Writes a one-Worker config (`main`, module `w.js` = `module`, socket `http`) into `dir`;
/// returns the config's path.
pub fn single_worker(dir: &TestDir, module: &str) -> PathBuf {
    dir.write("w.js", module);
    dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2024-09-01"))],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);"#,
    )
}

/// The directory of the repository's examples.
pub fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(path)
}
