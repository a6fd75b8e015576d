//! The `disk` service end to end: reading files and listings, confinement to the root (every
//! traversal attempt is `404` and a file outside stays untouched), dotfiles, atomic `PUT`,
//! `DELETE`, read-only statuses, and a Worker reaching a disk through a service binding. Statuses
//! and bodies were checked against workerd; where nanod is stricter (symlinks leaving the root,
//! `..` segments) the test says so.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Server, TestDir};

const OUTSIDE: &str = "outside, must stay";

/// A test dir holding `root/` (served), `outside.txt` and `outside_dir/secret.txt` next to it, and
/// symlinks from the root to both.
fn fixture(name: &str) -> TestDir {
    let dir = TestDir::new(name);
    dir.write("root/a.txt", "hello");
    dir.write("root/sub/b.txt", "in sub");
    dir.write("root/.hidden", "dotfile");
    dir.write("root/.dotdir/f.txt", "in a dot-directory");
    dir.write("root/empty/.keep", "");
    dir.write("ro/r.txt", "read only");
    dir.write("outside.txt", OUTSIDE);
    dir.write("outside_dir/secret.txt", OUTSIDE);
    std::os::unix::fs::symlink("../outside.txt", dir.path("root/link_out")).expect("symlink");
    std::os::unix::fs::symlink("../outside_dir", dir.path("root/dir_out")).expect("symlink");
    std::os::unix::fs::symlink("a.txt", dir.path("root/link_in")).expect("symlink");
    dir
}

fn config(dir: &TestDir, service: &str) -> std::path::PathBuf {
    let root = dir.path("root");
    let ro = dir.path("ro");
    let text = format!(
        r#"
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "rw", disk = (path = "{root}", writable = true)),
    (name = "dots", disk = (path = "{root}", allowDotfiles = true)),
    (name = "ro", disk = (path = "{ro}")),
    (name = "worker", worker = (
      modules = [(name = "main.js", esModule = embed "main.js")],
      compatibilityDate = "2024-09-01",
      bindings = [(name = "FILES", service = "rw")],
    )),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "{service}")],
);
"#,
        root = root.display(),
        ro = ro.display(),
    );
    dir.write("main.js", WORKER);
    dir.write(&format!("{service}.capnp"), &text)
}

const WORKER: &str = r#"
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    const init = { method: request.method };
    if (request.method === "PUT") init.body = await request.text();
    const response = await env.FILES.fetch("http://files" + path, init);
    return new Response(`${response.status} ${response.headers.get("content-type")} ${await response.text()}`);
  },
};
"#;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("<{e}>"))
}

/// Names in `dir`, sorted, dotfiles included.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_outside_untouched(dir: &TestDir) {
    assert_outside_untouched_except_config(dir, "rw.capnp");
}

#[test]
fn get_head_and_listing() {
    let dir = fixture("get");
    let server = Server::start(&config(&dir, "rw"), &[]);

    let file = server.get("/a.txt");
    assert_eq!((file.status, file.text().as_str()), (200, "hello"));
    assert_eq!(file.header("content-type"), Some("application/octet-stream"));
    assert_eq!(file.header("content-length"), Some("5"));
    let modified = file.header("last-modified").expect("last-modified");
    assert!(modified.ends_with(" GMT") && modified.len() == 29, "{modified}");

    let head = server.request("HEAD", "/a.txt", &[], None);
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("content-length"), Some("5"));
    assert_eq!(head.header("content-type"), Some("application/octet-stream"));
    assert!(head.header("last-modified").is_some());

    assert_eq!(server.get("/sub/b.txt").text(), "in sub");
    assert_eq!(server.get("/a%2etxt").text(), "hello", "segments are percent-decoded");
    assert_eq!(server.get("/link_in").text(), "hello", "a symlink inside the root is followed");

    // workerd's listing: sorted, dotfiles left out, symlinks not followed.
    let listing = server.get("/");
    assert_eq!(listing.status, 200);
    assert_eq!(listing.header("content-type"), Some("application/json"));
    assert!(listing.header("last-modified").is_some());
    assert_eq!(
        listing.text(),
        r#"[{"name":"a.txt","type":"file"},{"name":"dir_out","type":"symlink"},{"name":"empty","type":"directory"},{"name":"link_in","type":"symlink"},{"name":"link_out","type":"symlink"},{"name":"sub","type":"directory"}]"#
    );
    assert_eq!(server.get("/sub").text(), r#"[{"name":"b.txt","type":"file"}]"#);
    assert_eq!(server.get("/sub/").text(), r#"[{"name":"b.txt","type":"file"}]"#);
    assert_eq!(server.get("/empty").text(), "[]");

    let missing = server.get("/missing.txt");
    assert_eq!((missing.status, missing.text().as_str()), (404, "Not Found"));
    assert_eq!(missing.header("content-type"), None);
    assert_eq!(server.get("/a.txt/x").status, 404);
}

#[test]
fn large_file_streams_whole() {
    let dir = fixture("large");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path("root/big.bin"), &bytes).expect("write big");
    let server = Server::start(&config(&dir, "rw"), &[]);
    let got = server.get("/big.bin");
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-length"), Some("300000"));
    assert!(got.body == bytes, "body differs");
}

#[test]
fn traversal_is_not_found() {
    let dir = fixture("traversal");
    let server = Server::start(&config(&dir, "rw"), &[]);
    let outside = dir.path("outside.txt");
    let attempts = [
        "/../outside.txt".to_owned(),
        "/sub/../../outside.txt".to_owned(),
        "/%2e%2e/outside.txt".to_owned(),
        "/%2E%2E/outside.txt".to_owned(),
        "/sub/..%2f..%2foutside.txt".to_owned(),
        "/..%2foutside.txt".to_owned(),
        "/.%2e/outside.txt".to_owned(),
        "/%2fetc%2fpasswd".to_owned(),
        format!("/{}", outside.display()),
        format!("/{}", outside.display().to_string().replace('/', "%2f")),
        format!("/{}", outside.display().to_string().trim_start_matches('/').replace('/', "%2f")),
        "/a.txt%00".to_owned(),
        "/a.txt%00.png".to_owned(),
        "/link_out".to_owned(),
        "/dir_out/secret.txt".to_owned(),
        "/dir_out".to_owned(),
        // nanod refuses `..` even when it stays inside (workerd normalizes it away and serves a.txt).
        "/sub/../a.txt".to_owned(),
    ];
    for path in &attempts {
        let got = server.get(path);
        assert_eq!((got.status, got.text().as_str()), (404, "Not Found"), "GET {path}");
        assert_eq!(server.request("HEAD", path, &[], None).status, 404, "HEAD {path}");
        // PUT and DELETE on the symlinks themselves act on the links (checked below).
        let on_link = path == "/link_out" || path == "/dir_out";
        let put = server.request("PUT", path, &[], Some(b"overwritten"));
        if !on_link {
            assert_eq!(put.status, 404, "PUT {path}");
        }
        let delete = server.request("DELETE", path, &[], None);
        if !on_link {
            assert_eq!(delete.status, 404, "DELETE {path}");
        }
        assert_outside_untouched(&dir);
    }
    // A PUT on a symlink replaces the link, a DELETE removes the link: never the target.
    assert!(!dir.path("root/link_out").exists());
    assert!(!dir.path("root/dir_out").exists());
    assert_eq!(names(&dir.path("root")), [".dotdir", ".hidden", "a.txt", "empty", "link_in", "sub"]);
    assert_outside_untouched(&dir);
}

#[test]
fn dotfiles() {
    let dir = fixture("dotfiles");
    let server = Server::start(&config(&dir, "rw"), &[]);
    for path in ["/.hidden", "/.dotdir", "/.dotdir/f.txt", "/%2ehidden", "/empty/.keep"] {
        assert_eq!(server.get(path).status, 404, "GET {path}");
    }
    // Writing a dotfile is refused as workerd does (`403 Unauthorized`).
    let put = server.request("PUT", "/.new", &[], Some(b"x"));
    assert_eq!((put.status, put.text().as_str()), (403, "Unauthorized"));
    assert_eq!(server.request("DELETE", "/.hidden", &[], None).status, 403);
    assert_eq!(server.request("PUT", "/", &[], Some(b"x")).status, 403);
    assert_eq!(read(&dir.path("root/.hidden")), "dotfile");
    assert!(!dir.path("root/.new").exists());
    drop(server);

    let server = Server::start(&config(&dir, "dots"), &[]);
    assert_eq!(server.get("/.hidden").text(), "dotfile");
    assert_eq!(server.get("/.dotdir/f.txt").text(), "in a dot-directory");
    assert!(server
        .get("/")
        .text()
        .starts_with(r#"[{"name":".dotdir","type":"directory"},{"name":".hidden","type":"file"}"#));
    assert_eq!(server.get("/../outside.txt").status, 404);
    assert_eq!(server.get("/link_out").status, 404);
}

#[test]
fn put_get_delete() {
    let dir = fixture("put");
    let server = Server::start(&config(&dir, "rw"), &[]);

    let put = server.request("PUT", "/new/deep/file.txt", &[], Some(b"fresh bytes"));
    assert_eq!((put.status, put.body.len()), (204, 0));
    assert_eq!(server.get("/new/deep/file.txt").text(), "fresh bytes");
    assert_eq!(read(&dir.path("root/new/deep/file.txt")), "fresh bytes");

    assert_eq!(server.request("PUT", "/a.txt", &[], Some(b"replaced")).status, 204);
    assert_eq!(server.get("/a.txt").text(), "replaced");
    assert_eq!(server.request("PUT", "/empty.txt", &[], Some(b"")).status, 204);
    assert_eq!(server.get("/empty.txt").header("content-length"), Some("0"));
    // No temporary file is left beside the written ones.
    assert_eq!(names(&dir.path("root/new/deep")), ["file.txt"]);

    assert_eq!(server.request("DELETE", "/new/deep/file.txt", &[], None).status, 204);
    assert_eq!(server.get("/new/deep/file.txt").status, 404);
    let again = server.request("DELETE", "/new/deep/file.txt", &[], None);
    assert_eq!((again.status, again.text().as_str()), (404, "Not Found"));
    // Deleting a directory removes it with its contents, as workerd does.
    assert_eq!(server.request("DELETE", "/new", &[], None).status, 204);
    assert!(!dir.path("root/new").exists());
    assert_eq!(server.request("POST", "/a.txt", &[], Some(b"x")).status, 501);
    assert_outside_untouched(&dir);
}

#[test]
fn interrupted_put_leaves_nothing() {
    let dir = fixture("atomic");
    let server = Server::start(&config(&dir, "rw"), &[]);
    let before = names(&dir.path("root"));
    for path in ["/partial.txt", "/a.txt", "/sub/new.txt"] {
        let mut conn = server.connect();
        conn.write_raw(
            format!("PUT {path} HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100\r\n\r\n0123456789").as_bytes(),
        );
        std::thread::sleep(Duration::from_millis(200));
        drop(conn);
    }
    // The server notices the closed connection asynchronously.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while names(&dir.path("root")) != before && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(names(&dir.path("root")), before);
    assert_eq!(names(&dir.path("root/sub")), ["b.txt"]);
    assert_eq!(read(&dir.path("root/a.txt")), "hello", "the old file is kept whole");
    assert_eq!(server.get("/a.txt").text(), "hello");
}

#[test]
fn read_only_statuses() {
    let dir = fixture("readonly");
    let server = Server::start(&config(&dir, "ro"), &[]);
    assert_eq!(server.get("/r.txt").text(), "read only");
    for (method, path) in [("PUT", "/r.txt"), ("PUT", "/new.txt"), ("DELETE", "/r.txt"), ("DELETE", "/missing")] {
        let got = server.request(method, path, &[], Some(b"x"));
        assert_eq!((got.status, got.text().as_str()), (405, "Method Not Allowed"), "{method} {path}");
    }
    for method in ["POST", "PATCH", "OPTIONS"] {
        let got = server.request(method, "/r.txt", &[], Some(b"x"));
        assert_eq!((got.status, got.text().as_str()), (501, "Not Implemented"), "{method}");
    }
    assert_eq!(names(&dir.path("ro")), ["r.txt"]);
    assert_eq!(read(&dir.path("ro/r.txt")), "read only");
}

#[test]
fn through_a_service_binding() {
    let dir = fixture("binding");
    let server = Server::start(&config(&dir, "worker"), &[]);
    assert_eq!(server.get("/a.txt").text(), "200 application/octet-stream hello");
    assert_eq!(server.get("/sub").text(), r#"200 application/json [{"name":"b.txt","type":"file"}]"#);
    assert_eq!(server.get("/.hidden").text(), "404 null Not Found");
    assert_eq!(server.get("/%2e%2e/outside.txt").text(), "404 null Not Found");
    assert_eq!(server.get("/link_out").text(), "404 null Not Found");
    assert_eq!(server.request("PUT", "/via/worker.txt", &[], Some(b"from js")).text(), "204 null ");
    assert_eq!(read(&dir.path("root/via/worker.txt")), "from js");
    assert_eq!(server.get("/via/worker.txt").text(), "200 application/octet-stream from js");
    assert_eq!(server.request("DELETE", "/via/worker.txt", &[], None).text(), "204 null ");
    assert_eq!(server.request("DELETE", "/via/worker.txt", &[], None).text(), "404 null Not Found");
    assert_outside_untouched_except_config(&dir, "worker.capnp");
}

fn assert_outside_untouched_except_config(dir: &TestDir, config: &str) {
    assert_eq!(read(&dir.path("outside.txt")), OUTSIDE);
    assert_eq!(names(&dir.path("outside_dir")), ["secret.txt"]);
    assert_eq!(read(&dir.path("outside_dir/secret.txt")), OUTSIDE);
    assert_eq!(names(&dir.0), ["main.js", "outside.txt", "outside_dir", "ro", "root", config]);
}
