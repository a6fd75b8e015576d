//! Compile once, load anywhere: ES modules become QuickJS bytecode at startup and every isolate
//! reads that bytecode instead of re-parsing the source.
//!
//! This is the one module of the crate allowed `unsafe`: `Module::load` trusts its input to be
//! bytecode QuickJS wrote. The [`Bytecode`] type can only be made by [`compile_module`] in this
//! process (its field is private and it is never deserialized from outside), which is what makes
//! the `unsafe` call sound.

use std::sync::Arc;

use rquickjs::module::{Declared, WriteOptions};
use rquickjs::{Context, Ctx, Module, Runtime};

/// Bytecode of one module, written by this process's QuickJS. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Bytecode(Arc<[u8]>);

impl Bytecode {
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A module that failed to compile: the engine's message with the line it names.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// `SyntaxError: unexpected token ... at name:line:col`, as QuickJS reports it.
    pub message: String,
}

/// Compiles `source` as an ES module named `name`. Imports are not resolved here; they are
/// checked when an isolate links the module graph.
pub fn compile_module(name: &str, source: &str) -> Result<Bytecode, CompileError> {
    let engine_error = |e: rquickjs::Error| CompileError { message: e.to_string() };
    let runtime = Runtime::new().map_err(engine_error)?;
    // QuickJS-ng loads a module's imports while compiling it. Each module is compiled on its
    // own here, so imports get empty placeholders; real resolution and linking happen in the
    // isolate, against the Worker's module list.
    runtime.set_loader(PlaceholderLoader, PlaceholderLoader);
    let context = Context::full(&runtime).map_err(engine_error)?;
    context.with(|ctx| {
        let declared = Module::declare(ctx.clone(), name, source);
        match declared {
            Ok(module) => module
                .write(WriteOptions { strip_source: true, ..WriteOptions::default() })
                .map(|bytes| Bytecode(bytes.into()))
                .map_err(engine_error),
            Err(rquickjs::Error::Exception) => Err(CompileError { message: describe_exception(&ctx) }),
            Err(e) => Err(engine_error(e)),
        }
    })
}

struct PlaceholderLoader;

impl rquickjs::loader::Resolver for PlaceholderLoader {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<rquickjs::loader::ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        Ok(crate::loader::resolve_specifier(base, name))
    }
}

impl rquickjs::loader::Loader for PlaceholderLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<rquickjs::loader::ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        Module::declare(ctx.clone(), name, "")
    }
}

/// Declares (does not evaluate) a compiled module in `ctx`.
pub fn load_module<'js>(ctx: &Ctx<'js>, bytecode: &Bytecode) -> rquickjs::Result<Module<'js, Declared>> {
    // SAFETY: `Bytecode` is only ever produced by `compile_module` above, from `Module::write`
    // of this same QuickJS build, so the bytes are valid bytecode.
    #[allow(unsafe_code)]
    unsafe {
        Module::load(ctx.clone(), &bytecode.0)
    }
}

/// Renders the pending exception as `Name: message` plus its stack, for logs.
pub fn describe_exception(ctx: &Ctx<'_>) -> String {
    crate::JsException::from_value(ctx, ctx.catch()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_module_and_line() {
        let err = compile_module("bad.js", "export default {\n  fetch( {\n}").unwrap_err();
        assert!(err.message.contains("SyntaxError"), "{}", err.message);
        assert!(err.message.contains("at bad.js:3:"), "{}", err.message);
    }

    #[test]
    fn modules_with_imports_compile_alone() {
        compile_module("main.js", "import { x } from './lib.js'; export default x;").unwrap();
    }

    #[test]
    fn bytecode_loads_into_another_runtime() {
        let code = compile_module("m.js", "export const answer = 6 * 7;").unwrap();
        let runtime = Runtime::new().unwrap();
        let context = Context::full(&runtime).unwrap();
        let answer: i32 = context.with(|ctx| {
            let module = load_module(&ctx, &code).unwrap();
            let (module, promise) = module.eval().unwrap();
            promise.finish::<()>().unwrap();
            module.get("answer").unwrap()
        });
        assert_eq!(answer, 42);
    }
}
