//! Bodies: the Rust body that crosses isolates and sockets ([`Body`]), and the body state of a
//! JS `Request`/`Response` ([`BodySlot`]) with the Fetch "body mixin" operations over it.
//!
//! A body is never buffered whole unless JS asks for it whole (`text()`, `json()`...). A body
//! that came from Rust and is handed back to Rust untouched (`new Response(request.body)`, a
//! service binding passing a request on) keeps its Rust stream: no JS sees the bytes. A body
//! JS produces as a `ReadableStream` is pumped into Rust chunk by chunk, one chunk in flight,
//! so a slow reader holds back the JS producer.
//!
//! `blob()` types its Blob with the serialized MIME type of the `Content-Type` header (as
//! workerd does, without lowercasing parameter values); `formData()` hands the bytes and that
//! header to [`crate::form_data::from_body`]. A `Blob` or `FormData` body init is bytes up
//! front, with the Blob's type or `multipart/form-data; boundary=...` as its content type.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::HeaderValue;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use nanod_js::{await_value, spawn_promise, Isolate, JsException, Settle};
use rquickjs::class::{Trace, Tracer};
use rquickjs::{Ctx, Function, JsLifetime, Object, Value};

use crate::blob::Blob;
use crate::buffer_source;
use crate::form_data::FormData;
use crate::glue::{self, STREAMS};
use crate::headers::HeadersSlot;
use crate::mime;
use crate::webidl::type_error;

/// The content type a string body implies.
const TEXT_PLAIN: &str = "text/plain;charset=UTF-8";

/// Error of a body stream: the peer went away, or the producing JS failed.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// The exception a failed body read throws: the error itself when the body failed with a
/// [`JsException`] (an aborted fetch's reason), else a `TypeError` naming the cause.
pub fn read_failure(error: BodyError) -> JsException {
    match error.downcast::<JsException>() {
        Ok(exception) => *exception,
        Err(error) => JsException::type_error(format!("Failed to read the body: {error}")),
    }
}

/// A request or response body as Rust sees it.
#[derive(Default)]
pub enum Body {
    #[default]
    Empty,
    Full(Bytes),
    Stream(Pin<Box<dyn http_body::Body<Data = Bytes, Error = BodyError>>>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Full(b) => write!(f, "Body::Full({} bytes)", b.len()),
            Body::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

impl Body {
    /// Wraps any body (hyper's `Incoming`, a client response...).
    pub fn stream<B>(body: B) -> Body
    where
        B: http_body::Body<Data = Bytes> + 'static,
        B::Error: Into<BodyError>,
    {
        Body::Stream(Box::pin(body.map_err(Into::into)))
    }

    /// A body fed by a channel; `None` from the channel's sender side ends it.
    pub fn channel(capacity: usize) -> (tokio::sync::mpsc::Sender<Result<Bytes, BodyError>>, Body) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        (tx, Body::Stream(Box::pin(ChannelBody { rx })))
    }

    /// Reads the whole body.
    pub async fn collect_bytes(self) -> Result<Bytes, BodyError> {
        match self {
            Body::Empty => Ok(Bytes::new()),
            Body::Full(bytes) => Ok(bytes),
            Body::Stream(stream) => Ok(stream.collect().await?.to_bytes()),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        match this {
            Body::Empty => Poll::Ready(None),
            Body::Full(bytes) => {
                let bytes = std::mem::take(bytes);
                *this = Body::Empty;
                if bytes.is_empty() {
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Ok(Frame::data(bytes))))
                }
            }
            Body::Stream(stream) => stream.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(bytes) => bytes.is_empty(),
            Body::Stream(stream) => stream.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(bytes) => SizeHint::with_exact(bytes.len() as u64),
            Body::Stream(stream) => stream.size_hint(),
        }
    }
}

struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, BodyError>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.rx.poll_recv(cx).map(|chunk| chunk.map(|r| r.map(Frame::data)))
    }
}

/// The body of a JS `Request` or `Response`.
#[derive(Default, JsLifetime)]
pub enum BodySlot<'js> {
    /// No body (`null`).
    #[default]
    Null,
    /// Bytes known up front (from a string, a buffer, or a Rust `Full` body).
    Bytes(Bytes),
    /// A Rust stream no JS has touched.
    Rust(Body),
    /// A JS `ReadableStream` (possibly over a native source, see `js/streams.js` `fromNative`).
    Stream(Object<'js>),
    /// Consumed by `text()`, `json()`... or handed to Rust.
    Used,
}

impl<'js> Trace<'js> for BodySlot<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        if let BodySlot::Stream(stream) = self {
            stream.trace(tracer);
        }
    }
}

impl<'js> BodySlot<'js> {
    /// Body from a Rust body.
    pub fn from_rust(body: Body) -> BodySlot<'js> {
        match body {
            Body::Empty => BodySlot::Null,
            Body::Full(bytes) => BodySlot::Bytes(bytes),
            stream @ Body::Stream(_) => BodySlot::Rust(stream),
        }
    }

    /// Extracts a body from a `BodyInit` value; returns it with the content type it implies.
    pub fn from_init(ctx: &Ctx<'js>, init: Value<'js>) -> rquickjs::Result<(BodySlot<'js>, Option<HeaderValue>)> {
        if init.is_undefined() || init.is_null() {
            return Ok((BodySlot::Null, None));
        }
        if let Some(s) = init.as_string() {
            return Ok((BodySlot::Bytes(Bytes::from(s.to_string()?)), Some(HeaderValue::from_static(TEXT_PLAIN))));
        }
        if let Some(blob) = Blob::from_value(&init) {
            let content_type = HeaderValue::from_str(blob.kind()).ok().filter(|v| !v.is_empty());
            return Ok((BodySlot::Bytes(blob.data().clone()), content_type));
        }
        if let Some(bytes) = buffer_source::copy_bytes(ctx, &init)? {
            return Ok((BodySlot::Bytes(bytes), None));
        }
        if let Ok(form) = rquickjs::Class::<FormData>::from_value(&init) {
            let boundary = crate::form_data::random_boundary();
            let bytes = form.try_borrow()?.multipart(&boundary);
            let content_type = HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")).ok();
            return Ok((BodySlot::Bytes(bytes), content_type));
        }
        if let Some(obj) = init.as_object() {
            let readable: Function = glue::namespace(ctx, &STREAMS)?.get("ReadableStream")?;
            if obj.is_instance_of(&readable) {
                return Ok((BodySlot::Stream(obj.clone()), None));
            }
            let search_params: Option<Function> = ctx.globals().get("URLSearchParams").ok();
            if search_params.is_some_and(|c| obj.is_instance_of(&c)) {
                let text = crate::webidl::dom_string(ctx, init)?;
                return Ok((
                    BodySlot::Bytes(Bytes::from(text)),
                    Some(HeaderValue::from_static("application/x-www-form-urlencoded;charset=UTF-8")),
                ));
            }
        }
        let text = crate::webidl::dom_string(ctx, init)?;
        Ok((BodySlot::Bytes(Bytes::from(text)), Some(HeaderValue::from_static(TEXT_PLAIN))))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, BodySlot::Null)
    }

    /// `bodyUsed`.
    pub fn used(&self, ctx: &Ctx<'js>) -> rquickjs::Result<bool> {
        match self {
            BodySlot::Used => Ok(true),
            BodySlot::Stream(stream) => glue::function(ctx, &STREAMS, "isDisturbed")?.call((stream.clone(),)),
            _ => Ok(false),
        }
    }

    /// `body`: the body as a `ReadableStream`, made once and then kept.
    pub fn stream(&mut self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        let body = match std::mem::take(self) {
            BodySlot::Null => return Ok(Value::new_null(ctx.clone())),
            BodySlot::Used => {
                *self = BodySlot::Used;
                return Ok(Value::new_null(ctx.clone()));
            }
            BodySlot::Stream(stream) => {
                *self = BodySlot::Stream(stream.clone());
                return Ok(stream.into_value());
            }
            BodySlot::Bytes(bytes) => Body::Full(bytes),
            BodySlot::Rust(body) => body,
        };
        let source = rquickjs::Class::instance(ctx.clone(), BodySource { body: Rc::new(RefCell::new(Some(body))) })?;
        let stream: Object = glue::function(ctx, &STREAMS, "fromNative")?.call((source,))?;
        *self = BodySlot::Stream(stream.clone());
        Ok(stream.into_value())
    }

    /// `text()`, `json()`, `arrayBuffer()`, `bytes()`: reads the whole body, marking it used.
    pub fn consume(&mut self, ctx: &Ctx<'js>, kind: ConsumeAs) -> rquickjs::Result<Value<'js>> {
        self.consume_with(ctx, kind, None)
    }

    /// [`BodySlot::consume`] for the kinds that need the body's `Content-Type` (combined header
    /// value): `blob()` and `formData()`.
    pub fn consume_with(
        &mut self,
        ctx: &Ctx<'js>,
        kind: ConsumeAs,
        content_type: Option<String>,
    ) -> rquickjs::Result<Value<'js>> {
        let body = match std::mem::replace(self, BodySlot::Used) {
            BodySlot::Used => {
                let error = JsException::type_error("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");
                return reject(ctx, error);
            }
            BodySlot::Null => Body::Empty,
            BodySlot::Bytes(bytes) => Body::Full(bytes),
            BodySlot::Rust(body) => body,
            BodySlot::Stream(stream) => {
                if let Some(body) = take_native(ctx, &stream)? {
                    body
                } else {
                    let disturbed: bool = glue::function(ctx, &STREAMS, "isDisturbed")?.call((stream.clone(),))?;
                    if disturbed || stream.get::<_, bool>("locked")? {
                        *self = BodySlot::Stream(stream);
                        let error = JsException::type_error("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");
                        return reject(ctx, error);
                    }
                    let chunks: rquickjs::Promise = glue::function(ctx, &STREAMS, "readAll")?.call((stream,))?;
                    let finish_type = content_type.clone();
                    let finish = Function::new(ctx.clone(), move |ctx: Ctx<'js>, chunks: rquickjs::Array<'js>| {
                        let mut all = Vec::new();
                        for chunk in chunks.iter::<Value>() {
                            let chunk = chunk?;
                            let bytes = buffer_source::copy_bytes(&ctx, &chunk)?
                                .ok_or_else(|| type_error(&ctx, "This ReadableStream did not return bytes."))?;
                            all.extend_from_slice(&bytes);
                        }
                        Consumed { bytes: Bytes::from(all), kind, content_type: finish_type.clone() }.settle(&ctx)
                    })?;
                    let then: Function = chunks.get("then")?;
                    return then.call((rquickjs::function::This(chunks), finish));
                }
            }
        };
        let promise = match body {
            Body::Empty => settled(ctx, Consumed { bytes: Bytes::new(), kind, content_type })?,
            Body::Full(bytes) => settled(ctx, Consumed { bytes, kind, content_type })?,
            stream => spawn_promise(ctx, async move {
                stream.collect_bytes().await.map(|bytes| Consumed { bytes, kind, content_type }).map_err(read_failure)
            })?
            .into_value(),
        };
        Ok(promise)
    }

    /// Hands the body to Rust, marking it used. JS streams are pumped (see module doc).
    pub fn take_for_rust(&mut self, ctx: &Ctx<'js>) -> rquickjs::Result<Body> {
        match std::mem::replace(self, BodySlot::Used) {
            BodySlot::Null => Ok(Body::Empty),
            BodySlot::Bytes(bytes) => Ok(Body::Full(bytes)),
            BodySlot::Rust(body) => Ok(body),
            BodySlot::Used => Err(type_error(ctx, "Body has already been used. It can only be used once.")),
            BodySlot::Stream(stream) => match take_native(ctx, &stream)? {
                Some(body) => Ok(body),
                None => pump(ctx, stream),
            },
        }
    }

    /// A copy for `clone()`: bytes are shared; streams are tee'd, this slot keeps one branch.
    pub fn tee(&mut self, ctx: &Ctx<'js>) -> rquickjs::Result<BodySlot<'js>> {
        match self {
            BodySlot::Null => Ok(BodySlot::Null),
            BodySlot::Bytes(bytes) => Ok(BodySlot::Bytes(bytes.clone())),
            BodySlot::Used => Err(type_error(ctx, "Body has already been used. It can only be used once.")),
            BodySlot::Rust(_) | BodySlot::Stream(_) => {
                let stream = self.stream(ctx)?;
                let stream = stream.into_object().ok_or(rquickjs::Error::Unknown)?;
                if stream.get::<_, bool>("locked")? {
                    return Err(type_error(ctx, "Body has already been used. It can only be used once."));
                }
                let tee: Function = stream.get("tee")?;
                let branches: rquickjs::Array = tee.call((rquickjs::function::This(stream),))?;
                *self = BodySlot::Stream(branches.get(0)?);
                Ok(BodySlot::Stream(branches.get(1)?))
            }
        }
    }
}

fn take_native<'js>(ctx: &Ctx<'js>, stream: &Object<'js>) -> rquickjs::Result<Option<Body>> {
    let source: Value = glue::function(ctx, &STREAMS, "takeNative")?.call((stream.clone(),))?;
    let Ok(source) = rquickjs::Class::<BodySource>::from_value(&source) else { return Ok(None) };
    let body = source.borrow().body.borrow_mut().take();
    Ok(body)
}

/// How `consume` presents the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeAs {
    Text,
    Json,
    ArrayBuffer,
    Bytes,
    /// A `Blob` typed with the body's MIME type (Fetch "get the MIME type", serialized).
    Blob,
    /// A `FormData` parsed by the body's MIME type (see [`crate::form_data::from_body`]).
    FormData,
}

struct Consumed {
    bytes: Bytes,
    kind: ConsumeAs,
    /// The body's `Content-Type` (for `Blob` and `FormData`).
    content_type: Option<String>,
}

impl Settle for Consumed {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        match self.kind {
            ConsumeAs::Text => utf8_decode(ctx, &self.bytes),
            ConsumeAs::Json => {
                let text = utf8_decode(ctx, &self.bytes)?;
                let text = text.as_string().map(|s| s.to_string()).transpose()?.unwrap_or_default();
                ctx.json_parse(text)
            }
            ConsumeAs::ArrayBuffer => buffer_source::array_buffer(ctx, self.bytes),
            ConsumeAs::Bytes => buffer_source::uint8_array(ctx, self.bytes),
            ConsumeAs::Blob => {
                let kind = self.content_type.as_deref().and_then(mime::extract).map(|m| m.to_string());
                let blob = Blob::with_raw_type(self.bytes, kind.unwrap_or_default());
                rquickjs::Class::instance(ctx.clone(), blob).map(|b| b.into_value())
            }
            ConsumeAs::FormData => crate::form_data::from_body(ctx, self.bytes, self.content_type.as_deref()),
        }
    }
}

/// The combined `Content-Type` value of a request's or response's headers, for
/// [`BodySlot::consume_with`].
pub fn content_type(headers: &HeadersSlot<'_>) -> Option<String> {
    match headers {
        HeadersSlot::Map(map, _) => {
            let mut values = map.get_all(CONTENT_TYPE).iter().map(|v| crate::headers::header_text(v.as_bytes()));
            let first = values.next()?;
            Some(values.fold(first, |all, v| all + ", " + &v))
        }
        HeadersSlot::Object(headers) => headers.try_borrow().ok()?.combined(&CONTENT_TYPE),
    }
}

/// UTF-8 decode with invalid sequences replaced.
fn utf8_decode<'js>(ctx: &Ctx<'js>, bytes: &[u8]) -> rquickjs::Result<Value<'js>> {
    // A leading BOM is kept (and `json()` then fails on it), as workerd does; the Fetch spec
    // would strip it.
    let text = String::from_utf8_lossy(bytes);
    rquickjs::String::from_str(ctx.clone(), &text).map(|s| s.into_value())
}

/// `Promise.resolve(value)` for a value computed now.
fn settled<'js>(ctx: &Ctx<'js>, outcome: impl Settle) -> rquickjs::Result<Value<'js>> {
    let (promise, resolve, reject) = ctx.promise()?;
    match outcome.settle(ctx) {
        Ok(value) => resolve.call::<_, ()>((value,))?,
        Err(rquickjs::Error::Exception) => reject.call::<_, ()>((ctx.catch(),))?,
        Err(e) => return Err(e),
    }
    Ok(promise.into_value())
}

fn reject<'js>(ctx: &Ctx<'js>, error: JsException) -> rquickjs::Result<Value<'js>> {
    let (promise, _resolve, reject) = ctx.promise()?;
    reject.call::<_, ()>((error.to_value(ctx)?,))?;
    Ok(promise.into_value())
}

/// A Rust body as the source of a JS `ReadableStream`.
#[derive(Trace, JsLifetime)]
#[rquickjs::class]
pub struct BodySource {
    #[qjs(skip_trace)]
    body: Rc<RefCell<Option<Body>>>,
}

struct Chunk(Option<Bytes>);

impl Settle for Chunk {
    fn settle<'js>(self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        match self.0 {
            Some(bytes) => buffer_source::uint8_array(ctx, bytes),
            None => Ok(Value::new_undefined(ctx.clone())),
        }
    }
}

#[rquickjs::methods]
impl BodySource {
    /// Resolves to the next chunk, or `undefined` at the end.
    pub fn read<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<rquickjs::Promise<'js>> {
        let cell = self.body.clone();
        spawn_promise(&ctx, async move {
            let Some(mut body) = cell.borrow_mut().take() else { return Ok(Chunk(None)) };
            loop {
                match body.frame().await {
                    None => return Ok(Chunk(None)),
                    Some(Err(e)) => return Err(read_failure(e)),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            if data.is_empty() {
                                continue;
                            }
                            *cell.borrow_mut() = Some(body);
                            return Ok(Chunk(Some(data)));
                        }
                    }
                }
            }
        })
    }

    pub fn cancel(&self) {
        self.body.borrow_mut().take();
    }
}

/// Pumps a JS stream into a Rust body, one chunk in flight.
fn pump<'js>(ctx: &Ctx<'js>, stream: Object<'js>) -> rquickjs::Result<Body> {
    if stream.get::<_, bool>("locked")? {
        return Err(type_error(ctx, "This ReadableStream is currently locked to a reader."));
    }
    let isolate = Isolate::from_ctx(ctx).ok_or(rquickjs::Error::Unknown)?;
    let get_reader: Function = stream.get("getReader")?;
    let reader: Object = get_reader.call((rquickjs::function::This(stream),))?;
    let key = isolate.park(ctx, reader.into_value());
    let (tx, body) = Body::channel(1);
    let weak = isolate.downgrade();
    let op = isolate.begin_op();
    tokio::task::spawn_local(async move {
        let _op = op;
        loop {
            let Some(isolate) = weak.upgrade() else { return };
            let next = isolate.enter(|ctx| {
                let reader = isolate.peek(&ctx, key).and_then(|v| v.into_object())?;
                let read: Function = reader.get("read").ok()?;
                let promise: Value = match read.call((rquickjs::function::This(reader),)) {
                    Ok(p) => p,
                    Err(_) => {
                        let error = JsException::from_value(&ctx, ctx.catch());
                        let (tx, rx) = tokio::sync::oneshot::channel();
                        let _ = tx.send(Err(error));
                        return Some(rx);
                    }
                };
                Some(await_value(&ctx, promise, read_result))
            });
            drop(isolate);
            let outcome = match next {
                Some(rx) => rx.await.unwrap_or_else(|_| Err(JsException::error("stream read was dropped"))),
                None => Err(JsException::error("stream reader is gone")),
            };
            let stop = match outcome {
                Ok(Some(bytes)) => tx.send(Ok(bytes)).await.is_err(),
                Ok(None) => true,
                Err(error) => {
                    let _ = tx.send(Err(Box::new(error))).await;
                    true
                }
            };
            if stop {
                if let Some(isolate) = weak.upgrade() {
                    isolate.enter(|ctx| {
                        if let Some(reader) = isolate.unpark(&ctx, key).and_then(|v| v.into_object()) {
                            if tx.is_closed() {
                                // The consumer went away: cancel the producer.
                                if let Ok(cancel) = reader.get::<_, Function>("cancel") {
                                    let _ = cancel.call::<_, Value>((rquickjs::function::This(reader),));
                                }
                            }
                        }
                    });
                }
                return;
            }
        }
    });
    Ok(body)
}

/// Converts a reader's `{ value, done }` into the next chunk (`None` at the end).
fn read_result<'js>(ctx: &Ctx<'js>, result: Value<'js>) -> Result<Option<Bytes>, JsException> {
    let object = result.into_object().ok_or_else(|| JsException::type_error("read() did not return an object"))?;
    let done: bool = object.get("done").unwrap_or(true);
    if done {
        return Ok(None);
    }
    let value: Value = object.get("value").map_err(|_| JsException::from_value(ctx, ctx.catch()))?;
    match buffer_source::copy_bytes(ctx, &value) {
        Ok(Some(bytes)) => Ok(Some(bytes)),
        _ => Err(JsException::type_error("This ReadableStream did not return bytes.")),
    }
}
