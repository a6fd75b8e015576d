//! Compatibility dates and flags through the real CLI: every error workerd reports (exit status
//! 1, `service NAME: ` and workerd's wording, after the config position), `--experimental`,
//! `--compat-date`, `--version`, and flag-dependent behaviour: the same Worker under two dates
//! (or a flag and its disable-flag) behaving two ways, as workerd 1.20261117.1 does.

mod support;

use support::{nanod, Server, TestDir};

const NEWEST: &str = "2026-11-24";

const HEAD: &str = "using Workerd = import \"/workerd/workerd.capnp\";\nconst config :Workerd.Config = (\n";

/// A one-Worker config; `fields` are extra Worker fields (date, flags).
fn config(fields: &str) -> String {
    format!(
        "{HEAD}  services = [(name = \"main\", worker = (modules = [(name = \"w.js\", esModule = embed \"w.js\")]{fields}))],\n  sockets = [(name = \"http\", address = \"127.0.0.1:0\", http = (), service = \"main\")],\n);\n"
    )
}

fn write(dir: &TestDir, fields: &str, module: &str) -> std::path::PathBuf {
    dir.write("w.js", module);
    dir.write("c.capnp", &config(fields))
}

/// `nanod check` (and `serve`) of a config with `fields`: exit status 1 and stderr, paths
/// relative.
fn fails(dir: &TestDir, fields: &str, extra: &[&str]) -> String {
    let path = write(dir, fields, "export default {}");
    let mut last = String::new();
    for command in ["check", "serve"] {
        let output = nanod().arg(command).arg(&path).args(extra).current_dir(&dir.0).output().expect("run nanod");
        let stderr = String::from_utf8_lossy(&output.stderr).replace(&format!("{}/", dir.0.display()), "");
        assert_eq!(output.status.code(), Some(1), "{command}: exit status; stderr:\n{stderr}");
        if command == "serve" {
            assert_eq!(stderr, last, "serve and check report the same");
        }
        last = stderr;
    }
    last
}

#[test]
fn invalid_date_format() {
    let dir = TestDir::new("compat-format");
    let stderr = fails(&dir, ", compatibilityDate = \"2024-1-01\"", &[]);
    assert_eq!(stderr.trim(), "c.capnp:3:115: service main: Invalid compatibility date: 2024-1-01");
    // workerd's format: years from 2000, any day 1–31.
    let stderr = fails(&dir, ", compatibilityDate = \"1999-12-31\"", &[]);
    assert!(stderr.ends_with("service main: Invalid compatibility date: 1999-12-31\n"), "{stderr}");
}

#[test]
fn date_newer_than_supported_and_in_the_future() {
    let dir = TestDir::new("compat-newer");
    let stderr = fails(&dir, ", compatibilityDate = \"2026-11-25\"", &[]);
    assert_eq!(
        stderr.trim(),
        format!("c.capnp:3:115: service main: This Worker requires compatibility date \"2026-11-25\", but the newest date supported by this server binary is \"{NEWEST}\".")
    );
    // A date in the future is also newer than supported: workerd reports both, in this order.
    let stderr = fails(&dir, ", compatibilityDate = \"2999-01-01\"", &[]);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(
        lines[0],
        format!("c.capnp:3:115: service main: This Worker requires compatibility date \"2999-01-01\", but the newest date supported by this server binary is \"{NEWEST}\".")
    );
    assert!(
        lines[1].starts_with(
            "c.capnp:3:115: service main: Can't set compatibility date in the future: \"2999-01-01\". Today's date (UTC) is \""
        ),
        "{stderr}"
    );
}

#[test]
fn flag_errors() {
    let dir = TestDir::new("compat-flags");
    let date = ", compatibilityDate = \"2024-09-01\"";
    let stderr = fails(&dir, &format!("{date}, compatibilityFlags = [\"no_such_flag\"]"), &[]);
    assert_eq!(stderr.trim(), "c.capnp:3:40: service main: No such compatibility flag: no_such_flag");
    let stderr = fails(&dir, &format!("{date}, compatibilityFlags = [\"nodejs_compat\", \"no_nodejs_compat\"]"), &[]);
    assert_eq!(
        stderr.trim(),
        "c.capnp:3:40: service main: Compatibility flags are mutually contradictory: nodejs_compat vs no_nodejs_compat"
    );
    let stderr = fails(&dir, &format!("{date}, compatibilityFlags = [\"nodejs_compat\", \"nodejs_compat\"]"), &[]);
    assert_eq!(stderr.trim(), "c.capnp:3:40: service main: Compatibility flag specified multiple times: nodejs_compat");
    let stderr = fails(&dir, &format!("{date}, compatibilityFlags = [\"experimental\"]"), &[]);
    assert_eq!(
        stderr.trim(),
        "c.capnp:3:40: service main: The compatibility flag experimental is experimental and may break or be removed in a future version of workerd. To use this flag, you must pass --experimental on the command line."
    );
    let stderr = fails(&dir, "", &[]);
    assert_eq!(stderr.trim(), "c.capnp:3:40: service main: Worker must specify compatibilityDate.");
}

#[test]
fn every_error_at_once_in_workerd_order() {
    let dir = TestDir::new("compat-all");
    let stderr = fails(
        &dir,
        ", compatibilityDate = \"2024-13-01\", compatibilityFlags = [\"zz\", \"experimental\", \"zz\", \"global_navigator\", \"no_global_navigator\"]",
        &[],
    );
    let messages: Vec<&str> = stderr.lines().map(|l| l.split_once("service main: ").map_or(l, |(_, m)| m)).collect();
    assert_eq!(
        messages,
        [
            "Compatibility flag specified multiple times: zz",
            "Invalid compatibility date: 2024-13-01",
            "Compatibility flags are mutually contradictory: global_navigator vs no_global_navigator",
            "The compatibility flag experimental is experimental and may break or be removed in a future version of workerd. To use this flag, you must pass --experimental on the command line.",
            "No such compatibility flag: zz",
        ]
    );
}

#[test]
fn experimental_and_compat_date_options() {
    let dir = TestDir::new("compat-options");
    let path = write(
        &dir,
        ", compatibilityDate = \"2024-09-01\", compatibilityFlags = [\"experimental\"]",
        "export default {}",
    );
    let output = nanod().arg("check").arg(&path).arg("--experimental").output().expect("run nanod");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));

    // `--compat-date`: for Workers that set none; a Worker that sets one is refused.
    let path = write(&dir, "", "export default {}");
    let output = nanod().arg("check").arg(&path).args(["--compat-date", "2024-09-01"]).output().expect("run nanod");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = fails(&dir, ", compatibilityDate = \"2024-09-01\"", &["--compat-date", "2024-09-01"]);
    assert!(stderr.trim().ends_with("service main: Worker specifies compatibilityDate but --compat-date was provided. When using --compat-date, workers must not specify compatibilityDate in the config. Use compatibilityFlags to enable/disable specific flags if needed."), "{stderr}");
    let stderr = fails(&dir, "", &["--compat-date", "bad"]);
    assert!(stderr.trim().ends_with("service main: Invalid compatibility date: bad"), "{stderr}");
}

#[test]
fn a_flag_that_is_the_default_is_a_warning() {
    let dir = TestDir::new("compat-warning");
    let path = write(
        &dir,
        ", compatibilityDate = \"2024-09-01\", compatibilityFlags = [\"global_navigator\"]",
        "export default {}",
    );
    let output = nanod().arg("check").arg(&path).output().expect("run nanod");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("service main: The compatibility flag global_navigator became the default as of 2022-03-21 so does not need to be specified anymore.\n"), "{stderr}");
}

#[test]
fn version_names_the_newest_date() {
    let output = nanod().arg("--version").output().expect("run nanod");
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.trim(), format!("nanod {} (newest compatibility date {NEWEST})", env!("CARGO_PKG_VERSION")));
}

/// Serves `module` with `fields` and returns the body of `GET /`.
fn serve_get(dir: &TestDir, fields: &str, module: &str) -> String {
    let path = write(dir, fields, module);
    let server = Server::start(&path, &["--threads", "1"]);
    let response = server.get("/");
    assert_eq!(response.status, 200, "{}\n{}", response.text(), server.stderr());
    response.text()
}

/// The same Worker under an old and a new date (and the new date with `disable`).
fn two_ways(name: &str, module: &str, old_date: &str, disable: &str) -> [String; 3] {
    let dir = TestDir::new(name);
    [
        serve_get(&dir, &format!(", compatibilityDate = \"{old_date}\""), module),
        serve_get(&dir, ", compatibilityDate = \"2024-09-01\"", module),
        serve_get(&dir, &format!(", compatibilityDate = \"2024-09-01\", compatibilityFlags = [\"{disable}\"]"), module),
    ]
}

#[test]
fn global_navigator() {
    let module =
        "export default { fetch() { return new Response(typeof navigator + ' ' + ('navigator' in globalThis)); } }";
    let [old, new, disabled] = two_ways("compat-nav", module, "2022-03-20", "no_global_navigator");
    assert_eq!(old, "undefined false");
    assert_eq!(new, "object true");
    assert_eq!(disabled, "undefined false");
}

#[test]
fn formdata_parser_supports_files() {
    let module = r#"export default { async fetch() {
        const fd = new FormData();
        fd.append("f", new File(["abc"], "a.txt"));
        const v = (await new Response(fd).formData()).get("f");
        return new Response(typeof v + ":" + (typeof v === "string" ? v : v.name));
    } }"#;
    let [old, new, disabled] =
        two_ways("compat-formdata", module, "2021-11-02", "formdata_parser_converts_files_to_strings");
    assert_eq!(old, "string:abc");
    assert_eq!(new, "object:a.txt");
    assert_eq!(disabled, "string:abc");
}

#[test]
fn fetch_refuses_unknown_protocols() {
    // The Worker is its own globalOutbound target, so the old behaviour (sent as `http:`) stays
    // inside the process.
    let module = r#"export default { async fetch(req) {
        if (new URL(req.url).pathname === "/inner") return new Response("inner " + new URL(req.url).protocol);
        try { return new Response(await (await fetch("ftp://127.0.0.1/inner")).text()); }
        catch (e) { return new Response(e.name + ": " + e.message); }
    } }"#;
    let dir = TestDir::new("compat-ftp");
    let outbound = ", globalOutbound = \"main\"";
    let old = serve_get(&dir, &format!(", compatibilityDate = \"2021-11-09\"{outbound}"), module);
    let new = serve_get(&dir, &format!(", compatibilityDate = \"2024-09-01\"{outbound}"), module);
    assert_eq!(old, "inner http:");
    assert_eq!(new, "TypeError: Fetch API cannot load: ftp://127.0.0.1/inner");
}

#[test]
fn nodejs_compat_gates_node_modules() {
    let dir = TestDir::new("compat-node");
    let module =
        "import assert from 'node:assert'; export default { fetch() { assert.ok(true); return new Response('ok'); } }";
    assert_eq!(
        serve_get(&dir, ", compatibilityDate = \"2024-09-01\", compatibilityFlags = [\"nodejs_compat\"]", module),
        "ok"
    );
    let path = write(&dir, ", compatibilityDate = \"2024-09-01\"", module);
    let output = nanod().arg("check").arg(&path).output().expect("run nanod");
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn streams_enable_constructors() {
    let module = r#"export default { async fetch() {
        const made = new Response("x").body instanceof ReadableStream;
        try { new ReadableStream({}); return new Response("constructed " + made); }
        catch (e) { return new Response(e.name + ": " + e.message.slice(0, 40) + " " + made); }
    } }"#;
    let [old, new, disabled] = two_ways("compat-streams", module, "2022-11-29", "streams_disable_constructors");
    assert_eq!(old, "Error: To use the new ReadableStream() construc true");
    assert_eq!(new, "constructed true");
    assert_eq!(disabled, old);
}

/// Without `transformstream_enable_standard_constructor`, workerd's `new TransformStream(t)`
/// ignores `t` (with a warning) and is an identity byte stream, as `IdentityTransformStream`
/// always is: bytes pass, strings are UTF-8-encoded, other chunks error it.
#[test]
fn transformstream_enable_standard_constructor() {
    let module = r#"export default { async fetch() {
        const out = [];
        for (const ts of [new TransformStream({ transform(c, ctl) { ctl.enqueue("X" + c); } }), new IdentityTransformStream()]) {
          const w = ts.writable.getWriter(), r = ts.readable.getReader();
          w.write(new TextEncoder().encode("abc"));
          const { value } = await r.read();
          out.push(value instanceof Uint8Array ? "bytes " + new TextDecoder().decode(value) : typeof value + " " + value);
          w.write("str").catch(() => {});
          out.push(await r.read().then(({ value }) => typeof value + " " + value, (e) => e.name + ": " + e.message));
          w.write({}).catch(() => {});
          out.push(await r.read().then(() => "read", (e) => e.name + ": " + e.message.slice(0, 60)));
          out.push(String(ts instanceof TransformStream));
        }
        return new Response(out.join("|"));
    } }"#;
    let identity =
        "bytes abc|object 115,116,114|TypeError: This TransformStream is being used as a byte stream, but rec|true";
    let [old, new, disabled] =
        two_ways("compat-transform", module, "2022-11-29", "transformstream_disable_standard_constructor");
    assert_eq!(old, format!("{identity}|{identity}"));
    assert_eq!(new, format!("string X97,98,99|string Xstr|read|true|{identity}"));
    assert_eq!(disabled, old);
}
