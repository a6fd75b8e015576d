//! The `nanod.toml` front end: a friendlier spelling of the same [`Config`] model as workerd's
//! Cap'n Proto format.
//!
//! Keys are the capnp field names in `snake_case`. Services are a table keyed by name; a service
//! is a Worker unless it has one of `network`, `external` or `disk`. Code and other file content
//! is given as paths relative to the TOML file and read from disk (`*_file` keys for bindings).
//! Services, bindings and headers keep the order they are written in. Unknown keys are errors
//! with a "did you mean"; every error has `file:line:col`.
//!
//! ```toml
//! v8_flags = []                  # optional, as are autogates and structured_logging
//!
//! [[socket]]
//! name = "http"
//! address = "*:8080"
//! service = "main"               # or { name = "main", entrypoint = "api", props_json = '{"a":1}' }
//! http = { style = "host" }      # optional; forwarded_proto_header, cf_blob_header,
//!                                # inject_request_headers = [{ name = "x", value = "y" }],
//!                                # inject_response_headers, capnp_connect_host
//! # https = { style = "host", tls = { private_key_file = "key.pem", certificate_chain_file = "cert.pem" } }
//! # tcp = { tls = { ... } }
//!
//! [service.main]
//! compatibility_date = "2024-09-01"
//! compatibility_flags = ["nodejs_compat"]
//! modules = [
//!   "main.js",                                   # kind from the extension: .js .mjs → ES module,
//!                                                # .cjs → CommonJS, .wasm, .json, .txt, .bin → data
//!   { name = "lib.js", common_js_module = "legacy.cjs", named_exports = ["answer"] },
//!   { name = "greeting.txt", text = "greeting.txt" },  # also data, wasm, json, es_module,
//! ]                                                    # python_module
//! # service_worker_script = "worker.js"   or   inherit = "base"
//! global_outbound = "internet"           # or { name = ..., entrypoint = ... }; also cache_api_outbound
//! tails = ["logger"]
//! durable_object_namespaces = [{ class_name = "Counter", unique_key = "k", enable_sql = true }]
//! # also ephemeral_local, prevent_eviction
//! durable_object_unique_key_modifier = "m"
//! durable_object_storage = "in_memory"   # "none", "in_memory" or { local_disk = "disk-service" }
//! module_fallback = "localhost:8888"
//! limits = { cpu_ms = 50, memory_mb = 64, concurrent_requests = 100, request_body_bytes = 1_048_576, subrequests = 50 }
//!                                        # nanod's limits (capnp: `limits = (cpuMs = 50, ...)`); 0 = none
//!
//! [service.main.bindings]                # keeps this order in `env`
//! AUTH = { service = "auth" }            # also kv_namespace, r2_bucket, queue, analytics_engine
//! API = { service = { name = "api", timeout_ms = 200, fallback = "api-down" } }   # nanod extension
//! GREETING = "hello"                     # a text binding; same as { text = "hello" }
//! CONFIG = { json = '{"a":1}' }          # or json_file = "config.json"
//! BLOB = { data_file = "blob.bin" }      # or data = "inline bytes"; also text_file, wasm_module_file
//! SECRET = { from_environment = "SECRET" }
//! COUNTER = { durable_object_namespace = "Counter" }  # or { class_name = ..., service_name = ... }
//! EVAL = { unsafe_eval = true }
//! CACHE = { memory_cache = { id = "c" } }
//! PARAM = { parameter = { optional = true } }
//! DB = { hyperdrive = { service = "db", database = "d", user = "u", password = "p", scheme = "postgres" } }
//! KEY = { crypto_key = { hex = "00ff", algorithm = "HMAC", usages = ["sign"], extractable = false } }
//! # crypto_key material: raw_file, hex, base64, pkcs8, spki, jwk; algorithm_json = '{"name":...}'
//!
//! [service.internet]
//! network = { allow = ["public"], deny = [], tls = { trust_browser_cas = true } }
//!
//! [service.files]
//! disk = { path = "./public", writable = false, allow_dotfiles = false }
//!
//! [service.backend]
//! external = { address = "127.0.0.1:9000", http = {} }
//! # or https = { <http options>, tls = { ... }, certificate_host = "example.com" }, tcp = { tls, certificate_host }
//! ```
//!
//! TLS tables take `private_key` / `private_key_file`, `certificate_chain` /
//! `certificate_chain_file`, `require_client_certs`, `trust_browser_cas`,
//! `trusted_certificates` / `trusted_certificate_files`, `min_version` (capnp names:
//! `goodDefault`, `ssl3`, `tls1Dot0` … `tls1Dot3`) and `cipher_list`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use ::toml::de::{DeTable, DeValue};
use ::toml::Spanned;

use crate::error::{did_you_mean, Error, ErrorKind};
use crate::model::*;

type Value<'i> = Spanned<DeValue<'i>>;

const TOP_KEYS: &[&str] = &["socket", "service", "v8_flags", "autogates", "structured_logging"];
const SOCKET_KEYS: &[&str] = &["name", "address", "service", "http", "https", "tcp"];
const DESIGNATOR_KEYS: &[&str] = &["name", "entrypoint", "props_json", "timeout_ms", "fallback"];
const LIMIT_KEYS: &[&str] = &["cpu_ms", "memory_mb", "concurrent_requests", "request_body_bytes", "subrequests"];
const WORKER_KEYS: &[&str] = &[
    "compatibility_date",
    "compatibility_flags",
    "modules",
    "service_worker_script",
    "inherit",
    "bindings",
    "global_outbound",
    "cache_api_outbound",
    "durable_object_namespaces",
    "durable_object_unique_key_modifier",
    "durable_object_storage",
    "module_fallback",
    "tails",
    "limits",
    // The other service kinds, so that a typo in them gets a suggestion.
    "network",
    "external",
    "disk",
];
const MODULE_KINDS: &[&str] = &["es_module", "common_js_module", "text", "data", "wasm", "json", "python_module"];
const BINDING_KINDS: &[&str] = &[
    "text",
    "text_file",
    "data",
    "data_file",
    "json",
    "json_file",
    "wasm_module_file",
    "service",
    "from_environment",
    "kv_namespace",
    "r2_bucket",
    "queue",
    "analytics_engine",
    "durable_object_namespace",
    "unsafe_eval",
    "memory_cache",
    "parameter",
    "hyperdrive",
    "crypto_key",
];
const HTTP_KEYS: &[&str] = &[
    "style",
    "forwarded_proto_header",
    "cf_blob_header",
    "inject_request_headers",
    "inject_response_headers",
    "capnp_connect_host",
];
const TLS_KEYS: &[&str] = &[
    "private_key",
    "private_key_file",
    "certificate_chain",
    "certificate_chain_file",
    "require_client_certs",
    "trust_browser_cas",
    "trusted_certificates",
    "trusted_certificate_files",
    "min_version",
    "cipher_list",
];
const TLS_VERSIONS: &[&str] = &["goodDefault", "ssl3", "tls1Dot0", "tls1Dot1", "tls1Dot2", "tls1Dot3"];
const CRYPTO_MATERIAL: &[&str] = &["raw_file", "hex", "base64", "pkcs8", "spki", "jwk"];

/// Parses `nanod.toml` text into the model.
pub(crate) fn parse(path: &Path, source: &str) -> Result<Config, Error> {
    let cx = Cx::new(path, source);
    let root = DeTable::parse(source).map_err(|e| {
        let range = e.span().unwrap_or(0..0);
        cx.err(ErrorKind::Syntax, range, e.message().trim_end().to_owned())
    })?;
    let root_value = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
    let top = cx.table(&root_value, "the top level", TOP_KEYS)?;

    let mut config = Config {
        v8_flags: cx.strings(&top, "v8_flags")?,
        autogates: cx.strings(&top, "autogates")?,
        structured_logging: cx.boolean(&top, "structured_logging")?,
        ..Config::default()
    };
    if let Some(services) = top.get("service") {
        let services = cx.table(services, "'service'", &[])?;
        for entry in &services.entries {
            config.services.push(cx.service(entry)?);
        }
    }
    if let Some(sockets) = top.get("socket") {
        for socket in cx.array(sockets, "socket")? {
            config.sockets.push(cx.socket(socket)?);
        }
    }
    Ok(config)
}

/// The parse context: where the file is, for spans and for reading the files it names.
struct Cx<'a> {
    file: &'a Path,
    dir: PathBuf,
    /// Byte offset of each line's start.
    line_starts: Vec<usize>,
    source: &'a str,
}

/// A table's entries in file order, with their keys' spans.
struct Table<'v, 'i> {
    entries: Vec<Entry<'v, 'i>>,
    span: Range<usize>,
}

struct Entry<'v, 'i> {
    key: &'v str,
    key_span: Range<usize>,
    value: &'v Value<'i>,
}

impl<'v, 'i> Table<'v, 'i> {
    fn get(&self, key: &str) -> Option<&'v Value<'i>> {
        self.entries.iter().find(|e| e.key == key).map(|e| e.value)
    }

    fn entry(&self, key: &str) -> Option<&Entry<'v, 'i>> {
        self.entries.iter().find(|e| e.key == key)
    }
}

impl<'a> Cx<'a> {
    fn new(file: &'a Path, source: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        Cx { file, dir: file.parent().map(Path::to_path_buf).unwrap_or_default(), line_starts, source }
    }

    fn span(&self, range: &Range<usize>) -> Span {
        let offset = range.start.min(self.source.len());
        let line = self.line_starts.partition_point(|&start| start <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let col = self.source.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        Span {
            file: self.file.to_path_buf(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }

    fn err(&self, kind: ErrorKind, range: Range<usize>, message: String) -> Error {
        Error::at(kind, self.span(&range), message)
    }

    fn expected(&self, v: &Value, what: &str, key: &str) -> Error {
        self.err(ErrorKind::Schema, v.span(), format!("expected {what} for '{key}'"))
    }

    /// `v` as a table whose keys must all be in `allowed` (empty `allowed`: any key).
    fn table<'v, 'i>(&self, v: &'v Value<'i>, what: &str, allowed: &[&str]) -> Result<Table<'v, 'i>, Error> {
        let DeValue::Table(t) = v.get_ref() else {
            return Err(self.err(ErrorKind::Schema, v.span(), format!("expected a table for {what}")));
        };
        let mut entries: Vec<Entry> =
            t.iter().map(|(k, value)| Entry { key: k.get_ref().as_ref(), key_span: k.span(), value }).collect();
        entries.sort_by_key(|e| e.key_span.start);
        if !allowed.is_empty() {
            if let Some(e) = entries.iter().find(|e| !allowed.contains(&e.key)) {
                let msg = format!("unknown key '{}' in {what}{}", e.key, did_you_mean(e.key, allowed.iter().copied()));
                return Err(self.err(ErrorKind::Schema, e.key_span.clone(), msg));
            }
        }
        Ok(Table { entries, span: v.span() })
    }

    fn array<'v, 'i>(&self, v: &'v Value<'i>, key: &str) -> Result<&'v [Value<'i>], Error> {
        match v.get_ref() {
            DeValue::Array(items) => Ok(items),
            _ => Err(self.expected(v, "an array", key)),
        }
    }

    fn str_of<'v>(&self, v: &'v Value, key: &str) -> Result<&'v str, Error> {
        match v.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            _ => Err(self.expected(v, "a string", key)),
        }
    }

    fn string(&self, t: &Table, key: &str) -> Result<Option<String>, Error> {
        t.get(key).map(|v| self.str_of(v, key).map(str::to_owned)).transpose()
    }

    fn required(&self, t: &Table, key: &str, what: &str) -> Result<String, Error> {
        match t.get(key) {
            Some(v) => Ok(self.str_of(v, key)?.to_owned()),
            None => Err(self.err(ErrorKind::Schema, t.span.clone(), format!("{what} needs '{key}'"))),
        }
    }

    fn boolean(&self, t: &Table, key: &str) -> Result<bool, Error> {
        match t.get(key).map(|v| (v, v.get_ref())) {
            None => Ok(false),
            Some((_, DeValue::Boolean(b))) => Ok(*b),
            Some((v, _)) => Err(self.expected(v, "true or false", key)),
        }
    }

    /// A non-negative integer of at most `max`.
    fn integer(&self, t: &Table, key: &str, max: u64) -> Result<Option<u64>, Error> {
        let Some(v) = t.get(key) else { return Ok(None) };
        let what = format!("an integer from 0 to {max}");
        let DeValue::Integer(n) = v.get_ref() else { return Err(self.expected(v, &what, key)) };
        match u64::try_from(i128::from_str_radix(&n.as_str().replace('_', ""), n.radix()).unwrap_or(-1)) {
            Ok(n) if n <= max => Ok(Some(n)),
            _ => Err(self.expected(v, &what, key)),
        }
    }

    fn strings(&self, t: &Table, key: &str) -> Result<Vec<String>, Error> {
        let Some(v) = t.get(key) else {
            return Ok(Vec::new());
        };
        self.array(v, key)?.iter().map(|item| self.str_of(item, key).map(str::to_owned)).collect()
    }

    fn read(&self, v: &Value, key: &str) -> Result<Vec<u8>, Error> {
        let full = self.dir.join(self.str_of(v, key)?);
        crate::read_file(&full)
            .map_err(|e| self.err(ErrorKind::Io, v.span(), format!("cannot read file '{}': {e}", full.display())))
    }

    fn read_text(&self, v: &Value, key: &str) -> Result<String, Error> {
        String::from_utf8(self.read(v, key)?)
            .map_err(|_| self.err(ErrorKind::Schema, v.span(), format!("file for '{key}' is not valid UTF-8 text")))
    }

    /// Exactly one of `kinds` set in `t`; `what` names the thing in the message.
    fn one_of<'t, 'v, 'i>(&self, t: &'t Table<'v, 'i>, kinds: &[&str], what: &str) -> Result<&'t Entry<'v, 'i>, Error> {
        let mut set = t.entries.iter().filter(|e| kinds.contains(&e.key));
        match (set.next(), set.next()) {
            (Some(one), None) => Ok(one),
            (Some(first), Some(second)) => {
                let msg = format!("{what} sets both '{}' and '{}'; set only one", first.key, second.key);
                Err(self.err(ErrorKind::Schema, second.key_span.clone(), msg))
            }
            (None, _) => {
                let msg = format!("{what} needs one of: {}", kinds.join(", "));
                Err(self.err(ErrorKind::Schema, t.span.clone(), msg))
            }
        }
    }

    fn socket(&self, v: &Value) -> Result<Socket, Error> {
        let t = self.table(v, "a socket", SOCKET_KEYS)?;
        let name = self.string(&t, "name")?.unwrap_or_default();
        let what = format!("socket '{name}'");
        let mut protocols = t.entries.iter().filter(|e| matches!(e.key, "http" | "https" | "tcp"));
        let protocol = match (protocols.next(), protocols.next()) {
            (_, Some(second)) => {
                let msg = format!("{what} sets more than one of: http, https, tcp");
                return Err(self.err(ErrorKind::Schema, second.key_span.clone(), msg));
            }
            (None, None) => SocketProtocol::Http(HttpOptions::default()),
            (Some(e), None) => match e.key {
                "http" => SocketProtocol::Http(self.http_options(&self.table(e.value, "'http'", HTTP_KEYS)?)?),
                "https" => {
                    let keys: Vec<&str> = HTTP_KEYS.iter().copied().chain(["tls"]).collect();
                    let h = self.table(e.value, "'https'", &keys)?;
                    SocketProtocol::Https { options: self.http_options(&h)?, tls: self.tls_in(&h)?.unwrap_or_default() }
                }
                _ => SocketProtocol::Tcp { tls: self.tls_in(&self.table(e.value, "'tcp'", &["tls"])?)? },
            },
        };
        let service = match t.get("service") {
            Some(s) => self.designator(s, "service")?,
            None => ServiceDesignator { span: self.span(&t.span), ..ServiceDesignator::default() },
        };
        Ok(Socket { name, address: self.string(&t, "address")?, protocol, service, span: self.span(&t.span) })
    }

    fn designator(&self, v: &Value, key: &str) -> Result<ServiceDesignator, Error> {
        let span = self.span(&v.span());
        if let DeValue::String(name) = v.get_ref() {
            return Ok(ServiceDesignator { name: name.to_string(), span, ..ServiceDesignator::default() });
        }
        if !matches!(v.get_ref(), DeValue::Table(_)) {
            return Err(self.expected(v, "a service name or a table", key));
        }
        let t = self.table(v, &format!("'{key}'"), DESIGNATOR_KEYS)?;
        Ok(ServiceDesignator {
            name: self.required(&t, "name", &format!("'{key}'"))?,
            entrypoint: self.string(&t, "entrypoint")?,
            props_json: self.string(&t, "props_json")?,
            timeout_ms: self.integer(&t, "timeout_ms", u32::MAX.into())?.map(|n| n as u32),
            fallback: t.get("fallback").map(|f| self.designator(f, "fallback").map(Box::new)).transpose()?,
            span,
        })
    }

    fn limits(&self, t: &Table, worker: &Range<usize>) -> Result<Limits, Error> {
        let Some(v) = t.get("limits") else {
            return Ok(Limits { span: self.span(worker), ..Limits::default() });
        };
        let l = self.table(v, "'limits'", LIMIT_KEYS)?;
        let u32_max = u32::MAX.into();
        Ok(Limits {
            cpu_ms: self.integer(&l, "cpu_ms", u32_max)?.map(|n| n as u32),
            memory_mb: self.integer(&l, "memory_mb", u32_max)?.map(|n| n as u32),
            concurrent_requests: self.integer(&l, "concurrent_requests", u32_max)?.map(|n| n as u32),
            request_body_bytes: self.integer(&l, "request_body_bytes", i64::MAX as u64)?,
            subrequests: self.integer(&l, "subrequests", u32_max)?.map(|n| n as u32),
            span: self.span(&v.span()),
        })
    }

    fn service(&self, entry: &Entry) -> Result<Service, Error> {
        let name = entry.key.to_owned();
        let span = self.span(&entry.key_span);
        let what = format!("service '{name}'");
        let t = self.table(entry.value, &what, WORKER_KEYS)?;
        let mut kinds = t.entries.iter().filter(|e| matches!(e.key, "network" | "external" | "disk"));
        let kind = match (kinds.next(), kinds.next()) {
            (Some(_), Some(second)) => {
                let msg = format!("{what} sets more than one of: network, external, disk");
                return Err(self.err(ErrorKind::Schema, second.key_span.clone(), msg));
            }
            (Some(kind), None) => {
                if let Some(other) = t.entries.iter().find(|e| e.key != kind.key) {
                    let msg = format!("a {} service takes no other keys, found '{}'", kind.key, other.key);
                    return Err(self.err(ErrorKind::Schema, other.key_span.clone(), msg));
                }
                match kind.key {
                    "network" => ServiceKind::Network(self.network(kind.value)?),
                    "external" => ServiceKind::External(self.external(kind.value)?),
                    _ => ServiceKind::Disk(self.disk(kind.value)?),
                }
            }
            (None, _) => ServiceKind::Worker(self.worker(&t, &name, &entry.key_span)?),
        };
        Ok(Service { name, kind, span })
    }

    fn worker(&self, t: &Table, name: &str, key_span: &Range<usize>) -> Result<Worker, Error> {
        let what = format!("service '{name}'");
        let mut sources = t.entries.iter().filter(|e| matches!(e.key, "modules" | "service_worker_script" | "inherit"));
        let source = match (sources.next(), sources.next()) {
            (_, Some(second)) => {
                let msg = format!("{what} sets more than one of: modules, service_worker_script, inherit");
                return Err(self.err(ErrorKind::Schema, second.key_span.clone(), msg));
            }
            (None, None) => WorkerSource::Modules(Vec::new()),
            (Some(e), None) => match e.key {
                "modules" => WorkerSource::Modules(
                    self.array(e.value, "modules")?.iter().map(|m| self.module(m)).collect::<Result<_, _>>()?,
                ),
                "service_worker_script" => WorkerSource::ServiceWorkerScript {
                    source: self.read_text(e.value, e.key)?,
                    span: self.span(&e.value.span()),
                },
                _ => WorkerSource::Inherit(self.str_of(e.value, e.key)?.to_owned()),
            },
        };
        let bindings = match t.get("bindings") {
            Some(b) => {
                let b = self.table(b, &format!("the bindings of {what}"), &[])?;
                b.entries.iter().map(|e| self.binding(e)).collect::<Result<_, _>>()?
            }
            None => Vec::new(),
        };
        let designator = |key: &str| t.get(key).map(|v| self.designator(v, key)).transpose();
        let durable_object_storage = match t.get("durable_object_storage").map(|v| (v, v.get_ref())) {
            None => DurableObjectStorage::None,
            Some((v, DeValue::String(s))) => match s.as_ref() {
                "none" => DurableObjectStorage::None,
                "in_memory" => DurableObjectStorage::InMemory,
                _ => {
                    return Err(self.expected(
                        v,
                        "\"none\", \"in_memory\" or { local_disk = \"...\" }",
                        "durable_object_storage",
                    ))
                }
            },
            Some((v, _)) => {
                let s = self.table(v, "'durable_object_storage'", &["local_disk"])?;
                DurableObjectStorage::LocalDisk(self.required(&s, "local_disk", "'durable_object_storage'")?)
            }
        };
        let namespaces = match t.get("durable_object_namespaces") {
            Some(v) => self
                .array(v, "durable_object_namespaces")?
                .iter()
                .map(|n| self.do_namespace(n))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let tails = match t.get("tails") {
            Some(v) => self.array(v, "tails")?.iter().map(|d| self.designator(d, "tails")).collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let date = t.entry("compatibility_date");
        Ok(Worker {
            source,
            compatibility_date: self.string(t, "compatibility_date")?,
            compatibility_date_span: self.span(&date.map_or(key_span.clone(), |e| e.value.span())),
            compatibility_flags: self.strings(t, "compatibility_flags")?,
            bindings,
            global_outbound: designator("global_outbound")?,
            cache_api_outbound: designator("cache_api_outbound")?,
            durable_object_namespaces: namespaces,
            durable_object_unique_key_modifier: self.string(t, "durable_object_unique_key_modifier")?,
            durable_object_storage,
            module_fallback: self.string(t, "module_fallback")?,
            tails,
            limits: self.limits(t, key_span)?,
            span: self.span(key_span),
        })
    }

    fn do_namespace(&self, v: &Value) -> Result<DurableObjectNamespace, Error> {
        let keys = ["class_name", "unique_key", "ephemeral_local", "prevent_eviction", "enable_sql"];
        let t = self.table(v, "a durable object namespace", &keys)?;
        Ok(DurableObjectNamespace {
            class_name: self.required(&t, "class_name", "a durable object namespace")?,
            unique_key: self.string(&t, "unique_key")?,
            ephemeral_local: self.boolean(&t, "ephemeral_local")?,
            prevent_eviction: self.boolean(&t, "prevent_eviction")?,
            enable_sql: self.boolean(&t, "enable_sql")?,
        })
    }

    fn module(&self, v: &Value) -> Result<Module, Error> {
        let span = self.span(&v.span());
        if let DeValue::String(path) = v.get_ref() {
            let content = match Path::new(path.as_ref()).extension().and_then(|e| e.to_str()) {
                Some("js" | "mjs") => ModuleContent::EsModule(self.read_text(v, "modules")?),
                Some("cjs") => ModuleContent::CommonJs(self.read_text(v, "modules")?),
                Some("wasm") => ModuleContent::Wasm(self.read(v, "modules")?),
                Some("json") => ModuleContent::Json(self.read_text(v, "modules")?),
                Some("txt") => ModuleContent::Text(self.read_text(v, "modules")?),
                Some("bin") => ModuleContent::Data(self.read(v, "modules")?),
                Some("py") => ModuleContent::PythonModule(self.read_text(v, "modules")?),
                _ => {
                    let msg = format!(
                        "cannot tell the module type of '{path}' from its extension; \
                         write {{ name = \"{path}\", es_module = \"{path}\" }} (or text, data, wasm, json, ...)"
                    );
                    return Err(self.err(ErrorKind::Schema, v.span(), msg));
                }
            };
            return Ok(Module { name: path.to_string(), content, named_exports: Vec::new(), span });
        }
        let keys: Vec<&str> = ["name", "named_exports"].into_iter().chain(MODULE_KINDS.iter().copied()).collect();
        let t = self.table(v, "a module", &keys)?;
        let kind = self.one_of(&t, MODULE_KINDS, "a module")?;
        let file = kind.value;
        let content = match kind.key {
            "es_module" => ModuleContent::EsModule(self.read_text(file, kind.key)?),
            "common_js_module" => ModuleContent::CommonJs(self.read_text(file, kind.key)?),
            "text" => ModuleContent::Text(self.read_text(file, kind.key)?),
            "data" => ModuleContent::Data(self.read(file, kind.key)?),
            "wasm" => ModuleContent::Wasm(self.read(file, kind.key)?),
            "json" => ModuleContent::Json(self.read_text(file, kind.key)?),
            _ => ModuleContent::PythonModule(self.read_text(file, kind.key)?),
        };
        let name = match self.string(&t, "name")? {
            Some(name) => name,
            None => self.str_of(file, kind.key)?.to_owned(),
        };
        Ok(Module { name, content, named_exports: self.strings(&t, "named_exports")?, span })
    }

    fn binding(&self, entry: &Entry) -> Result<Binding, Error> {
        let name = entry.key.to_owned();
        let span = self.span(&entry.key_span);
        if let DeValue::String(text) = entry.value.get_ref() {
            return Ok(Binding { name, kind: BindingKind::Text(text.to_string()), span });
        }
        let what = format!("binding '{name}'");
        let t = self.table(entry.value, &what, BINDING_KINDS)?;
        let kind = self.one_of(&t, BINDING_KINDS, &what)?;
        let (key, v) = (kind.key, kind.value);
        let text = || self.str_of(v, key).map(str::to_owned);
        let kind = match key {
            "text" => BindingKind::Text(text()?),
            "text_file" => BindingKind::Text(self.read_text(v, key)?),
            "data" => BindingKind::Data(text()?.into_bytes()),
            "data_file" => BindingKind::Data(self.read(v, key)?),
            "json" => BindingKind::Json(text()?),
            "json_file" => BindingKind::Json(self.read_text(v, key)?),
            "wasm_module_file" => BindingKind::WasmModule(self.read(v, key)?),
            "from_environment" => BindingKind::FromEnvironment(text()?),
            "service" => BindingKind::Service(self.designator(v, key)?),
            "kv_namespace" => BindingKind::KvNamespace(self.designator(v, key)?),
            "r2_bucket" => BindingKind::R2Bucket(self.designator(v, key)?),
            "queue" => BindingKind::Queue(self.designator(v, key)?),
            "analytics_engine" => BindingKind::AnalyticsEngine(self.designator(v, key)?),
            "durable_object_namespace" => match v.get_ref() {
                DeValue::String(class) => {
                    BindingKind::DurableObjectNamespace { class_name: class.to_string(), service_name: None }
                }
                _ => {
                    let d = self.table(v, "'durable_object_namespace'", &["class_name", "service_name"])?;
                    BindingKind::DurableObjectNamespace {
                        class_name: self.required(&d, "class_name", "'durable_object_namespace'")?,
                        service_name: self.string(&d, "service_name")?,
                    }
                }
            },
            "unsafe_eval" => match v.get_ref() {
                DeValue::Boolean(true) => BindingKind::UnsafeEval,
                _ => return Err(self.expected(v, "true", key)),
            },
            "memory_cache" => {
                let m = self.table(v, "'memory_cache'", &["id"])?;
                BindingKind::MemoryCache { id: self.required(&m, "id", "'memory_cache'")? }
            }
            "parameter" => {
                let p = self.table(v, "'parameter'", &["optional"])?;
                BindingKind::Parameter { optional: self.boolean(&p, "optional")? }
            }
            "hyperdrive" => {
                let h = self.table(v, "'hyperdrive'", &["service", "database", "user", "password", "scheme"])?;
                let field = |k: &str| self.string(&h, k).map(Option::unwrap_or_default);
                BindingKind::Hyperdrive {
                    designator: match h.get("service") {
                        Some(s) => self.designator(s, "service")?,
                        None => ServiceDesignator { span: self.span(&h.span), ..ServiceDesignator::default() },
                    },
                    database: field("database")?,
                    user: field("user")?,
                    password: field("password")?,
                    scheme: field("scheme")?,
                }
            }
            _ => BindingKind::CryptoKey(self.crypto_key(v)?),
        };
        Ok(Binding { name, kind, span })
    }

    fn crypto_key(&self, v: &Value) -> Result<CryptoKey, Error> {
        let keys: Vec<&str> =
            CRYPTO_MATERIAL.iter().copied().chain(["algorithm", "algorithm_json", "extractable", "usages"]).collect();
        let t = self.table(v, "'crypto_key'", &keys)?;
        let material = self.one_of(&t, CRYPTO_MATERIAL, "'crypto_key'")?;
        let text = || self.str_of(material.value, material.key).map(str::to_owned);
        let format = match material.key {
            "raw_file" => CryptoKeyFormat::Raw(self.read(material.value, material.key)?),
            "hex" => CryptoKeyFormat::Hex(text()?),
            "base64" => CryptoKeyFormat::Base64(text()?),
            "pkcs8" => CryptoKeyFormat::Pkcs8(text()?),
            "spki" => CryptoKeyFormat::Spki(text()?),
            _ => CryptoKeyFormat::Jwk(text()?),
        };
        let algorithm = self.one_of(&t, &["algorithm", "algorithm_json"], "'crypto_key'")?;
        let algorithm_text = self.str_of(algorithm.value, algorithm.key)?;
        let algorithm_json = if algorithm.key == "algorithm" {
            crate::capnp::json_string(algorithm_text)
        } else {
            algorithm_text.to_owned()
        };
        Ok(CryptoKey {
            format,
            algorithm_json,
            extractable: self.boolean(&t, "extractable")?,
            usages: self.strings(&t, "usages")?,
        })
    }

    fn http_options(&self, t: &Table) -> Result<HttpOptions, Error> {
        let style = match t.get("style").map(|v| (v, self.str_of(v, "style"))) {
            None => HttpStyle::Host,
            Some((_, Ok("host"))) => HttpStyle::Host,
            Some((_, Ok("proxy"))) => HttpStyle::Proxy,
            Some((v, _)) => return Err(self.expected(v, "\"host\" or \"proxy\"", "style")),
        };
        let headers = |key: &str| -> Result<Vec<Header>, Error> {
            let Some(v) = t.get(key) else {
                return Ok(Vec::new());
            };
            self.array(v, key)?
                .iter()
                .map(|h| {
                    let h = self.table(h, &format!("a header of '{key}'"), &["name", "value"])?;
                    Ok(Header { name: self.required(&h, "name", "a header")?, value: self.string(&h, "value")? })
                })
                .collect()
        };
        Ok(HttpOptions {
            style,
            forwarded_proto_header: self.string(t, "forwarded_proto_header")?,
            cf_blob_header: self.string(t, "cf_blob_header")?,
            inject_request_headers: headers("inject_request_headers")?,
            inject_response_headers: headers("inject_response_headers")?,
            capnp_connect_host: self.string(t, "capnp_connect_host")?,
        })
    }

    /// The `tls` table inside `t`, if any.
    fn tls_in(&self, t: &Table) -> Result<Option<TlsOptions>, Error> {
        t.get("tls").map(|v| self.tls(v)).transpose()
    }

    fn tls(&self, v: &Value) -> Result<TlsOptions, Error> {
        let t = self.table(v, "'tls'", TLS_KEYS)?;
        // A PEM given inline or as a file.
        let pem = |key: &str| -> Result<Option<String>, Error> {
            let file_key = format!("{key}_file");
            match (t.get(key), t.entry(&file_key)) {
                (Some(_), Some(e)) => {
                    let msg = format!("set either '{key}' or '{file_key}', not both");
                    Err(self.err(ErrorKind::Schema, e.key_span.clone(), msg))
                }
                (Some(v), None) => Ok(Some(self.str_of(v, key)?.to_owned())),
                (None, Some(e)) => Ok(Some(self.read_text(e.value, &file_key)?)),
                (None, None) => Ok(None),
            }
        };
        let keypair = match (pem("private_key")?, pem("certificate_chain")?) {
            (None, None) => None,
            (Some(private_key), Some(certificate_chain)) => Some(TlsKeypair { private_key, certificate_chain }),
            _ => {
                let msg = "'tls' needs both a private key and a certificate chain, or neither".to_owned();
                return Err(self.err(ErrorKind::Schema, t.span.clone(), msg));
            }
        };
        let mut trusted_certificates = self.strings(&t, "trusted_certificates")?;
        if let Some(files) = t.get("trusted_certificate_files") {
            for file in self.array(files, "trusted_certificate_files")? {
                trusted_certificates.push(self.read_text(file, "trusted_certificate_files")?);
            }
        }
        let min_version = match t.get("min_version") {
            None => TlsVersion::GoodDefault,
            Some(v) => match self.str_of(v, "min_version")? {
                "goodDefault" => TlsVersion::GoodDefault,
                "ssl3" => TlsVersion::Ssl3,
                "tls1Dot0" => TlsVersion::Tls1Dot0,
                "tls1Dot1" => TlsVersion::Tls1Dot1,
                "tls1Dot2" => TlsVersion::Tls1Dot2,
                "tls1Dot3" => TlsVersion::Tls1Dot3,
                other => {
                    let msg = format!(
                        "unknown value '{other}' for 'min_version'; expected one of: {}",
                        TLS_VERSIONS.join(", ")
                    );
                    return Err(self.err(ErrorKind::Schema, v.span(), msg));
                }
            },
        };
        Ok(TlsOptions {
            keypair,
            require_client_certs: self.boolean(&t, "require_client_certs")?,
            trust_browser_cas: self.boolean(&t, "trust_browser_cas")?,
            trusted_certificates,
            min_version,
            cipher_list: self.string(&t, "cipher_list")?,
        })
    }

    fn network(&self, v: &Value) -> Result<Network, Error> {
        let t = self.table(v, "'network'", &["allow", "deny", "tls"])?;
        Ok(Network {
            allow: if t.get("allow").is_some() { self.strings(&t, "allow")? } else { vec!["public".to_owned()] },
            deny: self.strings(&t, "deny")?,
            tls: self.tls_in(&t)?,
        })
    }

    fn external(&self, v: &Value) -> Result<External, Error> {
        let t = self.table(v, "'external'", &["address", "http", "https", "tcp"])?;
        let mut protocols = t.entries.iter().filter(|e| matches!(e.key, "http" | "https" | "tcp"));
        let protocol = match (protocols.next(), protocols.next()) {
            (_, Some(second)) => {
                let msg = "'external' sets more than one of: http, https, tcp".to_owned();
                return Err(self.err(ErrorKind::Schema, second.key_span.clone(), msg));
            }
            (None, None) => ExternalProtocol::Http(HttpOptions::default()),
            (Some(e), None) => match e.key {
                "http" => ExternalProtocol::Http(self.http_options(&self.table(e.value, "'http'", HTTP_KEYS)?)?),
                "https" => {
                    let keys: Vec<&str> = HTTP_KEYS.iter().copied().chain(["tls", "certificate_host"]).collect();
                    let h = self.table(e.value, "'https'", &keys)?;
                    ExternalProtocol::Https {
                        options: self.http_options(&h)?,
                        tls: self.tls_in(&h)?.unwrap_or_default(),
                        certificate_host: self.string(&h, "certificate_host")?,
                    }
                }
                _ => {
                    let h = self.table(e.value, "'tcp'", &["tls", "certificate_host"])?;
                    ExternalProtocol::Tcp {
                        tls: self.tls_in(&h)?,
                        certificate_host: self.string(&h, "certificate_host")?,
                    }
                }
            },
        };
        Ok(External { address: self.string(&t, "address")?, protocol })
    }

    fn disk(&self, v: &Value) -> Result<Disk, Error> {
        let t = self.table(v, "'disk'", &["path", "writable", "allow_dotfiles"])?;
        Ok(Disk {
            path: self.string(&t, "path")?,
            writable: self.boolean(&t, "writable")?,
            allow_dotfiles: self.boolean(&t, "allow_dotfiles")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "tests/fixtures/t.toml";

    fn run(src: &str) -> Result<Config, Error> {
        parse(Path::new(FILE), src)
    }

    fn ok(src: &str) -> Config {
        run(src).unwrap_or_else(|e| panic!("unexpected error: {e}\nsource:\n{src}"))
    }

    /// Parses `src` and expects exactly the error `expected` (with the file name left out).
    fn check(src: &str, expected: &str) {
        match run(src) {
            Ok(c) => panic!("expected an error, got {c:#?}\nsource:\n{src}"),
            Err(e) => assert_eq!(e.to_string(), format!("{FILE}{expected}"), "source:\n{src}"),
        }
    }

    fn worker(src: &str) -> Worker {
        match ok(&format!("[service.w]\nmodules = [\"main.js\"]\ncompatibility_date = \"2024-01-01\"\n{src}"))
            .services
            .into_iter()
            .next()
            .map(|s| s.kind)
        {
            Some(ServiceKind::Worker(w)) => w,
            other => panic!("not a worker: {other:?}"),
        }
    }

    /// The TOML example in this module's documentation parses.
    #[test]
    fn documented_example_parses() {
        let source = include_str!("toml.rs");
        let example: Vec<&str> = source
            .lines()
            .skip_while(|l| *l != "//! ```toml")
            .skip(1)
            .take_while(|l| *l != "//! ```")
            .map(|l| l.strip_prefix("//! ").unwrap_or(""))
            .collect();
        assert!(example.len() > 20);
        let config = ok(&example.join("\n"));
        let names: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["main", "internet", "files", "backend"]);
        let Some(ServiceKind::Worker(w)) = config.services.first().map(|s| &s.kind) else { panic!() };
        let bindings: Vec<&str> = w.bindings.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            bindings,
            ["AUTH", "API", "GREETING", "CONFIG", "BLOB", "SECRET", "COUNTER", "EVAL", "CACHE", "PARAM", "DB", "KEY"]
        );
        assert_eq!(w.durable_object_storage, DurableObjectStorage::InMemory);
        assert_eq!(w.tails.len(), 1);
        assert!(matches!(&w.bindings[11].kind, BindingKind::CryptoKey(k) if k.algorithm_json == "\"HMAC\""));
    }

    #[test]
    fn binding_kinds_keep_their_order() {
        let w = worker(
            r#"[service.w.bindings]
Z = { text_file = "greeting.txt" }
A = { data = "ab" }
M = { json_file = "config.json" }
W = { wasm_module_file = "blob.bin" }
K = { kv_namespace = "kv" }
R = { r2_bucket = { name = "r2", entrypoint = "e" } }
Q = { queue = "q" }
E = { analytics_engine = "ae" }
D = { durable_object_namespace = { class_name = "C", service_name = "s" } }
P = { parameter = {} }
"#,
        );
        let names: Vec<&str> = w.bindings.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["Z", "A", "M", "W", "K", "R", "Q", "E", "D", "P"]);
        assert_eq!(w.bindings[0].kind, BindingKind::Text("Hello from a text module\n".into()));
        assert_eq!(w.bindings[1].kind, BindingKind::Data(b"ab".to_vec()));
        assert!(matches!(&w.bindings[5].kind, BindingKind::R2Bucket(d) if d.entrypoint.as_deref() == Some("e")));
        assert_eq!(w.bindings[9].kind, BindingKind::Parameter { optional: false });
        assert_eq!((w.bindings[0].span.line, w.bindings[0].span.col), (5, 1));
    }

    #[test]
    fn worker_sources_and_storage() {
        let config = ok(r#"
[service.sw]
service_worker_script = "worker.js"
compatibility_date = "2024-01-01"
durable_object_storage = { local_disk = "files" }
durable_object_namespaces = [{ class_name = "A", ephemeral_local = true, prevent_eviction = true }]
[service.child]
inherit = "sw"
cache_api_outbound = "cache"
[[socket]]
name = "raw"
service = "sw"
tcp = { tls = { min_version = "tls1Dot3", trusted_certificate_files = ["cert.pem"], trusted_certificates = ["x"] } }
"#);
        let Some(ServiceKind::Worker(sw)) = config.services.first().map(|s| &s.kind) else { panic!() };
        assert!(matches!(&sw.source, WorkerSource::ServiceWorkerScript { source, .. } if source.contains("Hello")));
        assert_eq!(sw.durable_object_storage, DurableObjectStorage::LocalDisk("files".into()));
        assert!(sw.durable_object_namespaces[0].ephemeral_local);
        let Some(ServiceKind::Worker(child)) = config.services.get(1).map(|s| &s.kind) else { panic!() };
        assert_eq!(child.source, WorkerSource::Inherit("sw".into()));
        let SocketProtocol::Tcp { tls: Some(tls) } = &config.sockets[0].protocol else { panic!() };
        assert_eq!(tls.min_version, TlsVersion::Tls1Dot3);
        assert_eq!(tls.trusted_certificates.len(), 2);
    }

    #[test]
    fn external_protocols() {
        let config = ok(r#"
[service.a]
external = { address = "x:1", https = { style = "proxy", tls = {}, certificate_host = "h" } }
[service.b]
external = { tcp = { certificate_host = "h" } }
[service.c]
external = {}
[service.d]
disk = {}
"#);
        let kinds: Vec<&ServiceKind> = config.services.iter().map(|s| &s.kind).collect();
        assert_eq!(
            kinds,
            [
                &ServiceKind::External(External {
                    address: Some("x:1".into()),
                    protocol: ExternalProtocol::Https {
                        options: HttpOptions { style: HttpStyle::Proxy, ..HttpOptions::default() },
                        tls: TlsOptions::default(),
                        certificate_host: Some("h".into()),
                    },
                }),
                &ServiceKind::External(External {
                    address: None,
                    protocol: ExternalProtocol::Tcp { tls: None, certificate_host: Some("h".into()) },
                }),
                &ServiceKind::External(External {
                    address: None,
                    protocol: ExternalProtocol::Http(HttpOptions::default())
                }),
                &ServiceKind::Disk(Disk::default()),
            ]
        );
    }

    #[test]
    fn errors() {
        check("sevice = 1", ":1:1: unknown key 'sevice' in the top level; did you mean 'service'?");
        check("[service.m]\nlimits = { cpu_ms = -1 }", ":2:21: expected an integer from 0 to 4294967295 for 'cpu_ms'");
        check("[service.m]\nlimits = { cpu = 5 }", ":2:12: unknown key 'cpu' in 'limits'");
        check(
            "[service.m.bindings]\nA = { service = { name = \"x\", timeout_ms = \"1s\" } }",
            ":2:44: expected an integer from 0 to 4294967295 for 'timeout_ms'",
        );
        check(
            "[service.m]\ncompatibility_dat = \"x\"",
            ":2:1: unknown key 'compatibility_dat' in service 'm'; did you mean 'compatibility_date'?",
        );
        check("[service.m]\ncompatibility_date = 5", ":2:22: expected a string for 'compatibility_date'");
        check("[service.m]\ncompatibility_flags = [\"a\", 1]", ":2:29: expected a string for 'compatibility_flags'");
        check(
            "[service.m.bindings]\nA = { servce = \"x\" }",
            ":2:7: unknown key 'servce' in binding 'A'; did you mean 'service'?",
        );
        check(
            "[service.m.bindings]\nA = { text = \"x\", json = \"y\" }",
            ":2:19: binding 'A' sets both 'text' and 'json'; set only one",
        );
        check("[service.m.bindings]\nA = {}", ":2:5: binding 'A' needs one of: text, text_file, data, data_file, json, json_file, wasm_module_file, service, from_environment, kv_namespace, r2_bucket, queue, analytics_engine, durable_object_namespace, unsafe_eval, memory_cache, parameter, hyperdrive, crypto_key");
        check("[service.m.bindings]\nA = 5", ":2:5: expected a table for binding 'A'");
        check("[service.m.bindings]\nA = { unsafe_eval = false }", ":2:21: expected true for 'unsafe_eval'");
        check(
            "[service.m]\nmodules = [\"nope.js\"]",
            ":2:12: cannot read file 'tests/fixtures/nope.js': No such file or directory (os error 2)",
        );
        check("[service.m]\nmodules = [\"a.ts\"]", ":2:12: cannot tell the module type of 'a.ts' from its extension; write { name = \"a.ts\", es_module = \"a.ts\" } (or text, data, wasm, json, ...)");
        check(
            "[service.m]\nmodules = [{ name = \"x\" }]",
            ":2:12: a module needs one of: es_module, common_js_module, text, data, wasm, json, python_module",
        );
        check("[service.m]\nmodules = [{ text = \"blob.bin\" }]", ":2:21: file for 'text' is not valid UTF-8 text");
        check(
            "[service.m]\nmodules = [\"main.js\"]\ninherit = \"x\"",
            ":3:1: service 'm' sets more than one of: modules, service_worker_script, inherit",
        );
        check(
            "[service.n]\nnetwork = {}\ncompatibility_date = \"x\"",
            ":3:1: a network service takes no other keys, found 'compatibility_date'",
        );
        check(
            "[service.n]\nnetwork = {}\ndisk = {}",
            ":3:1: service 'n' sets more than one of: network, external, disk",
        );
        check("[service.n]\nnetwork = { allow = \"public\" }", ":2:21: expected an array for 'allow'");
        check("[service.n]\nnetwork = { tls = { min_version = \"tls12\" } }", ":2:35: unknown value 'tls12' for 'min_version'; expected one of: goodDefault, ssl3, tls1Dot0, tls1Dot1, tls1Dot2, tls1Dot3");
        check(
            "[service.n]\nnetwork = { tls = { private_key = \"k\" } }",
            ":2:19: 'tls' needs both a private key and a certificate chain, or neither",
        );
        check(
            "[service.n]\nnetwork = { tls = { private_key = \"k\", private_key_file = \"key.pem\" } }",
            ":2:40: set either 'private_key' or 'private_key_file', not both",
        );
        check(
            "[service.m]\ndurable_object_storage = \"disk\"",
            ":2:26: expected \"none\", \"in_memory\" or { local_disk = \"...\" } for 'durable_object_storage'",
        );
        check(
            "[[socket]]\nname = \"s\"\nhttp = {}\ntcp = {}",
            ":4:1: socket 's' sets more than one of: http, https, tcp",
        );
        check("[[socket]]\nservice = 5", ":2:11: expected a service name or a table for 'service'");
        check("[[socket]]\nservice = { entrypoint = \"e\" }", ":2:11: 'service' needs 'name'");
        check("[[socket]]\nhttp = { style = \"proxyy\" }", ":2:18: expected \"host\" or \"proxy\" for 'style'");
        check("socket = 1", ":1:10: expected an array for 'socket'");
        check("[service]\nm = 1", ":2:5: expected a table for service 'm'");
        check("[service.m]\nx = ", ":2:5: string values must be quoted, expected literal string");
    }
}
