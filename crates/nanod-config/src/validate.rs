//! Checks on a parsed [`Config`] that no single value can show: duplicate names, references to
//! services that do not exist, Workers without code, a main module that is not a script.
//!
//! Both front ends feed this, so it reports with the model's spans only. The service `internet`
//! always exists implicitly, as in workerd, unless the config defines it. Compatibility dates
//! and flags are checked by [`crate::compat::resolve`], since `--compat-date` and
//! `--experimental` change what is valid.

use std::collections::HashMap;

use crate::error::{did_you_mean, Error, ErrorKind};
use crate::model::*;

/// The first problem found, in file order.
pub fn validate(config: &Config) -> Result<(), Error> {
    let mut services: HashMap<&str, &Service> = HashMap::new();
    for service in &config.services {
        if service.name.is_empty() {
            return Err(invalid(&service.span, "service has no name".to_owned()));
        }
        if let Some(first) = services.insert(&service.name, service) {
            let msg = format!("duplicate service name '{}' (first defined at {})", service.name, first.span);
            return Err(invalid(&service.span, msg));
        }
    }
    let mut names: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
    if !services.contains_key("internet") {
        names.push("internet");
    }
    let check_ref = |d: &ServiceDesignator, what: &str| -> Result<(), Error> {
        if d.name == "internet" || services.contains_key(d.name.as_str()) {
            return Ok(());
        }
        let msg = if d.name.is_empty() {
            format!("{what} names no service")
        } else {
            format!("{what} refers to undefined service '{}'{}", d.name, did_you_mean(&d.name, names.iter().copied()))
        };
        Err(Error::at(ErrorKind::Reference, d.span.clone(), msg))
    };
    // A binding's `timeoutMs` and `fallback` (nanod extensions) apply where a call can fail
    // over: service bindings and `globalOutbound`. A fallback may have its own fallback.
    let check_failover = |d: &ServiceDesignator, what: &str, owner: &str, applies: bool| -> Result<(), Error> {
        let mut current = d;
        let mut depth = 0;
        while let Some(fallback) = &current.fallback {
            if !applies {
                return Err(invalid(
                    &fallback.span,
                    format!("{what}: 'fallback' applies only to service bindings and globalOutbound"),
                ));
            }
            if fallback.name == owner && fallback.entrypoint.is_none() {
                // Its fallback would run the handler that made the failed call, which calls
                // again: a loop on every failure. A named entrypoint of the Worker is fine.
                return Err(invalid(&fallback.span, format!("{what}: the fallback is the Worker '{owner}' itself")));
            }
            if fallback.name == d.name {
                return Err(invalid(
                    &fallback.span,
                    format!("{what}: the fallback is the binding's own service '{}'", d.name),
                ));
            }
            check_ref(fallback, &format!("the fallback of {what}"))?;
            depth += 1;
            if depth > 8 {
                return Err(invalid(&fallback.span, format!("{what}: more than 8 fallbacks in a chain")));
            }
            current = fallback;
        }
        if !applies && d.timeout_ms.is_some() {
            return Err(invalid(
                &d.span,
                format!("{what}: 'timeoutMs' applies only to service bindings and globalOutbound"),
            ));
        }
        Ok(())
    };

    let mut sockets: HashMap<&str, &Socket> = HashMap::new();
    for socket in &config.sockets {
        if socket.name.is_empty() {
            return Err(invalid(&socket.span, "socket has no name".to_owned()));
        }
        if let Some(first) = sockets.insert(&socket.name, socket) {
            let msg = format!("duplicate socket name '{}' (first defined at {})", socket.name, first.span);
            return Err(invalid(&socket.span, msg));
        }
        if socket.service.name.is_empty() {
            return Err(invalid(&socket.span, format!("socket '{}' has no service", socket.name)));
        }
        check_ref(&socket.service, &format!("socket '{}'", socket.name))?;
        check_failover(&socket.service, &format!("socket '{}'", socket.name), "", false)?;
    }

    for service in &config.services {
        let ServiceKind::Worker(worker) = &service.kind else {
            continue;
        };
        let name = &service.name;
        match &worker.source {
            WorkerSource::Modules(modules) => {
                let Some(first) = modules.first() else {
                    return Err(invalid(
                        &worker.span,
                        format!("worker '{name}' has no modules or serviceWorkerScript"),
                    ));
                };
                if !matches!(first.content, ModuleContent::EsModule(_) | ModuleContent::CommonJs(_)) {
                    let msg = format!(
                        "the first module of worker '{name}' must be an esModule or commonJsModule, but '{}' is {}",
                        first.name,
                        describe(&first.content)
                    );
                    return Err(invalid(&first.span, msg));
                }
                let mut seen: HashMap<&str, &Module> = HashMap::new();
                for module in modules {
                    if let Some(previous) = seen.insert(&module.name, module) {
                        let msg = format!(
                            "duplicate module name '{}' in worker '{name}' (first defined at {})",
                            module.name, previous.span
                        );
                        return Err(invalid(&module.span, msg));
                    }
                }
            }
            WorkerSource::ServiceWorkerScript { .. } => {}
            WorkerSource::Inherit(base) => match services.get(base.as_str()) {
                Some(s) if matches!(s.kind, ServiceKind::Worker(_)) => {}
                Some(_) => {
                    return Err(invalid(
                        &worker.span,
                        format!("worker '{name}' inherits from '{base}', which is not a worker"),
                    ));
                }
                None => {
                    let msg = format!(
                        "worker '{name}' inherits from undefined service '{base}'{}",
                        did_you_mean(base, names.iter().copied())
                    );
                    return Err(Error::at(ErrorKind::Reference, worker.span.clone(), msg));
                }
            },
        }
        let mut bindings: HashMap<&str, &Binding> = HashMap::new();
        for binding in &worker.bindings {
            if binding.name.is_empty() {
                return Err(invalid(&binding.span, format!("a binding of worker '{name}' has no name")));
            }
            if let Some(first) = bindings.insert(&binding.name, binding) {
                let msg = format!(
                    "duplicate binding name '{}' in worker '{name}' (first defined at {})",
                    binding.name, first.span
                );
                return Err(invalid(&binding.span, msg));
            }
            let target = match &binding.kind {
                BindingKind::Service(d)
                | BindingKind::KvNamespace(d)
                | BindingKind::R2Bucket(d)
                | BindingKind::Queue(d)
                | BindingKind::AnalyticsEngine(d)
                | BindingKind::Hyperdrive { designator: d, .. } => Some(d),
                _ => None,
            };
            if let Some(d) = target {
                let what = format!("binding '{}'", binding.name);
                check_ref(d, &what)?;
                check_failover(d, &what, name, matches!(binding.kind, BindingKind::Service(_)))?;
            }
        }
        if let Some(d) = &worker.global_outbound {
            let what = format!("globalOutbound of worker '{name}'");
            check_ref(d, &what)?;
            check_failover(d, &what, name, true)?;
        }
        if let Some(d) = &worker.cache_api_outbound {
            let what = format!("cacheApiOutbound of worker '{name}'");
            check_ref(d, &what)?;
            check_failover(d, &what, name, false)?;
        }
        for d in &worker.tails {
            let what = format!("a tail of worker '{name}'");
            check_ref(d, &what)?;
            check_failover(d, &what, name, false)?;
        }
        if let DurableObjectStorage::LocalDisk(disk) = &worker.durable_object_storage {
            if !matches!(services.get(disk.as_str()).map(|s| &s.kind), Some(ServiceKind::Disk(_))) {
                let msg = format!("durableObjectStorage of worker '{name}' must name a disk service, not '{disk}'");
                return Err(invalid(&worker.span, msg));
            }
        }
    }
    Ok(())
}

fn invalid(span: &Span, message: String) -> Error {
    Error::at(ErrorKind::Invalid, span.clone(), message)
}

fn describe(content: &ModuleContent) -> &'static str {
    match content {
        ModuleContent::EsModule(_) => "an esModule",
        ModuleContent::CommonJs(_) => "a commonJsModule",
        ModuleContent::Text(_) => "a text module",
        ModuleContent::Data(_) => "a data module",
        ModuleContent::Wasm(_) => "a wasm module",
        ModuleContent::Json(_) => "a json module",
        ModuleContent::PythonModule(_) => "a pythonModule",
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const FILE: &str = "v.capnp";

    /// Parses `src` (one line per service, for readable positions) and validates it.
    fn check(src: &str, expected: &str) {
        let config = match crate::parse_capnp(Path::new(FILE), src, None) {
            Ok(c) => c,
            Err(e) => panic!("parse error: {e}"),
        };
        let actual = match validate(&config) {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.to_string(),
        };
        let expected = if expected == "ok" { expected.to_owned() } else { format!("{FILE}{expected}") };
        assert_eq!(actual, expected, "source:\n{src}");
    }

    /// A config with the given services and sockets.
    fn config(services: &str, sockets: &str) -> String {
        format!("const c :Config = (\nservices = [\n{services}],\nsockets = [\n{sockets}]);")
    }

    const W: &str = r#"(modules = [(name = "m", esModule = "")], compatibilityDate = "2024-01-01")"#;

    fn worker_with(fields: &str) -> String {
        format!(r#"(modules = [(name = "m", esModule = "")], compatibilityDate = "2024-01-01", {fields})"#)
    }

    #[test]
    fn valid_configs() {
        check(&config(&format!("(name = \"a\", worker = {W})"), "(name = \"s\", service = \"a\")"), "ok");
        // `internet` exists implicitly, and may also be defined.
        check(&config(&format!("(name = \"a\", worker = {})", worker_with("globalOutbound = \"internet\"")), ""), "ok");
        check(&config("(name = \"internet\", network = ())", "(name = \"s\", service = \"internet\")"), "ok");
        check(&config(&format!("(name = \"a\", worker = {W}),\n(name = \"b\", worker = (inherit = \"a\"))"), ""), "ok");
    }

    #[test]
    fn duplicates() {
        check(
            &config(&format!("(name = \"a\", worker = {W}),\n(name = \"a\", disk = ())"), ""),
            ":4:1: duplicate service name 'a' (first defined at v.capnp:3:1)",
        );
        check(
            &config("(name = \"d\", disk = ())", "(name = \"s\", service = \"d\"),\n(name = \"s\", service = \"d\")"),
            ":6:1: duplicate socket name 's' (first defined at v.capnp:5:1)",
        );
        check(
            &config(
                &format!(
                    "(name = \"a\", worker = {})",
                    worker_with("bindings = [(name = \"X\", text = \"\"), (name = \"X\", json = \"1\")]")
                ),
                "",
            ),
            ":3:136: duplicate binding name 'X' in worker 'a' (first defined at v.capnp:3:111)",
        );
        check(
            &config(
                r#"(name = "a", worker = (modules = [(name = "m", esModule = ""), (name = "m", text = "")], compatibilityDate = "2024-01-01"))"#,
                "",
            ),
            ":3:64: duplicate module name 'm' in worker 'a' (first defined at v.capnp:3:35)",
        );
        check(&config("(name = \"\", disk = ())", ""), ":3:1: service has no name");
        check(&config("(name = \"d\", disk = ())", "(service = \"d\")"), ":5:1: socket has no name");
    }

    #[test]
    fn fallbacks_and_timeouts() {
        let binding = |d: &str| {
            format!("(name = \"main\", worker = {})", worker_with(&format!("bindings = [(name = \"A\", {d})]")))
        };
        check(
            &config(&binding("service = (name = \"main\", fallback = \"nope\")"), ""),
            ":3:164: the fallback of binding 'A' refers to undefined service 'nope'",
        );
        check(
            &config(&binding("service = (name = \"main\", fallback = \"main\")"), ""),
            ":3:164: binding 'A': the fallback is the Worker 'main' itself",
        );
        check(
            &config(&binding("kvNamespace = (name = \"main\", timeoutMs = 5)"), ""),
            ":3:141: binding 'A': 'timeoutMs' applies only to service bindings and globalOutbound",
        );
        check(
            &config(
                &format!("(name = \"main\", worker = {W})"),
                "(name = \"s\", service = (name = \"main\", fallback = \"main\"))",
            ),
            ":5:51: socket 's': 'fallback' applies only to service bindings and globalOutbound",
        );
    }

    #[test]
    fn fallback_chains() {
        let binding = |d: &str| {
            format!("(name = \"main\", worker = {})", worker_with(&format!("bindings = [(name = \"A\", {d})]")))
        };
        let two = format!("{},\n(name = \"b\", worker = {W}),\n(name = \"c\", worker = {W})", binding(
            "service = (name = \"b\", timeoutMs = 5, fallback = (name = \"c\", timeoutMs = 9, fallback = (name = \"main\", entrypoint = \"Errors\")))"
        ));
        check(&config(&two, ""), "ok");
        // Every step of a chain is checked, not only the first.
        check(
            &config(
                &format!(
                    "{},\n(name = \"b\", worker = {W})",
                    binding("service = (name = \"b\", fallback = (name = \"b2\", fallback = \"b\"))")
                ),
                "",
            ),
            ":3:161: the fallback of binding 'A' refers to undefined service 'b2'; did you mean 'b'?",
        );
        let deep = (0..8).fold("(name = \"main\", entrypoint = \"E\")".to_owned(), |inner, _| {
            format!("(name = \"main\", entrypoint = \"E\", fallback = {inner})")
        });
        let long = format!("service = (name = \"b\", fallback = {deep})");
        let long = config(&format!("{},\n(name = \"b\", worker = {W})", binding(&long)), "");
        assert!(
            validate_src(&long).ends_with("binding 'A': more than 8 fallbacks in a chain"),
            "{}",
            validate_src(&long)
        );
        // A globalOutbound may fail over too; a tail may not.
        check(
            &config(
                &format!(
                    "(name = \"main\", worker = {})",
                    worker_with("globalOutbound = (name = \"internet\", timeoutMs = 100, fallback = (name = \"main\", entrypoint = \"Offline\"))")
                ),
                "",
            ),
            "ok",
        );
        check(
            &config(
                &format!("(name = \"main\", worker = {})", worker_with("tails = [(name = \"main\", timeoutMs = 1)]")),
                "",
            ),
            ":3:111: a tail of worker 'main': 'timeoutMs' applies only to service bindings and globalOutbound",
        );
    }

    fn validate_src(src: &str) -> String {
        let config = crate::parse_capnp(Path::new(FILE), src, None).unwrap_or_else(|e| panic!("parse error: {e}"));
        validate(&config).map_or_else(|e| e.to_string(), |()| "ok".to_owned())
    }

    #[test]
    fn undefined_services() {
        check(
            &config(&format!("(name = \"main\", worker = {W})"), "(name = \"s\", service = \"mian\")"),
            ":5:24: socket 's' refers to undefined service 'mian'; did you mean 'main'?",
        );
        check(
            &config(&format!("(name = \"main\", worker = {W})"), "(name = \"s\")"),
            ":5:1: socket 's' has no service",
        );
        check(
            &config(
                &format!(
                    "(name = \"main\", worker = {})",
                    worker_with("bindings = [(name = \"AUTH\", service = \"auth\")]")
                ),
                "",
            ),
            ":3:140: binding 'AUTH' refers to undefined service 'auth'",
        );
        check(
            &config(&format!("(name = \"main\", worker = {})", worker_with("globalOutbound = \"intrnet\"")), ""),
            ":3:119: globalOutbound of worker 'main' refers to undefined service 'intrnet'; did you mean 'internet'?",
        );
        check(
            &config(&format!("(name = \"main\", worker = {})", worker_with("tails = [\"log\"]")), ""),
            ":3:111: a tail of worker 'main' refers to undefined service 'log'",
        );
        check(
            &config("(name = \"b\", worker = (inherit = \"a\"))", ""),
            ":3:23: worker 'b' inherits from undefined service 'a'",
        );
        check(
            &config("(name = \"a\", disk = ()),\n(name = \"b\", worker = (inherit = \"a\"))", ""),
            ":4:23: worker 'b' inherits from 'a', which is not a worker",
        );
        check(
            &config(
                &format!("(name = \"a\", worker = {})", worker_with("durableObjectStorage = (localDisk = \"x\")")),
                "",
            ),
            ":3:23: durableObjectStorage of worker 'a' must name a disk service, not 'x'",
        );
    }

    #[test]
    fn workers() {
        check(&config("(name = \"a\", worker = ())", ""), ":3:23: worker 'a' has no modules or serviceWorkerScript");
        check(
            &config(
                r#"(name = "a", worker = (modules = [(name = "t", text = "")], compatibilityDate = "2024-01-01"))"#,
                "",
            ),
            ":3:35: the first module of worker 'a' must be an esModule or commonJsModule, but 't' is a text module",
        );
        // Dates and flags are checked by `compat::resolve`, which needs the command line.
        check(&config(r#"(name = "a", worker = (serviceWorkerScript = ""))"#, ""), "ok");
    }
}
