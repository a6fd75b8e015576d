//! Bad configs through the real CLI: exit code 1 (never a panic's 101), and one message
//! naming `file:line:col` and what was wrong.

mod support;

use support::{nanod, TestDir};

/// Runs `nanod serve FILE` on a config written to `name` and returns its stderr; asserts the
/// process failed with exit code 1.
fn serve_fails(dir: &TestDir, name: &str, config: &str) -> String {
    let path = dir.write(name, config);
    let output = nanod().arg("serve").arg(&path).current_dir(&dir.0).output().expect("run nanod");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "exit status; stderr:\n{stderr}");
    stderr.replace(&format!("{}/", dir.0.display()), "")
}

const HEAD: &str = "using Workerd = import \"/workerd/workerd.capnp\";\nconst config :Workerd.Config = (\n";

fn worker_config(worker_fields: &str, socket_service: &str) -> String {
    format!(
        "{HEAD}  services = [(name = \"main\", worker = (modules = [(name = \"w.js\", esModule = \"export default {{}}\")], {worker_fields}))],\n  sockets = [(name = \"http\", address = \"127.0.0.1:0\", http = (), service = \"{socket_service}\")],\n);\n"
    )
}

#[test]
fn unknown_field_suggests_the_right_one() {
    let dir = TestDir::new("err-field");
    let stderr =
        serve_fails(&dir, "c.capnp", &worker_config("compatibilityDate = \"2024-09-01\", bindingz = []", "main"));
    assert_eq!(stderr.trim(), "c.capnp:3:136: Struct 'Worker' has no field named 'bindingz'; did you mean 'bindings'?");
}

#[test]
fn syntax_error() {
    let dir = TestDir::new("err-syntax");
    let stderr = serve_fails(&dir, "c.capnp", &format!("{HEAD}  services = [(name = \"main\" worker = ())]\n);\n"));
    assert_eq!(stderr.trim(), "c.capnp:3:30: expected ',' or ')' after a field, found 'worker'");
}

#[test]
fn missing_embed_file() {
    let dir = TestDir::new("err-embed");
    let config = worker_config("compatibilityDate = \"2024-09-01\"", "main")
        .replace("\"export default {}\"", "embed \"gone.js\"");
    let stderr = serve_fails(&dir, "c.capnp", &config);
    assert!(stderr.starts_with("c.capnp:3:79: cannot read embedded file 'gone.js'"), "{stderr}");
}

#[test]
fn binding_to_an_undefined_service() {
    let dir = TestDir::new("err-binding");
    let stderr = serve_fails(
        &dir,
        "c.capnp",
        &worker_config(
            "compatibilityDate = \"2024-09-01\", bindings = [(name = \"AUTH\", service = \"auht\")]",
            "main",
        ),
    );
    assert_eq!(stderr.trim(), "c.capnp:3:174: binding 'AUTH' refers to undefined service 'auht'");
}

#[test]
fn socket_to_an_undefined_service() {
    let dir = TestDir::new("err-socket");
    let stderr = serve_fails(&dir, "c.capnp", &worker_config("compatibilityDate = \"2024-09-01\"", "mian"));
    assert_eq!(stderr.trim(), "c.capnp:4:76: socket 'http' refers to undefined service 'mian'; did you mean 'main'?");
}

#[test]
fn invalid_compatibility_date() {
    let dir = TestDir::new("err-date");
    let stderr = serve_fails(&dir, "c.capnp", &worker_config("compatibilityDate = \"2024-13-01\"", "main"));
    // workerd's wording after the position (see tests/compat.rs for the other date and flag errors).
    assert_eq!(stderr.trim(), "c.capnp:3:122: service main: Invalid compatibility date: 2024-13-01");
}

#[test]
fn js_syntax_error_names_the_module_and_line() {
    let dir = TestDir::new("err-js");
    dir.write("w.js", "export default {\n  fetch(request) {\n    return new Response(;\n  }\n};\n");
    let config =
        worker_config("compatibilityDate = \"2024-09-01\"", "main").replace("\"export default {}\"", "embed \"w.js\"");
    let stderr = serve_fails(&dir, "c.capnp", &config);
    assert!(stderr.starts_with("c.capnp:3:52: service \"main\": module \"w.js\": SyntaxError:"), "{stderr}");
    assert!(stderr.contains("at w.js:3:"), "{stderr}");
}

#[test]
fn top_level_throw_stops_start_up() {
    let dir = TestDir::new("err-toplevel");
    let config = worker_config("compatibilityDate = \"2024-09-01\"", "main")
        .replace("\"export default {}\"", "\"throw new Error('top-level failure');\"");
    let stderr = serve_fails(&dir, "c.capnp", &config);
    // workerd: "service main: Uncaught Error: top-level failure\n  at w.js:1:7"
    assert!(stderr.starts_with("service main: Uncaught Error: top-level failure\n"), "{stderr}");
    assert!(stderr.contains("(w.js:1:"), "{stderr}");
}

#[test]
fn import_of_a_missing_module_stops_start_up() {
    let dir = TestDir::new("err-import");
    let config = worker_config("compatibilityDate = \"2024-09-01\"", "main")
        .replace("\"export default {}\"", "\"import x from './nope.js'; export default x;\"");
    let stderr = serve_fails(&dir, "c.capnp", &config);
    assert_eq!(stderr.trim(), "service main: Uncaught Error: No such module \"nope.js\".\n  imported from \"w.js\"");
}

#[test]
fn toml_unknown_key() {
    let dir = TestDir::new("err-toml");
    dir.write("w.js", "export default { fetch() { return new Response('x'); } };");
    let stderr =
        serve_fails(&dir, "nanod.toml", "[service.main]\ncompatibility_dat = \"2024-09-01\"\nmodules = [\"w.js\"]\n");
    assert_eq!(
        stderr.trim(),
        "nanod.toml:2:1: unknown key 'compatibility_dat' in service 'main'; did you mean 'compatibility_date'?"
    );
}

#[test]
fn missing_config_file() {
    let dir = TestDir::new("err-missing");
    let output = nanod().arg("serve").arg(dir.path("nope.capnp")).output().expect("run nanod");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nope.capnp: cannot read config"));
}

#[test]
fn unknown_socket_override() {
    let dir = TestDir::new("err-override");
    let path = dir.write("c.capnp", &worker_config("compatibilityDate = \"2024-09-01\"", "main"));
    let output =
        nanod().arg("serve").arg(&path).args(["--socket-addr", "htp=127.0.0.1:0"]).output().expect("run nanod");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "--socket-addr htp=...: no socket named \"htp\" in the config"
    );
}

#[test]
fn check_accepts_the_example() {
    let output = nanod().arg("check").arg(support::example("nanoservices/config.capnp")).output().expect("run nanod");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Socket errors name the socket's position; `nanod check` finds a bad port too (it binds
/// nothing), and a port in use is reported once.
#[test]
fn socket_errors_name_the_socket_and_its_position() {
    let dir = TestDir::new("err-socket-address");
    let config = worker_config("compatibilityDate = \"2024-09-01\"", "main").replace("127.0.0.1:0", "127.0.0.1:84430");
    let stderr = serve_fails(&dir, "c.capnp", &config);
    assert_eq!(stderr.trim(), "c.capnp:4:14: socket \"http\": address \"127.0.0.1:84430\": invalid port \"84430\"");
    let path = dir.write("c.capnp", &config);
    let output = nanod().arg("check").arg(&path).output().expect("run nanod check");
    let check = String::from_utf8_lossy(&output.stderr).replace(&format!("{}/", dir.0.display()), "");
    assert_eq!(output.status.code(), Some(1), "{check}");
    assert_eq!(check.trim(), stderr.trim());

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let config = worker_config("compatibilityDate = \"2024-09-01\"", "main")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let stderr = serve_fails(&dir, "c.capnp", &config);
    assert!(
        stderr.starts_with(&format!("c.capnp:4:14: socket \"http\": cannot listen on 127.0.0.1:{port}: ")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("in use").count(), 1, "{stderr}");
}
