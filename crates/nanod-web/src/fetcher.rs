//! `Fetcher`: the object behind a service binding (`env.AUTH.fetch(req)`), and the global
//! `fetch()`, which is the same thing aimed at the Worker's `globalOutbound`.
//!
//! A `Fetcher` holds a [`FetchTarget`], the seam through which a request leaves the isolate.
//! The embedder (nanod-server) implements it: for a Worker target it runs the callee in its own
//! isolate on the same thread; for a network target it opens connections. This crate never
//! does I/O itself.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use nanod_js::{spawn_promise, JsException, Settle};
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Ctx, Function, JsLifetime, Promise, Value};

use crate::body::Body;
use crate::request::Request;
use crate::response::Response;

pub type FetchFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, JsException>>>>;

/// Where a `Fetcher`'s requests go.
pub trait FetchTarget {
    fn fetch(&self, request: http::Request<Body>) -> FetchFuture;
}

#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct Fetcher {
    #[qjs(skip_trace)]
    target: Rc<dyn FetchTarget>,
}

impl Fetcher {
    pub fn new(target: Rc<dyn FetchTarget>) -> Fetcher {
        Fetcher { target }
    }
}

/// Sends `input`/`init` (as for `new Request(input, init)`) to `target`.
pub fn fetch_via<'js>(
    ctx: &Ctx<'js>,
    target: Rc<dyn FetchTarget>,
    input: Value<'js>,
    init: Opt<Value<'js>>,
) -> rquickjs::Result<Promise<'js>> {
    // The Request never reaches JS, so it is built as a plain value and consumed.
    let mut request = Request::new(ctx.clone(), input, init)?;
    let url = request.url_str().to_owned();
    let http_request = request.take_http(ctx)?;
    spawn_promise(ctx, async move { target.fetch(http_request).await.map(|response| HttpResponse { response, url }) })
}

struct HttpResponse {
    response: http::Response<Body>,
    url: String,
}

impl Settle for HttpResponse {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        Response::from_http(ctx, self.response, self.url).map(|r| r.into_value())
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl Fetcher {
    pub fn fetch<'js>(
        &self,
        ctx: Ctx<'js>,
        input: Value<'js>,
        init: Opt<Value<'js>>,
    ) -> rquickjs::Result<Promise<'js>> {
        fetch_via(&ctx, self.target.clone(), input, init)
    }
}

/// The isolate's `globalOutbound`, kept in runtime userdata.
#[derive(JsLifetime)]
pub struct GlobalOutbound(pub Rc<dyn FetchTarget>);

/// Sets where the global `fetch()` sends requests in this isolate.
pub fn set_global_outbound(ctx: &Ctx<'_>, target: Rc<dyn FetchTarget>) -> rquickjs::Result<()> {
    let _ = ctx.remove_userdata::<GlobalOutbound>();
    ctx.store_userdata(GlobalOutbound(target)).map_err(|_| rquickjs::Error::Unknown)?;
    Ok(())
}

/// Installs the global `fetch`.
pub fn install_fetch<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let fetch = Function::new(ctx.clone(), |ctx: Ctx<'js>, input: Value<'js>, init: Opt<Value<'js>>| {
        let target = ctx.userdata::<GlobalOutbound>().map(|o| o.0.clone());
        match target {
            Some(target) => fetch_via(&ctx, target, input, init),
            None => Err(crate::webidl::type_error(&ctx, "fetch() is not available: this Worker has no globalOutbound")),
        }
    })?
    .with_name("fetch")?;
    Ok(fetch.into_value())
}
