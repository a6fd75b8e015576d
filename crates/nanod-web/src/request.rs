//! `Request` (Fetch §6.3): method, URL, headers, body, redirect mode and signal.
//!
//! Backed by Rust `http` types: an incoming request's method, header map and body stay Rust
//! values until JS reads them, and a request handed to a service binding leaves the same way.
//!
//! As in workerd, `redirect` is `"follow"` or `"manual"`: `"error"` (and anything else) is a
//! `TypeError` with workerd's text ([`INVALID_REDIRECT`]). `signal` must be an `AbortSignal`
//! (or `null`, which clears the signal of a `Request` given as input).

use http::header::CONTENT_TYPE;
use http::Method;
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, JsLifetime, Object, Value};

use crate::body::{Body, BodySlot, ConsumeAs};
use crate::event_target::EventTarget;
use crate::headers::{constructor, Guard, Headers, HeadersSlot};
use crate::webidl::{byte_string, dom_string, type_error};

/// `RequestRedirect`, as workerd implements it (no `"error"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redirect {
    #[default]
    Follow,
    Manual,
}

impl Redirect {
    fn as_str(self) -> &'static str {
        match self {
            Redirect::Follow => "follow",
            Redirect::Manual => "manual",
        }
    }
}

/// workerd's error for a `redirect` other than `"follow"` and `"manual"`.
pub const INVALID_REDIRECT: &str = "Invalid redirect value, must be one of \"follow\" or \"manual\" (\"error\" won't be implemented since it does not make sense at the edge; use \"manual\" and check the response status code).";

#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct Request<'js> {
    #[qjs(skip_trace)]
    method: Method,
    #[qjs(skip_trace)]
    url: String,
    headers: HeadersSlot<'js>,
    body: BodySlot<'js>,
    #[qjs(skip_trace)]
    redirect: Redirect,
    signal: Option<Object<'js>>,
}

impl<'js> Request<'js> {
    /// A request that arrived from Rust (a socket or a service binding). Its headers are
    /// immutable to JS, as for workerd's incoming requests.
    pub fn from_http(ctx: &Ctx<'js>, request: http::Request<Body>, url: String) -> rquickjs::Result<Class<'js, Self>> {
        let (parts, body) = request.into_parts();
        Class::instance(
            ctx.clone(),
            Request {
                method: parts.method,
                url,
                headers: HeadersSlot::Map(parts.headers, Guard::Immutable),
                body: BodySlot::from_rust(body),
                redirect: Redirect::Follow,
                signal: None,
            },
        )
    }

    /// The request as Rust `http` types, taking its body and headers.
    pub fn take_http(&mut self, ctx: &Ctx<'js>) -> rquickjs::Result<http::Request<Body>> {
        let body = self.body.take_for_rust(ctx)?;
        let mut request = http::Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self
            .url
            .parse()
            .map_err(|_| type_error(ctx, &format!("Invalid URL for an outgoing request: {}", self.url)))?;
        *request.headers_mut() = self.headers.take_map();
        Ok(request)
    }

    pub fn url_str(&self) -> &str {
        &self.url
    }

    pub fn redirect_mode(&self) -> Redirect {
        self.redirect
    }

    /// The request's `AbortSignal`, if it has one.
    pub fn abort_signal(&self) -> Option<Class<'js, EventTarget<'js>>> {
        self.signal.as_ref().and_then(|s| crate::abort::as_signal(&s.clone().into_value()))
    }

    /// What `fetch()` sends: method, URL, headers, body (taken) and redirect mode.
    pub fn take_outgoing(&mut self, ctx: &Ctx<'js>) -> rquickjs::Result<crate::redirect::Outgoing> {
        Ok(crate::redirect::Outgoing {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.take_map(),
            body: self.body.take_for_rust(ctx)?,
            redirect: self.redirect,
        })
    }
}

/// Parses an absolute URL as the Request constructor does (no base: Workers have no page URL).
pub fn parse_url(ctx: &Ctx<'_>, input: &str) -> rquickjs::Result<String> {
    ada_url::Url::parse(input, None)
        .map(|url| url.href().to_owned())
        .map_err(|_| type_error(ctx, &format!("Invalid URL: {input}")))
}

/// Methods a request may have besides the six Fetch normalizes: workerd's list (its HTTP
/// library's), which must be written in upper case. `CONNECT` is not among them.
const EXTRA_METHODS: &[&[u8]] = &[
    b"PATCH",
    b"PURGE",
    b"TRACE",
    b"COPY",
    b"LOCK",
    b"MKCOL",
    b"MOVE",
    b"PROPFIND",
    b"PROPPATCH",
    b"SEARCH",
    b"UNLOCK",
    b"ACL",
    b"REPORT",
    b"MKACTIVITY",
    b"CHECKOUT",
    b"MERGE",
    b"M-SEARCH",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"QUERY",
];

/// Normalizes a method name as workerd does: `DELETE GET HEAD OPTIONS POST PUT` in any case,
/// the rest of [`EXTRA_METHODS`] only in upper case; anything else is a `TypeError`.
pub fn normalize_method(ctx: &Ctx<'_>, method: &[u8]) -> rquickjs::Result<Method> {
    let upper = method.to_ascii_uppercase();
    let normalized: Option<&[u8]> = match upper.as_slice() {
        b"DELETE" | b"GET" | b"HEAD" | b"OPTIONS" | b"POST" | b"PUT" => Some(&upper),
        _ if EXTRA_METHODS.contains(&method) => Some(method),
        _ => None,
    };
    normalized
        .and_then(|m| Method::from_bytes(m).ok())
        .ok_or_else(|| type_error(ctx, &format!("Invalid HTTP method string: {}", String::from_utf8_lossy(method))))
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Request<'js> {
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'js>, input: Value<'js>, init: Opt<Value<'js>>) -> rquickjs::Result<Self> {
        let mut request = if let Ok(other) = Class::<Request>::from_value(&input) {
            let mut other = other.borrow_mut();
            let body = if other.body.used(&ctx)? {
                return Err(type_error(
                    &ctx,
                    "Cannot construct a Request with a Request object that has already been used.",
                ));
            } else {
                std::mem::replace(&mut other.body, BodySlot::Used)
            };
            Request {
                method: other.method.clone(),
                url: other.url.clone(),
                headers: HeadersSlot::Map(other.headers.to_map(), Guard::None),
                body,
                redirect: other.redirect,
                signal: other.signal.clone(),
            }
        } else {
            let url = dom_string(&ctx, input)?;
            Request {
                method: Method::GET,
                url: parse_url(&ctx, &url)?,
                headers: HeadersSlot::default(),
                body: BodySlot::Null,
                redirect: Redirect::Follow,
                signal: None,
            }
        };
        let Some(init) = init.0.filter(|v| !v.is_undefined() && !v.is_null()) else { return Ok(request) };
        let init = init.into_object().ok_or_else(|| {
            type_error(&ctx, "Failed to construct 'Request': The provided value is not of type 'RequestInit'.")
        })?;
        if let Some(method) = init.get::<_, Option<Value>>("method")? {
            request.method = normalize_method(&ctx, &byte_string(&ctx, method)?)?;
        }
        if let Some(headers) = init.get::<_, Option<Value>>("headers")? {
            let mut fresh = Headers::default();
            fresh.fill(&ctx, headers)?;
            request.headers = HeadersSlot::Map(fresh.into_map(), Guard::None);
        }
        if let Some(redirect) = init.get::<_, Option<String>>("redirect")? {
            request.redirect = match redirect.as_str() {
                "follow" => Redirect::Follow,
                "manual" => Redirect::Manual,
                _ => return Err(type_error(&ctx, INVALID_REDIRECT)),
            };
        }
        let signal: Value = init.get("signal")?;
        if !signal.is_undefined() {
            if signal.is_null() {
                request.signal = None;
            } else if crate::abort::as_signal(&signal).is_some() {
                request.signal = signal.into_object();
            } else {
                return Err(type_error(
                    &ctx,
                    "Incorrect type for the 'signal' field on 'RequestInitializerDict': the provided value is not of type 'AbortSignal'.",
                ));
            }
        }
        let body_init: Option<Value> = init.get("body")?;
        if let Some(body_init) = body_init.filter(|b| !b.is_undefined()) {
            let (body, content_type) = BodySlot::from_init(&ctx, body_init)?;
            if !body.is_null() && (request.method == Method::GET || request.method == Method::HEAD) {
                return Err(type_error(&ctx, "Request with a GET or HEAD method cannot have a body."));
            }
            if let Some(content_type) = content_type {
                request.headers.set_default(CONTENT_TYPE, content_type);
            }
            request.body = body;
        } else if !request.body.is_null() && (request.method == Method::GET || request.method == Method::HEAD) {
            return Err(type_error(&ctx, "Request with a GET or HEAD method cannot have a body."));
        }
        Ok(request)
    }

    #[qjs(get)]
    pub fn method(&self) -> String {
        self.method.as_str().to_owned()
    }

    #[qjs(get)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    #[qjs(get)]
    pub fn headers(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Class<'js, Headers>> {
        self.headers.object(&ctx)
    }

    #[qjs(get)]
    pub fn redirect(&self) -> &'static str {
        self.redirect.as_str()
    }

    #[qjs(get)]
    pub fn signal(&self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        Ok(self.signal.clone().map(Object::into_value).unwrap_or_else(|| Value::new_null(ctx)))
    }

    #[qjs(get)]
    pub fn body(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.body.stream(&ctx)
    }

    #[qjs(get)]
    pub fn body_used(&self, ctx: Ctx<'js>) -> rquickjs::Result<bool> {
        self.body.used(&ctx)
    }

    #[qjs(get)]
    pub fn cf(&self) -> rquickjs::Undefined {
        rquickjs::Undefined
    }

    pub fn text(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.body.consume(&ctx, ConsumeAs::Text)
    }

    pub fn json(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.body.consume(&ctx, ConsumeAs::Json)
    }

    pub fn array_buffer(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.body.consume(&ctx, ConsumeAs::ArrayBuffer)
    }

    pub fn bytes(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.body.consume(&ctx, ConsumeAs::Bytes)
    }

    pub fn blob(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.body.consume_with(&ctx, ConsumeAs::Blob, crate::body::content_type(&self.headers))
    }

    pub fn form_data(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.body.consume_with(&ctx, ConsumeAs::FormData, crate::body::content_type(&self.headers))
    }

    pub fn clone(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Class<'js, Request<'js>>> {
        let body = self.body.tee(&ctx)?;
        Class::instance(
            ctx,
            Request {
                method: self.method.clone(),
                url: self.url.clone(),
                headers: HeadersSlot::Map(self.headers.to_map(), Guard::None),
                body,
                redirect: self.redirect,
                signal: self.signal.clone(),
            },
        )
    }
}

/// Installs the `Request` constructor.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    constructor::<Request>(ctx)
}

#[cfg(test)]
mod tests {
    use crate::testing::{check_expressions, run_js};

    #[test]
    fn redirect_and_signal_are_checked_as_workerd_does() {
        check_expressions(&[
            ("new Request('https://x/', { redirect: 'error' })", "threw TypeError"),
            ("(() => { try { new Request('https://x/', { redirect: 'nope' }) } catch (e) { return e.message.slice(0, 60) } })()", "Invalid redirect value, must be one of \"follow\" or \"manual\" "),
            ("new Request('https://x/', { signal: {} })", "threw TypeError"),
            ("new Request(new Request('https://x/', { signal: AbortSignal.abort() }), { signal: null }).signal", "null"),
            ("new Request(new Request('https://x/', { signal: AbortSignal.abort('r') })).signal.reason", "r"),
        ]);
    }

    #[test]
    fn constructor_and_init() {
        let out = run_js(
            r#"(async () => {
                 const r = [];
                 const a = new Request("https://example.com/a?b#c", { method: "post", body: "data", headers: [["X-Y", "z"]], redirect: "manual" });
                 r.push(a.method, a.url, a.headers.get("x-y"), a.headers.get("content-type"), a.redirect);
                 const b = new Request(a, { method: "PUT" });
                 r.push(b.method, a.bodyUsed, await b.text());
                 try { new Request("/relative"); } catch (e) { r.push(e.name); }
                 try { new Request("https://x/", { method: "GET", body: "no" }); } catch (e) { r.push(e.name); }
                 try { new Request("https://x/", { method: "CONNECT" }); } catch (e) { r.push(e.name); }
                 try { new Request("https://x/", { method: "bad method" }); } catch (e) { r.push(e.name); }
                 r.push(new Request("https://x/", { method: "PATCH" }).method);
                 const c = new Request("https://x/", { method: "POST", body: new URLSearchParams("a=1&b=2") });
                 r.push(c.headers.get("content-type"), await c.text());
                 globalThis.result = JSON.stringify(r);
               })().catch((e) => globalThis.result = "threw " + e + e.stack);"#,
        );
        assert_eq!(
            out,
            concat!(
                r#"["POST","https://example.com/a?b#c","z","text/plain;charset=UTF-8","manual","PUT",true,"data","#,
                r#""TypeError","TypeError","TypeError","TypeError","PATCH","application/x-www-form-urlencoded;charset=UTF-8","a=1&b=2"]"#
            )
        );
    }
}
