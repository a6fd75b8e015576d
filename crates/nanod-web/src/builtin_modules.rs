//! Modules the runtime provides for import by name, as workerd does: `cloudflare:workers`
//! (`WorkerEntrypoint`, `DurableObject`, `RpcTarget`, `WorkflowEntrypoint`), and others behind
//! the compatibility flag that enables them (the `node:` modules under `nodejs_compat`).
//!
//! Their JS is glue ([`crate::glue`]): compiled once per process, shared by every Worker. At
//! start-up the server appends the modules a Worker may import to its module list
//! ([`modules_for`]), so `import ... from "cloudflare:workers"` resolves like any module of the
//! Worker and costs nothing until imported.

use nanod_config::compat::CompatFlags;
use nanod_js::loader::{CodeKind, CodeModule};

use crate::glue::Glue;

/// One importable module.
pub struct Builtin {
    /// The import specifier, also the module's name.
    pub specifier: &'static str,
    glue: &'static Glue,
    /// The compatibility flag a Worker needs to import it; `None`: every Worker.
    pub requires_flag: Option<&'static str>,
}

static CLOUDFLARE_WORKERS: Glue = Glue::new("cloudflare:workers", include_str!("js/cloudflare_workers.js"));
static NODE_ASSERT: Glue = Glue::new("node:assert", include_str!("js/node_assert.js"));
static NODE_ASSERT_STRICT: Glue = Glue::new("node:assert/strict", include_str!("js/node_assert_strict.js"));
static NODE_TEST: Glue = Glue::new("node:test", include_str!("js/node_test.js"));

/// Every importable module, in no particular order.
pub static BUILTINS: &[Builtin] = &[
    Builtin { specifier: "cloudflare:workers", glue: &CLOUDFLARE_WORKERS, requires_flag: None },
    Builtin { specifier: "node:assert", glue: &NODE_ASSERT, requires_flag: Some("nodejs_compat") },
    Builtin { specifier: "node:assert/strict", glue: &NODE_ASSERT_STRICT, requires_flag: Some("nodejs_compat") },
    Builtin { specifier: "node:test", glue: &NODE_TEST, requires_flag: Some("nodejs_compat") },
];

/// The modules a Worker with compatibility flags `flags` may import, ready to append to its
/// module list. `nodejs_compat_v2` implies `nodejs_compat`, as in workerd.
pub fn modules_for(flags: &CompatFlags) -> Result<Vec<CodeModule>, String> {
    let has_flag =
        |flag: &str| flags.is_enabled(flag) || (flag == "nodejs_compat" && flags.is_enabled("nodejs_compat_v2"));
    BUILTINS
        .iter()
        .filter(|builtin| builtin.requires_flag.is_none_or(has_flag))
        .map(|builtin| {
            let bytecode =
                builtin.glue.bytecode().map_err(|e| format!("built-in module {}: {e}", builtin.specifier))?;
            Ok(CodeModule { name: builtin.specifier.to_owned(), kind: CodeKind::EsModule(bytecode.clone()) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_compiles_and_flags_gate_them() {
        let options = nanod_config::compat::Options { today: Some("2026-12-01".into()), ..Default::default() };
        let node = nanod_config::compat::resolve(Some("2024-09-01"), &["nodejs_compat".into()], &options).unwrap();
        let all = modules_for(&node.flags).unwrap();
        assert_eq!(all.len(), BUILTINS.len());
        let plain = modules_for(&CompatFlags::for_date("2024-09-01")).unwrap();
        assert!(plain.iter().any(|m| m.name == "cloudflare:workers"));
        assert!(plain.iter().all(|m| BUILTINS.iter().any(|b| b.specifier == m.name && b.requires_flag.is_none())));
    }
}
