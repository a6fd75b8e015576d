//! A Worker's module graph: the compiled code of every module it declares, and how `import`
//! specifiers resolve against it.
//!
//! Names are paths in the Worker's own namespace, as in workerd: `./x.js` and `../x.js` resolve
//! against the importing module's directory, anything else must match a module name exactly.
//! Text, data and JSON modules are synthesized on import from the stored content; nothing is
//! read from disk here.

use std::sync::Arc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::{Declarations, Declared, Exports, ModuleDef};
use rquickjs::{ArrayBuffer, Ctx, Error, JsLifetime, Module};

use crate::bytecode::{self, Bytecode};

/// Everything an isolate needs to run one Worker's code. Built once per process, shared by
/// every thread's isolate of that Worker.
#[derive(Debug, Default)]
pub struct WorkerCode {
    /// The first module is the main module.
    pub modules: Vec<CodeModule>,
}

#[derive(Debug)]
pub struct CodeModule {
    pub name: String,
    pub kind: CodeKind,
}

#[derive(Debug, Clone)]
pub enum CodeKind {
    EsModule(Bytecode),
    Text(Arc<str>),
    Data(Arc<[u8]>),
    Json(Arc<str>),
}

impl WorkerCode {
    pub fn module(&self, name: &str) -> Option<&CodeModule> {
        self.modules.iter().find(|m| m.name == name)
    }
    pub fn main_module(&self) -> Option<&CodeModule> {
        self.modules.first()
    }
}

/// Resolves `specifier` imported from module `base` to a module name.
pub fn resolve_specifier(base: &str, specifier: &str) -> String {
    let relative = specifier.starts_with("./") || specifier.starts_with("../");
    if !relative {
        return specifier.strip_prefix('/').unwrap_or(specifier).to_owned();
    }
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop(); // the importing file itself
    for segment in specifier.split('/') {
        match segment {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// The rquickjs resolver + loader for one isolate.
pub struct CodeLoader {
    pub code: Arc<WorkerCode>,
}

impl Resolver for CodeLoader {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        let resolved = resolve_specifier(base, name);
        if self.code.module(&resolved).is_some() {
            Ok(resolved)
        } else {
            // workerd's wording, so that logs read the same on both.
            Err(crate::JsException::error(format!("No such module \"{resolved}\".\n  imported from \"{base}\""))
                .throw(ctx))
        }
    }
}

impl Loader for CodeLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        let module = self.code.module(name).ok_or_else(|| Error::new_loading_message(name, "No such module"))?;
        match &module.kind {
            CodeKind::EsModule(bytecode) => bytecode::load_module(ctx, bytecode),
            CodeKind::Text(_) | CodeKind::Data(_) | CodeKind::Json(_) => {
                Module::declare_def::<ContentModule, _>(ctx.clone(), name)
            }
        }
    }
}

/// The isolate's view of its Worker's code, kept in the runtime's userdata so that synthesized
/// modules can find their content.
#[derive(JsLifetime)]
pub struct CodeStore(pub Arc<WorkerCode>);

/// A text, data or JSON module: `export default` of its content.
struct ContentModule;

impl ModuleDef for ContentModule {
    fn declare<'js>(decl: &Declarations<'js>) -> rquickjs::Result<()> {
        decl.declare("default")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> rquickjs::Result<()> {
        let name: String = exports.module().name()?;
        let kind = {
            let store = ctx.userdata::<CodeStore>().ok_or(Error::Unknown)?;
            let module = store.0.module(&name).ok_or_else(|| Error::new_loading_message(&name, "No such module"))?;
            module.kind.clone()
        };
        match kind {
            CodeKind::Text(text) => exports.export("default", &*text)?,
            CodeKind::Data(bytes) => exports.export("default", ArrayBuffer::new_copy(ctx.clone(), &*bytes)?)?,
            CodeKind::Json(text) => exports.export("default", ctx.json_parse(&*text)?)?,
            CodeKind::EsModule(_) => return Err(Error::new_loading_message(&name, "not a content module")),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_specifier;

    #[test]
    fn specifiers() {
        let check = |base, spec, want: &str| assert_eq!(resolve_specifier(base, spec), want, "{base} + {spec}");
        check("main.js", "./lib.js", "lib.js");
        check("main.js", "lib.js", "lib.js");
        check("src/main.js", "./util/x.js", "src/util/x.js");
        check("src/main.js", "../data.json", "data.json");
        check("src/main.js", "/abs.js", "abs.js");
        check("worker", "./other", "other");
    }
}
