//! `Response` (Fetch §6.4): status, headers and body, plus `Response.json`, `redirect` and
//! `error`.
//!
//! A response leaves an isolate as `http::Response<Body>` through [`Response::take_http`]:
//! the header map is moved out when JS never built a `Headers` object, and a body that is a
//! Rust stream passes through untouched.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, StatusCode};
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, JsLifetime, Value};

use crate::body::{Body, BodySlot, ConsumeAs};
use crate::headers::{constructor, Guard, Headers, HeadersSlot};
use crate::webidl::{byte_string, dom_string, range_error, type_error};

/// `ResponseType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseType {
    #[default]
    Default,
    Basic,
    Error,
}

#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct Response<'js> {
    #[qjs(skip_trace)]
    status: u16,
    #[qjs(skip_trace)]
    status_text: String,
    headers: HeadersSlot<'js>,
    body: BodySlot<'js>,
    #[qjs(skip_trace)]
    url: String,
    #[qjs(skip_trace)]
    redirected: bool,
    #[qjs(skip_trace)]
    kind: ResponseType,
}

fn is_null_body_status(status: u16) -> bool {
    matches!(status, 101 | 103 | 204 | 205 | 304)
}

impl<'js> Response<'js> {
    /// A response that arrived from Rust (a service binding or an outbound fetch).
    pub fn from_http(
        ctx: &Ctx<'js>,
        response: http::Response<Body>,
        url: String,
    ) -> rquickjs::Result<Class<'js, Self>> {
        let (parts, body) = response.into_parts();
        Response::from_fetch(ctx, parts, BodySlot::from_rust(body), url, false)
    }

    /// The response of a `fetch()`: `url` is the final URL (no fragment), `redirected` whether
    /// redirects were followed to get there, and `body` the body as JS will see it (a stream
    /// the request's `AbortSignal` can error, for a fetch with a signal). Its `type` is
    /// `"default"`, as in workerd.
    pub fn from_fetch(
        ctx: &Ctx<'js>,
        parts: http::response::Parts,
        body: BodySlot<'js>,
        url: String,
        redirected: bool,
    ) -> rquickjs::Result<Class<'js, Self>> {
        Class::instance(
            ctx.clone(),
            Response {
                status: parts.status.as_u16(),
                status_text: parts.status.canonical_reason().unwrap_or_default().to_owned(),
                headers: HeadersSlot::Map(parts.headers, Guard::Immutable),
                body,
                url,
                redirected,
                kind: ResponseType::Default,
            },
        )
    }

    /// The response as Rust `http` types, taking its body.
    pub fn take_http(&mut self, ctx: &Ctx<'js>) -> rquickjs::Result<http::Response<Body>> {
        let body = self.body.take_for_rust(ctx)?;
        let mut response = http::Response::new(body);
        *response.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        *response.headers_mut() = self.headers.take_map();
        Ok(response)
    }

    pub fn status_code(&self) -> u16 {
        self.status
    }

    pub fn is_error(&self) -> bool {
        self.kind == ResponseType::Error
    }

    fn build(
        ctx: &Ctx<'js>,
        body: BodySlot<'js>,
        content_type: Option<HeaderValue>,
        init: Option<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        let mut status = 200u16;
        let mut status_text = String::new();
        let mut headers = HeaderMap::new();
        if let Some(init) = init.filter(|v| !v.is_undefined() && !v.is_null()) {
            let init = init.into_object().ok_or_else(|| {
                type_error(ctx, "Failed to construct 'Response': The provided value is not of type 'ResponseInit'.")
            })?;
            if let Some(s) = init.get::<_, Option<Value>>("status")? {
                let n = s
                    .as_number()
                    .or_else(|| rquickjs::Coerced::<f64>::from_js(ctx, s).ok().map(|c| c.0))
                    .unwrap_or(f64::NAN);
                if !(200.0..=599.0).contains(&n) || n.fract() != 0.0 {
                    return Err(range_error(ctx, &format!("Failed to construct 'Response': The status provided ({n}) is outside the range [200, 599].")));
                }
                status = n as u16;
            }
            if let Some(text) = init.get::<_, Option<Value>>("statusText")? {
                let bytes = byte_string(ctx, text)?;
                if bytes.iter().any(|&b| b == b'\r' || b == b'\n') {
                    return Err(type_error(ctx, "Failed to construct 'Response': Invalid statusText."));
                }
                status_text = crate::webidl::latin1_string(&bytes);
            }
            if let Some(init_headers) = init.get::<_, Option<Value>>("headers")? {
                let mut fresh = Headers::default();
                fresh.fill(ctx, init_headers)?;
                headers = fresh.into_map();
            }
        }
        if !body.is_null() && is_null_body_status(status) {
            return Err(type_error(ctx, &format!("Response with null body status ({status}) cannot have a body.")));
        }
        if let Some(content_type) = content_type {
            headers.entry(CONTENT_TYPE).or_insert(content_type);
        }
        Ok(Response {
            status,
            status_text,
            headers: HeadersSlot::Map(headers, Guard::None),
            body,
            url: String::new(),
            redirected: false,
            kind: ResponseType::Default,
        })
    }
}

use rquickjs::FromJs;

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Response<'js> {
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'js>, body: Opt<Value<'js>>, init: Opt<Value<'js>>) -> rquickjs::Result<Self> {
        let (slot, content_type) = match body.0 {
            Some(body) => BodySlot::from_init(&ctx, body)?,
            None => (BodySlot::Null, None),
        };
        Response::build(&ctx, slot, content_type, init.0)
    }

    #[qjs(static)]
    pub fn json(ctx: Ctx<'js>, data: Value<'js>, init: Opt<Value<'js>>) -> rquickjs::Result<Self> {
        let text = ctx
            .json_stringify(data)?
            .ok_or_else(|| {
                type_error(&ctx, "Failed to execute 'json' on 'Response': The data is not JSON serializable.")
            })?
            .to_string()?;
        let json = HeaderValue::from_static("application/json");
        Response::build(&ctx, BodySlot::Bytes(Bytes::from(text)), Some(json), init.0)
    }

    #[qjs(static)]
    pub fn redirect(ctx: Ctx<'js>, url: Value<'js>, status: Opt<u16>) -> rquickjs::Result<Self> {
        let status = status.0.unwrap_or(302);
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return Err(range_error(
                &ctx,
                &format!("Failed to execute 'redirect' on 'Response': Invalid status code {status}"),
            ));
        }
        let url = crate::request::parse_url(&ctx, &dom_string(&ctx, url)?)?;
        let mut headers = HeaderMap::new();
        let location = HeaderValue::from_str(&url).map_err(|_| type_error(&ctx, "Invalid redirect URL"))?;
        headers.insert(LOCATION, location);
        Ok(Response {
            status,
            status_text: String::new(),
            headers: HeadersSlot::Map(headers, Guard::Immutable),
            body: BodySlot::Null,
            url: String::new(),
            redirected: false,
            kind: ResponseType::Default,
        })
    }

    #[qjs(static)]
    pub fn error() -> Self {
        Response {
            status: 0,
            status_text: String::new(),
            headers: HeadersSlot::Map(HeaderMap::new(), Guard::Immutable),
            body: BodySlot::Null,
            url: String::new(),
            redirected: false,
            kind: ResponseType::Error,
        }
    }

    #[qjs(get)]
    pub fn status(&self) -> u16 {
        self.status
    }

    #[qjs(get)]
    pub fn status_text(&self) -> String {
        self.status_text.clone()
    }

    #[qjs(get)]
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    #[qjs(get)]
    pub fn headers(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Class<'js, Headers>> {
        self.headers.object(&ctx)
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
    pub fn url(&self) -> String {
        self.url.clone()
    }

    #[qjs(get)]
    pub fn redirected(&self) -> bool {
        self.redirected
    }

    #[qjs(get, rename = "type")]
    pub fn response_type(&self) -> &'static str {
        match self.kind {
            ResponseType::Default => "default",
            ResponseType::Basic => "basic",
            ResponseType::Error => "error",
        }
    }

    #[qjs(get)]
    pub fn web_socket(&self) -> rquickjs::Null {
        rquickjs::Null
    }

    pub fn text(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        self.body.consume(&ctx, ConsumeAs::Text)
    }

    #[qjs(rename = "json")]
    pub fn json_body(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Value<'js>> {
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

    pub fn clone(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Class<'js, Response<'js>>> {
        let body = self.body.tee(&ctx)?;
        Class::instance(
            ctx,
            Response {
                status: self.status,
                status_text: self.status_text.clone(),
                headers: HeadersSlot::Map(self.headers.to_map(), Guard::None),
                body,
                url: self.url.clone(),
                redirected: self.redirected,
                kind: self.kind,
            },
        )
    }
}

/// Installs the `Response` constructor.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    constructor::<Response>(ctx)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_js;

    #[test]
    fn constructors_and_bodies() {
        let out = run_js(
            r#"(async () => {
                 const r = [];
                 const a = new Response("héllo", { status: 201, statusText: "Made", headers: { "X-A": "1" } });
                 r.push(a.status, a.statusText, a.ok, a.headers.get("content-type"), a.headers.get("x-a"), a.bodyUsed);
                 r.push(await a.text(), a.bodyUsed);
                 try { await a.text(); } catch (e) { r.push(e.name); }
                 const j = Response.json({ x: [1, 2] });
                 r.push(j.headers.get("content-type"), JSON.stringify(await j.json()));
                 const b = new Response(new Uint8Array([104, 105]));
                 r.push(b.headers.get("content-type"), new Uint8Array(await b.arrayBuffer()).join("."));
                 const s = new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("st")); c.enqueue(new TextEncoder().encode("ream")); c.close(); } }));
                 r.push(await s.text());
                 const red = Response.redirect("https://example.com/x", 301);
                 r.push(red.status, red.headers.get("location"));
                 r.push(Response.error().type, Response.error().status);
                 try { new Response("x", { status: 204 }); } catch (e) { r.push(e.name); }
                 try { new Response("x", { status: 99 }); } catch (e) { r.push(e.name); }
                 try { await new Response("{bad").json(); } catch (e) { r.push(e.name); }
                 const c = new Response("twice"); const c2 = c.clone();
                 r.push(await c.text() + "/" + await c2.text());
                 globalThis.result = JSON.stringify(r);
               })().catch((e) => globalThis.result = "threw " + e + e.stack);"#,
        );
        assert_eq!(
            out,
            concat!(
                r#"[201,"Made",true,"text/plain;charset=UTF-8","1",false,"héllo",true,"TypeError","application/json","{\"x\":[1,2]}","#,
                r#"null,"104.105","stream",301,"https://example.com/x","error",0,"TypeError","RangeError","SyntaxError","twice/twice"]"#
            )
        );
    }
}
