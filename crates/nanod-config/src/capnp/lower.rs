//! Syntax tree → model, driven by the schema tables in `schema`.
//!
//! Two steps. First every constant's value is checked against its declared type: field names
//! against the struct's fields (with "did you mean"), one member per union, literals against
//! field types, enum values, constant references (with cycle detection), `embed` (the only file
//! reads of the front end) and the first-field shorthand (`service = "auth"`). That yields a
//! [`Val`] tree where every value has the type the schema says. Second, the chosen `Config`
//! value is turned into the model, where unions map to enums and defaults are filled in.
//! Cross-references between services are not checked here; that is `validate`'s job.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::lexer::Pos;
use super::parser::{Const, Expr, ExprKind, FieldInit, File, Item, TypeExpr};
use super::schema::{self, StructSchema, Ty};
use crate::error::{did_you_mean, Error, ErrorKind};
use crate::model::*;

/// Longest chain of constant references followed, and deepest `List(List(...))` type.
const MAX_DEPTH: usize = 32;

/// Deepest nesting of values, counting through constant references, so that hostile input
/// cannot exhaust the stack.
const MAX_NESTING: usize = 250;

/// A type as a base type wrapped in `lists` levels of `List(...)`.
#[derive(Debug, Clone, Copy)]
struct Expect {
    base: Ty,
    lists: usize,
}

impl Expect {
    fn of(ty: Ty) -> Expect {
        let mut e = Expect { base: ty, lists: 0 };
        while let Ty::List(inner) = e.base {
            e.base = *inner;
            e.lists += 1;
        }
        e
    }

    fn item(self) -> Expect {
        Expect { base: self.base, lists: self.lists.saturating_sub(1) }
    }

    fn same(self, other: Expect) -> bool {
        self.lists == other.lists && self.base.same(other.base)
    }

    fn name(self) -> String {
        (0..self.lists).fold(self.base.name(), |s, _| format!("List({s})"))
    }

    /// What a value of this type looks like, for "expected ..." messages.
    fn describe(self) -> String {
        if self.lists > 0 {
            return "a list '[...]'".to_owned();
        }
        match self.base {
            Ty::Void => "void".to_owned(),
            Ty::Bool => "true or false".to_owned(),
            Ty::Int(i) => format!("an integer ({})", i.name),
            Ty::Float => "a number".to_owned(),
            Ty::Text => "a string".to_owned(),
            Ty::Data => "data (a string, 0x\"...\" or embed)".to_owned(),
            Ty::Enum(e) => format!("one of: {}", e.values.join(", ")),
            Ty::Struct(s) => match s.fields.first().map(|f| f.ty) {
                Some(Ty::Text) => "a string or a struct literal '(...)'".to_owned(),
                _ => "a struct literal '(...)'".to_owned(),
            },
            Ty::List(_) => "a list '[...]'".to_owned(),
        }
    }
}

/// A value checked against its type.
#[derive(Debug, Clone)]
struct Val {
    kind: ValKind,
    pos: Pos,
}

#[derive(Debug, Clone)]
// Numbers are checked but no model field keeps one yet.
#[allow(dead_code)]
enum ValKind {
    Void,
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    Data(Vec<u8>),
    Enum(&'static str),
    List(Vec<Val>),
    Struct(StructVal),
}

#[derive(Debug, Clone)]
struct StructVal {
    schema: &'static StructSchema,
    fields: Vec<(&'static str, Val)>,
    /// The union member that is set, if any.
    union: Option<&'static str>,
}

/// Checks every constant in `file`, picks the `Config` to serve and turns it into the model.
pub fn lower(path: &Path, file: &File, const_name: Option<&str>) -> Result<Config, Error> {
    let at = |pos: Pos| span(path, pos);
    let mut workerd_aliases = Vec::new();
    let mut type_aliases = HashMap::new();
    for item in &file.items {
        match item {
            Item::Import { alias, path: import, pos } => {
                if !import.ends_with("workerd.capnp") {
                    let msg = format!("cannot import \"{import}\": only \"/workerd/workerd.capnp\" is known");
                    return Err(Error::at(ErrorKind::Schema, at(*pos), msg));
                }
                workerd_aliases.push(alias.as_str());
            }
            Item::TypeAlias { alias, ty } => {
                type_aliases.insert(alias.as_str(), ty);
            }
            Item::FileId | Item::Const(_) => {}
        }
    }
    let types = Types { file: path, workerd_aliases, type_aliases };

    let mut lw = Lower {
        file: path,
        dir: base_dir(path),
        consts: HashMap::new(),
        names: Vec::new(),
        stack: Vec::new(),
        nesting: 0,
    };
    let mut order = Vec::new();
    for item in &file.items {
        if let Item::Const(c) = item {
            let ty = types.resolve(&c.ty, 0)?;
            if let Some((first, _)) = lw.consts.get(c.name.as_str()) {
                let msg = format!("constant '{}' is already defined at {}", c.name, at(first.pos));
                return Err(Error::at(ErrorKind::Invalid, at(c.pos), msg));
            }
            lw.consts.insert(c.name.as_str(), (c, ty));
            lw.names.push(c.name.as_str());
            order.push((c, ty));
        }
    }

    // Check every constant, as the capnp compiler does, keeping the values.
    let mut values = Vec::with_capacity(order.len());
    for (c, ty) in &order {
        lw.stack.push(c.name.as_str());
        let value = lw.check(&c.value, *ty, &format!("constant '{}'", c.name))?;
        lw.stack.pop();
        values.push(value);
    }

    let config_ty = Expect::of(Ty::Struct(&schema::CONFIG));
    let configs: Vec<&str> = order.iter().filter(|(_, ty)| ty.same(config_ty)).map(|(c, _)| c.name.as_str()).collect();
    let index = match const_name {
        Some(name) => {
            let Some(i) = order.iter().position(|(c, _)| c.name == name) else {
                let msg = format!(
                    "no constant named '{name}' (constants of type Config: {}){}",
                    list_or_none(&configs),
                    did_you_mean(name, configs.iter().copied()),
                );
                return Err(Error::in_file(ErrorKind::Reference, path, msg));
            };
            if let Some((c, ty)) = order.get(i).filter(|(_, ty)| !ty.same(config_ty)) {
                let msg = format!("constant '{}' has type {}, not Config", c.name, ty.name());
                return Err(Error::at(ErrorKind::Schema, at(c.pos), msg));
            }
            i
        }
        None => match configs.as_slice() {
            [one] => order.iter().position(|(c, _)| c.name == *one).unwrap_or(0),
            [] => {
                let msg = format!(
                    "no constant of type Config found (constants: {}); define one like \
                     `const config :Workerd.Config = (...);`",
                    list_or_none(&lw.names)
                );
                return Err(Error::in_file(ErrorKind::Reference, path, msg));
            }
            several => {
                let msg = format!("several constants of type Config: {}; name the one to use", several.join(", "));
                return Err(Error::in_file(ErrorKind::Reference, path, msg));
            }
        },
    };
    match values.get(index).map(|v| &v.kind) {
        Some(ValKind::Struct(sv)) => Build { file: path }.config(sv),
        _ => Err(Error::in_file(ErrorKind::Schema, path, "the chosen constant is not a Config struct")),
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn span(file: &Path, pos: Pos) -> Span {
    Span { file: file.to_path_buf(), line: pos.line, col: pos.col }
}

/// The directory `embed` paths are relative to.
fn base_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Resolves type expressions: builtins, `Workerd.X` through an import alias, bare `X`, and
/// `using` type aliases.
struct Types<'a> {
    file: &'a Path,
    workerd_aliases: Vec<&'a str>,
    type_aliases: HashMap<&'a str, &'a TypeExpr>,
}

impl Types<'_> {
    fn resolve(&self, te: &TypeExpr, depth: usize) -> Result<Expect, Error> {
        let err = |msg: String| Err(Error::at(ErrorKind::Schema, span(self.file, te.pos), msg));
        if depth > MAX_DEPTH {
            return err(format!("type '{te}' is nested too deeply"));
        }
        if let [only] = te.path.as_slice() {
            if only == "List" {
                return match te.args.as_slice() {
                    [arg] => {
                        let inner = self.resolve(arg, depth + 1)?;
                        Ok(Expect { base: inner.base, lists: inner.lists + 1 })
                    }
                    _ => err("List takes exactly one type parameter, like List(Text)".to_owned()),
                };
            }
            if let Some(target) = self.type_aliases.get(only.as_str()) {
                return self.resolve(target, depth + 1);
            }
        }
        if !te.args.is_empty() {
            return err(format!("type '{}' takes no parameters", te.path.join(".")));
        }
        let path = match te.path.split_first() {
            Some((first, rest)) if !rest.is_empty() && self.workerd_aliases.contains(&first.as_str()) => rest,
            _ => te.path.as_slice(),
        };
        let name = path.join(".");
        if let Some(ty) = schema::lookup(&name) {
            return Ok(Expect::of(ty));
        }
        // Leniency: a nested type by its last name alone (`Workerd.Binding` for
        // `Workerd.Worker.Binding`), when that is unambiguous.
        let suffix = format!(".{name}");
        let nested: Vec<&str> = schema::type_names().filter(|n| n.ends_with(&suffix)).collect();
        match nested.as_slice() {
            [one] => Ok(Expect::of(schema::lookup(one).unwrap_or(Ty::Void))),
            [] => err(format!("unknown type '{}'{}", te.path.join("."), did_you_mean(&name, schema::type_names()))),
            several => {
                err(format!("unknown type '{}'; did you mean one of: {}?", te.path.join("."), several.join(", ")))
            }
        }
    }
}

/// Checks values against types.
struct Lower<'a> {
    file: &'a Path,
    dir: PathBuf,
    consts: HashMap<&'a str, (&'a Const, Expect)>,
    /// Constant names in file order, for suggestions.
    names: Vec<&'a str>,
    /// Constants being checked, innermost last, to catch cycles.
    stack: Vec<&'a str>,
    /// Current value nesting, through references.
    nesting: usize,
}

impl<'a> Lower<'a> {
    fn error(&self, kind: ErrorKind, pos: Pos, message: String) -> Error {
        Error::at(kind, span(self.file, pos), message)
    }

    fn mismatch(&self, pos: Pos, want: Expect, what: &str) -> Error {
        self.error(ErrorKind::Schema, pos, format!("expected {} for {what}", want.describe()))
    }

    /// Checks `e` against `want`; `what` names the value in messages (`'bindings'`).
    fn check(&mut self, e: &'a Expr, want: Expect, what: &str) -> Result<Val, Error> {
        if self.nesting >= MAX_NESTING {
            let msg = format!("values nest deeper than {MAX_NESTING} levels (counting constant references)");
            return Err(self.error(ErrorKind::Invalid, e.pos, msg));
        }
        self.nesting += 1;
        let result = self.check_inner(e, want, what);
        self.nesting -= 1;
        result
    }

    fn check_inner(&mut self, e: &'a Expr, want: Expect, what: &str) -> Result<Val, Error> {
        let pos = e.pos;
        let kind = match &e.kind {
            ExprKind::Name { path, leading_dot } => return self.name(path, *leading_dot, pos, want, what),
            ExprKind::List(items) if want.lists > 0 => {
                let item_what = format!("an item of {what}");
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.check(item, want.item(), &item_what)?);
                }
                ValKind::List(out)
            }
            _ if want.lists > 0 => return Err(self.mismatch(pos, want, what)),
            ExprKind::Embed(file) => match want.base {
                Ty::Text => {
                    let full = self.dir.join(file);
                    let bytes = self.embed(&full, pos)?;
                    match String::from_utf8(bytes) {
                        Ok(text) => ValKind::Text(text),
                        Err(_) => {
                            let msg = format!("embedded file '{}' is not valid UTF-8 text", full.display());
                            return Err(self.error(ErrorKind::Schema, pos, msg));
                        }
                    }
                }
                Ty::Data => ValKind::Data(self.embed(&self.dir.join(file), pos)?),
                Ty::Struct(s) => return self.shorthand(s, e, what),
                _ => return Err(self.mismatch(pos, want, what)),
            },
            ExprKind::Struct(inits) => match want.base {
                Ty::Struct(s) => ValKind::Struct(self.check_struct(s, inits)?),
                _ => return Err(self.mismatch(pos, want, what)),
            },
            ExprKind::Text(text) => match want.base {
                Ty::Text => ValKind::Text(text.clone()),
                Ty::Data => ValKind::Data(text.as_bytes().to_vec()),
                Ty::Struct(s) => return self.shorthand(s, e, what),
                _ => return Err(self.mismatch(pos, want, what)),
            },
            ExprKind::Bytes(bytes) => match want.base {
                Ty::Data => ValKind::Data(bytes.clone()),
                Ty::Struct(s) => return self.shorthand(s, e, what),
                _ => return Err(self.mismatch(pos, want, what)),
            },
            ExprKind::Int(n) => match want.base {
                Ty::Int(it) if (it.min..=it.max).contains(n) => ValKind::Int(*n),
                Ty::Int(it) => {
                    let msg = format!("{n} is out of range for {what} ({}: {}..={})", it.name, it.min, it.max);
                    return Err(self.error(ErrorKind::Schema, pos, msg));
                }
                // Integers of config size convert exactly.
                #[allow(clippy::cast_precision_loss)]
                Ty::Float => ValKind::Float(*n as f64),
                _ => return Err(self.mismatch(pos, want, what)),
            },
            ExprKind::Float(f) => match want.base {
                Ty::Float => ValKind::Float(*f),
                _ => return Err(self.mismatch(pos, want, what)),
            },
            ExprKind::List(_) => return Err(self.mismatch(pos, want, what)),
        };
        Ok(Val { kind, pos })
    }

    fn embed(&self, full: &Path, pos: Pos) -> Result<Vec<u8>, Error> {
        crate::read_file(full)
            .map_err(|e| self.error(ErrorKind::Io, pos, format!("cannot read embedded file '{}': {e}", full.display())))
    }

    /// A string (or data) where a struct is expected sets the struct's first field.
    fn shorthand(&mut self, s: &'static StructSchema, e: &'a Expr, what: &str) -> Result<Val, Error> {
        let want = Expect::of(Ty::Struct(s));
        let Some(first) = s.fields.first().filter(|f| matches!(f.ty, Ty::Text | Ty::Data)) else {
            return Err(self.mismatch(e.pos, want, what));
        };
        let value = self.check(e, Expect::of(first.ty), what)?;
        let union = first.union.then_some(first.name);
        Ok(Val { kind: ValKind::Struct(StructVal { schema: s, fields: vec![(first.name, value)], union }), pos: e.pos })
    }

    fn check_struct(&mut self, s: &'static StructSchema, inits: &'a [FieldInit]) -> Result<StructVal, Error> {
        let mut out = StructVal { schema: s, fields: Vec::with_capacity(inits.len()), union: None };
        for init in inits {
            let Some(field) = s.field(&init.name) else {
                let hint = did_you_mean(&init.name, s.fields.iter().map(|f| f.name));
                let msg = format!("Struct '{}' has no field named '{}'{hint}", s.name, init.name);
                return Err(self.error(ErrorKind::Schema, init.pos, msg));
            };
            if out.fields.iter().any(|(name, _)| *name == field.name) {
                return Err(self.error(ErrorKind::Schema, init.pos, format!("field '{}' is already set", field.name)));
            }
            if field.union {
                if let Some(previous) = out.union {
                    let msg = format!(
                        "'{}' and '{previous}' are members of the same union; set only one of: {}",
                        field.name,
                        s.union_members().join(", ")
                    );
                    return Err(self.error(ErrorKind::Schema, init.pos, msg));
                }
                out.union = Some(field.name);
            }
            let value = self.check(&init.value, Expect::of(field.ty), &format!("'{}'", field.name))?;
            out.fields.push((field.name, value));
        }
        Ok(out)
    }

    /// A bare or dotted name: a keyword value, an enum value, or a constant reference.
    fn name(&mut self, path: &[String], leading_dot: bool, pos: Pos, want: Expect, what: &str) -> Result<Val, Error> {
        let joined = path.join(".");
        let word = match path {
            [only] if !leading_dot => Some(only.as_str()),
            _ => None,
        };
        if let (Some(word), 0) = (word, want.lists) {
            let kind = match (want.base, word) {
                (Ty::Bool, "true") => Some(ValKind::Bool(true)),
                (Ty::Bool, "false") => Some(ValKind::Bool(false)),
                (Ty::Void, "void") => Some(ValKind::Void),
                (Ty::Float, "inf") => Some(ValKind::Float(f64::INFINITY)),
                (Ty::Float, "nan") => Some(ValKind::Float(f64::NAN)),
                (Ty::Enum(en), w) => en.values.iter().find(|v| **v == w).map(|v| ValKind::Enum(v)),
                _ => None,
            };
            if let Some(kind) = kind {
                return Ok(Val { kind, pos });
            }
        }
        if let [only] = path {
            if let Some(&(c, ty)) = self.consts.get(only.as_str()) {
                return self.reference(c, ty, pos, want, what);
            }
        }
        if let Some(word) = word {
            if matches!(word, "true" | "false" | "void" | "inf" | "nan") {
                return Err(self.mismatch(pos, want, what));
            }
            if want.lists == 0 {
                if let Ty::Enum(en) = want.base {
                    let msg = format!("unknown value '{word}' for {what}; expected one of: {}", en.values.join(", "));
                    return Err(self.error(ErrorKind::Schema, pos, msg));
                }
                if matches!(want.base, Ty::Bool | Ty::Void) {
                    return Err(self.mismatch(pos, want, what));
                }
            }
        }
        let hint = did_you_mean(&joined, self.names.iter().copied());
        Err(self.error(ErrorKind::Reference, pos, format!("unknown constant '{joined}'{hint}")))
    }

    fn reference(&mut self, c: &'a Const, ty: Expect, pos: Pos, want: Expect, what: &str) -> Result<Val, Error> {
        if self.stack.contains(&c.name.as_str()) {
            return Err(self.error(ErrorKind::Reference, pos, format!("constant '{}' refers to itself", c.name)));
        }
        if self.stack.len() > MAX_DEPTH {
            return Err(self.error(
                ErrorKind::Reference,
                pos,
                format!("constant references nest deeper than {MAX_DEPTH}"),
            ));
        }
        if !ty.same(want) {
            let msg = format!("constant '{}' has type {}, but {what} needs {}", c.name, ty.name(), want.name());
            return Err(self.error(ErrorKind::Schema, pos, msg));
        }
        self.stack.push(c.name.as_str());
        let value = self.check(&c.value, want, &format!("constant '{}'", c.name));
        self.stack.pop();
        value
    }
}

impl Val {
    fn text(&self) -> Option<&str> {
        match &self.kind {
            ValKind::Text(t) => Some(t),
            _ => None,
        }
    }

    fn bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            ValKind::Data(d) => Some(d),
            _ => None,
        }
    }

    fn strukt(&self) -> Option<&StructVal> {
        match &self.kind {
            ValKind::Struct(s) => Some(s),
            _ => None,
        }
    }

    fn list(&self) -> &[Val] {
        match &self.kind {
            ValKind::List(items) => items,
            _ => &[],
        }
    }
}

impl StructVal {
    fn get(&self, name: &str) -> Option<&Val> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    fn text(&self, name: &str) -> Option<String> {
        self.get(name).and_then(Val::text).map(str::to_owned)
    }

    fn text_or_empty(&self, name: &str) -> String {
        self.text(name).unwrap_or_default()
    }

    /// An integer field; the schema bounded it already.
    fn int(&self, name: &str) -> Option<i128> {
        match self.get(name).map(|v| &v.kind) {
            Some(ValKind::Int(n)) => Some(*n),
            _ => None,
        }
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.get(name).map(|v| &v.kind), Some(ValKind::Bool(true)))
    }

    fn list(&self, name: &str) -> &[Val] {
        self.get(name).map_or(&[], Val::list)
    }

    fn texts(&self, name: &str) -> Vec<String> {
        self.list(name).iter().filter_map(Val::text).map(str::to_owned).collect()
    }

    fn sub(&self, name: &str) -> Option<&StructVal> {
        self.get(name).and_then(Val::strukt)
    }

    fn enum_value(&self, name: &str) -> Option<&'static str> {
        match self.get(name).map(|v| &v.kind) {
            Some(ValKind::Enum(e)) => Some(e),
            _ => None,
        }
    }

    /// The union member that is set and its value.
    fn member(&self) -> Option<(&'static str, &Val)> {
        let name = self.union?;
        self.get(name).map(|v| (name, v))
    }
}

/// Checked values → model.
struct Build<'a> {
    file: &'a Path,
}

impl Build<'_> {
    fn span(&self, pos: Pos) -> Span {
        span(self.file, pos)
    }

    fn invalid(&self, pos: Pos, message: String) -> Error {
        Error::at(ErrorKind::Invalid, self.span(pos), message)
    }

    fn structs<T>(
        &self,
        items: &[Val],
        mut f: impl FnMut(&StructVal, Pos) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        items.iter().filter_map(|v| v.strukt().map(|s| (s, v.pos))).map(|(s, pos)| f(s, pos)).collect()
    }

    fn config(&self, sv: &StructVal) -> Result<Config, Error> {
        let logging = sv.sub("logging").is_some_and(|l| l.flag("structuredLogging"));
        Ok(Config {
            services: self.structs(sv.list("services"), |s, pos| self.service(s, pos))?,
            sockets: self.structs(sv.list("sockets"), |s, pos| self.socket(s, pos))?,
            v8_flags: sv.texts("v8Flags"),
            autogates: sv.texts("autogates"),
            structured_logging: sv.flag("structuredLogging") || logging,
        })
    }

    fn socket(&self, sv: &StructVal, pos: Pos) -> Result<Socket, Error> {
        let protocol = match sv.member() {
            None => SocketProtocol::Http(HttpOptions::default()),
            Some(("http", v)) => SocketProtocol::Http(self.http_options(v.strukt())),
            Some(("https", v)) => SocketProtocol::Https {
                options: self.http_options(v.strukt().and_then(|g| g.sub("options"))),
                tls: self.tls_options(v.strukt().and_then(|g| g.sub("tlsOptions"))),
            },
            Some(("tcp", v)) => SocketProtocol::Tcp {
                tls: v.strukt().and_then(|g| g.sub("tlsOptions")).map(|t| self.tls_options(Some(t))),
            },
            Some((other, v)) => {
                return Err(self.invalid(v.pos, format!("'{other}' sockets are not supported by nanod")))
            }
        };
        Ok(Socket {
            name: sv.text_or_empty("name"),
            address: sv.text("address"),
            protocol,
            service: self.designator_or_empty(sv.get("service"), pos),
            span: self.span(pos),
        })
    }

    fn service(&self, sv: &StructVal, pos: Pos) -> Result<Service, Error> {
        let name = sv.text_or_empty("name");
        let kind = match sv.member() {
            Some(("worker", v)) => ServiceKind::Worker(self.worker(v)?),
            Some(("network", v)) => ServiceKind::Network(self.network(v.strukt())),
            Some(("external", v)) => ServiceKind::External(self.external(v.strukt())),
            Some(("disk", v)) => ServiceKind::Disk(self.disk(v.strukt())),
            _ => {
                let msg = format!("service '{name}' has no kind; set one of: worker, network, external, disk");
                return Err(self.invalid(pos, msg));
            }
        };
        Ok(Service { name, kind, span: self.span(pos) })
    }

    fn worker(&self, v: &Val) -> Result<Worker, Error> {
        let empty = StructVal { schema: &schema::WORKER, fields: Vec::new(), union: None };
        let sv = v.strukt().unwrap_or(&empty);
        let source = match sv.member() {
            Some(("serviceWorkerScript", s)) => WorkerSource::ServiceWorkerScript {
                source: s.text().unwrap_or_default().to_owned(),
                span: self.span(s.pos),
            },
            Some(("inherit", s)) => WorkerSource::Inherit(s.text().unwrap_or_default().to_owned()),
            Some((_, modules)) => WorkerSource::Modules(self.structs(modules.list(), |m, pos| self.module(m, pos))?),
            None => WorkerSource::Modules(Vec::new()),
        };
        let durable_object_storage = match sv.sub("durableObjectStorage").and_then(StructVal::member) {
            Some(("inMemory", _)) => DurableObjectStorage::InMemory,
            Some(("localDisk", d)) => DurableObjectStorage::LocalDisk(d.text().unwrap_or_default().to_owned()),
            _ => DurableObjectStorage::None,
        };
        let date = sv.get("compatibilityDate");
        Ok(Worker {
            source,
            compatibility_date: date.and_then(Val::text).map(str::to_owned),
            compatibility_date_span: self.span(date.map_or(v.pos, |d| d.pos)),
            compatibility_flags: sv.texts("compatibilityFlags"),
            bindings: self.structs(sv.list("bindings"), |b, pos| self.binding(b, pos))?,
            global_outbound: sv.get("globalOutbound").map(|d| self.designator(d)),
            cache_api_outbound: sv.get("cacheApiOutbound").map(|d| self.designator(d)),
            durable_object_namespaces: self.structs(sv.list("durableObjectNamespaces"), |d, _| {
                Ok(DurableObjectNamespace {
                    class_name: d.text_or_empty("className"),
                    unique_key: d.text("uniqueKey"),
                    ephemeral_local: d.union == Some("ephemeralLocal"),
                    prevent_eviction: d.flag("preventEviction"),
                    enable_sql: d.flag("enableSql"),
                })
            })?,
            durable_object_unique_key_modifier: sv.text("durableObjectUniqueKeyModifier"),
            durable_object_storage,
            module_fallback: sv.text("moduleFallback"),
            tails: sv.list("tails").iter().map(|d| self.designator(d)).collect(),
            limits: self.limits(sv.get("limits"), v.pos),
            span: self.span(v.pos),
        })
    }

    fn module(&self, sv: &StructVal, pos: Pos) -> Result<Module, Error> {
        let name = sv.text_or_empty("name");
        let text = |v: &Val| v.text().unwrap_or_default().to_owned();
        let bytes = |v: &Val| v.bytes().unwrap_or_default().to_vec();
        let content = match sv.member() {
            Some(("esModule", v)) => ModuleContent::EsModule(text(v)),
            Some(("commonJsModule", v)) => ModuleContent::CommonJs(text(v)),
            Some(("text", v)) => ModuleContent::Text(text(v)),
            Some(("data", v)) => ModuleContent::Data(bytes(v)),
            Some(("wasm", v)) => ModuleContent::Wasm(bytes(v)),
            Some(("json", v)) => ModuleContent::Json(text(v)),
            Some(("pythonModule", v)) => ModuleContent::PythonModule(text(v)),
            Some((other, v)) => return Err(self.invalid(v.pos, format!("module type '{other}' is obsolete"))),
            None => {
                let msg = format!(
                    "module '{name}' has no content; set one of: esModule, commonJsModule, text, data, wasm, json, \
                     pythonModule"
                );
                return Err(self.invalid(pos, msg));
            }
        };
        Ok(Module { name, content, named_exports: sv.texts("namedExports"), span: self.span(pos) })
    }

    fn binding(&self, sv: &StructVal, pos: Pos) -> Result<Binding, Error> {
        let name = sv.text_or_empty("name");
        let text = |v: &Val| v.text().unwrap_or_default().to_owned();
        let bytes = |v: &Val| v.bytes().unwrap_or_default().to_vec();
        let kind = match sv.member() {
            Some(("parameter", v)) => {
                BindingKind::Parameter { optional: v.strukt().is_some_and(|p| p.flag("optional")) }
            }
            Some(("text", v)) => BindingKind::Text(text(v)),
            Some(("data", v)) => BindingKind::Data(bytes(v)),
            Some(("json", v)) => BindingKind::Json(text(v)),
            Some(("wasmModule", v)) => BindingKind::WasmModule(bytes(v)),
            Some(("fromEnvironment", v)) => BindingKind::FromEnvironment(text(v)),
            Some(("cryptoKey", v)) => BindingKind::CryptoKey(self.crypto_key(v)?),
            Some(("service", v)) => BindingKind::Service(self.designator(v)),
            Some(("kvNamespace", v)) => BindingKind::KvNamespace(self.designator(v)),
            Some(("r2Bucket", v)) => BindingKind::R2Bucket(self.designator(v)),
            Some(("queue", v)) => BindingKind::Queue(self.designator(v)),
            Some(("analyticsEngine", v)) => BindingKind::AnalyticsEngine(self.designator(v)),
            Some(("durableObjectNamespace", v)) => BindingKind::DurableObjectNamespace {
                class_name: v.strukt().map(|d| d.text_or_empty("className")).unwrap_or_default(),
                service_name: v.strukt().and_then(|d| d.text("serviceName")),
            },
            Some(("hyperdrive", v)) => {
                let g = v.strukt();
                let field = |n: &str| g.map(|g| g.text_or_empty(n)).unwrap_or_default();
                BindingKind::Hyperdrive {
                    designator: self.designator_or_empty(g.and_then(|g| g.get("designator")), v.pos),
                    database: field("database"),
                    user: field("user"),
                    password: field("password"),
                    scheme: field("scheme"),
                }
            }
            Some(("unsafeEval", _)) => BindingKind::UnsafeEval,
            Some(("memoryCache", v)) => {
                BindingKind::MemoryCache { id: v.strukt().map(|m| m.text_or_empty("id")).unwrap_or_default() }
            }
            Some(("unspecified", _)) | None => {
                let msg =
                    format!("binding '{name}' has no value; set one of: {}", sv.schema.union_members().join(", "));
                return Err(self.invalid(pos, msg));
            }
            Some((other, _)) => BindingKind::Unsupported(other.to_owned()),
        };
        Ok(Binding { name, kind, span: self.span(pos) })
    }

    fn crypto_key(&self, v: &Val) -> Result<CryptoKey, Error> {
        let empty = StructVal { schema: &schema::CRYPTO_KEY, fields: Vec::new(), union: None };
        let sv = v.strukt().unwrap_or(&empty);
        let text = |v: &Val| v.text().unwrap_or_default().to_owned();
        let format = match sv.member() {
            Some(("raw", k)) => CryptoKeyFormat::Raw(k.bytes().unwrap_or_default().to_vec()),
            Some(("hex", k)) => CryptoKeyFormat::Hex(text(k)),
            Some(("base64", k)) => CryptoKeyFormat::Base64(text(k)),
            Some(("pkcs8", k)) => CryptoKeyFormat::Pkcs8(text(k)),
            Some(("spki", k)) => CryptoKeyFormat::Spki(text(k)),
            Some(("jwk", k)) => CryptoKeyFormat::Jwk(text(k)),
            _ => {
                let msg = "cryptoKey has no key material; set one of: raw, hex, base64, pkcs8, spki, jwk".to_owned();
                return Err(self.invalid(v.pos, msg));
            }
        };
        let algorithm_json = match sv.sub("algorithm").and_then(StructVal::member) {
            Some(("name", n)) => json_string(n.text().unwrap_or_default()),
            Some((_, j)) => text(j),
            None => {
                return Err(self.invalid(v.pos, "cryptoKey has no algorithm; set algorithm = (name = \"...\")".into()))
            }
        };
        Ok(CryptoKey {
            format,
            algorithm_json,
            extractable: sv.flag("extractable"),
            usages: sv
                .list("usages")
                .iter()
                .filter_map(|u| match u.kind {
                    ValKind::Enum(e) => Some(e.to_owned()),
                    _ => None,
                })
                .collect(),
        })
    }

    fn designator(&self, v: &Val) -> ServiceDesignator {
        self.designator_or_empty(Some(v), v.pos)
    }

    /// The designator in `v`, or one with an empty name (which `validate` reports) at `pos`.
    fn designator_or_empty(&self, v: Option<&Val>, pos: Pos) -> ServiceDesignator {
        let sv = v.and_then(Val::strukt);
        ServiceDesignator {
            name: sv.map(|d| d.text_or_empty("name")).unwrap_or_default(),
            entrypoint: sv.and_then(|d| d.text("entrypoint")),
            props_json: sv.and_then(|d| d.sub("props")).and_then(|p| p.text("json")),
            timeout_ms: sv.and_then(|d| d.int("timeoutMs")).map(|n| n as u32),
            fallback: sv.and_then(|d| d.get("fallback")).map(|f| Box::new(self.designator(f))),
            span: self.span(v.map_or(pos, |v| v.pos)),
        }
    }

    fn limits(&self, v: Option<&Val>, worker: Pos) -> Limits {
        let sv = v.and_then(Val::strukt);
        let int = |name: &str| sv.and_then(|l| l.int(name));
        Limits {
            cpu_ms: int("cpuMs").map(|n| n as u32),
            memory_mb: int("memoryMb").map(|n| n as u32),
            concurrent_requests: int("concurrentRequests").map(|n| n as u32),
            request_body_bytes: int("requestBodyBytes").map(|n| n as u64),
            subrequests: int("subrequests").map(|n| n as u32),
            span: self.span(v.map_or(worker, |v| v.pos)),
        }
    }

    fn http_options(&self, sv: Option<&StructVal>) -> HttpOptions {
        let Some(sv) = sv else {
            return HttpOptions::default();
        };
        let headers = |name: &str| {
            sv.list(name)
                .iter()
                .filter_map(Val::strukt)
                .map(|h| Header { name: h.text_or_empty("name"), value: h.text("value") })
                .collect()
        };
        HttpOptions {
            style: if sv.enum_value("style") == Some("proxy") { HttpStyle::Proxy } else { HttpStyle::Host },
            forwarded_proto_header: sv.text("forwardedProtoHeader"),
            cf_blob_header: sv.text("cfBlobHeader"),
            inject_request_headers: headers("injectRequestHeaders"),
            inject_response_headers: headers("injectResponseHeaders"),
            capnp_connect_host: sv.text("capnpConnectHost"),
        }
    }

    fn tls_options(&self, sv: Option<&StructVal>) -> TlsOptions {
        let Some(sv) = sv else {
            return TlsOptions::default();
        };
        TlsOptions {
            keypair: sv.sub("keypair").map(|k| TlsKeypair {
                private_key: k.text_or_empty("privateKey"),
                certificate_chain: k.text_or_empty("certificateChain"),
            }),
            require_client_certs: sv.flag("requireClientCerts"),
            trust_browser_cas: sv.flag("trustBrowserCas"),
            trusted_certificates: sv.texts("trustedCertificates"),
            min_version: match sv.enum_value("minVersion") {
                Some("ssl3") => TlsVersion::Ssl3,
                Some("tls1Dot0") => TlsVersion::Tls1Dot0,
                Some("tls1Dot1") => TlsVersion::Tls1Dot1,
                Some("tls1Dot2") => TlsVersion::Tls1Dot2,
                Some("tls1Dot3") => TlsVersion::Tls1Dot3,
                _ => TlsVersion::GoodDefault,
            },
            cipher_list: sv.text("cipherList"),
        }
    }

    fn network(&self, sv: Option<&StructVal>) -> Network {
        let Some(sv) = sv else {
            return Network::default();
        };
        Network {
            allow: if sv.get("allow").is_some() { sv.texts("allow") } else { vec!["public".to_owned()] },
            deny: sv.texts("deny"),
            tls: sv.sub("tlsOptions").map(|t| self.tls_options(Some(t))),
        }
    }

    fn external(&self, sv: Option<&StructVal>) -> External {
        let Some(sv) = sv else {
            return External { address: None, protocol: ExternalProtocol::Http(HttpOptions::default()) };
        };
        let protocol = match sv.member() {
            Some(("https", v)) => {
                let g = v.strukt();
                ExternalProtocol::Https {
                    options: self.http_options(g.and_then(|g| g.sub("options"))),
                    tls: self.tls_options(g.and_then(|g| g.sub("tlsOptions"))),
                    certificate_host: g.and_then(|g| g.text("certificateHost")),
                }
            }
            Some(("tcp", v)) => {
                let g = v.strukt();
                ExternalProtocol::Tcp {
                    tls: g.and_then(|g| g.sub("tlsOptions")).map(|t| self.tls_options(Some(t))),
                    certificate_host: g.and_then(|g| g.text("certificateHost")),
                }
            }
            Some((_, v)) => ExternalProtocol::Http(self.http_options(v.strukt())),
            None => ExternalProtocol::Http(HttpOptions::default()),
        };
        External { address: sv.text("address"), protocol }
    }

    fn disk(&self, sv: Option<&StructVal>) -> Disk {
        let Some(sv) = sv else { return Disk::default() };
        Disk { path: sv.text("path"), writable: sv.flag("writable"), allow_dotfiles: sv.flag("allowDotfiles") }
    }
}

/// `s` as a JSON string literal.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
