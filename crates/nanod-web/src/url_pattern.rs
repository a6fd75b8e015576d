//! `URLPattern` (URL Pattern Standard), on the `urlpattern` crate (the one Deno uses).
//!
//! Arguments go through the crate's `quirks` layer, which implements the spec's argument
//! processing for JS bindings; matching uses the crate's own matcher, so a pattern's regular
//! expression groups follow Rust `regex` syntax rather than JS `RegExp` (lookaround is not
//! available). Component inputs and groups come back as plain JS objects, as in workerd.

use std::borrow::Cow;

use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Array, Ctx, JsLifetime, Object, Value};
use urlpattern::quirks::{self, StringOrInit, UrlPatternInit as InitDictionary};
use urlpattern::{UrlPatternComponentResult, UrlPatternOptions};

use crate::webidl::{dom_string, type_error};

#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "URLPattern")]
pub struct UrlPattern {
    #[qjs(skip_trace)]
    pattern: urlpattern::UrlPattern,
}

const COMPONENTS: [&str; 8] = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"];

/// `URLPatternInput`: a pattern or URL string, or a `URLPatternInit` dictionary.
fn string_or_init<'js>(ctx: &Ctx<'js>, input: Option<Value<'js>>) -> rquickjs::Result<StringOrInit<'static>> {
    let Some(input) = input.filter(|v| !v.is_undefined()) else {
        return Ok(StringOrInit::Init(InitDictionary::default()));
    };
    let Some(object) = input.as_object().filter(|_| !input.is_string()) else {
        return Ok(StringOrInit::String(Cow::Owned(dom_string(ctx, input)?)));
    };
    let field = |name: &str| -> rquickjs::Result<Option<String>> {
        match object.get::<_, Value>(name)? {
            v if v.is_undefined() => Ok(None),
            v => dom_string(ctx, v).map(Some),
        }
    };
    Ok(StringOrInit::Init(InitDictionary {
        protocol: field("protocol")?,
        username: field("username")?,
        password: field("password")?,
        hostname: field("hostname")?,
        port: field("port")?,
        pathname: field("pathname")?,
        search: field("search")?,
        hash: field("hash")?,
        base_url: field("baseURL")?,
    }))
}

/// Splits `(input, baseURL?, options?)` / `(input, options?)` into a base URL and options.
fn base_and_options<'js>(
    ctx: &Ctx<'js>,
    second: Option<Value<'js>>,
    third: Option<Value<'js>>,
) -> rquickjs::Result<(Option<String>, UrlPatternOptions)> {
    let (base, options) = match second {
        Some(v) if v.is_string() => (Some(dom_string(ctx, v)?), third),
        Some(v) if v.is_object() => (None, Some(v)),
        Some(v) if v.is_undefined() => (None, third),
        Some(v) => (Some(dom_string(ctx, v)?), third),
        None => (None, third),
    };
    let mut parsed = UrlPatternOptions::default();
    if let Some(options) = options.and_then(|o| o.into_object()) {
        parsed.ignore_case = options.get::<_, Option<bool>>("ignoreCase")?.unwrap_or(false);
    }
    Ok((base, parsed))
}

fn pattern_error(ctx: &Ctx<'_>, error: urlpattern::Error) -> rquickjs::Error {
    type_error(ctx, &format!("Invalid URL pattern: {error}"))
}

impl UrlPattern {
    /// The spec's "match": `None` when the input does not match (or is not a URL).
    fn matches<'js>(
        &self,
        ctx: &Ctx<'js>,
        input: Opt<Value<'js>>,
        base: Opt<Value<'js>>,
    ) -> rquickjs::Result<Option<urlpattern::UrlPatternResult>> {
        let input = string_or_init(ctx, input.0)?;
        let base = match base.0.filter(|v| !v.is_undefined()) {
            Some(v) => Some(dom_string(ctx, v)?),
            None => None,
        };
        match quirks::process_match_input(input, base.as_deref()).map_err(|e| pattern_error(ctx, e))? {
            Some((match_input, _)) => self.pattern.exec(match_input).map_err(|e| pattern_error(ctx, e)),
            None => Ok(None),
        }
    }
}

fn component_result<'js>(ctx: &Ctx<'js>, component: &UrlPatternComponentResult) -> rquickjs::Result<Object<'js>> {
    let result = Object::new(ctx.clone())?;
    result.set("input", component.input.as_str())?;
    let groups = Object::new(ctx.clone())?;
    let mut names: Vec<&String> = component.groups.keys().collect();
    names.sort();
    for name in names {
        match component.groups.get(name).and_then(|v| v.as_deref()) {
            Some(value) => groups.set(name.as_str(), value)?,
            None => groups.set(name.as_str(), Value::new_undefined(ctx.clone()))?,
        }
    }
    result.set("groups", groups)?;
    Ok(result)
}

#[rquickjs::methods(rename_all = "camelCase")]
impl UrlPattern {
    #[qjs(constructor)]
    pub fn new<'js>(
        ctx: Ctx<'js>,
        input: Opt<Value<'js>>,
        second: Opt<Value<'js>>,
        third: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        let input = string_or_init(&ctx, input.0)?;
        let (base, options) = base_and_options(&ctx, second.0, third.0)?;
        let init =
            quirks::process_construct_pattern_input(input, base.as_deref()).map_err(|e| pattern_error(&ctx, e))?;
        let pattern = urlpattern::UrlPattern::parse(init, options).map_err(|e| pattern_error(&ctx, e))?;
        Ok(UrlPattern { pattern })
    }

    pub fn test<'js>(&self, ctx: Ctx<'js>, input: Opt<Value<'js>>, base: Opt<Value<'js>>) -> rquickjs::Result<bool> {
        Ok(self.matches(&ctx, input, base)?.is_some())
    }

    pub fn exec<'js>(
        &self,
        ctx: Ctx<'js>,
        input: Opt<Value<'js>>,
        base: Opt<Value<'js>>,
    ) -> rquickjs::Result<Value<'js>> {
        let inputs = Array::new(ctx.clone())?;
        let first = match input.0.clone() {
            Some(value) => value,
            None => Object::new(ctx.clone())?.into_value(),
        };
        inputs.set(0, first)?;
        if let Some(base) = base.0.clone().filter(|v| !v.is_undefined()) {
            inputs.set(1, base)?;
        }
        let Some(result) = self.matches(&ctx, input, base)? else { return Ok(Value::new_null(ctx)) };
        let out = Object::new(ctx.clone())?;
        out.set("inputs", inputs)?;
        let parts = [
            &result.protocol,
            &result.username,
            &result.password,
            &result.hostname,
            &result.port,
            &result.pathname,
            &result.search,
            &result.hash,
        ];
        for (name, part) in COMPONENTS.iter().zip(parts) {
            out.set(*name, component_result(&ctx, part)?)?;
        }
        Ok(out.into_value())
    }

    #[qjs(get)]
    pub fn protocol(&self) -> String {
        self.pattern.protocol().to_owned()
    }
    #[qjs(get)]
    pub fn username(&self) -> String {
        self.pattern.username().to_owned()
    }
    #[qjs(get)]
    pub fn password(&self) -> String {
        self.pattern.password().to_owned()
    }
    #[qjs(get)]
    pub fn hostname(&self) -> String {
        self.pattern.hostname().to_owned()
    }
    #[qjs(get)]
    pub fn port(&self) -> String {
        self.pattern.port().to_owned()
    }
    #[qjs(get)]
    pub fn pathname(&self) -> String {
        self.pattern.pathname().to_owned()
    }
    #[qjs(get)]
    pub fn search(&self) -> String {
        self.pattern.search().to_owned()
    }
    #[qjs(get)]
    pub fn hash(&self) -> String {
        self.pattern.hash().to_owned()
    }
    #[qjs(get)]
    pub fn has_reg_exp_groups(&self) -> bool {
        self.pattern.has_regexp_groups()
    }
}

/// Installs the `URLPattern` constructor.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    crate::headers::constructor::<UrlPattern>(ctx)
}
