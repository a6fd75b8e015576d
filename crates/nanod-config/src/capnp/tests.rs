//! Tests of the whole Cap'n Proto front end: text in, model or `file:line:col: message` out.
//!
//! Sources are parsed as if they were `tests/fixtures/t.capnp`, so `embed` finds the fixture
//! files beside the crate's integration tests.

use std::path::Path;

use super::parse;
use crate::model::*;

const FILE: &str = "tests/fixtures/t.capnp";

fn run(src: &str, const_name: Option<&str>) -> Result<Config, crate::Error> {
    parse(Path::new(FILE), src, const_name)
}

fn ok(src: &str) -> Config {
    match run(src, None) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error: {e}\nsource:\n{src}"),
    }
}

/// Parses `src` and expects exactly the error `expected` (with the file name left out).
fn check(src: &str, expected: &str) {
    check_named(src, None, expected);
}

fn check_named(src: &str, const_name: Option<&str>, expected: &str) {
    match run(src, const_name) {
        Ok(c) => panic!("expected an error, got {c:#?}\nsource:\n{src}"),
        Err(e) => assert_eq!(e.to_string(), format!("{FILE}{expected}"), "source:\n{src}"),
    }
}

/// A config with one worker service `w` whose worker literal fields are `worker_fields`.
fn worker(worker_fields: &str) -> Worker {
    let src = format!(
        "const c :Config = (services = [(name = \"w\", worker = (modules = [(name = \"m\", esModule = \"\")], \
         compatibilityDate = \"2024-01-01\", {worker_fields}))]);"
    );
    let config = ok(&src);
    match config.services.into_iter().next().map(|s| s.kind) {
        Some(ServiceKind::Worker(w)) => w,
        other => panic!("not a worker: {other:?}"),
    }
}

fn bindings(bindings: &str) -> Vec<BindingKind> {
    worker(&format!("bindings = [{bindings}]")).bindings.into_iter().map(|b| b.kind).collect()
}

fn designator(name: &str) -> ServiceDesignator {
    ServiceDesignator { name: name.to_owned(), ..ServiceDesignator::default() }
}

#[test]
fn workerd_hello_world_sample() {
    let config = ok(r#"using Workerd = import "/workerd/workerd.capnp";

const helloWorldExample :Workerd.Config = (
  services = [ (name = "main", worker = .helloWorld) ],
  sockets = [ ( name = "http", address = "*:8080", http = (), service = "main" ) ]
);

const helloWorld :Workerd.Worker = (
  modules = [
    (name = "worker", esModule = embed "worker.js")
  ],
  compatibilityDate = "2023-02-28",
);
"#);
    let Some(service) = config.services.first() else { panic!("no service") };
    assert_eq!(service.name, "main");
    assert_eq!((service.span.line, service.span.col), (4, 16));
    let ServiceKind::Worker(w) = &service.kind else { panic!("not a worker") };
    assert_eq!(w.compatibility_date.as_deref(), Some("2023-02-28"));
    assert_eq!((w.span.line, w.span.col), (8, 36), "the worker's span is its literal");
    assert_eq!((w.compatibility_date_span.line, w.compatibility_date_span.col), (12, 23));
    let WorkerSource::Modules(modules) = &w.source else { panic!("not modules") };
    assert_eq!(modules.len(), 1);
    assert!(matches!(&modules[0].content, ModuleContent::EsModule(s) if s.contains("Hello World")));
    let Some(socket) = config.sockets.first() else { panic!("no socket") };
    assert_eq!(socket.address.as_deref(), Some("*:8080"));
    assert_eq!(socket.protocol, SocketProtocol::Http(HttpOptions::default()));
    assert_eq!(socket.service.name, "main");
    assert_eq!((socket.service.span.line, socket.service.span.col), (5, 73));
    assert!(crate::validate(&config).is_ok());
}

#[test]
fn bare_config_without_import_file_id_comments_trailing_commas() {
    let config = ok(r#"@0xe6afd26682091c01; # file id
# a comment
const c :Config = (
  services = [(name = "net", network = (allow = ["public", "private",], deny = ["10.0.0.0/8"],),),], # trailing
  v8Flags = ["--expose-gc"], autogates = ["x"], structuredLogging = true,
);"#);
    assert_eq!(config.v8_flags, ["--expose-gc"]);
    assert_eq!(config.autogates, ["x"]);
    assert!(config.structured_logging);
    let expected =
        Network { allow: vec!["public".into(), "private".into()], deny: vec!["10.0.0.0/8".into()], tls: None };
    assert_eq!(config.services[0].kind, ServiceKind::Network(expected));
}

#[test]
fn string_escapes_and_concatenation() {
    assert_eq!(
        bindings(r#"(name = "A", text = "a\n\t\"q\"\\ \x41\101 \u{e9}" " and " "more")"#),
        [BindingKind::Text("a\n\t\"q\"\\ AA é and more".into())]
    );
}

#[test]
fn data_literals_embed_and_strings_as_data() {
    assert_eq!(
        bindings(
            r#"(name = "A", data = 0x"00 ff" 0x"10"), (name = "B", data = "hi"), (name = "C", data = embed "blob.bin")"#
        ),
        [
            BindingKind::Data(vec![0, 255, 16]),
            BindingKind::Data(b"hi".to_vec()),
            BindingKind::Data(b"\x00\x01\xfe\xff\x80binary".to_vec()),
        ]
    );
}

#[test]
fn numbers_bools_void_and_enums() {
    let config = ok(r#"
const n :UInt32 = 0x10;
const o :Int8 = -010;
const f :Float64 = -1.5e3;
const g :Float64 = 7;
const h :Float64 = inf;
const b :Bool = true;
const v :Void = void;
const c :Config = (services = [(name = "w", worker = (
  serviceWorkerScript = "addEventListener('fetch', () => {})",
  compatibilityDate = "2024-01-01",
  bindings = [
    (name = "EVAL", unsafeEval = void),
    (name = "CACHE", memoryCache = (id = "c", limits = (maxKeys = 10, maxValueSize = 0x400, maxTotalValueSize = 0777))),
    (name = "P", parameter = (type = (text = void), optional = true)),
    (name = "K", cryptoKey = (hex = "00ff", algorithm = (name = "HMAC"), extractable = false, usages = [sign, verify])),
  ],
  durableObjectStorage = (inMemory = void),
))], sockets = [(name = "s", service = "w", http = (style = proxy, injectRequestHeaders = [(name = "x-a", value = "1"), (name = "x-b")]))]);
"#);
    let ServiceKind::Worker(w) = &config.services[0].kind else { panic!() };
    assert!(matches!(&w.source, WorkerSource::ServiceWorkerScript { source, .. } if source.starts_with("addEvent")));
    assert_eq!(w.durable_object_storage, DurableObjectStorage::InMemory);
    let kinds: Vec<&BindingKind> = w.bindings.iter().map(|b| &b.kind).collect();
    assert_eq!(
        kinds,
        [
            &BindingKind::UnsafeEval,
            &BindingKind::MemoryCache { id: "c".into() },
            &BindingKind::Parameter { optional: true },
            &BindingKind::CryptoKey(CryptoKey {
                format: CryptoKeyFormat::Hex("00ff".into()),
                algorithm_json: "\"HMAC\"".into(),
                extractable: false,
                usages: vec!["sign".into(), "verify".into()],
            }),
        ]
    );
    let SocketProtocol::Http(http) = &config.sockets[0].protocol else { panic!() };
    assert_eq!(http.style, HttpStyle::Proxy);
    assert_eq!(
        http.inject_request_headers,
        [Header { name: "x-a".into(), value: Some("1".into()) }, Header { name: "x-b".into(), value: None }]
    );
}

#[test]
fn unions_and_groups() {
    let config = ok(r#"
const c :Config = (
  services = [
    (name = "disk", disk = (path = "/srv", writable = true, allowDotfiles = true)),
    (name = "ext", external = (address = "10.0.0.1:443", https = (
      options = (forwardedProtoHeader = "X-Forwarded-Proto"),
      tlsOptions = (trustBrowserCas = true, minVersion = tls1Dot2, cipherList = "ALL"),
      certificateHost = "example.com"))),
    (name = "raw", external = (address = "10.0.0.2:5432", tcp = ())),
  ],
  sockets = [
    (name = "https", address = "*:443", service = (name = "disk", entrypoint = "e", props = (json = "{}")),
     https = (options = (cfBlobHeader = "cf"), tlsOptions = (keypair = (privateKey = embed "key.pem", certificateChain = embed "cert.pem"), requireClientCerts = true, trustedCertificates = ["ca"]))),
    (name = "tcp", service = "raw", tcp = (tlsOptions = ())),
  ],
);"#);
    assert_eq!(
        config.services[0].kind,
        ServiceKind::Disk(Disk { path: Some("/srv".into()), writable: true, allow_dotfiles: true })
    );
    assert_eq!(
        config.services[1].kind,
        ServiceKind::External(External {
            address: Some("10.0.0.1:443".into()),
            protocol: ExternalProtocol::Https {
                options: HttpOptions {
                    forwarded_proto_header: Some("X-Forwarded-Proto".into()),
                    ..HttpOptions::default()
                },
                tls: TlsOptions {
                    trust_browser_cas: true,
                    min_version: TlsVersion::Tls1Dot2,
                    cipher_list: Some("ALL".into()),
                    ..TlsOptions::default()
                },
                certificate_host: Some("example.com".into()),
            },
        })
    );
    assert_eq!(
        config.services[2].kind,
        ServiceKind::External(External {
            address: Some("10.0.0.2:5432".into()),
            protocol: ExternalProtocol::Tcp { tls: None, certificate_host: None },
        })
    );
    let socket = &config.sockets[0];
    assert_eq!(socket.service.entrypoint.as_deref(), Some("e"));
    assert_eq!(socket.service.props_json.as_deref(), Some("{}"));
    let SocketProtocol::Https { options, tls } = &socket.protocol else { panic!() };
    assert_eq!(options.cf_blob_header.as_deref(), Some("cf"));
    assert!(tls.require_client_certs);
    assert_eq!(tls.trusted_certificates, ["ca"]);
    let Some(keypair) = &tls.keypair else { panic!("no keypair") };
    assert!(keypair.private_key.contains("PRIVATE KEY"));
    assert!(keypair.certificate_chain.contains("CERTIFICATE"));
    assert_eq!(config.sockets[1].protocol, SocketProtocol::Tcp { tls: Some(TlsOptions::default()) });
}

#[test]
fn constant_references_with_and_without_dot() {
    let config = ok(r#"
using Workerd = import "/workerd/workerd.capnp";
const date :Text = "2024-05-01";
const mod :Workerd.Worker.Module = (name = "m", esModule = "export default {}");
const bind :Workerd.Binding = (name = "B", service = "other");
const flags :List(Text) = ["nodejs_compat"];
const mainWorker :Workerd.Worker = (modules = [.mod], compatibilityDate = date, compatibilityFlags = .flags, bindings = [bind]);
const svcs :List(Workerd.Service) = [(name = "main", worker = .mainWorker), .other];
const other :Workerd.Service = (name = "other", worker = (inherit = "main"));
const config :Workerd.Config = (services = .svcs);
"#);
    assert_eq!(config.services.len(), 2);
    let ServiceKind::Worker(w) = &config.services[0].kind else { panic!() };
    assert_eq!(w.compatibility_date.as_deref(), Some("2024-05-01"));
    assert_eq!(w.compatibility_flags, ["nodejs_compat"]);
    assert_eq!(w.bindings[0].kind, BindingKind::Service(designator("other")));
    let ServiceKind::Worker(other) = &config.services[1].kind else { panic!() };
    assert_eq!(other.source, WorkerSource::Inherit("main".into()));
}

#[test]
fn first_field_shorthand() {
    let w = worker(
        r#"globalOutbound = "internet", cacheApiOutbound = (name = "cache"), tails = ["t"],
           durableObjectNamespaces = [(className = "Counter", uniqueKey = "k", enableSql = true), (className = "E", ephemeralLocal = void, preventEviction = true)],
           durableObjectUniqueKeyModifier = "mod", moduleFallback = "localhost:1",
           bindings = [(name = "DO", durableObjectNamespace = "Counter"), (name = "DO2", durableObjectNamespace = (className = "X", serviceName = "s")),
                       (name = "KV", kvNamespace = "kv"), (name = "R2", r2Bucket = "r2"), (name = "Q", queue = "q"), (name = "AE", analyticsEngine = "ae"),
                       (name = "H", hyperdrive = (designator = "pg", database = "d", user = "u", password = "p", scheme = "postgresql")),
                       (name = "ENV", fromEnvironment = "HOME"), (name = "J", json = "[1]"), (name = "W", wasmModule = 0x"0061736d"),
                       (name = "DEBUG", workerdDebugPort = void)]"#,
    );
    assert_eq!(w.global_outbound, Some(designator("internet")));
    assert_eq!(w.cache_api_outbound, Some(designator("cache")));
    assert_eq!(w.tails, [designator("t")]);
    assert_eq!(w.durable_object_unique_key_modifier.as_deref(), Some("mod"));
    assert_eq!(w.module_fallback.as_deref(), Some("localhost:1"));
    assert_eq!(
        w.durable_object_namespaces,
        [
            DurableObjectNamespace {
                class_name: "Counter".into(),
                unique_key: Some("k".into()),
                ephemeral_local: false,
                prevent_eviction: false,
                enable_sql: true
            },
            DurableObjectNamespace {
                class_name: "E".into(),
                unique_key: None,
                ephemeral_local: true,
                prevent_eviction: true,
                enable_sql: false
            },
        ]
    );
    let kinds: Vec<BindingKind> = w.bindings.into_iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [
            BindingKind::DurableObjectNamespace { class_name: "Counter".into(), service_name: None },
            BindingKind::DurableObjectNamespace { class_name: "X".into(), service_name: Some("s".into()) },
            BindingKind::KvNamespace(designator("kv")),
            BindingKind::R2Bucket(designator("r2")),
            BindingKind::Queue(designator("q")),
            BindingKind::AnalyticsEngine(designator("ae")),
            BindingKind::Hyperdrive {
                designator: designator("pg"),
                database: "d".into(),
                user: "u".into(),
                password: "p".into(),
                scheme: "postgresql".into()
            },
            BindingKind::FromEnvironment("HOME".into()),
            BindingKind::Json("[1]".into()),
            BindingKind::WasmModule(vec![0, 0x61, 0x73, 0x6d]),
            BindingKind::Unsupported("workerdDebugPort".into()),
        ]
    );
}

#[test]
fn module_kinds() {
    let w = worker("");
    assert!(matches!(w.source, WorkerSource::Modules(_)));
    let config =
        ok(r#"const c :Config = (services = [(name = "w", worker = (compatibilityDate = "2024-01-01", modules = [
        (name = "a", commonJsModule = embed "legacy.cjs", namedExports = ["answer"]),
        (name = "b", text = embed "greeting.txt"), (name = "c", data = embed "blob.bin"), (name = "d", wasm = 0x"00"),
        (name = "e", json = embed "config.json"), (name = "f", pythonModule = "print(1)")]))]);"#);
    let ServiceKind::Worker(w) = &config.services[0].kind else { panic!() };
    let WorkerSource::Modules(modules) = &w.source else { panic!() };
    let contents: Vec<&ModuleContent> = modules.iter().map(|m| &m.content).collect();
    assert_eq!(
        contents,
        [
            &ModuleContent::CommonJs("module.exports = { answer: 42 };\n".into()),
            &ModuleContent::Text("Hello from a text module\n".into()),
            &ModuleContent::Data(b"\x00\x01\xfe\xff\x80binary".to_vec()),
            &ModuleContent::Wasm(vec![0]),
            &ModuleContent::Json("{\"feature\": true, \"limit\": 10}\n".into()),
            &ModuleContent::PythonModule("print(1)".into()),
        ]
    );
    assert_eq!(modules[0].named_exports, ["answer"]);
}

#[test]
fn picking_the_config_constant() {
    let two = r#"const a :Config = (v8Flags = ["a"]); const b :Config = (v8Flags = ["b"]); const w :Text = "x";"#;
    assert_eq!(run(two, Some("b")).map(|c| c.v8_flags), Ok(vec!["b".to_owned()]));
    check_named(two, None, ": several constants of type Config: a, b; name the one to use");
    check_named(two, Some("c"), ": no constant named 'c' (constants of type Config: a, b)");
    check_named(
        "const config :Config = ();",
        Some("confg"),
        ": no constant named 'confg' (constants of type Config: config); did you mean 'config'?",
    );
    check_named(two, Some("w"), ":1:81: constant 'w' has type Text, not Config");
    check_named(
        "const w :Text = \"x\";",
        None,
        ": no constant of type Config found (constants: w); define one like `const config :Workerd.Config = (...);`",
    );
    check_named(
        "",
        None,
        ": no constant of type Config found (constants: none); define one like `const config :Workerd.Config = (...);`",
    );
}

#[test]
fn schema_errors() {
    check(
        "const w :Worker = (bindingz = []);",
        ":1:20: Struct 'Worker' has no field named 'bindingz'; did you mean 'bindings'?",
    );
    check("const w :Worker = (zzz = []);", ":1:20: Struct 'Worker' has no field named 'zzz'");
    check("const w :Worker = (compatibilityDate = 5);", ":1:40: expected a string for 'compatibilityDate'");
    check(
        "const w :Worker = (compatibilityFlags = [1]);",
        ":1:42: expected a string for an item of 'compatibilityFlags'",
    );
    check("const w :Worker = (compatibilityFlags = \"x\");", ":1:41: expected a list '[...]' for 'compatibilityFlags'");
    check(
        "const s :Service = (name = \"a\", worker = (), network = ());",
        ":1:46: 'network' and 'worker' are members of the same union; set only one of: worker, network, external, disk",
    );
    check(
        "const t :TlsOptions = (minVersion = tls12);",
        ":1:37: unknown value 'tls12' for 'minVersion'; expected one of: goodDefault, ssl3, tls1Dot0, tls1Dot1, tls1Dot2, tls1Dot3",
    );
    check(
        "const t :TlsOptions = (minVersion = \"tls1Dot2\");",
        ":1:37: expected one of: goodDefault, ssl3, tls1Dot0, tls1Dot1, tls1Dot2, tls1Dot3 for 'minVersion'",
    );
    check("const d :DiskDirectory = (writable = yes);", ":1:38: expected true or false for 'writable'");
    check("const d :DiskDirectory = (path = true);", ":1:34: expected a string for 'path'");
    check("const d :DiskDirectory = (path = \"a\", path = \"b\");", ":1:39: field 'path' is already set");
    check("const s :Socket = (service = 5);", ":1:30: expected a string or a struct literal '(...)' for 'service'");
    check("const s :Socket = (http = \"x\");", ":1:27: expected a struct literal '(...)' for 'http'");
    check("const b :Worker.Binding = (unsafeEval = ());", ":1:41: expected void for 'unsafeEval'");
    check(
        "const l :Worker.Binding.MemoryCacheLimits = (maxKeys = -1);",
        ":1:56: -1 is out of range for 'maxKeys' (UInt32: 0..=4294967295)",
    );
    check("const x :Confg = ();", ":1:10: unknown type 'Confg'; did you mean 'Config'?");
    check(
        "using W = import \"/workerd/workerd.capnp\"; const x :W.Sockett = ();",
        ":1:53: unknown type 'W.Sockett'; did you mean 'Socket'?",
    );
    check("const x :List(Text, Text) = [];", ":1:10: List takes exactly one type parameter, like List(Text)");
    check(
        "using X = import \"other.capnp\";",
        ":1:1: cannot import \"other.capnp\": only \"/workerd/workerd.capnp\" is known",
    );
    check(
        "const x :Text = embed \"x.bin\"; const y :Bool = embed \"x\";",
        ":1:17: cannot read embedded file 'tests/fixtures/x.bin': No such file or directory (os error 2)",
    );
    check("const y :Bool = embed \"blob.bin\";", ":1:17: expected true or false for constant 'y'");
    check(
        "const y :Text = embed \"blob.bin\";",
        ":1:17: embedded file 'tests/fixtures/blob.bin' is not valid UTF-8 text",
    );
}

#[test]
fn reference_errors() {
    check(
        "const helloWorld :Worker = (); const s :Service = (name = \"a\", worker = .helloWorl);",
        ":1:73: unknown constant 'helloWorl'; did you mean 'helloWorld'?",
    );
    check("const s :Service = (name = \"a\", worker = nothing);", ":1:42: unknown constant 'nothing'");
    check("const s :Service = (name = \"a\", worker = .a.b);", ":1:42: unknown constant 'a.b'");
    check(
        "const w :Worker = (); const s :Service = (name = \"a\", network = .w);",
        ":1:65: constant 'w' has type Worker, but 'network' needs Network",
    );
    check("const a :Text = .b; const b :Text = .a;", ":1:37: constant 'a' refers to itself");
    check(
        "const a :Text = \"x\"; const a :Text = \"y\";",
        ":1:28: constant 'a' is already defined at tests/fixtures/t.capnp:1:7",
    );
    check("const a :Text = true;", ":1:17: expected a string for constant 'a'");
}

#[test]
fn incomplete_unions() {
    check(
        "const c :Config = (services = [(name = \"x\")]);",
        ":1:32: service 'x' has no kind; set one of: worker, network, external, disk",
    );
    check(
        "const c :Config = (services = [(name = \"x\", worker = (bindings = [(name = \"B\")]))]);",
        ":1:67: binding 'B' has no value; set one of: parameter, text, data, json, wasmModule, cryptoKey, service, \
         durableObjectClass, durableObjectNamespace, kvNamespace, r2Bucket, wrapped, queue, fromEnvironment, \
         analyticsEngine, hyperdrive, unsafeEval, memoryCache, workerLoader, workerdDebugPort",
    );
    check(
        "const c :Config = (services = [(name = \"x\", worker = (modules = [(name = \"m\")]))]);",
        ":1:66: module 'm' has no content; set one of: esModule, commonJsModule, text, data, wasm, json, pythonModule",
    );
    check(
        "const c :Config = (services = [(name = \"x\", worker = (modules = [(name = \"m\", obsolete = \"\")]))]);",
        ":1:90: module type 'obsolete' is obsolete",
    );
    check(
        "const c :Config = (sockets = [(name = \"u\", udp = ())]);",
        ":1:50: 'udp' sockets are not supported by nanod",
    );
}

#[test]
fn syntax_errors() {
    check(
        "const c :Config = (services = [(name = \"x\" worker = ())]);",
        ":1:44: expected ',' or ')' after a field, found 'worker'",
    );
    check("const c :Config = (v8Flags = [\"a\" \"b\" 5]);", ":1:39: expected ',' or ']' in a list, found '5'");
    check("const c :Config = (\n  v8Flags = [\"a\n", ":2:14: unterminated string literal");
    check("const c :Config = ();\nconst", ":2:6: expected a constant name, found end of file");
    check("const c :Config = (x = %);", ":1:24: unexpected character '%'");
    check("struct Foo {}", ":1:1: expected 'const', 'using' or a file id, found 'struct'");
}
