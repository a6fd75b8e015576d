//! The Fetch "HTTP-redirect fetch" loop, in Rust: one `fetch()` through a [`FetchTarget`],
//! following `301 302 303 307 308` responses that carry a `Location`, as workerd does.
//!
//! Every hop goes back through the SAME target, so a `network` service resolves and checks
//! the policy again for each new URL (a redirect to a refused address is refused, and opens no
//! connection), and a service binding's redirects go back to the bound Worker. The loop runs
//! inside one Rust future: no JS runs between hops, and dropping the future (an aborted
//! signal) drops the hop in flight.
//!
//! workerd's rules, checked against it:
//! - `Location` is resolved against the current URL (WHATWG parsing, here ada-url). A result
//!   with no host (`data:`, `about:`...) or a parse failure is a `TypeError` "Invalid Location
//!   header; unable to follow redirect."; other schemes (`ftp://host/`) are followed and left to
//!   the target to refuse. The fragment is dropped from the response URL.
//! - At most 20 redirects; the 21st is a `TypeError` "Too many redirects." followed by the URL
//!   list joined with ", " (workerd's exception text appends it so).
//! - A body that cannot be replayed (a stream) makes any redirect but `303` a `TypeError`
//!   (workerd's text, [`ONE_TIME_BODY`]); a bytes body is re-sent.
//! - `303` (unless `HEAD`), and `301`/`302` on `POST`, become `GET` with no body. The body's
//!   framing headers (`Content-Length`, `Transfer-Encoding`) go with it; the other content
//!   headers (`Content-Type`...) stay, as in workerd (the Fetch spec drops them too; workerd has
//!   a TODO about whatwg/fetch#609, and `scripts/differential/outbound.capnp` checks that
//!   nanod matches it).
//! - The body of a followed 3xx is read and discarded (up to [`DRAIN_LIMIT`]), then dropped.
//! - `Authorization` is kept on cross-origin hops (workerd before the
//!   `strip_authorization_on_cross_origin_redirect` flag).
//!
//! `redirect: "manual"` returns the 3xx as it is; `"error"` never gets here (the `Request`
//! constructor refuses it, as workerd does).

use std::rc::Rc;

use bytes::Bytes;
use http::header::{HeaderName, CONTENT_LENGTH, LOCATION, TRANSFER_ENCODING};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::BodyExt;
use nanod_js::JsException;

use crate::body::Body;
use crate::fetcher::FetchTarget;
use crate::request::Redirect;

/// Fetch's (and workerd's) limit.
pub const MAX_REDIRECTS: usize = 20;

/// At most this much of a followed redirect's body is read before it is dropped.
pub const DRAIN_LIMIT: usize = 64 * 1024;

/// workerd's error for a redirect that would need a stream body re-sent.
pub const ONE_TIME_BODY: &str = "A request with a one-time-use body (it was initialized from a stream, not a buffer) encountered a redirect requiring the body to be retransmitted. To avoid this error in the future, construct this request from a buffer-like body initializer.";

/// workerd's error for a `Location` that does not resolve to a URL with a host.
pub const INVALID_LOCATION: &str = "Invalid Location header; unable to follow redirect.";

/// Headers framing a request body, dropped when a redirect turns the request into a `GET`.
const BODY_HEADERS: [HeaderName; 2] = [CONTENT_LENGTH, TRANSFER_ENCODING];

/// A request body as the loop keeps it between hops.
enum Replay {
    /// No body.
    Empty,
    /// Bytes, re-sent on every hop that keeps the body.
    Bytes(Bytes),
    /// A stream: sent once; `None` once sent.
    Stream(Option<Body>),
}

/// What `fetch()` sends, before the first hop.
pub struct Outgoing {
    pub method: Method,
    /// Absolute URL (an ada-url href), fragment allowed.
    pub url: String,
    pub headers: HeaderMap,
    pub body: Body,
    pub redirect: Redirect,
}

/// The final response and the URLs visited (first: the request's URL, last: the response's).
pub struct Fetched {
    pub response: http::Response<Body>,
    pub url_list: Vec<String>,
}

impl Fetched {
    /// The response's `url`: the last URL, without its fragment.
    pub fn url(&self) -> String {
        self.url_list.last().cloned().unwrap_or_default()
    }

    /// The response's `redirected`.
    pub fn redirected(&self) -> bool {
        self.url_list.len() > 1
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// `href` without its fragment, as ada serializes it.
fn without_fragment(mut href: String) -> String {
    // In a serialized URL the first `#` starts the fragment: one elsewhere is percent-encoded.
    if let Some(hash) = href.find('#') {
        href.truncate(hash);
    }
    href
}

/// The request URI of a URL list entry (already without fragment).
fn request_uri(url: &str) -> Result<Uri, JsException> {
    url.parse().map_err(|_| JsException::type_error(format!("Invalid URL for an outgoing request: {url}")))
}

/// `location` resolved against `base`; `None` when workerd would refuse to follow it.
fn resolve_location(location: &[u8], base: &str) -> Option<String> {
    let location = std::str::from_utf8(location).ok()?;
    let mut url = ada_url::Url::parse(location, Some(base)).ok()?;
    if url.host().is_empty() {
        return None;
    }
    url.set_hash(None);
    Some(url.href().to_owned())
}

/// Reads and discards up to [`DRAIN_LIMIT`] of a redirect's body, so its connection may be
/// reused; the rest is dropped with the body.
async fn drain(mut body: Body) {
    let mut read = 0;
    while read < DRAIN_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
            _ => return,
        }
    }
}

/// Sends `outgoing` through `target`, following redirects as its mode says. Every hop's
/// request carries `request_id` (the caller's request) as an extension.
pub async fn fetch(
    target: Rc<dyn FetchTarget>,
    outgoing: Outgoing,
    request_id: Option<nanod_js::RequestId>,
) -> Result<Fetched, JsException> {
    let Outgoing { mut method, url, mut headers, body, redirect } = outgoing;
    let mut body = match body {
        Body::Empty => Replay::Empty,
        Body::Full(bytes) => Replay::Bytes(bytes),
        stream @ Body::Stream(_) => Replay::Stream(Some(stream)),
    };
    let mut url_list = vec![without_fragment(url)];
    loop {
        let current = url_list.last().map_or("", String::as_str);
        let mut request = http::Request::new(match &mut body {
            Replay::Empty => Body::Empty,
            Replay::Bytes(bytes) => Body::Full(bytes.clone()),
            Replay::Stream(stream) => stream.take().unwrap_or_default(),
        });
        *request.method_mut() = method.clone();
        *request.uri_mut() = request_uri(current)?;
        *request.headers_mut() = headers.clone();
        if let Some(id) = request_id {
            request.extensions_mut().insert(id.hop());
        }
        let response = target.fetch(request).await?;

        let location = match response.headers().get(LOCATION) {
            // An empty `Location` counts as none, as in workerd.
            Some(location)
                if redirect == Redirect::Follow && is_redirect(response.status()) && !location.is_empty() =>
            {
                location.as_bytes().to_vec()
            }
            _ => return Ok(Fetched { response, url_list }),
        };
        let status = response.status().as_u16();
        drain(response.into_body()).await;

        let next = resolve_location(&location, current).ok_or_else(|| JsException::type_error(INVALID_LOCATION))?;
        if url_list.len() > MAX_REDIRECTS {
            return Err(JsException::type_error(format!("Too many redirects.{}", url_list.join(", "))));
        }
        url_list.push(next);
        if status != 303 && matches!(body, Replay::Stream(_)) {
            return Err(JsException::type_error(ONE_TIME_BODY));
        }
        if ((status == 301 || status == 302) && method == Method::POST) || (status == 303 && method != Method::HEAD) {
            method = Method::GET;
            body = Replay::Empty;
            for name in &BODY_HEADERS {
                headers.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use http::header::CONTENT_TYPE;

    use super::*;
    use crate::fetcher::FetchFuture;

    /// A target answering from a table of `path -> (status, location)`, logging each request
    /// as `METHOD URI [content-type] body`.
    struct Script {
        routes: Vec<(&'static str, u16, Option<&'static str>)>,
        log: RefCell<Vec<String>>,
    }

    impl FetchTarget for Script {
        fn fetch(&self, request: http::Request<Body>) -> FetchFuture {
            let (parts, body) = request.into_parts();
            let route = self.routes.iter().find(|(path, _, _)| *path == parts.uri.path()).copied();
            let content_type =
                parts.headers.get(CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?").to_owned()).unwrap_or_default();
            let body = body_text(body);
            self.log.borrow_mut().push(format!("{} {} [{content_type}] {body}", parts.method, parts.uri));
            Box::pin(async move {
                let (status, location) = route.map_or((200, None), |(_, s, l)| (s, l));
                let mut response = http::Response::new(Body::Full(Bytes::from_static(b"answer")));
                *response.status_mut() = StatusCode::from_u16(status).unwrap();
                if let Some(location) = location {
                    response.headers_mut().insert(LOCATION, location.parse().unwrap());
                }
                Ok(response)
            })
        }
    }

    /// The bytes of a `Full` body, or `<stream>`.
    fn body_text(body: Body) -> String {
        match body {
            Body::Empty => String::new(),
            Body::Full(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Body::Stream(_) => "<stream>".to_owned(),
        }
    }

    /// Status, URL and `redirected` of the response, or the error; and the target's log.
    type Outcome = (Result<(u16, String, bool), JsException>, Vec<String>);

    fn run(
        routes: Vec<(&'static str, u16, Option<&'static str>)>,
        method: Method,
        body: Body,
        redirect: Redirect,
    ) -> Outcome {
        let script = Rc::new(Script { routes, log: RefCell::new(Vec::new()) });
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "text/x".parse().unwrap());
        headers.insert("x-keep", "k".parse().unwrap());
        let outgoing = Outgoing { method, url: "http://a.test/start#frag".to_owned(), headers, body, redirect };
        let result = rt.block_on(fetch(script.clone(), outgoing, None));
        let log = script.log.borrow().clone();
        (result.map(|f| (f.response.status().as_u16(), f.url(), f.redirected())), log)
    }

    fn bytes(text: &'static str) -> Body {
        Body::Full(Bytes::from_static(text.as_bytes()))
    }

    #[test]
    fn follows_relative_and_absolute_locations_through_the_same_target() {
        let (result, log) = run(
            vec![("/start", 302, Some("/two?q=1#x")), ("/two", 301, Some("http://b.test/three"))],
            Method::GET,
            Body::Empty,
            Redirect::Follow,
        );
        assert_eq!(result.unwrap(), (200, "http://b.test/three".to_owned(), true));
        assert_eq!(
            log,
            [
                "GET http://a.test/start [text/x] ",
                "GET http://a.test/two?q=1 [text/x] ",
                "GET http://b.test/three [text/x] "
            ]
        );
    }

    #[test]
    fn no_redirect_keeps_url_without_fragment_and_not_redirected() {
        let (result, _) = run(vec![], Method::GET, Body::Empty, Redirect::Follow);
        assert_eq!(result.unwrap(), (200, "http://a.test/start".to_owned(), false));
    }

    #[test]
    fn manual_returns_the_3xx() {
        let (result, log) = run(vec![("/start", 307, Some("/two"))], Method::GET, Body::Empty, Redirect::Manual);
        assert_eq!(result.unwrap(), (307, "http://a.test/start".to_owned(), false));
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn a_3xx_without_location_is_the_response() {
        let (result, _) = run(vec![("/start", 302, None)], Method::GET, Body::Empty, Redirect::Follow);
        assert_eq!(result.unwrap(), (302, "http://a.test/start".to_owned(), false));
        let (result, log) = run(vec![("/start", 302, Some(""))], Method::GET, Body::Empty, Redirect::Follow);
        assert_eq!(result.unwrap(), (302, "http://a.test/start".to_owned(), false));
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn see_other_turns_post_into_get_dropping_the_body_but_not_its_type() {
        let (result, log) = run(vec![("/start", 303, Some("/two"))], Method::POST, bytes("abc"), Redirect::Follow);
        assert_eq!(result.unwrap().0, 200);
        assert_eq!(log, ["POST http://a.test/start [text/x] abc", "GET http://a.test/two [text/x] "]);
    }

    #[test]
    fn see_other_keeps_head_and_found_keeps_put() {
        let (_, log) = run(vec![("/start", 303, Some("/two"))], Method::HEAD, Body::Empty, Redirect::Follow);
        assert_eq!(log[1], "HEAD http://a.test/two [text/x] ");
        let (_, log) = run(vec![("/start", 302, Some("/two"))], Method::PUT, bytes("abc"), Redirect::Follow);
        assert_eq!(log[1], "PUT http://a.test/two [text/x] abc");
        let (_, log) = run(vec![("/start", 301, Some("/two"))], Method::POST, bytes("abc"), Redirect::Follow);
        assert_eq!(log[1], "GET http://a.test/two [text/x] ");
    }

    #[test]
    fn temporary_and_permanent_redirects_resend_a_bytes_body() {
        for status in [307, 308] {
            let (result, log) =
                run(vec![("/start", status, Some("/two"))], Method::POST, bytes("abc"), Redirect::Follow);
            assert_eq!(result.unwrap().0, 200);
            assert_eq!(log[1], "POST http://a.test/two [text/x] abc");
        }
    }

    #[test]
    fn a_stream_body_fails_every_redirect_but_see_other() {
        let stream = || Body::stream(http_body_util::Full::new(Bytes::from_static(b"st")));
        for status in [301, 302, 307, 308] {
            let (result, log) = run(vec![("/start", status, Some("/two"))], Method::POST, stream(), Redirect::Follow);
            assert_eq!(result.unwrap_err().message, ONE_TIME_BODY);
            assert_eq!(log.len(), 1);
        }
        let (result, log) = run(vec![("/start", 303, Some("/two"))], Method::POST, stream(), Redirect::Follow);
        assert_eq!(result.unwrap().0, 200);
        assert_eq!(log, ["POST http://a.test/start [text/x] <stream>", "GET http://a.test/two [text/x] "]);
    }

    #[test]
    fn twenty_redirects_are_followed_and_the_21st_fails() {
        let paths: Vec<&'static str> = (0..=21).map(|i| &*Box::leak(format!("/{i}").into_boxed_str())).collect();
        let routes = |n: usize| -> Vec<(&'static str, u16, Option<&'static str>)> {
            let mut routes = vec![("/start", 302, Some(paths[1]))];
            routes.extend((1..n).map(|i| (paths[i], 302, Some(paths[i + 1]))));
            routes
        };
        let (result, log) = run(routes(20), Method::GET, Body::Empty, Redirect::Follow);
        assert_eq!(result.unwrap(), (200, "http://a.test/20".to_owned(), true));
        assert_eq!(log.len(), 21);
        let (result, log) = run(routes(21), Method::GET, Body::Empty, Redirect::Follow);
        let message = result.unwrap_err().message;
        assert!(message.starts_with("Too many redirects.http://a.test/start, http://a.test/1, "), "{message}");
        assert!(message.ends_with(", http://a.test/20"), "{message}");
        assert_eq!(log.len(), 21);
    }

    #[test]
    fn locations_without_a_host_are_refused_and_other_schemes_are_sent() {
        for location in ["data:text/plain,hi", "about:blank", "http://[bad", "mailto:x@y"] {
            let (result, log) = run(vec![("/start", 302, Some(location))], Method::GET, Body::Empty, Redirect::Follow);
            assert_eq!(result.unwrap_err().message, INVALID_LOCATION, "{location}");
            assert_eq!(log.len(), 1);
        }
        let (result, log) =
            run(vec![("/start", 302, Some("ftp://c.test/x"))], Method::GET, Body::Empty, Redirect::Follow);
        assert_eq!(result.unwrap(), (200, "ftp://c.test/x".to_owned(), true));
        assert_eq!(log[1], "GET ftp://c.test/x [text/x] ");
    }
}
