//! `nanod test` through the real CLI: workerd's `[ TEST ]`/`[ PASS ]`/`[ FAIL ]` lines and
//! naming, the `N passed, M failed` summary, the exit status, workerd's filter syntax,
//! `.wd-test` files, `node:assert` failure messages, `--compat-date`, `-d` and `--predictable`.

mod support;

use std::process::Output;

use support::{example, nanod, TestDir};

const SUITE: &str = r#"
import assert, { strictEqual, deepStrictEqual } from "node:assert";
export default { async test(ctrl, env, ctx) { strictEqual(typeof ctx.waitUntil, "function"); } };
export const passing = { async test(ctrl, env) { strictEqual(env.NAME, "tests"); } };
export const failing = { async test() { strictEqual(1, 2); } };
export const deep = { test() { deepStrictEqual({ a: 1, b: [1, 2] }, { a: 1, b: [1, 3] }); } };
export const thrown = { test() { throw new Error("boom"); } };
export const rejected = { test() { return Promise.reject(new TypeError("async boom")); } };
export const notATest = { fetch() { return new Response("x"); } };
"#;

fn wd_test(dir: &TestDir, module: &str, worker_fields: &str) -> std::path::PathBuf {
    dir.write("t.js", module);
    dir.write(
        "t.wd-test",
        &format!(
            r#"using Workerd = import "/workerd/workerd.capnp";
const unitTests :Workerd.Config = (
  services = [
    (name = "t", worker = (modules = [(name = "worker", esModule = embed "t.js")], compatibilityFlags = ["nodejs_compat"],
      bindings = [(name = "NAME", text = "tests")]{worker_fields})),
  ],
);"#
        ),
    )
}

fn run(args: &[&str]) -> (Output, String) {
    let output = nanod().arg("test").args(args).output().expect("run nanod test");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

/// The `[ ... ]` lines, durations stripped.
fn status_lines(stderr: &str) -> Vec<String> {
    stderr.lines().filter(|l| l.starts_with("[ ")).map(|l| l.split(" (").next().unwrap_or(l).to_owned()).collect()
}

#[test]
fn passing_and_failing_tests_with_workerds_lines_and_exit_status() {
    let dir = TestDir::new("test-cmd-mixed");
    let config = wd_test(&dir, SUITE, r#", compatibilityDate = "2024-09-23""#);
    let (output, stderr) = run(&[config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // The default export's test is named after the service; the named ones follow in name order.
    assert_eq!(
        status_lines(&stderr),
        [
            "[ TEST ] t",
            "[ PASS ] t",
            "[ TEST ] t:deep",
            "[ FAIL ] t:deep",
            "[ TEST ] t:failing",
            "[ FAIL ] t:failing",
            "[ TEST ] t:passing",
            "[ PASS ] t:passing",
            "[ TEST ] t:rejected",
            "[ FAIL ] t:rejected",
            "[ TEST ] t:thrown",
            "[ FAIL ] t:thrown",
        ]
    );
    assert!(stderr.contains("\n2 passed, 4 failed\n"), "{stderr}");
    assert!(stderr.trim_end().ends_with("Tests failed!"), "{stderr}");
    // Durations as workerd prints them.
    assert!(stderr.lines().any(|l| l.starts_with("[ PASS ] t (") && l.ends_with("s)")), "{stderr}");
    // The errors, with node:assert's messages (workerd's wording).
    assert!(stderr.contains("t:thrown: Uncaught Error: boom\n    at test (worker:"), "{stderr}");
    assert!(stderr.contains("t:rejected: Uncaught TypeError: async boom"), "{stderr}");
    assert!(
        stderr.contains("t:failing: Uncaught AssertionError: Values are not strictly equal:\n\n\n[Diff] Actual / Expected\n\n\n-   1\n+   2\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "t:deep: Uncaught AssertionError: Expected values to be strictly deep-equal:\n+ actual - expected\n\n+ { a: 1, b: [ 1, 2 ] }\n- { a: 1, b: [ 1, 3 ] }\n                  ^"
        ),
        "{stderr}"
    );
}

#[test]
fn filters_use_workerds_syntax() {
    let dir = TestDir::new("test-cmd-filter");
    let config = wd_test(&dir, SUITE, r#", compatibilityDate = "2024-09-23""#);
    let config = config.to_str().unwrap();
    let (output, stderr) = run(&[config, "t:pass*"]);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(status_lines(&stderr), ["[ TEST ] t:passing", "[ PASS ] t:passing"]);
    assert!(stderr.contains("\n1 passed, 0 failed\n"), "{stderr}");
    // `<const>:<service>:<entrypoint>`; `default` names the default export's test.
    let (output, stderr) = run(&[config, "unitTests:t:default"]);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(status_lines(&stderr), ["[ TEST ] t", "[ PASS ] t"]);
    let (output, stderr) = run(&[config, "t:*ing"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(status_lines(&stderr).len(), 4, "{stderr}");
    // Nothing matches: workerd's error.
    let (output, stderr) = run(&[config, "nope"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("No tests found!"), "{stderr}");
}

#[test]
fn the_sample_wd_test_suite_passes() {
    let (output, stderr) = run(&[example("testing/suite.wd-test").to_str().unwrap()]);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        status_lines(&stderr),
        [
            "[ TEST ] suite",
            "[ PASS ] suite",
            "[ TEST ] suite:assertions",
            "[ PASS ] suite:assertions",
            "[ TEST ] suite:bindings",
            "[ PASS ] suite:bindings",
            "[ TEST ] suite:mocks",
            "[ PASS ] suite:mocks",
            "[ TEST ] suite:selfBinding",
            "[ PASS ] suite:selfBinding",
            "[ TEST ] suite:waitUntil",
            "[ PASS ] suite:waitUntil",
            "[ TEST ] suite:webApis",
            "[ PASS ] suite:webApis",
        ]
    );
    assert!(stderr.contains("\n7 passed, 0 failed\n"), "{stderr}");
}

#[test]
fn node_assert_needs_nodejs_compat() {
    let dir = TestDir::new("test-cmd-flag");
    dir.write("t.js", r#"import assert from "node:assert"; export default { test() { assert.ok(true); } };"#);
    let config = dir.write(
        "t.wd-test",
        r#"using Workerd = import "/workerd/workerd.capnp";
const unitTests :Workerd.Config = (
  services = [(name = "t", worker = (modules = [(name = "worker", esModule = embed "t.js")], compatibilityDate = "2024-09-23"))],
);"#,
    );
    let (output, stderr) = run(&[config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("node:assert"), "{stderr}");
}

#[test]
fn compat_date_applies_to_workers_that_set_none() {
    let dir = TestDir::new("test-cmd-date");
    let module = r#"export default { test() {} };"#;
    let config = wd_test(&dir, module, "");
    let config = config.to_str().unwrap();
    let (output, stderr) = run(&[config, "--compat-date=2024-09-23"]);
    assert!(output.status.success(), "{stderr}");
    let dated_dir = TestDir::new("test-cmd-date2");
    let dated = wd_test(&dated_dir, module, r#", compatibilityDate = "2024-09-23""#);
    let (output, stderr) = run(&[dated.to_str().unwrap(), "--compat-date", "2024-09-23"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("service t: Worker specifies compatibilityDate but --compat-date was provided."),
        "{stderr}"
    );
}

#[test]
fn workerd_flags_are_accepted_and_predictable_fixes_math_random() {
    let dir = TestDir::new("test-cmd-predictable");
    let module = r#"export default { test() { console.log("random=" + Math.random()); } };"#;
    let config = wd_test(&dir, module, r#", compatibilityDate = "2024-09-23""#);
    let config = config.to_str().unwrap();
    let draw = |extra: &[&str]| {
        let mut args = vec![config];
        args.extend_from_slice(extra);
        let (output, stderr) = run(&args);
        assert!(output.status.success(), "{stderr}");
        stderr.lines().find_map(|l| l.split("random=").nth(1).map(str::to_owned)).expect("a random line")
    };
    let first = draw(&["--predictable", "--all-autogates", "--experimental"]);
    assert_eq!(first, draw(&["--predictable"]));
    assert_ne!(draw(&[]), draw(&[]));
}

#[test]
fn directory_path_overrides_a_disk_service() {
    let dir = TestDir::new("test-cmd-disk");
    dir.write("files/hello.txt", "from the override");
    dir.write(
        "t.js",
        r#"import { strictEqual } from "node:assert";
export default { async test(ctrl, env) { strictEqual(await (await env.FILES.fetch("http://files/hello.txt")).text(), "from the override"); } };"#,
    );
    let config = dir.write(
        "t.wd-test",
        r#"using Workerd = import "/workerd/workerd.capnp";
const unitTests :Workerd.Config = (
  services = [
    (name = "t", worker = (modules = [(name = "worker", esModule = embed "t.js")], compatibilityDate = "2024-09-23",
      compatibilityFlags = ["nodejs_compat"], bindings = [(name = "FILES", service = "files")])),
    (name = "files", disk = (path = "/nonexistent-nanod-dir")),
  ],
);"#,
    );
    let files = dir.path("files");
    let spec = format!("files={}", files.display());
    let (output, stderr) = run(&[config.to_str().unwrap(), "-d", &spec]);
    assert!(output.status.success(), "{stderr}");
    let (output, stderr) = run(&[config.to_str().unwrap(), "--directory-path", "nope=/tmp"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains(
            "Config did not define any disk service named \"nope\" to match the override provided on the command line."
        ),
        "{stderr}"
    );
    let (output, stderr) = run(&[config.to_str().unwrap(), "-d", "files"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("--directory-path expects NAME=PATH, got \"files\""), "{stderr}");
}

#[test]
fn serve_accepts_directory_path_too() {
    let dir = TestDir::new("test-cmd-serve-disk");
    dir.write("files/hello.txt", "served from the override");
    let config = dir.write(
        "config.capnp",
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "files", disk = (path = "/nonexistent-nanod-dir"))],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "files")],
);"#,
    );
    let spec = format!("files={}", dir.path("files").display());
    let server = support::Server::start(&config, &["--threads", "1", "-d", &spec]);
    assert_eq!(server.get("/hello.txt").text(), "served from the override");
}
