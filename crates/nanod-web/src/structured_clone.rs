//! `structuredClone(value, { transfer })` (HTML §2.7.3), and the same clone across isolates.
//!
//! A clone is two steps through a Rust tree, [`Cloned`]: [`serialize`] reads a JS value into
//! the tree (HTML's StructuredSerialize), [`Cloned::to_value`] builds it again in any isolate
//! (StructuredDeserialize). The tree holds no JS value, so it may cross isolates: JS RPC
//! ([`crate::rpc`]) serializes arguments in the caller and deserializes them in the callee, all
//! on one thread, with no bytes in between.
//!
//! Clones primitives (BigInt included), plain objects and arrays (own enumerable string keys;
//! holes and extra array properties kept), `Map`, `Set`, `Date`, `RegExp`, `Boolean`/`Number`/
//! `String`/`BigInt` wrapper objects, `ArrayBuffer`, every typed array and `DataView` (views of
//! one buffer share one cloned buffer), `Error`s (name, message, stack, cause) and
//! `DOMException`s. A memory (a Rust map keyed by object identity) numbers every object in
//! visiting order, so shared references and cycles come back as [`Cloned::Ref`].
//! Functions, symbols, proxies, and objects whose prototype chain has a native constructor not
//! listed above (`Promise`, `WeakMap`, `Headers`, `EventTarget`...) throw a `DOMException`
//! named `DataCloneError`. `transfer` accepts `ArrayBuffer`s: the clone gets the bytes and the
//! original is detached. Strings are kept as Rust strings: a lone surrogate becomes U+FFFD.
//!
//! ```js
//! const a = { when: new Date(0) }; a.self = a;
//! const b = structuredClone(a); // b.self === b, b.when instanceof Date
//! ```
//!
//! Which built-in a value is comes from brand checks: calling the built-in's own accessor or
//! `valueOf` on it, which throws for anything without the internal slot (`toStringTag` and
//! `instanceof` can be faked; these cannot). Arrays and objects that inherit directly from
//! `Object.prototype` skip them (a failed brand check is a thrown exception, about a
//! microsecond each): see `Serializer::serialize`. The intrinsics are read from the globals
//! when a clone starts.

use std::collections::HashMap;

use bytes::Bytes;
use rquickjs::function::{Opt, This};
use rquickjs::object::Property;
use rquickjs::{Array, ArrayBuffer, Coerced, Constructor, Ctx, FromJs, Function, Object, Value};

use crate::webidl::type_error;

/// Error constructors that survive a clone by name; any other name becomes `Error`.
pub const ERROR_NAMES: [&str; 7] =
    ["Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"];

/// A structured-serialized value: plain Rust data, valid in any isolate.
#[derive(Debug, Clone, PartialEq)]
pub enum Cloned {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    /// Decimal digits (with a `-` if negative).
    BigInt(String),
    String(String),
    /// A `Boolean`/`Number`/`String`/`BigInt` wrapper object around the primitive.
    Wrapper(Box<Cloned>),
    /// Milliseconds since the epoch (`NaN` for an invalid date).
    Date(f64),
    RegExp {
        source: String,
        flags: String,
    },
    ArrayBuffer(Bytes),
    /// A typed array or `DataView` (`kind` is its constructor's name) over `buffer` (an
    /// [`Cloned::ArrayBuffer`] or a [`Cloned::Ref`] to one).
    View {
        kind: String,
        buffer: Box<Cloned>,
        offset: f64,
        length: f64,
    },
    /// An array: its `length` and its own enumerable properties (indices and others).
    Array {
        length: f64,
        properties: Vec<(String, Cloned)>,
    },
    Object(Vec<(String, Cloned)>),
    Map(Vec<(Cloned, Cloned)>),
    Set(Vec<Cloned>),
    /// `name` is one of [`ERROR_NAMES`]; `message` is `None` when the error had no own message.
    Error {
        name: String,
        message: Option<String>,
        stack: Option<String>,
        cause: Option<Box<Cloned>>,
    },
    DomException {
        name: String,
        message: String,
        stack: Option<String>,
    },
    /// The object numbered `n` (in visiting order) again: a shared reference or a cycle.
    Ref(u32),
}

/// One serialization: the memory and the intrinsics it uses.
struct Serializer<'js> {
    ctx: Ctx<'js>,
    /// Source object (by identity) → its number in visiting order.
    memory: HashMap<Value<'js>, u32>,
    get_own_property_descriptor: Function<'js>,
    array_from: Function<'js>,
    object_proto: Object<'js>,
    /// `Object.prototype.toString`.
    to_string: Function<'js>,
    /// `ArrayBuffer`s in the transfer list, detached once the clone is done.
    transfer: Vec<Object<'js>>,
}

fn global<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Object<'js>> {
    ctx.globals().get(name)
}

fn constructor<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Constructor<'js>> {
    global(ctx, name)?.as_constructor().cloned().ok_or(rquickjs::Error::Unknown)
}

impl<'js> Serializer<'js> {
    fn new(ctx: &Ctx<'js>) -> rquickjs::Result<Self> {
        let object_ctor: Object = global(ctx, "Object")?;
        let object_proto: Object = object_ctor.get("prototype")?;
        Ok(Serializer {
            to_string: object_proto.get("toString")?,
            object_proto,
            ctx: ctx.clone(),
            memory: HashMap::new(),
            get_own_property_descriptor: object_ctor.get("getOwnPropertyDescriptor")?,
            array_from: global(ctx, "Array")?.get("from")?,
            transfer: Vec::new(),
        })
    }

    /// Numbers `source` as the next object (the deserializer numbers in the same order).
    fn remember(&mut self, source: &Object<'js>) -> rquickjs::Result<()> {
        let number = self.memory.len() as u32;
        self.memory.insert(source.clone().into_value(), number);
        Ok(())
    }

    /// `Object.getOwnPropertyDescriptor(<global>.prototype, name).get`.
    fn getter(&self, ctor: &str, name: &str) -> rquickjs::Result<Function<'js>> {
        let proto: Object = global(&self.ctx, ctor)?.get("prototype")?;
        self.getter_of(&proto, name)
    }

    fn getter_of(&self, proto: &Object<'js>, name: &str) -> rquickjs::Result<Function<'js>> {
        let descriptor: Object = self.get_own_property_descriptor.call((proto.clone(), name))?;
        descriptor.get("get")
    }

    fn method(&self, ctor: &str, name: &str) -> rquickjs::Result<Function<'js>> {
        global(&self.ctx, ctor)?.get::<_, Object>("prototype")?.get(name)
    }

    /// Calls a brand-checking intrinsic on `value`: `None` if it throws (no such slot).
    fn brand(&self, check: rquickjs::Result<Function<'js>>, value: &Object<'js>) -> Option<Value<'js>> {
        let check = check.ok()?;
        match check.call::<_, Value>((This(value.clone()),)) {
            Ok(v) => Some(v),
            Err(_) => {
                self.ctx.catch();
                None
            }
        }
    }

    fn data_clone_error(&self, message: &str) -> rquickjs::Error {
        crate::webidl::dom_exception(&self.ctx, "DataCloneError", message)
    }

    fn string(&self, value: Value<'js>) -> rquickjs::Result<String> {
        Ok(Coerced::<String>::from_js(&self.ctx, value)?.0)
    }

    /// The text V8 (so Node and workerd) uses for an uncloneable value.
    fn describe(&self, value: &Value<'js>) -> String {
        describe(&self.ctx, value)
    }

    fn primitive(&self, value: &Value<'js>) -> rquickjs::Result<Option<Cloned>> {
        use rquickjs::Type;
        Ok(Some(match value.type_of() {
            Type::Uninitialized | Type::Undefined => Cloned::Undefined,
            Type::Null => Cloned::Null,
            Type::Bool => Cloned::Bool(value.as_bool().unwrap_or_default()),
            Type::Int | Type::Float => Cloned::Number(value.as_number().unwrap_or_default()),
            Type::BigInt => Cloned::BigInt(self.string(value.clone())?),
            Type::String => Cloned::String(self.string(value.clone())?),
            _ => return Ok(None),
        }))
    }

    fn serialize(&mut self, value: Value<'js>) -> rquickjs::Result<Cloned> {
        if let Some(primitive) = self.primitive(&value)? {
            return Ok(primitive);
        }
        if value.is_symbol() || value.is_function() {
            return Err(self.data_clone_error(&format!("{} could not be cloned.", self.describe(&value))));
        }
        let Some(object) = value.as_object().cloned() else {
            return Err(self.data_clone_error(&format!("{} could not be cloned.", self.describe(&value))));
        };
        if let Some(n) = self.memory.get(&value) {
            return Ok(Cloned::Ref(*n));
        }
        if value.is_proxy() {
            return Err(self.data_clone_error(&format!("{} could not be cloned.", self.describe(&value))));
        }
        // The common cases first, without the brand checks below (each a thrown exception when
        // it fails): an array has no other internal slot, and neither has an object that
        // inherits from `Object.prototype` directly with `Object.prototype.toString`'s
        // built-in tag `Object`, unless it is a `Map`, `Set`, buffer or weak collection whose
        // prototype was replaced, which then clones as a plain object.
        if value.is_array() {
            let length: Value = object.get("length")?;
            let length = length.as_number().unwrap_or_default();
            self.remember(&object)?;
            let properties = self.properties(&object)?;
            return Ok(Cloned::Array { length, properties });
        }
        if self.is_plain(&object)? {
            self.remember(&object)?;
            return Ok(Cloned::Object(self.properties(&object)?));
        }
        for wrapper in ["Boolean", "Number", "String", "BigInt"] {
            if let Some(primitive) = self.brand(self.method(wrapper, "valueOf"), &object) {
                self.remember(&object)?;
                let inner = self.primitive(&primitive)?.unwrap_or(Cloned::Undefined);
                return Ok(Cloned::Wrapper(Box::new(inner)));
            }
        }
        if self.brand(self.method("Symbol", "valueOf"), &object).is_some() {
            return Err(self.data_clone_error("Symbol object could not be cloned."));
        }
        if let Some(time) = self.brand(self.method("Date", "getTime"), &object) {
            self.remember(&object)?;
            return Ok(Cloned::Date(time.as_number().unwrap_or(f64::NAN)));
        }
        if let Some(source) = self.brand(self.getter("RegExp", "source"), &object) {
            let flags = self.brand(self.getter("RegExp", "flags"), &object);
            self.remember(&object)?;
            let flags = match flags {
                Some(flags) => self.string(flags)?,
                None => String::new(),
            };
            return Ok(Cloned::RegExp { source: self.string(source)?, flags });
        }
        if ArrayBuffer::from_object(object.clone()).is_some() {
            let bytes = self.buffer_bytes(&object)?;
            self.remember(&object)?;
            return Ok(Cloned::ArrayBuffer(bytes));
        }
        if let Some(view) = self.serialize_view(&object)? {
            return Ok(view);
        }
        if self.brand(self.getter("Map", "size"), &object).is_some() {
            return self.serialize_collection(&object, "Map");
        }
        if self.brand(self.getter("Set", "size"), &object).is_some() {
            return self.serialize_collection(&object, "Set");
        }
        if let Some(exception) = self.serialize_dom_exception(&object)? {
            return Ok(exception);
        }
        if value.is_error() {
            return self.serialize_error(&object);
        }
        if value.is_promise() {
            return Err(self.data_clone_error("#<Promise> could not be cloned."));
        }
        let weak_brands =
            [("WeakMap", "has"), ("WeakSet", "has"), ("WeakRef", "deref"), ("FinalizationRegistry", "unregister")];
        for (kind, method) in weak_brands {
            let probe = Object::new(self.ctx.clone())?;
            let check = self.method(kind, method).and_then(|f| {
                f.call::<_, Value>((This(object.clone()), probe))?;
                Ok(())
            });
            match check {
                Ok(()) => return Err(self.data_clone_error(&format!("#<{kind}> could not be cloned."))),
                Err(_) => {
                    self.ctx.catch();
                }
            }
        }
        if let Some(name) = self.platform_class(&object)? {
            return Err(self.data_clone_error(&format!(
                "Could not serialize object of type \"{name}\". This type does not support serialization."
            )));
        }
        self.remember(&object)?;
        Ok(Cloned::Object(self.properties(&object)?))
    }

    fn is_plain(&self, object: &Object<'js>) -> rquickjs::Result<bool> {
        let direct = object.get_prototype().is_none_or(|proto| proto == self.object_proto);
        if !direct {
            return Ok(false);
        }
        let tag: rquickjs::String = self.to_string.call((This(object.clone()),))?;
        Ok(tag.to_string()? == "[object Object]")
    }

    /// Typed arrays and `DataView`s: the buffer goes through the memory, so views that share
    /// a buffer share its clone.
    fn serialize_view(&mut self, object: &Object<'js>) -> rquickjs::Result<Option<Cloned>> {
        let typed_array_proto: Object =
            global(&self.ctx, "Uint8Array")?.get_prototype().ok_or(rquickjs::Error::Unknown)?.get("prototype")?;
        let to_string_tag: Value = global(&self.ctx, "Symbol")?.get("toStringTag")?;
        let descriptor: Object = self.get_own_property_descriptor.call((typed_array_proto.clone(), to_string_tag))?;
        let tag = self.brand(descriptor.get("get"), object);
        let (kind, offset, length) = match tag.and_then(|t| t.as_string().and_then(|s| s.to_string().ok())) {
            Some(name) => {
                let offset = self.brand(self.getter_of(&typed_array_proto, "byteOffset"), object);
                let length = self.brand(self.getter_of(&typed_array_proto, "length"), object);
                (name, offset, length)
            }
            None => {
                if self.brand(self.getter("DataView", "buffer"), object).is_none() {
                    return Ok(None);
                }
                let offset = self.brand(self.getter("DataView", "byteOffset"), object);
                let length = self.brand(self.getter("DataView", "byteLength"), object);
                ("DataView".to_owned(), offset, length)
            }
        };
        let number = |v: Option<Value<'js>>| v.and_then(|v| v.as_number()).unwrap_or_default();
        let (offset, length) = (number(offset), number(length));
        let buffer: Value = object.get("buffer")?;
        let buffer = self.serialize(buffer)?;
        self.remember(object)?;
        Ok(Some(Cloned::View { kind, buffer: Box::new(buffer), offset, length }))
    }

    fn serialize_collection(&mut self, object: &Object<'js>, kind: &str) -> rquickjs::Result<Cloned> {
        self.remember(object)?;
        let iterate = if kind == "Map" { "entries" } else { "values" };
        let iterator: Value = self.method(kind, iterate)?.call((This(object.clone()),))?;
        // Entries are copied first (HTML: "a new list" of the entries), then serialized.
        let items: Array = self.array_from.call((iterator,))?;
        if kind == "Map" {
            let mut entries = Vec::with_capacity(items.len());
            for item in items.iter::<Value>() {
                let pair = Array::from_value(item?)?;
                let key = self.serialize(pair.get(0)?)?;
                let value = self.serialize(pair.get(1)?)?;
                entries.push((key, value));
            }
            return Ok(Cloned::Map(entries));
        }
        let mut values = Vec::with_capacity(items.len());
        for item in items.iter::<Value>() {
            values.push(self.serialize(item?)?);
        }
        Ok(Cloned::Set(values))
    }

    fn serialize_dom_exception(&mut self, object: &Object<'js>) -> rquickjs::Result<Option<Cloned>> {
        let Ok(proto) = global(&self.ctx, "DOMException").and_then(|c| c.get::<_, Object>("prototype")) else {
            self.ctx.catch();
            return Ok(None);
        };
        let Some(name) = self.brand(self.getter_of(&proto, "name"), object) else { return Ok(None) };
        let message = self.brand(self.getter_of(&proto, "message"), object);
        let message = match message {
            Some(message) => self.string(message)?,
            None => String::new(),
        };
        let stack = self.stack(object)?;
        self.remember(object)?;
        Ok(Some(Cloned::DomException { name: self.string(name)?, message, stack }))
    }

    fn serialize_error(&mut self, object: &Object<'js>) -> rquickjs::Result<Cloned> {
        let name: Value = object.get("name")?;
        let name = Coerced::<String>::from_js(&self.ctx, name).map(|s| s.0).unwrap_or_default();
        let name = if ERROR_NAMES.contains(&name.as_str()) { name } else { "Error".to_owned() };
        let message = if self.has_own(object, "message")? {
            let message: Value = object.get("message")?;
            Some(self.string(message)?)
        } else {
            None
        };
        let stack = self.stack(object)?;
        self.remember(object)?;
        let cause =
            if self.has_own(object, "cause")? { Some(Box::new(self.serialize(object.get("cause")?)?)) } else { None };
        Ok(Cloned::Error { name, message, stack, cause })
    }

    fn stack(&self, object: &Object<'js>) -> rquickjs::Result<Option<String>> {
        let stack: Value = object.get("stack")?;
        stack.as_string().map(|s| s.to_string()).transpose()
    }

    fn has_own(&self, object: &Object<'js>, key: &str) -> rquickjs::Result<bool> {
        let descriptor: Value = self.get_own_property_descriptor.call((object.clone(), key))?;
        Ok(!descriptor.is_undefined())
    }

    /// The name of the first of this crate's native classes (a [`crate::GLOBALS`] entry with a
    /// native constructor) on `object`'s prototype chain, if any: such objects keep their
    /// state in Rust, which a property copy would lose.
    fn platform_class(&self, object: &Object<'js>) -> rquickjs::Result<Option<String>> {
        let object_proto: Object = global(&self.ctx, "Object")?.get("prototype")?;
        let to_source = self.method("Function", "toString")?;
        let mut proto = object.get_prototype();
        while let Some(p) = proto {
            if p == object_proto {
                break;
            }
            if self.has_own(&p, "constructor")? {
                let ctor: Value = p.get("constructor")?;
                if let Some(ctor) = ctor.as_function() {
                    let source: String = to_source.call((This(ctor.clone()),))?;
                    let name: String = ctor.get::<_, Option<String>>("name")?.unwrap_or_default();
                    if source.contains("[native code]") && crate::GLOBALS.iter().any(|(global, _)| *global == name) {
                        return Ok(Some(name));
                    }
                }
            }
            proto = p.get_prototype();
        }
        Ok(None)
    }

    /// Own enumerable string-keyed properties, each serialized (HTML: the keys are taken
    /// first; a key deleted meanwhile is skipped).
    fn properties(&mut self, from: &Object<'js>) -> rquickjs::Result<Vec<(String, Cloned)>> {
        let keys: Vec<String> = from.keys::<String>().collect::<rquickjs::Result<_>>()?;
        let mut properties = Vec::with_capacity(keys.len());
        for key in keys {
            if !self.has_own(from, &key)? {
                continue;
            }
            let value: Value = from.get(key.as_str())?;
            let value = self.serialize(value)?;
            properties.push((key, value));
        }
        Ok(properties)
    }

    /// Validates the `transfer` list: only distinct, attached `ArrayBuffer`s, each detached
    /// after the clone.
    fn set_transfer(&mut self, list: Value<'js>) -> rquickjs::Result<()> {
        if list.is_undefined() {
            return Ok(());
        }
        if !list.is_object() {
            return Err(type_error(&self.ctx, "Failed to execute 'structuredClone': transfer is not a sequence."));
        }
        let items: Array = self.array_from.call((list,))?;
        for item in items.iter::<Value>() {
            let item = item?;
            let buffer = item.as_object().and_then(|o| ArrayBuffer::from_object(o.clone()));
            let Some(buffer) = buffer else {
                return Err(type_error(&self.ctx, "Object is not transferable"));
            };
            let object = buffer.as_object().clone();
            if self.transfer.contains(&object) {
                return Err(self.data_clone_error("An ArrayBuffer is listed more than once in the transfer list."));
            }
            self.check_attached(&object)?;
            self.transfer.push(object);
        }
        Ok(())
    }

    fn check_attached(&self, buffer: &Object<'js>) -> rquickjs::Result<()> {
        let detached = self.brand(self.getter("ArrayBuffer", "detached"), buffer);
        if detached.and_then(|d| d.as_bool()).unwrap_or(false) {
            return Err(self.data_clone_error("An ArrayBuffer is detached and could not be cloned."));
        }
        Ok(())
    }

    /// A copy of an `ArrayBuffer`'s bytes.
    fn buffer_bytes(&self, buffer: &Object<'js>) -> rquickjs::Result<Bytes> {
        self.check_attached(buffer)?;
        let value = buffer.clone().into_value();
        Ok(crate::buffer_source::copy_bytes(&self.ctx, &value)?.unwrap_or_default())
    }

    fn detach_transferred(&mut self) {
        for object in std::mem::take(&mut self.transfer) {
            if let Some(mut buffer) = ArrayBuffer::from_object(object) {
                buffer.detach();
            }
        }
    }
}

/// The text V8 (so Node and workerd) uses for a value that cannot be cloned or thrown across:
/// `#<Ctor>` for objects, the `String()` form otherwise.
pub fn describe<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> String {
    if let Some(object) = value.as_object() {
        if !value.is_function() {
            let name = object
                .get::<_, Object>("constructor")
                .and_then(|c| c.get::<_, String>("name"))
                .unwrap_or_else(|_| "Object".to_owned());
            ctx.catch();
            return format!("#<{name}>");
        }
    }
    let text = Coerced::<String>::from_js(ctx, value.clone()).map(|s| s.0).or_else(|_| {
        ctx.catch();
        value.as_symbol().and_then(|s| s.description().ok()).map_or(Ok("Symbol()".to_owned()), |d| {
            Ok::<_, rquickjs::Error>(format!(
                "Symbol({})",
                Coerced::<String>::from_js(ctx, d).map(|s| s.0).unwrap_or_default()
            ))
        })
    });
    text.unwrap_or_default()
}

/// Serializes `value` (StructuredSerialize); throws a `DataCloneError` for what cannot be cloned.
pub fn serialize<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Cloned> {
    Serializer::new(ctx)?.serialize(value)
}

impl Cloned {
    /// Builds the value in `ctx` (StructuredDeserialize).
    pub fn to_value<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        Deserializer { ctx: ctx.clone(), objects: Vec::new() }.value(self)
    }
}

/// One deserialization: the objects made so far, numbered as the serializer numbered them.
struct Deserializer<'js> {
    ctx: Ctx<'js>,
    objects: Vec<Value<'js>>,
}

impl<'js> Deserializer<'js> {
    fn made(&mut self, value: Value<'js>) -> Value<'js> {
        self.objects.push(value.clone());
        value
    }

    fn string(&self, text: &str) -> rquickjs::Result<Value<'js>> {
        rquickjs::String::from_str(self.ctx.clone(), text).map(|s| s.into_value())
    }

    fn primitive(&self, cloned: &Cloned) -> rquickjs::Result<Option<Value<'js>>> {
        let ctx = &self.ctx;
        Ok(Some(match cloned {
            Cloned::Undefined => Value::new_undefined(ctx.clone()),
            Cloned::Null => Value::new_null(ctx.clone()),
            Cloned::Bool(b) => Value::new_bool(ctx.clone(), *b),
            // `new_number` would make -0 the integer 0.
            Cloned::Number(n) if *n == 0.0 && n.is_sign_negative() => Value::new_float(ctx.clone(), *n),
            Cloned::Number(n) => Value::new_number(ctx.clone(), *n),
            Cloned::BigInt(digits) => {
                global(ctx, "BigInt")?.as_function().ok_or(rquickjs::Error::Unknown)?.call((digits.as_str(),))?
            }
            Cloned::String(text) => self.string(text)?,
            _ => return Ok(None),
        }))
    }

    fn value(&mut self, cloned: &Cloned) -> rquickjs::Result<Value<'js>> {
        if let Some(primitive) = self.primitive(cloned)? {
            return Ok(primitive);
        }
        let ctx = self.ctx.clone();
        Ok(match cloned {
            Cloned::Wrapper(inner) => {
                let primitive = self.primitive(inner)?.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                let object: Value = ctx.globals().get::<_, Function>("Object")?.call((primitive,))?;
                self.made(object)
            }
            Cloned::Date(time) => {
                let date: Value = constructor(&ctx, "Date")?.construct((*time,))?;
                self.made(date)
            }
            Cloned::RegExp { source, flags } => {
                let regexp: Value = constructor(&ctx, "RegExp")?.construct((source.as_str(), flags.as_str()))?;
                self.made(regexp)
            }
            Cloned::ArrayBuffer(bytes) => {
                let buffer = crate::buffer_source::array_buffer(&ctx, bytes.clone())?;
                self.made(buffer)
            }
            Cloned::View { kind, buffer, offset, length } => {
                let buffer = self.value(buffer)?;
                let view: Value = constructor(&ctx, kind)?.construct((buffer, *offset, *length))?;
                self.made(view)
            }
            Cloned::Array { length, properties } => {
                let array = Array::new(ctx.clone())?;
                array.as_object().set("length", *length)?;
                let object = array.into_object();
                self.made(object.clone().into_value());
                self.fill(&object, properties)?;
                object.into_value()
            }
            Cloned::Object(properties) => {
                let object = Object::new(ctx.clone())?;
                self.made(object.clone().into_value());
                self.fill(&object, properties)?;
                object.into_value()
            }
            Cloned::Map(entries) => {
                let map: Object = constructor(&ctx, "Map")?.construct(())?;
                self.made(map.clone().into_value());
                let set: Function = map.get("set")?;
                for (key, value) in entries {
                    let key = self.value(key)?;
                    let value = self.value(value)?;
                    set.call::<_, Value>((This(map.clone()), key, value))?;
                }
                map.into_value()
            }
            Cloned::Set(values) => {
                let set: Object = constructor(&ctx, "Set")?.construct(())?;
                self.made(set.clone().into_value());
                let add: Function = set.get("add")?;
                for value in values {
                    let value = self.value(value)?;
                    add.call::<_, Value>((This(set.clone()), value))?;
                }
                set.into_value()
            }
            Cloned::Error { name, message, stack, cause } => {
                let name = if ERROR_NAMES.contains(&name.as_str()) { name.as_str() } else { "Error" };
                let ctor = constructor(&ctx, name)?;
                let error: Object = match message {
                    Some(message) => ctor.construct((message.as_str(),))?,
                    None => {
                        let error: Object = ctor.construct(())?;
                        error.remove("message")?;
                        error
                    }
                };
                self.set_stack(&error, stack)?;
                self.made(error.clone().into_value());
                if let Some(cause) = cause {
                    let cause = self.value(cause)?;
                    error.prop("cause", Property::from(cause).writable().configurable())?;
                }
                error.into_value()
            }
            Cloned::DomException { name, message, stack } => {
                let error: Object = constructor(&ctx, "DOMException")?.construct((message.as_str(), name.as_str()))?;
                self.set_stack(&error, stack)?;
                self.made(error.into_value())
            }
            Cloned::Ref(n) => self.objects.get(*n as usize).cloned().ok_or(rquickjs::Error::Unknown)?,
            _ => Value::new_undefined(ctx.clone()),
        })
    }

    fn fill(&mut self, object: &Object<'js>, properties: &[(String, Cloned)]) -> rquickjs::Result<()> {
        for (key, value) in properties {
            let value = self.value(value)?;
            object.set(key.as_str(), value)?;
        }
        Ok(())
    }

    fn set_stack(&self, error: &Object<'js>, stack: &Option<String>) -> rquickjs::Result<()> {
        if let Some(stack) = stack {
            error.prop("stack", Property::from(self.string(stack)?).writable().configurable())?;
        }
        Ok(())
    }
}

/// `structuredClone(value, options)` as a Rust function.
pub fn structured_clone<'js>(
    ctx: &Ctx<'js>,
    value: Value<'js>,
    options: Option<Value<'js>>,
) -> rquickjs::Result<Value<'js>> {
    let mut serializer = Serializer::new(ctx)?;
    if let Some(options) = options.filter(|o| !o.is_undefined() && !o.is_null()) {
        let Some(options) = options.as_object() else {
            return Err(type_error(ctx, "Failed to execute 'structuredClone': options is not an object."));
        };
        serializer.set_transfer(options.get("transfer")?)?;
    }
    let cloned = serializer.serialize(value)?;
    serializer.detach_transferred();
    cloned.to_value(ctx)
}

/// Installs `structuredClone`.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let f = Function::new(ctx.clone(), |ctx: Ctx<'js>, value: Opt<Value<'js>>, options: Opt<Value<'js>>| {
        let Some(value) = value.0 else {
            return Err(type_error(
                &ctx,
                "Failed to execute 'structuredClone': 1 argument required, but only 0 present.",
            ));
        };
        structured_clone(&ctx, value, options.0)
    })?
    .with_name("structuredClone")?;
    Ok(f.into_value())
}

#[cfg(test)]
mod tests {
    use super::{serialize, Cloned};
    use crate::testing::check_expressions;

    /// Runs `f` in a fresh runtime with the web globals.
    fn in_isolate<R>(f: impl for<'js> FnOnce(rquickjs::Ctx<'js>) -> R) -> R {
        let isolate = nanod_js::Isolate::new("t", None, nanod_js::IsolateLimits::default()).unwrap();
        isolate.enter(|ctx| {
            crate::install_globals(&ctx).unwrap();
            f(ctx)
        })
    }

    #[test]
    fn the_tree_crosses_runtimes() {
        let source = "const o = { d: new Date(5), m: new Map([[1, new Uint8Array([7, 8]).buffer]]), n: -0, b: -12n };
                      o.self = o; o.views = [new Uint8Array(o.m.get(1)), new DataView(o.m.get(1), 1)]; o";
        let cloned: Cloned = in_isolate(|ctx| {
            let value: rquickjs::Value = ctx.eval(source).unwrap();
            serialize(&ctx, value).unwrap()
        });
        let check = "[v.self === v, v.d.getTime(), v.m.get(1).byteLength, Object.is(v.n, -0), v.b, \
                      v.views[0].buffer === v.views[1].buffer, v.views[1].getUint8(0)].join()";
        let result = in_isolate(|ctx| {
            ctx.globals().set("v", cloned.to_value(&ctx).unwrap()).unwrap();
            ctx.eval::<String, _>(check).unwrap()
        });
        assert_eq!(result, "true,5,2,true,-12,true,8");
    }

    #[test]
    fn clones_graphs_and_rejects_functions() {
        check_expressions(&[
            ("(() => { const o = {x: 1}; o.self = o; const c = structuredClone([o, o]); return (c[0] === c[1]) + ':' + (c[0].self === c[0]) + ':' + (c[0] !== o) })()", "true:true:true"),
            ("(() => { try { structuredClone(() => 1) } catch (e) { return e.name + ':' + e.message + ':' + (e instanceof DOMException) + e.code } })()", "DataCloneError:() => 1 could not be cloned.:true25"),
            ("structuredClone(10n) === 10n", "true"),
            ("structuredClone()", "threw TypeError"),
        ]);
    }
}
