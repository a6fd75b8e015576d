//! `nanod test`: runs the `test()` handlers of a config's Workers, as `workerd test` does.
//!
//! For each Worker service, in config order, every export of the main module with a `test`
//! method (`default` first, then the named ones in name order) is called as
//! `test(controller, env, ctx)`; a test passes when its promise fulfils. The lines are
//! workerd's: `[ TEST ] service` (the default export) or `[ TEST ] service:name`, then
//! `[ PASS ] ... (duration)` or the error and `[ FAIL ] ... (duration)`, all on stderr, and a
//! closing `N passed, M failed`. A filter is workerd's
//! `[<const-name>:]<service-glob>[:<entrypoint-glob>]`; the constant part is the binary's
//! business ([`Filter::parse`] hands it back).
//!
//! No socket is opened: the tests run on one event-loop thread with the prepared services,
//! so service bindings, `waitUntil` and timers work as under `serve`.

use std::sync::Arc;
use std::time::Instant;

use rquickjs::Object;

use crate::prepare::Prepared;
use crate::service::worker::CallArgs;
use crate::thread::ThreadServices;
use crate::ServerError;

/// workerd's test filter: glob patterns (`*`, `?`) for services and entrypoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub service: String,
    pub entrypoint: String,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter { service: "*".to_owned(), entrypoint: "*".to_owned() }
    }
}

impl Filter {
    /// Parses `<service>`, `<service>:<entrypoint>` or `<const>:<service>:<entrypoint>`;
    /// returns the filter and the constant name, if given. An empty part means `*`.
    pub fn parse(spec: &str) -> (Filter, Option<String>) {
        let star = |part: &str| if part.is_empty() { "*".to_owned() } else { part.to_owned() };
        let parts: Vec<&str> = spec.splitn(3, ':').collect();
        match parts.as_slice() {
            [service] => (Filter { service: star(service), entrypoint: "*".to_owned() }, None),
            [service, entrypoint] => (Filter { service: star(service), entrypoint: star(entrypoint) }, None),
            [constant, service, entrypoint] => {
                (Filter { service: star(service), entrypoint: star(entrypoint) }, Some((*constant).to_owned()))
            }
            _ => (Filter::default(), None),
        }
    }

    fn matches(&self, service: &str, entrypoint: &str) -> bool {
        glob(&self.service, service) && glob(&self.entrypoint, entrypoint)
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What a run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
}

/// Evaluates every Worker (as `serve` does before serving), then runs the tests `filter`
/// selects, printing workerd's lines. `order` is the services' config order.
pub fn run(prepared: Arc<Prepared>, order: &[String], filter: &Filter) -> Result<Summary, ServerError> {
    crate::service::check::evaluate_all(&prepared, order, &[], 1)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ServerError::Thread)?;
    let local = tokio::task::LocalSet::new();
    let summary = local.block_on(&runtime, run_on_thread(prepared, order, filter));
    Ok(summary)
}

async fn run_on_thread(prepared: Arc<Prepared>, order: &[String], filter: &Filter) -> Summary {
    let services = ThreadServices::new(prepared.clone());
    let mut summary = Summary::default();
    for name in order {
        if !glob(&filter.service, name) {
            continue;
        }
        // The thread's own service, so a test and the bindings that reach its Worker share
        // one isolate, as in workerd.
        let Some(service) = services.worker(name) else { continue };
        let entrypoints = match service.test_entrypoints().await {
            Ok(entrypoints) => entrypoints,
            Err(exception) => {
                eprintln!("[ FAIL ] {name}: Uncaught {exception}");
                summary.failed += 1;
                continue;
            }
        };
        for entrypoint in entrypoints.iter().filter(|e| filter.matches(name, e)) {
            let label = if entrypoint == "default" { name.clone() } else { format!("{name}:{entrypoint}") };
            eprintln!("[ TEST ] {label}");
            let started = Instant::now();
            let args: CallArgs =
                Box::new(|ctx, env, exec_ctx| Ok(vec![Object::new(ctx.clone())?.into_value(), env, exec_ctx]));
            let outcome = service.call(entrypoint, "test", args, |_, _| Ok(())).await;
            let elapsed = started.elapsed();
            match outcome {
                Ok(()) => {
                    summary.passed += 1;
                    eprintln!("[ PASS ] {label} ({elapsed:?})");
                }
                Err(exception) => {
                    summary.failed += 1;
                    eprintln!("{label}: Uncaught {exception}");
                    eprintln!("[ FAIL ] {label} ({elapsed:?})");
                }
            }
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (pattern, text, expected) in [
            ("*", "anything", true),
            ("*", "", true),
            ("t", "t", true),
            ("t", "tt", false),
            ("pass*", "passing", true),
            ("pass*", "failing", false),
            ("*ing", "failing", true),
            ("?ail*", "failing", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("default", "default", true),
        ] {
            assert_eq!(glob(pattern, text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn filters_parse_as_workerd_documents() {
        assert_eq!(Filter::parse("svc"), (Filter { service: "svc".into(), entrypoint: "*".into() }, None));
        assert_eq!(Filter::parse("svc:t*"), (Filter { service: "svc".into(), entrypoint: "t*".into() }, None));
        assert_eq!(
            Filter::parse("unitTests:svc:t*"),
            (Filter { service: "svc".into(), entrypoint: "t*".into() }, Some("unitTests".into()))
        );
        assert_eq!(Filter::parse(":x").0, Filter { service: "*".into(), entrypoint: "x".into() });
    }
}
