//! workerd's config schema (`workerd.capnp`) as data: every struct, group, union and enum, each
//! field with its name and type.
//!
//! The lowering walks values against these tables, so the set of accepted field names is exactly
//! workerd's, including fields that nanod does not use yet (they are checked, then ignored).
//! Groups and named unions (`https :group`, `props :union`) are anonymous structs here whose
//! members are flagged `union` when they belong to a union. Field numbers, defaults and
//! annotations are left out: the text format does not need them.

/// The type of a field or constant.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Void,
    Bool,
    Int(IntTy),
    Float,
    Text,
    Data,
    Enum(&'static EnumSchema),
    Struct(&'static StructSchema),
    List(&'static Ty),
}

impl Ty {
    /// Same type: structs and enums by identity.
    pub fn same(self, other: Ty) -> bool {
        match (self, other) {
            (Ty::Void, Ty::Void)
            | (Ty::Bool, Ty::Bool)
            | (Ty::Float, Ty::Float)
            | (Ty::Text, Ty::Text)
            | (Ty::Data, Ty::Data) => true,
            (Ty::Int(a), Ty::Int(b)) => a == b,
            (Ty::Enum(a), Ty::Enum(b)) => std::ptr::eq(a, b),
            (Ty::Struct(a), Ty::Struct(b)) => std::ptr::eq(a, b),
            (Ty::List(a), Ty::List(b)) => a.same(*b),
            _ => false,
        }
    }

    pub fn name(self) -> String {
        match self {
            Ty::Void => "Void".to_owned(),
            Ty::Bool => "Bool".to_owned(),
            Ty::Int(i) => i.name.to_owned(),
            Ty::Float => "Float64".to_owned(),
            Ty::Text => "Text".to_owned(),
            Ty::Data => "Data".to_owned(),
            Ty::Enum(e) => e.name.to_owned(),
            Ty::Struct(s) => s.name.to_owned(),
            Ty::List(t) => format!("List({})", t.name()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntTy {
    pub name: &'static str,
    pub min: i128,
    pub max: i128,
}

#[derive(Debug)]
pub struct StructSchema {
    /// Qualified name, e.g. `Worker.Module`; for groups, `Socket.https`.
    pub name: &'static str,
    pub fields: &'static [Field],
}

impl StructSchema {
    pub fn field(&'static self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Names of the members of the struct's union, for "set one of" messages.
    pub fn union_members(&'static self) -> Vec<&'static str> {
        self.fields
            .iter()
            .filter(|f| f.union && f.name != "unspecified" && !f.name.starts_with("obsolete"))
            .map(|f| f.name)
            .collect()
    }
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// Member of the struct's (one) anonymous union.
    pub union: bool,
}

#[derive(Debug)]
pub struct EnumSchema {
    pub name: &'static str,
    pub values: &'static [&'static str],
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field { name, ty, union: false }
}

const fn u(name: &'static str, ty: Ty) -> Field {
    Field { name, ty, union: true }
}

pub const UINT8: IntTy = IntTy { name: "UInt8", min: 0, max: u8::MAX as i128 };
pub const UINT16: IntTy = IntTy { name: "UInt16", min: 0, max: u16::MAX as i128 };
pub const UINT32: IntTy = IntTy { name: "UInt32", min: 0, max: u32::MAX as i128 };
pub const UINT64: IntTy = IntTy { name: "UInt64", min: 0, max: u64::MAX as i128 };
pub const INT8: IntTy = IntTy { name: "Int8", min: i8::MIN as i128, max: i8::MAX as i128 };
pub const INT16: IntTy = IntTy { name: "Int16", min: i16::MIN as i128, max: i16::MAX as i128 };
pub const INT32: IntTy = IntTy { name: "Int32", min: i32::MIN as i128, max: i32::MAX as i128 };
pub const INT64: IntTy = IntTy { name: "Int64", min: i64::MIN as i128, max: i64::MAX as i128 };

static TEXT: Ty = Ty::Text;
static LIST_SERVICE: Ty = Ty::Struct(&SERVICE);
static LIST_SOCKET: Ty = Ty::Struct(&SOCKET);
static LIST_EXTENSION: Ty = Ty::Struct(&EXTENSION);
static LIST_EXTENSION_MODULE: Ty = Ty::Struct(&EXTENSION_MODULE);
static LIST_MODULE: Ty = Ty::Struct(&MODULE);
static LIST_BINDING: Ty = Ty::Struct(&BINDING);
static LIST_DESIGNATOR: Ty = Ty::Struct(&SERVICE_DESIGNATOR);
static LIST_DO_NAMESPACE: Ty = Ty::Struct(&DURABLE_OBJECT_NAMESPACE);
static LIST_HEADER: Ty = Ty::Struct(&HEADER);
static LIST_USAGE: Ty = Ty::Enum(&USAGE);
static LIST_WORKFLOW: Ty = Ty::Struct(&WORKFLOW);
static LIST_NAMED_IMAGE: Ty = Ty::Struct(&NAMED_IMAGE);
static LIST_DEVICE: Ty = Ty::Struct(&DEVICE);

pub static CONFIG: StructSchema = StructSchema {
    name: "Config",
    fields: &[
        f("services", Ty::List(&LIST_SERVICE)),
        f("sockets", Ty::List(&LIST_SOCKET)),
        f("v8Flags", Ty::List(&TEXT)),
        f("extensions", Ty::List(&LIST_EXTENSION)),
        f("autogates", Ty::List(&TEXT)),
        f("structuredLogging", Ty::Bool),
        f("logging", Ty::Struct(&LOGGING_OPTIONS)),
    ],
};

pub static LOGGING_OPTIONS: StructSchema = StructSchema {
    name: "LoggingOptions",
    fields: &[f("structuredLogging", Ty::Bool), f("stdoutPrefix", Ty::Text), f("stderrPrefix", Ty::Text)],
};

pub static SOCKET: StructSchema = StructSchema {
    name: "Socket",
    fields: &[
        f("name", Ty::Text),
        f("address", Ty::Text),
        u("http", Ty::Struct(&HTTP_OPTIONS)),
        u("https", Ty::Struct(&SOCKET_HTTPS)),
        u("tcp", Ty::Struct(&SOCKET_TCP)),
        u("udp", Ty::Struct(&SOCKET_UDP)),
        f("service", Ty::Struct(&SERVICE_DESIGNATOR)),
    ],
};

static SOCKET_HTTPS: StructSchema = StructSchema {
    name: "Socket.https",
    fields: &[f("options", Ty::Struct(&HTTP_OPTIONS)), f("tlsOptions", Ty::Struct(&TLS_OPTIONS))],
};

static SOCKET_TCP: StructSchema =
    StructSchema { name: "Socket.tcp", fields: &[f("tlsOptions", Ty::Struct(&TLS_OPTIONS))] };

static SOCKET_UDP: StructSchema = StructSchema {
    name: "Socket.udp",
    fields: &[f("idleTimeoutMs", Ty::Int(UINT32)), f("maxPendingBytes", Ty::Int(UINT32))],
};

pub static SERVICE: StructSchema = StructSchema {
    name: "Service",
    fields: &[
        f("name", Ty::Text),
        u("unspecified", Ty::Void),
        u("worker", Ty::Struct(&WORKER)),
        u("network", Ty::Struct(&NETWORK)),
        u("external", Ty::Struct(&EXTERNAL_SERVER)),
        u("disk", Ty::Struct(&DISK_DIRECTORY)),
    ],
};

pub static SERVICE_DESIGNATOR: StructSchema = StructSchema {
    name: "ServiceDesignator",
    fields: &[
        f("name", Ty::Text),
        f("entrypoint", Ty::Text),
        f("props", Ty::Struct(&DESIGNATOR_PROPS)),
        // nanod extensions (workerd rejects them): see `model::ServiceDesignator`.
        f("timeoutMs", Ty::Int(UINT32)),
        f("fallback", Ty::Struct(&SERVICE_DESIGNATOR)),
    ],
};

static DESIGNATOR_PROPS: StructSchema =
    StructSchema { name: "ServiceDesignator.props", fields: &[u("empty", Ty::Void), u("json", Ty::Text)] };

pub static WORKFLOWS_ENGINE: StructSchema = StructSchema {
    name: "WorkflowsEngine",
    fields: &[f("actorClass", Ty::Struct(&SERVICE_DESIGNATOR)), f("workflows", Ty::List(&LIST_WORKFLOW))],
};

static WORKFLOW: StructSchema = StructSchema {
    name: "WorkflowsEngine.Workflow",
    fields: &[f("className", Ty::Text), f("name", Ty::Text), f("bindingService", Ty::Struct(&SERVICE_DESIGNATOR))],
};

pub static WORKER: StructSchema = StructSchema {
    name: "Worker",
    fields: &[
        u("modules", Ty::List(&LIST_MODULE)),
        u("serviceWorkerScript", Ty::Text),
        u("inherit", Ty::Text),
        f("compatibilityDate", Ty::Text),
        f("compatibilityFlags", Ty::List(&TEXT)),
        f("bindings", Ty::List(&LIST_BINDING)),
        f("globalOutbound", Ty::Struct(&SERVICE_DESIGNATOR)),
        f("cacheApiOutbound", Ty::Struct(&SERVICE_DESIGNATOR)),
        f("durableObjectNamespaces", Ty::List(&LIST_DO_NAMESPACE)),
        f("durableObjectUniqueKeyModifier", Ty::Text),
        f("durableObjectStorage", Ty::Struct(&DO_STORAGE)),
        f("moduleFallback", Ty::Text),
        f("tails", Ty::List(&LIST_DESIGNATOR)),
        f("streamingTails", Ty::List(&LIST_DESIGNATOR)),
        f("containerEngine", Ty::Struct(&CONTAINER_ENGINE)),
        f("accessBlobHeader", Ty::Text),
        f("accessBindingService", Ty::Struct(&SERVICE_DESIGNATOR)),
        f("workflowsEngine", Ty::Struct(&WORKFLOWS_ENGINE)),
        // nanod extension (workerd rejects it): see `model::Limits`.
        f("limits", Ty::Struct(&WORKER_LIMITS)),
    ],
};

/// nanod's `Worker.limits`, not in workerd's schema.
pub static WORKER_LIMITS: StructSchema = StructSchema {
    name: "Worker.Limits",
    fields: &[
        f("cpuMs", Ty::Int(UINT32)),
        f("memoryMb", Ty::Int(UINT32)),
        f("concurrentRequests", Ty::Int(UINT32)),
        f("requestBodyBytes", Ty::Int(UINT64)),
        f("subrequests", Ty::Int(UINT32)),
    ],
};

static DO_STORAGE: StructSchema = StructSchema {
    name: "Worker.durableObjectStorage",
    fields: &[u("none", Ty::Void), u("inMemory", Ty::Void), u("localDisk", Ty::Text)],
};

static CONTAINER_ENGINE: StructSchema = StructSchema {
    name: "Worker.containerEngine",
    fields: &[u("none", Ty::Void), u("localDocker", Ty::Struct(&DOCKER_CONFIGURATION))],
};

pub static DOCKER_CONFIGURATION: StructSchema = StructSchema {
    name: "Worker.DockerConfiguration",
    fields: &[f("socketPath", Ty::Text), f("containerEgressInterceptorImage", Ty::Text)],
};

pub static MODULE: StructSchema = StructSchema {
    name: "Worker.Module",
    fields: &[
        f("name", Ty::Text),
        u("esModule", Ty::Text),
        u("commonJsModule", Ty::Text),
        u("text", Ty::Text),
        u("data", Ty::Data),
        u("wasm", Ty::Data),
        u("json", Ty::Text),
        u("obsolete", Ty::Text),
        u("pythonModule", Ty::Text),
        u("obsoletePythonRequirement", Ty::Text),
        f("namedExports", Ty::List(&TEXT)),
    ],
};

pub static BINDING: StructSchema = StructSchema {
    name: "Worker.Binding",
    fields: &[
        f("name", Ty::Text),
        u("unspecified", Ty::Void),
        u("parameter", Ty::Struct(&BINDING_PARAMETER)),
        u("text", Ty::Text),
        u("data", Ty::Data),
        u("json", Ty::Text),
        u("wasmModule", Ty::Data),
        u("cryptoKey", Ty::Struct(&CRYPTO_KEY)),
        u("service", Ty::Struct(&SERVICE_DESIGNATOR)),
        u("durableObjectClass", Ty::Struct(&SERVICE_DESIGNATOR)),
        u("durableObjectNamespace", Ty::Struct(&DO_NAMESPACE_DESIGNATOR)),
        u("kvNamespace", Ty::Struct(&SERVICE_DESIGNATOR)),
        u("r2Bucket", Ty::Struct(&SERVICE_DESIGNATOR)),
        u("obsolete0", Ty::Struct(&SERVICE_DESIGNATOR)),
        u("wrapped", Ty::Struct(&WRAPPED_BINDING)),
        u("queue", Ty::Struct(&SERVICE_DESIGNATOR)),
        u("fromEnvironment", Ty::Text),
        u("analyticsEngine", Ty::Struct(&SERVICE_DESIGNATOR)),
        u("hyperdrive", Ty::Struct(&BINDING_HYPERDRIVE)),
        u("unsafeEval", Ty::Void),
        u("memoryCache", Ty::Struct(&BINDING_MEMORY_CACHE)),
        u("workerLoader", Ty::Struct(&BINDING_WORKER_LOADER)),
        u("workerdDebugPort", Ty::Void),
    ],
};

static BINDING_PARAMETER: StructSchema = StructSchema {
    name: "Worker.Binding.parameter",
    fields: &[f("type", Ty::Struct(&BINDING_TYPE)), f("optional", Ty::Bool)],
};

static BINDING_HYPERDRIVE: StructSchema = StructSchema {
    name: "Worker.Binding.hyperdrive",
    fields: &[
        f("designator", Ty::Struct(&SERVICE_DESIGNATOR)),
        f("database", Ty::Text),
        f("user", Ty::Text),
        f("password", Ty::Text),
        f("scheme", Ty::Text),
    ],
};

static BINDING_MEMORY_CACHE: StructSchema = StructSchema {
    name: "Worker.Binding.memoryCache",
    fields: &[f("id", Ty::Text), f("limits", Ty::Struct(&MEMORY_CACHE_LIMITS))],
};

static BINDING_WORKER_LOADER: StructSchema =
    StructSchema { name: "Worker.Binding.workerLoader", fields: &[f("id", Ty::Text)] };

pub static BINDING_TYPE: StructSchema = StructSchema {
    name: "Worker.Binding.Type",
    fields: &[
        u("unspecified", Ty::Void),
        u("text", Ty::Void),
        u("data", Ty::Void),
        u("json", Ty::Void),
        u("wasm", Ty::Void),
        u("cryptoKey", Ty::List(&LIST_USAGE)),
        u("service", Ty::Void),
        u("durableObjectNamespace", Ty::Void),
        u("kvNamespace", Ty::Void),
        u("r2Bucket", Ty::Void),
        u("obsolete0", Ty::Void),
        u("queue", Ty::Void),
        u("analyticsEngine", Ty::Void),
        u("hyperdrive", Ty::Void),
        u("durableObjectClass", Ty::Void),
        u("workerdDebugPort", Ty::Void),
    ],
};

pub static DO_NAMESPACE_DESIGNATOR: StructSchema = StructSchema {
    name: "Worker.Binding.DurableObjectNamespaceDesignator",
    fields: &[f("className", Ty::Text), f("serviceName", Ty::Text)],
};

pub static CRYPTO_KEY: StructSchema = StructSchema {
    name: "Worker.Binding.CryptoKey",
    fields: &[
        u("raw", Ty::Data),
        u("hex", Ty::Text),
        u("base64", Ty::Text),
        u("pkcs8", Ty::Text),
        u("spki", Ty::Text),
        u("jwk", Ty::Text),
        f("algorithm", Ty::Struct(&CRYPTO_KEY_ALGORITHM)),
        f("extractable", Ty::Bool),
        f("usages", Ty::List(&LIST_USAGE)),
    ],
};

static CRYPTO_KEY_ALGORITHM: StructSchema =
    StructSchema { name: "Worker.Binding.CryptoKey.algorithm", fields: &[u("name", Ty::Text), u("json", Ty::Text)] };

pub static USAGE: EnumSchema = EnumSchema {
    name: "Worker.Binding.CryptoKey.Usage",
    values: &["encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"],
};

pub static MEMORY_CACHE_LIMITS: StructSchema = StructSchema {
    name: "Worker.Binding.MemoryCacheLimits",
    fields: &[
        f("maxKeys", Ty::Int(UINT32)),
        f("maxValueSize", Ty::Int(UINT32)),
        f("maxTotalValueSize", Ty::Int(UINT64)),
    ],
};

pub static WRAPPED_BINDING: StructSchema = StructSchema {
    name: "Worker.Binding.WrappedBinding",
    fields: &[f("moduleName", Ty::Text), f("entrypoint", Ty::Text), f("innerBindings", Ty::List(&LIST_BINDING))],
};

pub static DURABLE_OBJECT_NAMESPACE: StructSchema = StructSchema {
    name: "Worker.DurableObjectNamespace",
    fields: &[
        f("className", Ty::Text),
        u("uniqueKey", Ty::Text),
        u("ephemeralLocal", Ty::Void),
        f("preventEviction", Ty::Bool),
        f("enableSql", Ty::Bool),
        f("container", Ty::Struct(&CONTAINER_OPTIONS)),
    ],
};

pub static CONTAINER_OPTIONS: StructSchema = StructSchema {
    name: "Worker.DurableObjectNamespace.ContainerOptions",
    fields: &[
        f("imageName", Ty::Text),
        f("privileges", Ty::Struct(&CONTAINER_PRIVILEGES)),
        f("images", Ty::List(&LIST_NAMED_IMAGE)),
    ],
};

static NAMED_IMAGE: StructSchema = StructSchema {
    name: "Worker.DurableObjectNamespace.ContainerOptions.NamedImage",
    fields: &[f("name", Ty::Text), f("image", Ty::Text)],
};

static CONTAINER_PRIVILEGES: StructSchema = StructSchema {
    name: "Worker.DurableObjectNamespace.ContainerOptions.ContainerPrivileges",
    fields: &[
        f("capabilities", Ty::List(&TEXT)),
        f("devices", Ty::List(&LIST_DEVICE)),
        f("securityOpt", Ty::List(&TEXT)),
    ],
};

static DEVICE: StructSchema = StructSchema {
    name: "Worker.DurableObjectNamespace.ContainerOptions.ContainerPrivileges.Device",
    fields: &[f("pathOnHost", Ty::Text), f("pathInContainer", Ty::Text), f("cgroupPermissions", Ty::Text)],
};

pub static EXTERNAL_SERVER: StructSchema = StructSchema {
    name: "ExternalServer",
    fields: &[
        f("address", Ty::Text),
        u("http", Ty::Struct(&HTTP_OPTIONS)),
        u("https", Ty::Struct(&EXTERNAL_HTTPS)),
        u("tcp", Ty::Struct(&EXTERNAL_TCP)),
    ],
};

static EXTERNAL_HTTPS: StructSchema = StructSchema {
    name: "ExternalServer.https",
    fields: &[
        f("options", Ty::Struct(&HTTP_OPTIONS)),
        f("tlsOptions", Ty::Struct(&TLS_OPTIONS)),
        f("certificateHost", Ty::Text),
    ],
};

static EXTERNAL_TCP: StructSchema = StructSchema {
    name: "ExternalServer.tcp",
    fields: &[f("tlsOptions", Ty::Struct(&TLS_OPTIONS)), f("certificateHost", Ty::Text)],
};

pub static NETWORK: StructSchema = StructSchema {
    name: "Network",
    fields: &[f("allow", Ty::List(&TEXT)), f("deny", Ty::List(&TEXT)), f("tlsOptions", Ty::Struct(&TLS_OPTIONS))],
};

pub static DISK_DIRECTORY: StructSchema = StructSchema {
    name: "DiskDirectory",
    fields: &[f("path", Ty::Text), f("writable", Ty::Bool), f("allowDotfiles", Ty::Bool)],
};

pub static HTTP_OPTIONS: StructSchema = StructSchema {
    name: "HttpOptions",
    fields: &[
        f("style", Ty::Enum(&HTTP_STYLE)),
        f("forwardedProtoHeader", Ty::Text),
        f("cfBlobHeader", Ty::Text),
        f("injectRequestHeaders", Ty::List(&LIST_HEADER)),
        f("injectResponseHeaders", Ty::List(&LIST_HEADER)),
        f("capnpConnectHost", Ty::Text),
    ],
};

pub static HTTP_STYLE: EnumSchema = EnumSchema { name: "HttpOptions.Style", values: &["host", "proxy"] };

pub static HEADER: StructSchema =
    StructSchema { name: "HttpOptions.Header", fields: &[f("name", Ty::Text), f("value", Ty::Text)] };

pub static TLS_OPTIONS: StructSchema = StructSchema {
    name: "TlsOptions",
    fields: &[
        f("keypair", Ty::Struct(&KEYPAIR)),
        f("requireClientCerts", Ty::Bool),
        f("trustBrowserCas", Ty::Bool),
        f("trustedCertificates", Ty::List(&TEXT)),
        f("minVersion", Ty::Enum(&TLS_VERSION)),
        f("cipherList", Ty::Text),
    ],
};

pub static KEYPAIR: StructSchema =
    StructSchema { name: "TlsOptions.Keypair", fields: &[f("privateKey", Ty::Text), f("certificateChain", Ty::Text)] };

pub static TLS_VERSION: EnumSchema = EnumSchema {
    name: "TlsOptions.Version",
    values: &["goodDefault", "ssl3", "tls1Dot0", "tls1Dot1", "tls1Dot2", "tls1Dot3"],
};

pub static EXTENSION: StructSchema =
    StructSchema { name: "Extension", fields: &[f("modules", Ty::List(&LIST_EXTENSION_MODULE))] };

pub static EXTENSION_MODULE: StructSchema = StructSchema {
    name: "Extension.Module",
    fields: &[f("name", Ty::Text), f("internal", Ty::Bool), f("esModule", Ty::Text)],
};

/// Structs a constant may be declared as, by qualified name.
static NAMED_STRUCTS: &[&StructSchema] = &[
    &CONFIG,
    &LOGGING_OPTIONS,
    &SOCKET,
    &SERVICE,
    &SERVICE_DESIGNATOR,
    &WORKFLOWS_ENGINE,
    &WORKFLOW,
    &WORKER,
    &DOCKER_CONFIGURATION,
    &MODULE,
    &BINDING,
    &BINDING_TYPE,
    &DO_NAMESPACE_DESIGNATOR,
    &CRYPTO_KEY,
    &MEMORY_CACHE_LIMITS,
    &WRAPPED_BINDING,
    &DURABLE_OBJECT_NAMESPACE,
    &CONTAINER_OPTIONS,
    &NAMED_IMAGE,
    &CONTAINER_PRIVILEGES,
    &DEVICE,
    &EXTERNAL_SERVER,
    &NETWORK,
    &DISK_DIRECTORY,
    &HTTP_OPTIONS,
    &HEADER,
    &TLS_OPTIONS,
    &KEYPAIR,
    &EXTENSION,
    &EXTENSION_MODULE,
];

static NAMED_ENUMS: &[&EnumSchema] = &[&USAGE, &HTTP_STYLE, &TLS_VERSION];

/// A type by its name in the schema (`Config`, `Worker.Module`) or a builtin (`Text`, `UInt32`).
pub fn lookup(name: &str) -> Option<Ty> {
    let builtin = match name {
        "Void" => Some(Ty::Void),
        "Bool" => Some(Ty::Bool),
        "Text" => Some(Ty::Text),
        "Data" => Some(Ty::Data),
        "Float32" | "Float64" => Some(Ty::Float),
        "Int8" => Some(Ty::Int(INT8)),
        "Int16" => Some(Ty::Int(INT16)),
        "Int32" => Some(Ty::Int(INT32)),
        "Int64" => Some(Ty::Int(INT64)),
        "UInt8" => Some(Ty::Int(UINT8)),
        "UInt16" => Some(Ty::Int(UINT16)),
        "UInt32" => Some(Ty::Int(UINT32)),
        "UInt64" => Some(Ty::Int(UINT64)),
        _ => None,
    };
    builtin
        .or_else(|| NAMED_STRUCTS.iter().find(|s| s.name == name).map(|s| Ty::Struct(s)))
        .or_else(|| NAMED_ENUMS.iter().find(|e| e.name == name).map(|e| Ty::Enum(e)))
}

/// Every type name [`lookup`] knows, for suggestions.
pub fn type_names() -> impl Iterator<Item = &'static str> {
    let builtins = [
        "Void", "Bool", "Text", "Data", "Float32", "Float64", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16",
        "UInt32", "UInt64",
    ];
    builtins.into_iter().chain(NAMED_STRUCTS.iter().map(|s| s.name)).chain(NAMED_ENUMS.iter().map(|e| e.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert!(matches!(lookup("Config"), Some(Ty::Struct(s)) if std::ptr::eq(s, &CONFIG)));
        assert!(matches!(lookup("Worker.Module"), Some(Ty::Struct(s)) if std::ptr::eq(s, &MODULE)));
        assert!(matches!(lookup("TlsOptions.Version"), Some(Ty::Enum(_))));
        assert!(matches!(lookup("UInt32"), Some(Ty::Int(i)) if i == UINT32));
        assert!(lookup("Socket.https").is_none(), "groups are not nameable");
        assert!(lookup("Nope").is_none());
    }

    #[test]
    fn every_struct_has_unique_field_names() {
        for s in NAMED_STRUCTS {
            let mut names: Vec<&str> = s.fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{}", s.name);
        }
    }

    #[test]
    fn type_names_and_sameness() {
        assert_eq!(Ty::List(&LIST_SERVICE).name(), "List(Service)");
        assert!(Ty::List(&LIST_SERVICE).same(Ty::List(&LIST_SERVICE)));
        assert!(!Ty::Struct(&WORKER).same(Ty::Struct(&SERVICE)));
        assert_eq!(WORKER.union_members(), vec!["modules", "serviceWorkerScript", "inherit"]);
    }
}
