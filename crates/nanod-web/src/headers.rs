//! `Headers` (Fetch §5.2): a case-insensitive multimap over `http::HeaderMap`.
//!
//! Backed by the same `HeaderMap` the server and the outbound client use, so a request's
//! headers reach JS and a response's leave it without being copied into JS values. Iteration
//! is sorted by name with values combined by `, `, except `set-cookie`, which is never combined.

use http::header::{HeaderName, HeaderValue, SET_COOKIE};
use http::HeaderMap;
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Array, Class, Ctx, Function, JsLifetime, Object, Value};

use crate::webidl::{byte_string, latin1_string, type_error};

/// Which mutations a `Headers` object allows (Fetch "headers guard").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Guard {
    #[default]
    None,
    /// Headers of a request or response that must not change (e.g. an incoming request).
    Immutable,
}

#[derive(Trace, JsLifetime, Default)]
#[rquickjs::class]
pub struct Headers {
    #[qjs(skip_trace)]
    map: HeaderMap,
    #[qjs(skip_trace)]
    guard: Guard,
}

impl Headers {
    pub fn from_map(map: HeaderMap, guard: Guard) -> Self {
        Headers { map, guard }
    }
    pub fn map(&self) -> &HeaderMap {
        &self.map
    }
    pub fn into_map(self) -> HeaderMap {
        self.map
    }
    pub fn set_guard(&mut self, guard: Guard) {
        self.guard = guard;
    }

    /// Fills from a `HeadersInit`: another `Headers`, a sequence of pairs, or a record.
    pub fn fill<'js>(&mut self, ctx: &Ctx<'js>, init: Value<'js>) -> rquickjs::Result<()> {
        if init.is_undefined() || init.is_null() {
            return Ok(());
        }
        if let Ok(other) = Class::<Headers>::from_value(&init) {
            let other = other.borrow();
            for (name, value) in other.map.iter() {
                self.map.append(name.clone(), value.clone());
            }
            return Ok(());
        }
        let Some(obj) = init.as_object() else {
            return Err(type_error(
                ctx,
                "Failed to construct 'Headers': The provided value is not of type 'HeadersInit'.",
            ));
        };
        let iterator_fn: Option<Function> = obj.get(rquickjs::atom::PredefinedAtom::SymbolIterator).ok();
        if iterator_fn.is_some() {
            let array_from: Function = ctx.globals().get::<_, Object>("Array")?.get("from")?;
            let pairs: Array = array_from.call((init.clone(),))?;
            for pair in pairs.iter::<Value>() {
                let pair = pair?;
                let pair: Array = Array::from_value(pair).map_err(|_| {
                    type_error(
                        ctx,
                        "Failed to construct 'Headers': The provided value cannot be converted to a sequence.",
                    )
                })?;
                if pair.len() != 2 {
                    return Err(type_error(ctx, "Failed to construct 'Headers': Invalid value"));
                }
                self.append_value(ctx, pair.get(0)?, pair.get(1)?)?;
            }
            return Ok(());
        }
        for key in obj.keys::<String>() {
            let key = key?;
            let value: Value = obj.get(key.as_str())?;
            self.append_value(ctx, rquickjs::String::from_str(ctx.clone(), &key)?.into_value(), value)?;
        }
        Ok(())
    }

    fn check_mutable(&self, ctx: &Ctx<'_>) -> rquickjs::Result<()> {
        match self.guard {
            Guard::None => Ok(()),
            Guard::Immutable => Err(type_error(ctx, "Can't modify immutable headers.")),
        }
    }

    fn append_value<'js>(&mut self, ctx: &Ctx<'js>, name: Value<'js>, value: Value<'js>) -> rquickjs::Result<()> {
        let name = header_name(ctx, name)?;
        let value = header_value(ctx, value)?;
        self.map.append(name, value);
        Ok(())
    }

    /// `get(name)` for an already-validated name.
    pub fn combined(&self, name: &HeaderName) -> Option<String> {
        let mut values = self.map.get_all(name).iter();
        let first = values.next()?;
        let mut out = header_text(first.as_bytes());
        for value in values {
            out.push_str(", ");
            out.push_str(&header_text(value.as_bytes()));
        }
        Some(out)
    }

    /// Sorted `(name, value)` pairs, as iteration yields them.
    fn sorted_pairs(&self) -> Vec<(String, String)> {
        let mut names: Vec<&HeaderName> = self.map.keys().collect();
        names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let mut pairs = Vec::with_capacity(names.len());
        for name in names {
            if name == SET_COOKIE {
                for value in self.map.get_all(name) {
                    pairs.push((name.as_str().to_owned(), header_text(value.as_bytes())));
                }
            } else if let Some(value) = self.combined(name) {
                pairs.push((name.as_str().to_owned(), value));
            }
        }
        pairs
    }

    fn iterator<'js>(&self, ctx: &Ctx<'js>, kind: IterKind) -> rquickjs::Result<Value<'js>> {
        let array = Array::new(ctx.clone())?;
        for (i, (name, value)) in self.sorted_pairs().into_iter().enumerate() {
            match kind {
                IterKind::Keys => array.set(i, name)?,
                IterKind::Values => array.set(i, value)?,
                IterKind::Entries => {
                    let pair = Array::new(ctx.clone())?;
                    pair.set(0, name)?;
                    pair.set(1, value)?;
                    array.set(i, pair)?;
                }
            }
        }
        let values: Function = array.as_object().get("values")?;
        values.call((rquickjs::function::This(array),))
    }
}

#[derive(Clone, Copy)]
enum IterKind {
    Keys,
    Values,
    Entries,
}

/// A header value as JS sees it: UTF-8 when it is valid UTF-8 (what JS wrote), otherwise each
/// byte as one character (obs-text from the network).
pub fn header_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => latin1_string(bytes),
    }
}

/// Validates and lowercases a header name.
pub fn header_name<'js>(ctx: &Ctx<'js>, name: Value<'js>) -> rquickjs::Result<HeaderName> {
    let bytes = byte_string(ctx, name)?;
    HeaderName::from_bytes(&bytes)
        .map_err(|_| type_error(ctx, &format!("Invalid header name: '{}'", latin1_string(&bytes))))
}

/// Normalizes (strips leading/trailing HTTP whitespace) and validates a header value.
///
/// Any string is accepted and stored as UTF-8, as workerd does (Fetch would reject characters
/// above U+00FF); [`header_text`] reads it back unchanged.
pub fn header_value<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> rquickjs::Result<HeaderValue> {
    let bytes = crate::webidl::dom_string(ctx, value)?.into_bytes();
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = bytes.iter().position(|b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !is_ws(b)).map_or(start, |i| i + 1);
    let trimmed = bytes.get(start..end).unwrap_or_default();
    HeaderValue::from_bytes(trimmed)
        .map_err(|_| type_error(ctx, &format!("Invalid header value: '{}'", header_text(trimmed))))
}

#[rquickjs::methods(rename_all = "camelCase")]
impl Headers {
    #[qjs(constructor)]
    pub fn new<'js>(ctx: Ctx<'js>, init: Opt<Value<'js>>) -> rquickjs::Result<Self> {
        let mut headers = Headers::default();
        if let Some(init) = init.0 {
            headers.fill(&ctx, init)?;
        }
        Ok(headers)
    }

    pub fn append<'js>(&mut self, ctx: Ctx<'js>, name: Value<'js>, value: Value<'js>) -> rquickjs::Result<()> {
        self.check_mutable(&ctx)?;
        self.append_value(&ctx, name, value)
    }

    pub fn set<'js>(&mut self, ctx: Ctx<'js>, name: Value<'js>, value: Value<'js>) -> rquickjs::Result<()> {
        self.check_mutable(&ctx)?;
        let name = header_name(&ctx, name)?;
        let value = header_value(&ctx, value)?;
        self.map.insert(name, value);
        Ok(())
    }

    pub fn delete<'js>(&mut self, ctx: Ctx<'js>, name: Value<'js>) -> rquickjs::Result<()> {
        self.check_mutable(&ctx)?;
        let name = header_name(&ctx, name)?;
        self.map.remove(name);
        Ok(())
    }

    /// The combined value, or `null` (not `undefined`) when absent.
    pub fn get<'js>(&self, ctx: Ctx<'js>, name: Value<'js>) -> rquickjs::Result<Value<'js>> {
        let name = header_name(&ctx, name)?;
        match self.combined(&name) {
            Some(value) => rquickjs::String::from_str(ctx, &value).map(|s| s.into_value()),
            None => Ok(Value::new_null(ctx)),
        }
    }

    pub fn has<'js>(&self, ctx: Ctx<'js>, name: Value<'js>) -> rquickjs::Result<bool> {
        let name = header_name(&ctx, name)?;
        Ok(self.map.contains_key(name))
    }

    pub fn get_set_cookie(&self) -> Vec<String> {
        self.map.get_all(SET_COOKIE).iter().map(|v| header_text(v.as_bytes())).collect()
    }

    pub fn for_each<'js>(
        &self,
        this: rquickjs::function::This<Value<'js>>,
        callback: Function<'js>,
        this_arg: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        for (name, value) in self.sorted_pairs() {
            let args = (value, name, this.0.clone());
            match &this_arg.0 {
                Some(t) => callback.call::<_, ()>((rquickjs::function::This(t.clone()), args.0, args.1, args.2))?,
                None => callback.call::<_, ()>(args)?,
            }
        }
        Ok(())
    }

    pub fn entries<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.iterator(&ctx, IterKind::Entries)
    }

    pub fn keys<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.iterator(&ctx, IterKind::Keys)
    }

    pub fn values<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.iterator(&ctx, IterKind::Values)
    }

    #[qjs(rename = rquickjs::atom::PredefinedAtom::SymbolIterator)]
    pub fn iterate<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.iterator(&ctx, IterKind::Entries)
    }
}

/// Installs the `Headers` constructor.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    constructor::<Headers>(ctx)
}

/// The constructor function of a native class, for the lazy-global table.
pub(crate) fn constructor<'js, C>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>>
where
    C: rquickjs::class::JsClass<'js>,
{
    Class::<C>::create_constructor(ctx)?
        .map(|c| c.into_value())
        .ok_or_else(|| type_error(ctx, "class has no constructor"))
}

#[cfg(test)]
mod tests {
    use crate::testing::run_js;

    #[test]
    fn case_insensitive_and_combined() {
        let out = run_js(
            r#"const h = new Headers({"Content-Type": "text/plain"});
               h.append("X-A", " 1 "); h.append("x-a", "2"); h.append("Set-Cookie", "a=1"); h.append("set-cookie", "b=2");
               globalThis.result = JSON.stringify([h.get("content-type"), h.get("X-A"), h.has("x-a"), [...h], h.getSetCookie()]);"#,
        );
        assert_eq!(
            out,
            r#"["text/plain","1, 2",true,[["content-type","text/plain"],["set-cookie","a=1"],["set-cookie","b=2"],["x-a","1, 2"]],["a=1","b=2"]]"#
        );
    }

    #[test]
    fn invalid_names_and_values_throw_type_error() {
        let out = run_js(
            r#"const r = [];
               try { new Headers().append("bad name", "x"); } catch (e) { r.push(e.name); }
               try { new Headers().set("x", "a\nb"); } catch (e) { r.push(e.name); }
               try { new Headers([["a"]]); } catch (e) { r.push(e.name); }
               globalThis.result = r.join();"#,
        );
        assert_eq!(out, "TypeError,TypeError,TypeError");
    }
}

/// The headers of a `Request` or `Response`: a plain `HeaderMap` until JS reads `.headers`,
/// so a request served without looking at its headers never builds a `Headers` object.
#[derive(JsLifetime)]
pub enum HeadersSlot<'js> {
    Map(HeaderMap, Guard),
    Object(Class<'js, Headers>),
}

impl<'js> Trace<'js> for HeadersSlot<'js> {
    fn trace<'a>(&self, tracer: rquickjs::class::Tracer<'a, 'js>) {
        if let HeadersSlot::Object(headers) = self {
            headers.trace(tracer);
        }
    }
}

impl Default for HeadersSlot<'_> {
    fn default() -> Self {
        HeadersSlot::Map(HeaderMap::new(), Guard::None)
    }
}

impl<'js> HeadersSlot<'js> {
    /// The `Headers` object, made on first call.
    pub fn object(&mut self, ctx: &Ctx<'js>) -> rquickjs::Result<Class<'js, Headers>> {
        if let HeadersSlot::Map(map, guard) = self {
            let headers = Class::instance(ctx.clone(), Headers::from_map(std::mem::take(map), *guard))?;
            *self = HeadersSlot::Object(headers);
        }
        match self {
            HeadersSlot::Object(headers) => Ok(headers.clone()),
            HeadersSlot::Map(..) => Err(rquickjs::Error::Unknown),
        }
    }

    /// A copy of the current header map.
    pub fn to_map(&self) -> HeaderMap {
        match self {
            HeadersSlot::Map(map, _) => map.clone(),
            HeadersSlot::Object(headers) => headers.borrow().map().clone(),
        }
    }

    /// The header map, taken out when no JS object exists yet (the fast path).
    pub fn take_map(&mut self) -> HeaderMap {
        match self {
            HeadersSlot::Map(map, _) => std::mem::take(map),
            HeadersSlot::Object(headers) => headers.borrow().map().clone(),
        }
    }

    pub fn contains(&self, name: &HeaderName) -> bool {
        match self {
            HeadersSlot::Map(map, _) => map.contains_key(name),
            HeadersSlot::Object(headers) => headers.borrow().map().contains_key(name),
        }
    }

    /// Sets `name` if absent (used for the content type a body implies).
    pub fn set_default(&mut self, name: HeaderName, value: HeaderValue) {
        match self {
            HeadersSlot::Map(map, _) => {
                map.entry(name).or_insert(value);
            }
            HeadersSlot::Object(headers) => {
                headers.borrow_mut().map.entry(name).or_insert(value);
            }
        }
    }
}
