//! `structuredClone(value, { transfer })` (HTML §2.7.3): a deep copy through the structured
//! serialize/deserialize algorithm, done in one pass (no intermediate serialized form).
//!
//! Clones primitives (BigInt included), plain objects and arrays (own enumerable string keys;
//! holes and extra array properties kept), `Map`, `Set`, `Date`, `RegExp`, `Boolean`/`Number`/
//! `String`/`BigInt` wrapper objects, `ArrayBuffer`, every typed array and `DataView` (views of
//! one buffer share one cloned buffer), `Error`s (name, message, stack, cause) and
//! `DOMException`s. A memory (a JS `Map`, so identity lookups are the engine's) preserves shared
//! references and cycles. Functions, symbols, proxies, and objects whose prototype chain has a
//! native constructor not listed above (`Promise`, `WeakMap`, `Headers`, `EventTarget`...)
//! throw a `DOMException` named `DataCloneError`. `transfer` accepts `ArrayBuffer`s: the clone
//! gets the bytes and the original is detached.
//!
//! ```js
//! const a = { when: new Date(0) }; a.self = a;
//! const b = structuredClone(a); // b.self === b, b.when instanceof Date
//! ```
//!
//! Which built-in a value is comes from brand checks: calling the built-in's own accessor or
//! `valueOf` on it, which throws for anything without the internal slot (`toStringTag` and
//! `instanceof` can be faked; these cannot). The intrinsics are read from the globals when a
//! clone starts.

use rquickjs::function::{Opt, This};
use rquickjs::object::Property;
use rquickjs::{Array, ArrayBuffer, Coerced, Constructor, Ctx, FromJs, Function, Object, Value};

use crate::webidl::type_error;

/// Error constructors that survive a clone by name; any other name becomes `Error`.
const ERROR_NAMES: [&str; 7] =
    ["Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"];

/// One clone operation: the memory and the intrinsics it uses.
struct Cloner<'js> {
    ctx: Ctx<'js>,
    memory: Object<'js>,
    memory_get: Function<'js>,
    memory_set: Function<'js>,
    memory_has: Function<'js>,
    object_fn: Function<'js>,
    get_own_property_descriptor: Function<'js>,
    array_from: Function<'js>,
    /// `ArrayBuffer`s in the transfer list, detached once the clone is done.
    transfer: Vec<Object<'js>>,
}

fn global<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Object<'js>> {
    ctx.globals().get(name)
}

impl<'js> Cloner<'js> {
    fn new(ctx: &Ctx<'js>) -> rquickjs::Result<Self> {
        let map_ctor: Constructor = ctx.globals().get("Map")?;
        let map_proto: Object = map_ctor.get("prototype")?;
        let object_ctor: Object = global(ctx, "Object")?;
        Ok(Cloner {
            ctx: ctx.clone(),
            memory: map_ctor.construct(())?,
            memory_get: map_proto.get("get")?,
            memory_set: map_proto.get("set")?,
            memory_has: map_proto.get("has")?,
            object_fn: ctx.globals().get("Object")?,
            get_own_property_descriptor: object_ctor.get("getOwnPropertyDescriptor")?,
            array_from: global(ctx, "Array")?.get("from")?,
            transfer: Vec::new(),
        })
    }

    fn remember(&self, source: &Object<'js>, clone: &Value<'js>) -> rquickjs::Result<()> {
        self.memory_set.call::<_, Value>((This(self.memory.clone()), source.clone(), clone.clone()))?;
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

    /// The text V8 (so Node and workerd) uses for an uncloneable value.
    fn describe(&self, value: &Value<'js>) -> String {
        if let Some(object) = value.as_object() {
            if !value.is_function() {
                let name = object
                    .get::<_, Object>("constructor")
                    .and_then(|c| c.get::<_, String>("name"))
                    .unwrap_or_else(|_| "Object".to_owned());
                self.ctx.catch();
                return format!("#<{name}>");
            }
        }
        let text = Coerced::<String>::from_js(&self.ctx, value.clone()).map(|s| s.0).or_else(|_| {
            self.ctx.catch();
            value.as_symbol().and_then(|s| s.description().ok()).map_or(Ok("Symbol()".to_owned()), |d| {
                Ok::<_, rquickjs::Error>(format!(
                    "Symbol({})",
                    Coerced::<String>::from_js(&self.ctx, d).map(|s| s.0).unwrap_or_default()
                ))
            })
        });
        text.unwrap_or_default()
    }

    fn clone_value(&mut self, value: Value<'js>) -> rquickjs::Result<Value<'js>> {
        if value.is_symbol() || value.is_function() {
            return Err(self.data_clone_error(&format!("{} could not be cloned.", self.describe(&value))));
        }
        let Some(object) = value.as_object().cloned() else { return Ok(value) };
        if self.memory_has.call::<_, bool>((This(self.memory.clone()), object.clone()))? {
            return self.memory_get.call((This(self.memory.clone()), object));
        }
        if value.is_proxy() {
            return Err(self.data_clone_error(&format!("{} could not be cloned.", self.describe(&value))));
        }
        for wrapper in ["Boolean", "Number", "String", "BigInt"] {
            if let Some(primitive) = self.brand(self.method(wrapper, "valueOf"), &object) {
                let clone: Value = self.object_fn.call((primitive,))?;
                self.remember(&object, &clone)?;
                return Ok(clone);
            }
        }
        if self.brand(self.method("Symbol", "valueOf"), &object).is_some() {
            return Err(self.data_clone_error("Symbol object could not be cloned."));
        }
        if let Some(time) = self.brand(self.method("Date", "getTime"), &object) {
            let clone: Value =
                global(&self.ctx, "Date")?.as_constructor().ok_or(rquickjs::Error::Unknown)?.construct((time,))?;
            self.remember(&object, &clone)?;
            return Ok(clone);
        }
        if let Some(source) = self.brand(self.getter("RegExp", "source"), &object) {
            let flags = self.brand(self.getter("RegExp", "flags"), &object);
            let ctor = global(&self.ctx, "RegExp")?;
            let clone: Value = ctor.as_constructor().ok_or(rquickjs::Error::Unknown)?.construct((source, flags))?;
            self.remember(&object, &clone)?;
            return Ok(clone);
        }
        if ArrayBuffer::from_object(object.clone()).is_some() {
            let clone = self.copy_buffer(&object)?;
            self.remember(&object, &clone)?;
            return Ok(clone);
        }
        if let Some(clone) = self.clone_view(&object)? {
            return Ok(clone);
        }
        if self.brand(self.getter("Map", "size"), &object).is_some() {
            return self.clone_collection(&object, "Map");
        }
        if self.brand(self.getter("Set", "size"), &object).is_some() {
            return self.clone_collection(&object, "Set");
        }
        if let Some(clone) = self.clone_dom_exception(&object)? {
            return Ok(clone);
        }
        if value.is_error() {
            return self.clone_error(&object);
        }
        if value.is_array() {
            let clone = Array::new(self.ctx.clone())?;
            let length: Value = object.get("length")?;
            clone.as_object().set("length", length)?;
            return self.copy_properties(&object, clone.into_object());
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
        let clone = Object::new(self.ctx.clone())?;
        self.copy_properties(&object, clone)
    }

    /// Typed arrays and `DataView`s: the buffer goes through the memory, so views that share
    /// a buffer share its clone.
    fn clone_view(&mut self, object: &Object<'js>) -> rquickjs::Result<Option<Value<'js>>> {
        let typed_array_proto: Object =
            global(&self.ctx, "Uint8Array")?.get_prototype().ok_or(rquickjs::Error::Unknown)?.get("prototype")?;
        let to_string_tag: Value = global(&self.ctx, "Symbol")?.get("toStringTag")?;
        let descriptor: Object = self.get_own_property_descriptor.call((typed_array_proto.clone(), to_string_tag))?;
        let tag = self.brand(descriptor.get("get"), object);
        let (ctor_name, offset, length) = match tag.and_then(|t| t.as_string().and_then(|s| s.to_string().ok())) {
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
        let buffer: Value = object.get("buffer")?;
        let buffer = self.clone_value(buffer)?;
        let ctor = global(&self.ctx, &ctor_name)?;
        let ctor = ctor.as_constructor().ok_or(rquickjs::Error::Unknown)?;
        let clone: Value = ctor.construct((buffer, offset, length))?;
        self.remember(object, &clone)?;
        Ok(Some(clone))
    }

    fn clone_collection(&mut self, object: &Object<'js>, kind: &str) -> rquickjs::Result<Value<'js>> {
        let ctor: Constructor = self.ctx.globals().get(kind)?;
        let clone: Object = ctor.construct(())?;
        self.remember(object, &clone.clone().into_value())?;
        let (iterate, add) = if kind == "Map" { ("entries", "set") } else { ("values", "add") };
        let iterator: Value = self.method(kind, iterate)?.call((This(object.clone()),))?;
        // Entries are copied first (HTML: "a new list" of the entries), then cloned.
        let items: Array = self.array_from.call((iterator,))?;
        let add = self.method(kind, add)?;
        for item in items.iter::<Value>() {
            let item = item?;
            if kind == "Map" {
                let pair = Array::from_value(item)?;
                let key = self.clone_value(pair.get(0)?)?;
                let value = self.clone_value(pair.get(1)?)?;
                add.call::<_, Value>((This(clone.clone()), key, value))?;
            } else {
                let value = self.clone_value(item)?;
                add.call::<_, Value>((This(clone.clone()), value))?;
            }
        }
        Ok(clone.into_value())
    }

    fn clone_dom_exception(&mut self, object: &Object<'js>) -> rquickjs::Result<Option<Value<'js>>> {
        let Ok(proto) = global(&self.ctx, "DOMException").and_then(|c| c.get::<_, Object>("prototype")) else {
            self.ctx.catch();
            return Ok(None);
        };
        let Some(name) = self.brand(self.getter_of(&proto, "name"), object) else { return Ok(None) };
        let message = self.brand(self.getter_of(&proto, "message"), object);
        let ctor = global(&self.ctx, "DOMException")?;
        let clone: Object = ctor.as_constructor().ok_or(rquickjs::Error::Unknown)?.construct((message, name))?;
        self.copy_stack(object, &clone)?;
        let clone = clone.into_value();
        self.remember(object, &clone)?;
        Ok(Some(clone))
    }

    fn clone_error(&mut self, object: &Object<'js>) -> rquickjs::Result<Value<'js>> {
        let name: Value = object.get("name")?;
        let name = Coerced::<String>::from_js(&self.ctx, name).map(|s| s.0).unwrap_or_default();
        let name = if ERROR_NAMES.contains(&name.as_str()) { name } else { "Error".to_owned() };
        let ctor = global(&self.ctx, &name)?;
        let ctor = ctor.as_constructor().ok_or(rquickjs::Error::Unknown)?;
        let clone: Object = if self.has_own(object, "message")? {
            let message: Value = object.get("message")?;
            let message = Coerced::<String>::from_js(&self.ctx, message)?.0;
            ctor.construct((message,))?
        } else {
            let clone: Object = ctor.construct(())?;
            clone.remove("message")?;
            clone
        };
        self.copy_stack(object, &clone)?;
        self.remember(object, &clone.clone().into_value())?;
        if self.has_own(object, "cause")? {
            let cause = self.clone_value(object.get("cause")?)?;
            clone.prop("cause", Property::from(cause).writable().configurable())?;
        }
        Ok(clone.into_value())
    }

    fn copy_stack(&self, from: &Object<'js>, to: &Object<'js>) -> rquickjs::Result<()> {
        let stack: Value = from.get("stack")?;
        if stack.is_string() {
            to.prop("stack", Property::from(stack).writable().configurable())?;
        }
        Ok(())
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

    /// Copies own enumerable string-keyed properties, cloning each value (HTML: the keys are
    /// taken first; a key deleted meanwhile is skipped).
    fn copy_properties(&mut self, from: &Object<'js>, to: Object<'js>) -> rquickjs::Result<Value<'js>> {
        let to_value = to.clone().into_value();
        self.remember(from, &to_value)?;
        let keys: Vec<String> = from.keys::<String>().collect::<rquickjs::Result<_>>()?;
        for key in keys {
            if !self.has_own(from, &key)? {
                continue;
            }
            let value: Value = from.get(key.as_str())?;
            let value = self.clone_value(value)?;
            to.set(key.as_str(), value)?;
        }
        Ok(to_value)
    }

    /// Validates the `transfer` list: only distinct, attached `ArrayBuffer`s. Each maps to a
    /// copy in the memory and is detached after the clone.
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
            let copy = self.copy_buffer(&object)?;
            self.remember(&object, &copy)?;
            self.transfer.push(object);
        }
        Ok(())
    }

    /// A copy of an `ArrayBuffer`'s bytes, made by the engine (`ArrayBuffer.prototype.slice`).
    fn copy_buffer(&self, buffer: &Object<'js>) -> rquickjs::Result<Value<'js>> {
        let detached = self.brand(self.getter("ArrayBuffer", "detached"), buffer);
        if detached.and_then(|d| d.as_bool()).unwrap_or(false) {
            return Err(self.data_clone_error("An ArrayBuffer is detached and could not be cloned."));
        }
        self.method("ArrayBuffer", "slice")?.call((This(buffer.clone()),))
    }

    fn detach_transferred(&mut self) -> rquickjs::Result<()> {
        for object in std::mem::take(&mut self.transfer) {
            if let Some(mut buffer) = ArrayBuffer::from_object(object) {
                buffer.detach();
            }
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
    let mut cloner = Cloner::new(ctx)?;
    if let Some(options) = options.filter(|o| !o.is_undefined() && !o.is_null()) {
        let Some(options) = options.as_object() else {
            return Err(type_error(ctx, "Failed to execute 'structuredClone': options is not an object."));
        };
        cloner.set_transfer(options.get("transfer")?)?;
    }
    let clone = cloner.clone_value(value)?;
    cloner.detach_transferred()?;
    Ok(clone)
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
    use crate::testing::check_expressions;

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
