//! The `disk` service (workerd's `DiskDirectory`): a directory served over HTTP.
//!
//! `GET`/`HEAD` of a file answer `200` with `application/octet-stream`, `Content-Length` and
//! `Last-Modified`; a directory answers a JSON listing (`[{"name":…,"type":…}]`, sorted, as
//! `application/json`). A writable disk takes `PUT` (written to a temporary file in the target's
//! directory, then renamed over it, so readers see the old file or the whole new one) and
//! `DELETE` (recursive for directories, as workerd). Statuses and bodies follow workerd: `404 Not
//! Found`, `403 Unauthorized` for writing a dotfile, `405` for writes to a read-only disk, `501`
//! for any other method.
//!
//! Confinement is the point of this file. The URL path is split on `/` and each segment
//! percent-decoded on its own; a segment that decodes to `.`, `..`, or holds `/`, `\0` or
//! invalid UTF-8 is `404` (workerd normalizes `..` away before it gets here; nanod refuses it).
//! Every path is then resolved with symlinks (`canonicalize`) and must stay under the canonical
//! root, so a symlink pointing outside the root is `404` too (workerd follows such links).
//! Dotfiles and dot-directories are hidden unless `allowDotfiles`.
//!
//! All file-system work runs on tokio's blocking pool (`spawn_blocking`), never on the event
//! loop: the crate's tokio has no `fs` feature. Files up to [`SMALL_FILE`] are read whole; larger
//! ones are streamed in chunks by a blocking task feeding a bounded channel. What this does not
//! do: ranges, conditional requests (`If-Modified-Since`), content types by extension.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LAST_MODIFIED};
use http::{HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use nanod_js::JsException;
use nanod_web::body::Body;

/// Files up to this size are read in one go; larger ones are streamed.
const SMALL_FILE: u64 = 64 * 1024;
/// Chunk size when streaming a file.
const CHUNK: usize = 64 * 1024;

/// Distinguishes temporary files of concurrent `PUT`s within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A disk service, prepared once per process and shared by every thread.
#[derive(Debug)]
pub struct DiskService {
    /// Canonical (absolute, symlink-free) root directory.
    root: PathBuf,
    writable: bool,
    allow_dotfiles: bool,
}

/// What a `GET`/`HEAD` found.
enum Found {
    Nothing,
    Small { bytes: Vec<u8>, modified: Option<SystemTime> },
    Large { file: std::fs::File, len: u64, modified: Option<SystemTime> },
    Head { len: u64, modified: Option<SystemTime> },
    Directory { json: String, modified: Option<SystemTime> },
}

impl DiskService {
    /// Resolves `path` (relative to the working directory, as in workerd) to the root directory.
    pub fn new(path: &str, writable: bool, allow_dotfiles: bool) -> Result<DiskService, String> {
        let root = std::fs::canonicalize(path).map_err(|e| format!("disk directory \"{path}\": {e}"))?;
        if !root.is_dir() {
            return Err(format!("disk directory \"{path}\" is not a directory"));
        }
        Ok(DiskService { root, writable, allow_dotfiles })
    }

    /// Answers one request. Errors are I/O failures other than "not found" (→ `500`).
    pub async fn fetch(self: Arc<Self>, request: http::Request<Body>) -> Result<http::Response<Body>, JsException> {
        let (parts, body) = request.into_parts();
        let method = parts.method;
        let is_read = method == Method::GET || method == Method::HEAD;
        let is_write = method == Method::PUT || method == Method::DELETE;
        if !is_read && !is_write {
            return Ok(plain(StatusCode::NOT_IMPLEMENTED, "Not Implemented"));
        }
        if is_write && !self.writable {
            return Ok(plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"));
        }
        let Some(segments) = parse_path(parts.uri.path()) else {
            return Ok(not_found());
        };
        let hidden = !self.allow_dotfiles && segments.iter().any(|s| s.starts_with('.'));
        if is_read {
            if hidden {
                return Ok(not_found());
            }
            let head = method == Method::HEAD;
            let this = self.clone();
            let found = blocking(move || this.find(&segments, head)).await?;
            return Ok(self.read_response(found));
        }
        // workerd refuses writing dotfiles, and the root itself, with `403 Unauthorized`.
        if hidden || segments.is_empty() {
            return Ok(plain(StatusCode::FORBIDDEN, "Unauthorized"));
        }
        if method == Method::DELETE {
            let this = self.clone();
            return if blocking(move || this.delete(&segments)).await? { Ok(no_content()) } else { Ok(not_found()) };
        }
        self.put(segments, body).await
    }

    /// Joins `segments` under the root, resolves symlinks and checks the result stays inside.
    /// `None` if it does not exist or escapes.
    fn resolve(&self, segments: &[String]) -> std::io::Result<Option<PathBuf>> {
        let mut path = self.root.clone();
        path.extend(segments);
        match std::fs::canonicalize(&path) {
            Ok(real) if real.starts_with(&self.root) => Ok(Some(real)),
            Ok(_) => Ok(None),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn find(&self, segments: &[String], head: bool) -> std::io::Result<Found> {
        let Some(path) = self.resolve(segments)? else { return Ok(Found::Nothing) };
        let meta = std::fs::metadata(&path)?;
        let modified = meta.modified().ok();
        if meta.is_dir() {
            return Ok(Found::Directory { json: self.listing(&path)?, modified });
        }
        if !meta.is_file() {
            // Devices, FIFOs, sockets: reading them could block forever.
            return Ok(Found::Nothing);
        }
        let len = meta.len();
        if head {
            return Ok(Found::Head { len, modified });
        }
        let mut file = std::fs::File::open(&path)?;
        if len > SMALL_FILE {
            return Ok(Found::Large { file, len, modified });
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.read_to_end(&mut bytes)?;
        Ok(Found::Small { bytes, modified })
    }

    /// workerd's listing: entries sorted by name, dotfiles left out unless allowed, symlinks as
    /// `"symlink"` (not followed).
    fn listing(&self, dir: &Path) -> std::io::Result<String> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && !self.allow_dotfiles {
                continue;
            }
            entries.push((name, file_type_name(entry.file_type()?)));
        }
        entries.sort();
        let list: Vec<serde_json::Value> =
            entries.into_iter().map(|(name, kind)| serde_json::json!({ "name": name, "type": kind })).collect();
        Ok(serde_json::Value::Array(list).to_string())
    }

    fn read_response(&self, found: Found) -> http::Response<Body> {
        let (body, len, modified, content_type) = match found {
            Found::Nothing => return not_found(),
            Found::Small { bytes, modified } => {
                let len = bytes.len() as u64;
                (Body::Full(Bytes::from(bytes)), Some(len), modified, "application/octet-stream")
            }
            Found::Head { len, modified } => (Body::Empty, Some(len), modified, "application/octet-stream"),
            Found::Large { file, len, modified } => {
                (stream_file(file), Some(len), modified, "application/octet-stream")
            }
            Found::Directory { json, modified } => (Body::Full(Bytes::from(json)), None, modified, "application/json"),
        };
        let mut response = http::Response::new(body);
        let headers = response.headers_mut();
        if let Some(len) = len {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(date) = modified.and_then(|m| HeaderValue::from_str(&http_date(m)).ok()) {
            headers.insert(LAST_MODIFIED, date);
        }
        response
    }

    /// Removes a file, a symlink (not its target) or a directory tree. `false` if missing.
    fn delete(&self, segments: &[String]) -> std::io::Result<bool> {
        let Some((name, parents)) = segments.split_last() else { return Ok(false) };
        let Some(parent) = self.resolve(parents)? else { return Ok(false) };
        let path = parent.join(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if is_missing(&e) => return Ok(false),
            Err(e) => return Err(e),
        };
        if meta.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
        Ok(true)
    }

    /// Creates the parent directories and a temporary file beside the target.
    fn create_temp(&self, segments: &[String]) -> std::io::Result<Option<(TempFile, PathBuf)>> {
        let Some((name, parents)) = segments.split_last() else { return Ok(None) };
        let mut parent = self.root.clone();
        parent.extend(parents);
        // Refuse before creating anything if an existing ancestor leads outside the root.
        let mut existing = parent.as_path();
        loop {
            match std::fs::canonicalize(existing) {
                Ok(real) if real.starts_with(&self.root) => break,
                Ok(_) => return Ok(None),
                Err(e) if is_missing(&e) => match existing.parent() {
                    Some(up) => existing = up,
                    None => return Ok(None),
                },
                Err(e) => return Err(e),
            }
        }
        std::fs::create_dir_all(&parent)?;
        let Some(parent) = self.resolve(parents)? else { return Ok(None) };
        let count = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = parent.join(format!(".{name}.nanod-{}-{count}.tmp", std::process::id()));
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        Ok(Some((TempFile { path: Some(temp), file: Some(file) }, parent.join(name))))
    }

    async fn put(self: Arc<Self>, segments: Vec<String>, mut body: Body) -> Result<http::Response<Body>, JsException> {
        let this = self.clone();
        let Some((mut temp, target)) = blocking(move || this.create_temp(&segments)).await? else {
            return Ok(not_found());
        };
        // `temp` removes the file when dropped: on a body error, and when this future is dropped
        // because the client went away.
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| JsException::error(format!("disk PUT: reading the body: {e}")))?;
            let Ok(chunk) = frame.into_data() else { continue };
            let Some(file) = temp.file.take() else { break };
            let file = blocking(move || {
                let mut file = file;
                file.write_all(&chunk).map(|()| file)
            })
            .await?;
            temp.file = Some(file);
        }
        blocking(move || temp.commit(&target)).await?;
        Ok(no_content())
    }
}

/// A temporary file being written; deleted on drop unless committed.
struct TempFile {
    path: Option<PathBuf>,
    file: Option<std::fs::File>,
}

impl TempFile {
    /// Flushes the file to disk and renames it over `target`.
    fn commit(mut self, target: &Path) -> std::io::Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        if let Some(path) = &self.path {
            std::fs::rename(path, target)?;
        }
        self.path = None;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.file = None;
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Runs blocking file-system work off the event loop; I/O errors become exceptions (`500`).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, JsException> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(JsException::error(format!("disk service: {e}"))),
        Err(e) => Err(JsException::error(format!("disk service: {e}"))),
    }
}

/// Streams a large file from a blocking task, one chunk in flight beyond the channel.
fn stream_file(mut file: std::fs::File) -> Body {
    let (tx, body) = Body::channel(2);
    tokio::task::spawn_blocking(move || loop {
        let mut buffer = vec![0; CHUNK];
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                buffer.truncate(n);
                if tx.blocking_send(Ok(Bytes::from(buffer))).is_err() {
                    break;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e.into()));
                break;
            }
        }
    });
    body
}

fn is_missing(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory)
}

fn file_type_name(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_block_device() {
            return "blockDevice";
        }
        if kind.is_char_device() {
            return "characterDevice";
        }
        if kind.is_fifo() {
            return "namedPipe";
        }
        if kind.is_socket() {
            return "socket";
        }
    }
    if kind.is_symlink() {
        "symlink"
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_file() {
        "file"
    } else {
        "other"
    }
}

/// Splits a URL path into decoded segments. `None` for anything that could leave the directory
/// or is not a plain name: `.`/`..` (raw or encoded), an encoded `/`, NUL, a bad escape, invalid
/// UTF-8, and an empty segment other than a trailing one (`//etc/passwd` is how an absolute
/// file path arrives).
fn parse_path(path: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    let mut parts = path.strip_prefix('/').unwrap_or(path).split('/').peekable();
    while let Some(raw) = parts.next() {
        if raw.is_empty() {
            if parts.peek().is_some() {
                return None;
            }
            continue;
        }
        let segment = percent_decode(raw)?;
        if segment == "." || segment == ".." || segment.contains(['/', '\\', '\0']) {
            return None;
        }
        segments.push(segment);
    }
    Some(segments)
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), by the `httpdate` crate hyper uses too.
fn http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

fn plain(status: StatusCode, text: &'static str) -> http::Response<Body> {
    let mut response = http::Response::new(Body::Full(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

fn not_found() -> http::Response<Body> {
    plain(StatusCode::NOT_FOUND, "Not Found")
}

fn no_content() -> http::Response<Body> {
    let mut response = http::Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let ok = |p: &str| parse_path(p);
        assert_eq!(ok("/a/b%20c/d/"), Some(vec!["a".into(), "b c".into(), "d".into()]));
        assert_eq!(ok("/"), Some(vec![]));
        assert_eq!(ok("/a%2etxt"), Some(vec!["a.txt".into()]));
        for bad in [
            "/../x",
            "/a/..",
            "/%2e%2e/x",
            "/%2E%2e",
            "/a/..%2f..%2fx",
            "/a%00",
            "/%zz",
            "/%2",
            "/./x",
            "/%ff",
            "//etc/passwd",
            "/a//b",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(http_date(std::time::UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(http_date(t), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
