//! Start-up: everything that can be computed once per process from the config, shared
//! read-only by every thread. Module bytecode, parsed binding values, resolved service
//! references and each Worker's compatibility flags live here; isolates live in threads.
//!
//! Compatibility flags are resolved here rather than in `nanod-config`'s validation because
//! `--experimental` and `--compat-date` (command-line options) change what is valid; the
//! table and the resolution itself are `nanod_config::compat`.

use std::collections::HashMap;
use std::sync::Arc;

use nanod_config::compat::{self, CompatFlags};
use nanod_config::{BindingKind, Config, ModuleContent, ServiceKind, WorkerSource};
use nanod_js::bytecode::compile_module;
use nanod_js::loader::{CodeKind, CodeModule, WorkerCode};

use crate::error::Location;
use crate::network::Policy;
use crate::service::disk::DiskService;
use crate::service::external::ExternalService;
use crate::service::network::NetworkService;
use crate::ServerError;

/// The name of the implicit network service behind `fetch()`.
pub const INTERNET: &str = "internet";

/// The whole prepared config.
#[derive(Debug)]
pub struct Prepared {
    pub services: HashMap<String, PreparedService>,
}

#[derive(Debug)]
pub enum PreparedService {
    Worker(Arc<PreparedWorker>),
    /// A directory served over HTTP, its root resolved at start-up.
    Disk(Arc<DiskService>),
    /// Outbound HTTP under an allow/deny policy (also the implicit `internet`).
    Network(Arc<NetworkService>),
    /// One fixed HTTP or HTTPS server.
    External(Arc<ExternalService>),
    /// Kinds whose runtime comes later (`tcp` external services): requests get a clear error.
    Unimplemented {
        kind: &'static str,
    },
}

#[derive(Debug)]
pub struct PreparedWorker {
    pub name: String,
    pub script: Script,
    pub bindings: Vec<PreparedBinding>,
    /// Service behind the global `fetch()`.
    pub global_outbound: String,
    /// `global_outbound` with its `timeoutMs` and fallbacks (its own entrypoint and props are
    /// not used, as before them).
    pub global_outbound_target: crate::binding::ServiceTarget,
    /// The Worker's compatibility flags, resolved from its date and flag list.
    pub compat: CompatFlags,
    /// Its limits (CPU, heap, concurrency, body, subrequests), as configured.
    pub limits: nanod_config::Limits,
}

#[derive(Debug)]
pub enum Script {
    Modules(Arc<WorkerCode>),
    ServiceWorker { source: Arc<str> },
}

#[derive(Debug)]
pub struct PreparedBinding {
    pub name: String,
    pub value: BindingValue,
}

#[derive(Debug, Clone)]
pub enum BindingValue {
    Text(Arc<str>),
    Data(Arc<[u8]>),
    /// JSON text, already checked to parse.
    Json(Arc<str>),
    Service(crate::binding::ServiceTarget),
    /// `fromEnvironment`: the variable's value at start-up, `None` if unset (→ `null`).
    Environment(Option<Arc<str>>),
}

impl Prepared {
    /// Prepares every service; Workers' compatibility flags are resolved under `options`.
    pub fn new(config: &Config, options: &compat::Options) -> Result<Prepared, ServerError> {
        let mut services = HashMap::new();
        for service in &config.services {
            let prepared = match &service.kind {
                ServiceKind::Worker(worker) => {
                    PreparedService::Worker(Arc::new(prepare_worker(&service.name, worker, options)?))
                }
                ServiceKind::Network(network) => {
                    let fail = |message: String| ServerError::Worker {
                        at: Location(Some(service.span.clone())),
                        service: service.name.clone(),
                        message,
                    };
                    let policy = Policy::from_config(network).map_err(|e| fail(e.to_string()))?;
                    let tls = crate::tls::client::client_config(network.tls.as_ref()).map_err(fail)?;
                    PreparedService::Network(Arc::new(NetworkService::new(service.name.as_str(), policy, tls)))
                }
                ServiceKind::External(external) => {
                    match ExternalService::new(&service.name, external).map_err(|message| ServerError::Worker {
                        at: Location(Some(service.span.clone())),
                        service: service.name.clone(),
                        message,
                    })? {
                        Some(external) => PreparedService::External(Arc::new(external)),
                        None => PreparedService::Unimplemented { kind: "tcp external" },
                    }
                }
                ServiceKind::Disk(disk) => {
                    let path = disk.path.as_deref().ok_or_else(|| ServerError::Worker {
                        at: Location(Some(service.span.clone())),
                        service: service.name.clone(),
                        message: "a disk service needs a path".to_owned(),
                    })?;
                    let served = DiskService::new(path, disk.writable, disk.allow_dotfiles).map_err(|message| {
                        ServerError::Worker {
                            at: Location(Some(service.span.clone())),
                            service: service.name.clone(),
                            message,
                        }
                    })?;
                    PreparedService::Disk(Arc::new(served))
                }
            };
            services.insert(service.name.clone(), prepared);
        }
        if !services.contains_key(INTERNET) {
            // workerd's implicit `internet`: `allow = ["public"]`, `tlsOptions = (trustBrowserCas = true)`.
            let tls = crate::tls::client::client_config(None).map_err(|message| ServerError::Worker {
                at: Location::default(),
                service: INTERNET.to_owned(),
                message,
            })?;
            services.insert(
                INTERNET.to_owned(),
                PreparedService::Network(Arc::new(NetworkService::new(INTERNET, Policy::default(), tls))),
            );
        }
        Ok(Prepared { services })
    }
}

/// Resolves a Worker's compatibility date and flags; warnings go to stderr, as workerd's do.
fn resolve_compat(
    name: &str,
    worker: &nanod_config::Worker,
    options: &compat::Options,
) -> Result<CompatFlags, ServerError> {
    match compat::resolve(worker.compatibility_date.as_deref(), &worker.compatibility_flags, options) {
        Ok(resolved) => {
            for warning in &resolved.warnings {
                tracing::warn!("service {name}: {warning}");
            }
            Ok(resolved.flags)
        }
        Err(problems) => {
            let span = |about_date: bool| {
                Location(Some(if about_date { worker.compatibility_date_span.clone() } else { worker.span.clone() }))
            };
            let mut lines: Vec<(Location, String)> =
                problems.errors.into_iter().map(|p| (span(p.about_date), p.message)).collect();
            lines.extend(problems.warnings.into_iter().map(|w| (span(false), w)));
            Err(ServerError::Compat { service: name.to_owned(), lines })
        }
    }
}

fn prepare_worker(
    name: &str,
    worker: &nanod_config::Worker,
    options: &compat::Options,
) -> Result<PreparedWorker, ServerError> {
    let worker_error = |message: String| ServerError::Worker {
        at: Location(Some(worker.span.clone())),
        service: name.to_owned(),
        message,
    };
    let compat = match &worker.source {
        // `inherit` is refused below; its date and flags would be the base Worker's.
        WorkerSource::Inherit(_) => CompatFlags::default(),
        _ => resolve_compat(name, worker, options)?,
    };
    let script = match &worker.source {
        WorkerSource::Modules(modules) => {
            let mut code = WorkerCode::default();
            for module in modules {
                let compile_error = |message: String| ServerError::Compile {
                    at: Location(Some(module.span.clone())),
                    service: name.to_owned(),
                    module: module.name.clone(),
                    message,
                };
                let kind = match &module.content {
                    ModuleContent::EsModule(source) => {
                        CodeKind::EsModule(compile_module(&module.name, source).map_err(|e| compile_error(e.message))?)
                    }
                    ModuleContent::Text(text) => CodeKind::Text(text.as_str().into()),
                    ModuleContent::Data(bytes) => CodeKind::Data(bytes.as_slice().into()),
                    ModuleContent::Json(text) => {
                        serde_json::from_str::<serde_json::Value>(text)
                            .map_err(|e| compile_error(format!("invalid JSON: {e}")))?;
                        CodeKind::Json(text.as_str().into())
                    }
                    ModuleContent::CommonJs(_) => {
                        return Err(compile_error("commonJsModule is not supported yet".to_owned()))
                    }
                    ModuleContent::Wasm(_) => {
                        return Err(compile_error("wasm modules are not supported yet".to_owned()))
                    }
                    ModuleContent::PythonModule(_) => {
                        return Err(compile_error("Python modules are not supported".to_owned()))
                    }
                };
                code.modules.push(CodeModule { name: module.name.clone(), kind });
            }
            match code.main_module().map(|m| &m.kind) {
                Some(CodeKind::EsModule(_)) => {}
                Some(_) => return Err(worker_error("the first module must be an ES module".to_owned())),
                None => return Err(worker_error("a Worker needs at least one module".to_owned())),
            }
            // The runtime's own modules (`cloudflare:workers`...), importable by name; a module
            // of the Worker's own with the same name wins.
            let builtins = nanod_web::builtin_modules::modules_for(&compat).map_err(worker_error)?;
            for builtin in builtins {
                if code.module(&builtin.name).is_none() {
                    code.modules.push(builtin);
                }
            }
            Script::Modules(Arc::new(code))
        }
        WorkerSource::ServiceWorkerScript { source, span } => {
            // Check the syntax now, so a broken script fails start-up rather than the first request.
            check_script_syntax(name, source, Some(span))?;
            Script::ServiceWorker { source: source.as_str().into() }
        }
        WorkerSource::Inherit(_) => return Err(worker_error("`inherit` is not supported yet".to_owned())),
    };
    let mut bindings = Vec::new();
    for binding in &worker.bindings {
        let binding_error = |message: String| ServerError::Binding {
            at: Location(Some(binding.span.clone())),
            service: name.to_owned(),
            binding: binding.name.clone(),
            message,
        };
        let value = match &binding.kind {
            BindingKind::Text(text) => BindingValue::Text(text.as_str().into()),
            BindingKind::Data(bytes) => BindingValue::Data(bytes.as_slice().into()),
            BindingKind::Json(text) => {
                serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|e| binding_error(format!("invalid JSON: {e}")))?;
                BindingValue::Json(text.as_str().into())
            }
            BindingKind::Service(designator) => {
                // A named entrypoint is checked against the target's exports once every Worker
                // has been evaluated (`binding::check_entrypoints`); so are its fallbacks'.
                BindingValue::Service(
                    crate::binding::ServiceTarget::from_designator(designator).map_err(binding_error)?,
                )
            }
            BindingKind::FromEnvironment(variable) => {
                BindingValue::Environment(std::env::var(variable).ok().map(Into::into))
            }
            other => return Err(binding_error(format!("{} bindings are not supported yet", binding_kind_name(other)))),
        };
        bindings.push(PreparedBinding { name: binding.name.clone(), value });
    }
    let global_outbound_target = match &worker.global_outbound {
        Some(designator) => crate::binding::ServiceTarget {
            entrypoint: None,
            props: None,
            ..crate::binding::ServiceTarget::from_designator(designator)
                .map_err(|message| worker_error(format!("globalOutbound: {message}")))?
        },
        None => crate::binding::ServiceTarget::plain(INTERNET),
    };
    Ok(PreparedWorker {
        name: name.to_owned(),
        script,
        bindings,
        global_outbound: worker.global_outbound.as_ref().map_or_else(|| INTERNET.to_owned(), |d| d.name.clone()),
        global_outbound_target,
        compat,
        limits: worker.limits.clone(),
    })
}

fn binding_kind_name(kind: &BindingKind) -> &str {
    match kind {
        BindingKind::Text(_) => "text",
        BindingKind::Data(_) => "data",
        BindingKind::Json(_) => "json",
        BindingKind::WasmModule(_) => "wasmModule",
        BindingKind::Service(_) => "service",
        BindingKind::FromEnvironment(_) => "fromEnvironment",
        BindingKind::KvNamespace(_) => "kvNamespace",
        BindingKind::R2Bucket(_) => "r2Bucket",
        BindingKind::DurableObjectNamespace { .. } => "durableObjectNamespace",
        BindingKind::Queue(_) => "queue",
        BindingKind::CryptoKey(_) => "cryptoKey",
        BindingKind::Parameter { .. } => "parameter",
        BindingKind::UnsafeEval => "unsafeEval",
        BindingKind::MemoryCache { .. } => "memoryCache",
        BindingKind::AnalyticsEngine(_) => "analyticsEngine",
        BindingKind::Hyperdrive { .. } => "hyperdrive",
        BindingKind::Unsupported(name) => name,
    }
}

/// Compiles a classic script once to find syntax errors (its bytecode is not kept: QuickJS's
/// script bytecode API is not exposed by rquickjs, so each isolate parses the script).
fn check_script_syntax(name: &str, source: &str, span: Option<&nanod_config::Span>) -> Result<(), ServerError> {
    let fail = |message: String| ServerError::Compile {
        at: Location(span.cloned()),
        service: name.to_owned(),
        module: "serviceWorkerScript".to_owned(),
        message,
    };
    let runtime = rquickjs::Runtime::new().map_err(|e| fail(e.to_string()))?;
    let context = rquickjs::Context::full(&runtime).map_err(|e| fail(e.to_string()))?;
    context.with(|ctx| {
        // Wrapping in a never-called function parses without running anything.
        let wrapped = format!("(function(){{{source}\n}})");
        let mut options = rquickjs::context::EvalOptions::default();
        options.global = true;
        options.filename = Some(format!("{name}.js"));
        match ctx.eval_with_options::<rquickjs::Value, _>(wrapped, options) {
            Ok(_) => Ok(()),
            Err(rquickjs::Error::Exception) => Err(fail(nanod_js::bytecode::describe_exception(&ctx))),
            Err(e) => Err(fail(e.to_string())),
        }
    })
}
