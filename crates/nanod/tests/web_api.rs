//! Web API families through the real binary, compared with Node 20.
//!
//! Each `tests/web/<family>.js` is a Worker whose `fetch` exercises one API family and answers
//! with one line per check. `tests/web/<family>.expected` is what the same module answers under
//! Node 20 (`node scripts/node-oracle.mjs tests/web/<family>.js`) and workerd
//! (`scripts/workerd-oracle.sh tests/web/<family>.js`): where the two differ it is workerd's
//! answer, and the module's header comment says which checks those are. This test serves each
//! module with nanod and compares the answer line by line.

mod support;

use std::path::Path;

use support::{Server, TestDir};

fn check_family(family: &str) {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    let module = std::fs::read_to_string(web.join(format!("{family}.js"))).expect("module");
    let expected = std::fs::read_to_string(web.join(format!("{family}.expected"))).expect("expected output");
    let dir = TestDir::new(&format!("web-{family}"));
    let config = support::single_worker(&dir, &module);
    let server = Server::start(&config, &["--threads", "1"]);
    let response = server.get("/");
    assert_eq!(response.status, 200, "{family}: {}\n{}", response.text(), server.stderr());
    let got = response.text();
    let mismatches: Vec<String> = expected
        .lines()
        .zip(got.lines())
        .enumerate()
        .filter(|(_, (want, got))| want != got)
        .map(|(i, (want, got))| format!("line {}: want {want:?}\n         got  {got:?}", i + 1))
        .collect();
    assert!(mismatches.is_empty(), "{family}:\n{}", mismatches.join("\n"));
    assert_eq!(expected.lines().count(), got.lines().count(), "{family}: line count\n{got}");
}

#[test]
fn url() {
    check_family("url");
}

#[test]
fn headers() {
    check_family("headers");
}

#[test]
fn request_response() {
    check_family("request_response");
}

#[test]
fn streams() {
    check_family("streams");
}

#[test]
fn encoding() {
    check_family("encoding");
}

#[test]
fn timers() {
    check_family("timers");
}

#[test]
fn events() {
    check_family("events");
}

#[test]
fn crypto() {
    check_family("crypto");
}

#[test]
fn blob_form_data() {
    check_family("blob_form_data");
}

#[test]
fn structured_clone() {
    check_family("structured_clone");
}

#[test]
fn url_pattern() {
    check_family("url_pattern");
}
