//! `nanod check` and `nanod graph` through the real binary: the example's messages and graph
//! (text exactly, DOT by structure), a config with every kind of node, and bad configs giving
//! `file:line:col` and exit status 1.

mod support;

use std::path::PathBuf;
use std::process::Output;

use support::{nanod, TestDir};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `nanod ARGS` in the repository root.
fn run(args: &[&str]) -> Output {
    nanod().args(args).current_dir(root()).output().expect("run nanod")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const EXAMPLES: &[&str] = &["examples/nanoservices/config.capnp", "examples/nanoservices/nanod.toml"];

/// The example's graph: one socket, three Workers, the implicit `internet` behind every
/// Worker's default `globalOutbound`.
const EXAMPLE_TEXT: &str = "\
sockets:
  http 127.0.0.1:8080 (http) -> main

services:
  main: worker
    AUTH -> auth
    STORAGE -> storage
    globalOutbound (default) -> internet
    SITE = json {\"name\": \"nanod example\", \"version\": 1}
  auth: worker
    globalOutbound (default) -> internet
    TOKEN = fromEnvironment NANOD_EXAMPLE_TOKEN
  storage: worker
    globalOutbound (default) -> internet
  internet: network (implicit)
    allow public; deny nothing
    public addresses: yes
    private networks (incl. link-local 169.254.169.254): no
    this machine (loopback): no

unreachable from any socket: none
";

#[test]
fn check_accepts_the_example() {
    for example in EXAMPLES {
        let output = run(&["check", example]);
        assert_eq!(output.status.code(), Some(0), "{example}: {}", stderr(&output));
        assert_eq!(stderr(&output), "nanod: config with 3 services and 1 socket is valid\n", "{example}");
        assert_eq!(stdout(&output), "", "{example}");
    }
}

#[test]
fn graph_text_of_the_example() {
    for example in EXAMPLES {
        let output = run(&["graph", example]);
        assert_eq!(output.status.code(), Some(0), "{example}: {}", stderr(&output));
        assert_eq!(stdout(&output), EXAMPLE_TEXT, "{example}");
        assert_eq!(stderr(&output), "", "{example}");
        // `--format text` is the default.
        assert_eq!(stdout(&run(&["graph", example, "--format", "text"])), EXAMPLE_TEXT, "{example}");
    }
}

/// Checks what `dot` would choke on without running it: one `digraph { ... }`, balanced
/// quotes, and every statement a node or an edge ending in `;`.
fn assert_well_formed_dot(dot: &str) {
    assert!(dot.starts_with("digraph nanod {\n"), "{dot}");
    assert!(dot.ends_with("\n}\n"), "{dot}");
    for line in dot.lines().skip(1).filter(|l| *l != "}") {
        assert!(line.starts_with("  ") && line.ends_with(';'), "statement {line:?}");
        let unescaped_quotes = line.replace("\\\\", "").replace("\\\"", "").matches('"').count();
        assert_eq!(unescaped_quotes % 2, 0, "unbalanced quotes in {line:?}");
    }
}

#[test]
fn graph_dot_of_the_example() {
    for example in EXAMPLES {
        let output = run(&["graph", example, "--format", "dot"]);
        assert_eq!(output.status.code(), Some(0), "{example}: {}", stderr(&output));
        let dot = stdout(&output);
        assert_well_formed_dot(&dot);
        let edges: Vec<&str> = dot.lines().filter(|l| l.contains(" -> ")).map(str::trim).collect();
        assert_eq!(
            edges,
            [
                "\"socket:http\" -> \"service:main\";",
                "\"service:main\" -> \"service:auth\" [label=\"AUTH\"];",
                "\"service:main\" -> \"service:storage\" [label=\"STORAGE\"];",
                "\"service:main\" -> \"service:internet\" [label=\"globalOutbound (default)\", style=dashed];",
                "\"service:auth\" -> \"service:internet\" [label=\"globalOutbound (default)\", style=dashed];",
                "\"service:storage\" -> \"service:internet\" [label=\"globalOutbound (default)\", style=dashed];",
            ],
            "{example}"
        );
        for node in ["socket:http", "service:main", "service:auth", "service:storage", "service:internet"] {
            assert!(dot.contains(&format!("\n  \"{node}\" [")), "node {node} in {dot}");
        }
        assert!(!dot.contains("unreachable"), "{dot}");
    }
}

/// Every kind of node and edge: an entrypoint, a timeout and a fallback, a KV binding, a
/// network service that reaches this machine, a disk, an external service, a socket without an
/// address, and a Worker no socket reaches.
const RICH: &str = r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "edge", worker = (
      modules = [(name = "e.js", esModule = "export default {}")],
      compatibilityDate = "2024-09-01",
      bindings = [
        (name = "API", service = (name = "api", entrypoint = "Admin", timeoutMs = 250, fallback = (name = "stale"))),
        (name = "CACHE", kvNamespace = "files"),
        (name = "GREETING", text = "hello"),
        (name = "BLOB", data = "abc"),
      ],
      globalOutbound = "lan",
    )),
    (name = "api", worker = (modules = [(name = "a.js", esModule = "export default {}")], compatibilityDate = "2024-09-01")),
    (name = "stale", external = (address = "127.0.0.1:9000", http = ())),
    (name = "lan", network = (allow = ["private"], deny = ["169.254.0.0/16"])),
    (name = "files", disk = (path = "/srv/files", writable = true)),
    (name = "orphan", worker = (modules = [(name = "o.js", esModule = "export default {}")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:8080", http = (), service = "edge"),
    (name = "admin", http = (style = proxy), service = (name = "api", entrypoint = "Admin")),
  ],
);
"#;

const RICH_TEXT: &str = "\
sockets:
  http 127.0.0.1:8080 (http) -> edge
  admin (address from --socket-addr) (http, style=proxy) -> api:Admin

services:
  edge: worker
    API (timeout 250 ms) -> api:Admin
    API (fallback) -> stale
    CACHE (kv) -> files
    globalOutbound -> lan
    GREETING = text \"hello\"
    BLOB = data (3 bytes)
  api: worker
    globalOutbound (default) -> internet
  stale: external
    address 127.0.0.1:9000 (http)
  lan: network
    allow private; deny 169.254.0.0/16
    public addresses: no
    private networks (incl. link-local 169.254.169.254): yes, except deny 169.254.0.0/16
    this machine (loopback): yes
  files: disk
    path /srv/files (writable)
  orphan: worker [unreachable from any socket]
    globalOutbound (default) -> internet
  internet: network (implicit)
    allow public; deny nothing
    public addresses: yes
    private networks (incl. link-local 169.254.169.254): no
    this machine (loopback): no

unreachable from any socket: orphan
";

#[test]
fn graph_of_every_kind_of_node() {
    let dir = TestDir::new("graph-rich");
    let path = dir.write("rich.capnp", RICH);
    let output = nanod().arg("graph").arg(&path).output().expect("run nanod");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), RICH_TEXT);

    let output = nanod().arg("graph").arg(&path).args(["--format", "dot"]).output().expect("run nanod");
    let dot = stdout(&output);
    assert_well_formed_dot(&dot);
    for edge in [
        "\"socket:admin\" -> \"service:api\" [label=\":Admin\"];",
        "\"service:edge\" -> \"service:api\" [label=\"API (timeout 250 ms) :Admin\"];",
        "\"service:edge\" -> \"service:stale\" [label=\"API (fallback)\", style=dashed, color=orange];",
        "\"service:edge\" -> \"service:files\" [label=\"CACHE (kv)\"];",
        "\"service:edge\" -> \"service:lan\" [label=\"globalOutbound\", style=dashed];",
        "\"service:orphan\" -> \"service:internet\" [label=\"globalOutbound (default)\", style=dashed];",
    ] {
        assert!(dot.contains(&format!("\n  {edge}\n")), "edge {edge} in {dot}");
    }
    assert!(
        dot.contains(
            "\"service:orphan\" [shape=box, label=\"orphan\\nworker\\n(unreachable from any socket)\", color=red"
        ),
        "{dot}"
    );
}

/// `nanod CMD FILE` on a bad config: exit status 1 and one line starting with `file:line:col`.
fn fails(dir: &TestDir, command: &str, config: &str) -> String {
    let path = dir.write("c.capnp", config);
    let output = nanod().arg(command).arg(&path).current_dir(&dir.0).output().expect("run nanod");
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{command}: {stderr}");
    assert_eq!(stdout(&output), "", "{command}");
    stderr.replace(&format!("{}/", dir.0.display()), "")
}

#[test]
fn bad_configs_name_file_line_and_column() {
    let dir = TestDir::new("graph-bad");
    let typo = EXAMPLE_LIKE.replace("service = \"auth\"", "service = \"auht\"");
    for command in ["check", "graph"] {
        assert_eq!(
            fails(&dir, command, &typo).trim(),
            "c.capnp:4:130: binding 'AUTH' refers to undefined service 'auht'; did you mean 'auth'?",
            "{command}"
        );
    }
    // A network service's lists are checked by `graph` too, since they decide what it shows.
    let lan = EXAMPLE_LIKE.replace(
        "(name = \"auth\", worker",
        "(name = \"lan\", network = (allow = [\"intranet\"])),\n    (name = \"auth\", worker",
    );
    let message = fails(&dir, "graph", &lan);
    assert!(message.starts_with("c.capnp:5:5: service \"lan\": network allow entry \"intranet\""), "{message}");
    // An unreadable file, and a usage error (clap's status 2).
    let output = run(&["graph", "examples/nanoservices/missing.capnp"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("examples/nanoservices/missing.capnp: cannot read config:"));
    let output = run(&["graph", EXAMPLES[0], "--format", "svg"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(stderr(&output).contains("possible values: text, dot"), "{}", stderr(&output));
}

#[test]
fn check_evaluates_workers_and_graph_does_not() {
    let dir = TestDir::new("graph-throw");
    let throws = EXAMPLE_LIKE.replace("esModule = \"export default {}\"", "esModule = \"throw new Error('boom')\"");
    assert!(fails(&dir, "check", &throws).starts_with("service main: Uncaught Error: boom"));
    let output = nanod().arg("graph").arg(dir.path("c.capnp")).output().expect("run nanod");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).ends_with("\nunreachable from any socket: none\n"), "{}", stdout(&output));
}

/// A small two-Worker config whose positions the error test relies on.
const EXAMPLE_LIKE: &str = r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "m.js", esModule = "export default {}")], bindings = [(name = "AUTH", service = "auth")], compatibilityDate = "2024-09-01")),
    (name = "auth", worker = (modules = [(name = "a.js", esModule = "export default {}")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
"#;
