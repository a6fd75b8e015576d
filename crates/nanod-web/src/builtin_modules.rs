//! Modules the runtime provides for import by name, as workerd does: `cloudflare:workers`
//! (`WorkerEntrypoint`, `DurableObject`, `RpcTarget`, `WorkflowEntrypoint`), and others behind
//! the compatibility flag that enables them (the `node:` modules under `nodejs_compat`).
//!
//! Their JS is glue ([`crate::glue`]): compiled once per process, shared by every Worker. At
//! start-up the server appends the modules a Worker may import to its module list
//! ([`modules_for`]), so `import ... from "cloudflare:workers"` resolves like any module of the
//! Worker and costs nothing until imported.

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

/// Every importable module, in no particular order.
pub static BUILTINS: &[Builtin] =
    &[Builtin { specifier: "cloudflare:workers", glue: &CLOUDFLARE_WORKERS, requires_flag: None }];

/// The modules a Worker whose enabled flags `has_flag` answers for may import, ready to append
/// to its module list.
pub fn modules_for(has_flag: impl Fn(&str) -> bool) -> Result<Vec<CodeModule>, String> {
    BUILTINS
        .iter()
        .filter(|builtin| builtin.requires_flag.is_none_or(&has_flag))
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
        let all = modules_for(|_| true).unwrap();
        assert_eq!(all.len(), BUILTINS.len());
        let plain = modules_for(|_| false).unwrap();
        assert!(plain.iter().any(|m| m.name == "cloudflare:workers"));
        assert!(plain.iter().all(|m| BUILTINS.iter().any(|b| b.specifier == m.name && b.requires_flag.is_none())));
    }
}
