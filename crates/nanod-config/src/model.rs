//! The config model: plain data that both front ends (Cap'n Proto text and TOML) produce.
//!
//! Names and shapes follow workerd's `workerd.capnp` schema so that a workerd config maps onto it
//! one to one. This module holds no parsing and no validation logic; see `capnp` and `toml` for the
//! front ends and `validate` for cross-references. Every node that came from a file carries a
//! [`Span`] so later checks can report `file:line:col`; spans are ignored by equality so that a
//! Cap'n Proto config and its TOML twin compare equal.

use std::path::PathBuf;

/// Where a value came from in a config file. Compares equal to every other span.
#[derive(Debug, Clone, Default)]
pub struct Span {
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

impl PartialEq for Span {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Span {}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub services: Vec<Service>,
    pub sockets: Vec<Socket>,
    pub v8_flags: Vec<String>,
    pub autogates: Vec<String>,
    pub structured_logging: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub name: String,
    /// `None` when the address must come from `--socket-addr`.
    pub address: Option<String>,
    pub protocol: SocketProtocol,
    pub service: ServiceDesignator,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketProtocol {
    Http(HttpOptions),
    Https { options: HttpOptions, tls: TlsOptions },
    Tcp { tls: Option<TlsOptions> },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceDesignator {
    pub name: String,
    pub entrypoint: Option<String>,
    /// JSON text of `props.json`, if given.
    pub props_json: Option<String>,
    /// nanod extension, for service bindings and `globalOutbound`: how long a call may take
    /// before it counts as failed (and `fallback`, if any, answers instead).
    pub timeout_ms: Option<u32>,
    /// nanod extension: the service that answers a call when the target throws, times out or
    /// breaks one of its limits.
    pub fallback: Option<Box<ServiceDesignator>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub kind: ServiceKind,
    pub span: Span,
}

// A config holds a handful of services; boxing the Worker would only make matching clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceKind {
    Worker(Worker),
    Network(Network),
    External(External),
    Disk(Disk),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub source: WorkerSource,
    pub compatibility_date: Option<String>,
    pub compatibility_flags: Vec<String>,
    pub bindings: Vec<Binding>,
    pub global_outbound: Option<ServiceDesignator>,
    pub cache_api_outbound: Option<ServiceDesignator>,
    pub durable_object_namespaces: Vec<DurableObjectNamespace>,
    pub durable_object_unique_key_modifier: Option<String>,
    pub durable_object_storage: DurableObjectStorage,
    pub module_fallback: Option<String>,
    /// Services that receive this Worker's tail events (`tails`).
    pub tails: Vec<ServiceDesignator>,
    /// nanod extension: resource limits of the Worker's isolates and requests.
    pub limits: Limits,
    /// Where the Worker was defined (its struct literal or TOML table).
    pub span: Span,
    /// Where `compatibilityDate` was given; the Worker's span when it is absent.
    pub compatibility_date_span: Span,
}

/// A Worker's limits (a nanod extension: workerd has none). Unset fields take the defaults
/// below; `0` means no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// JS time one request may use (all of its runs inside the isolate, summed), in ms.
    pub cpu_ms: Option<u32>,
    /// Heap of one isolate, in MiB.
    pub memory_mb: Option<u32>,
    /// Requests one isolate serves at once; more get a 503.
    pub concurrent_requests: Option<u32>,
    /// Bytes of one request body; more get a 413.
    pub request_body_bytes: Option<u64>,
    /// `fetch()` calls and service-binding calls one request may make.
    pub subrequests: Option<u32>,
    /// Where `limits` was given; the Worker's span when it is absent.
    pub span: Span,
}

impl Limits {
    pub const DEFAULT_CPU_MS: u32 = 30_000;
    pub const DEFAULT_MEMORY_MB: u32 = 128;
    pub const DEFAULT_CONCURRENT_REQUESTS: u32 = 10_000;
    pub const DEFAULT_REQUEST_BODY_BYTES: u64 = 100 << 20;
    pub const DEFAULT_SUBREQUESTS: u32 = 10_000;

    pub fn cpu_ms(&self) -> u32 {
        self.cpu_ms.unwrap_or(Self::DEFAULT_CPU_MS)
    }
    pub fn memory_mb(&self) -> u32 {
        self.memory_mb.unwrap_or(Self::DEFAULT_MEMORY_MB)
    }
    pub fn concurrent_requests(&self) -> u32 {
        self.concurrent_requests.unwrap_or(Self::DEFAULT_CONCURRENT_REQUESTS)
    }
    pub fn request_body_bytes(&self) -> u64 {
        self.request_body_bytes.unwrap_or(Self::DEFAULT_REQUEST_BODY_BYTES)
    }
    pub fn subrequests(&self) -> u32 {
        self.subrequests.unwrap_or(Self::DEFAULT_SUBREQUESTS)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerSource {
    /// The first module is the main module.
    Modules(Vec<Module>),
    ServiceWorkerScript {
        source: String,
        span: Span,
    },
    Inherit(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    pub content: ModuleContent,
    pub named_exports: Vec<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleContent {
    EsModule(String),
    CommonJs(String),
    Text(String),
    Data(Vec<u8>),
    Wasm(Vec<u8>),
    Json(String),
    PythonModule(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    pub kind: BindingKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingKind {
    Text(String),
    Data(Vec<u8>),
    /// JSON text, parsed by the runtime.
    Json(String),
    WasmModule(Vec<u8>),
    Service(ServiceDesignator),
    /// Name of an environment variable; a missing variable gives `null`.
    FromEnvironment(String),
    KvNamespace(ServiceDesignator),
    R2Bucket(ServiceDesignator),
    DurableObjectNamespace {
        class_name: String,
        service_name: Option<String>,
    },
    Queue(ServiceDesignator),
    CryptoKey(CryptoKey),
    /// A typed parameter for `inherit` workers.
    Parameter {
        optional: bool,
    },
    UnsafeEval,
    MemoryCache {
        id: String,
    },
    AnalyticsEngine(ServiceDesignator),
    Hyperdrive {
        designator: ServiceDesignator,
        database: String,
        user: String,
        password: String,
        scheme: String,
    },
    /// A binding kind that the schema has but that nanod does not model in detail yet: the
    /// capnp field name. The runtime refuses to start a Worker that uses one.
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoKey {
    pub format: CryptoKeyFormat,
    pub algorithm_json: String,
    pub extractable: bool,
    pub usages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoKeyFormat {
    Raw(Vec<u8>),
    Hex(String),
    Base64(String),
    Pkcs8(String),
    Spki(String),
    Jwk(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableObjectNamespace {
    pub class_name: String,
    pub unique_key: Option<String>,
    pub ephemeral_local: bool,
    pub prevent_eviction: bool,
    pub enable_sql: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DurableObjectStorage {
    #[default]
    None,
    InMemory,
    LocalDisk(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Defaults to `["public"]`.
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    pub tls: Option<TlsOptions>,
}

impl Default for Network {
    fn default() -> Self {
        Network { allow: vec!["public".to_owned()], deny: Vec::new(), tls: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    pub address: Option<String>,
    pub protocol: ExternalProtocol,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalProtocol {
    Http(HttpOptions),
    Https { options: HttpOptions, tls: TlsOptions, certificate_host: Option<String> },
    Tcp { tls: Option<TlsOptions>, certificate_host: Option<String> },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disk {
    pub path: Option<String>,
    pub writable: bool,
    pub allow_dotfiles: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpOptions {
    pub style: HttpStyle,
    pub forwarded_proto_header: Option<String>,
    pub cf_blob_header: Option<String>,
    pub inject_request_headers: Vec<Header>,
    pub inject_response_headers: Vec<Header>,
    pub capnp_connect_host: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpStyle {
    #[default]
    Host,
    Proxy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub keypair: Option<TlsKeypair>,
    pub require_client_certs: bool,
    pub trust_browser_cas: bool,
    pub trusted_certificates: Vec<String>,
    pub min_version: TlsVersion,
    pub cipher_list: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsKeypair {
    pub private_key: String,
    pub certificate_chain: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsVersion {
    #[default]
    GoodDefault,
    Ssl3,
    Tls1Dot0,
    Tls1Dot1,
    Tls1Dot2,
    Tls1Dot3,
}
