//! The Cap'n Proto fixture and its TOML twin load to equal models, and both parsers survive
//! every prefix of those files.

use std::path::Path;

use nanod_config::{load, parse_capnp, parse_toml, BindingKind, ServiceKind, WorkerSource};

const CAPNP: &str = "tests/fixtures/twin.capnp";
const TOML: &str = "tests/fixtures/twin.toml";

fn load_ok(path: &str) -> nanod_config::Config {
    match load(Path::new(path), None) {
        Ok(config) => config,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn capnp_and_toml_twins_give_equal_models() {
    let capnp = load_ok(CAPNP);
    let toml = load_ok(TOML);
    assert_eq!(capnp, toml);

    // Equality is not vacuous: the models hold what the files say, in file order.
    let names: Vec<&str> = capnp.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["main", "auth", "legacy", "internet", "files", "backend"]);
    let sockets: Vec<&str> = capnp.sockets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(sockets, ["http", "https"]);
    let Some(ServiceKind::Worker(main)) = capnp.services.first().map(|s| &s.kind) else { panic!("no main worker") };
    let bindings: Vec<&str> = main.bindings.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(bindings, ["AUTH", "GREETING", "CONFIG", "BLOB", "BYTES", "SECRET", "FILES"]);
    assert_eq!(main.bindings[4].kind, BindingKind::Data(vec![0, 1, 2, 255]));
    let BindingKind::Service(auth) = &main.bindings[0].kind else { panic!("AUTH is not a service binding") };
    assert_eq!(auth.timeout_ms, Some(250));
    let chain: Vec<&str> =
        std::iter::successors(auth.fallback.as_deref(), |d| d.fallback.as_deref()).map(|d| d.name.as_str()).collect();
    assert_eq!(chain, ["legacy", "files"]);
    assert_eq!((main.limits.cpu_ms(), main.limits.memory_mb(), main.limits.request_body_bytes()), (50, 64, 1 << 20));
    assert_eq!(main.limits.subrequests(), nanod_config::Limits::DEFAULT_SUBREQUESTS, "unset limits take defaults");
    let WorkerSource::Modules(modules) = &main.source else { panic!("not modules") };
    let modules: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(modules, ["main.js", "greeting.txt", "config.json", "blob.bin"]);
}

#[test]
fn spans_point_into_each_file() {
    let capnp = load_ok(CAPNP);
    let toml = load_ok(TOML);
    let (Some(c), Some(t)) = (capnp.services.get(1), toml.services.get(1)) else { panic!("no service") };
    assert_eq!(c.span.to_string(), format!("{CAPNP}:9:5"));
    assert_eq!(t.span.to_string(), format!("{TOML}:36:10"));
    let (Some(c), Some(t)) = (capnp.sockets.first(), toml.sockets.first()) else { panic!("no socket") };
    assert_eq!(c.service.span.to_string(), format!("{CAPNP}:32:104"));
    assert_eq!(t.service.span.to_string(), format!("{TOML}:7:11"));
}

#[test]
fn every_prefix_is_handled_without_panic() {
    for path in [CAPNP, TOML] {
        let source = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => panic!("{path}: {e}"),
        };
        let mut errors = 0;
        for (end, _) in source.char_indices().chain([(source.len(), ' ')]) {
            let prefix = source.get(..end).unwrap_or_default();
            let result = if path.ends_with(".toml") {
                parse_toml(Path::new(path), prefix)
            } else {
                parse_capnp(Path::new(path), prefix, None)
            };
            if let Ok(config) = result {
                // A prefix that parses must still validate or fail cleanly.
                let _ = nanod_config::validate(&config);
            } else {
                errors += 1;
            }
        }
        assert!(errors > 0, "{path}: some prefixes must fail");
    }
}

#[test]
fn every_single_character_deletion_is_handled_without_panic() {
    for path in [CAPNP, TOML] {
        let source = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => panic!("{path}: {e}"),
        };
        for (at, c) in source.char_indices() {
            let mut mutated = source.clone();
            mutated.replace_range(at..at + c.len_utf8(), "");
            let result = if path.ends_with(".toml") {
                parse_toml(Path::new(path), &mutated)
            } else {
                parse_capnp(Path::new(path), &mutated, None)
            };
            if let Ok(config) = result {
                let _ = nanod_config::validate(&config);
            }
        }
    }
}

#[test]
fn pathological_nesting_is_refused_or_handled() {
    // 100-deep lists in a chain of constants that reference each other.
    let mut src = String::new();
    for i in 0..30 {
        let inner = if i == 29 { "\"x\"".to_owned() } else { format!(".c{}", i + 1) };
        src.push_str(&format!("const c{i} :Text = {inner};\n"));
    }
    src.push_str(&format!("const deep :Text = {}1{};\n", "[".repeat(99), "]".repeat(99)));
    src.push_str("const config :Config = (v8Flags = [.c0]);");
    match parse_capnp(Path::new("deep.capnp"), &src, None) {
        Ok(_) => panic!("a 99-deep list is not Text"),
        Err(e) => assert_eq!(e.to_string(), "deep.capnp:31:20: expected a string for constant 'deep'"),
    }

    // Deeply nested structs in every link of a long chain of references.
    let mut src = String::new();
    for i in 0..80 {
        let leaf = if i == 79 { "(name = \"z\", text = \"t\")".to_owned() } else { format!(".b{}", i + 1) };
        let open = "(name = \"w\", wrapped = (innerBindings = [".repeat(24);
        let close = "]))".repeat(24);
        src.push_str(&format!("const b{i} :Worker.Binding = {open}{leaf}{close};\n"));
    }
    src.push_str("const config :Config = ();");
    let result = parse_capnp(Path::new("deep.capnp"), &src, None);
    assert!(matches!(&result, Err(e) if e.message().starts_with("values nest deeper than 250 levels")), "{result:?}");
}

#[test]
fn unreadable_config_file() {
    match load(Path::new("tests/fixtures/missing.capnp"), None) {
        Ok(_) => panic!("loaded a missing file"),
        Err(e) => assert_eq!(
            e.to_string(),
            "tests/fixtures/missing.capnp: cannot read config: No such file or directory (os error 2)"
        ),
    }
}
