//! `ReadableStream`, `WritableStream`, `TransformStream` and readers, as globals.
//!
//! The classes themselves are JS glue (`js/streams.js`, see its header for what is covered);
//! this module only exposes them lazily. Moving bodies between Rust and streams is in `body`.

use rquickjs::{Ctx, Function, Object, Value};

use crate::glue::{namespace, Glue, STREAMS};

static ENCODING_STREAMS: Glue = Glue::new("nanod:encoding-streams", include_str!("js/encoding_streams.js"));

fn export<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Value<'js>> {
    namespace(ctx, &STREAMS)?.get(name)
}

pub fn install_readable_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    gate_constructor(ctx, export(ctx, "ReadableStream")?, "ReadableStream")
}
pub fn install_reader<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "ReadableStreamDefaultReader")
}
pub fn install_writable_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    gate_constructor(ctx, export(ctx, "WritableStream")?, "WritableStream")
}

/// Before `streams_enable_constructors`, workerd refuses `new ReadableStream()` and
/// `new WritableStream()` from JS (streams the runtime makes still exist): the global is then a
/// proxy of the class whose `construct` throws workerd's error. Everything else (`instanceof`,
/// statics) passes through.
fn gate_constructor<'js>(ctx: &Ctx<'js>, class: Value<'js>, name: &str) -> rquickjs::Result<Value<'js>> {
    if crate::compat::enabled(ctx, crate::compat::STREAMS_ENABLE_CONSTRUCTORS) {
        return Ok(class);
    }
    let message = format!(
        "To use the new {name}() constructor, enable the streams_enable_constructors compatibility flag. Refer to \
         the docs for more information: https://developers.cloudflare.com/workers/platform/compatibility-dates/#compatibility-flags"
    );
    let wrap: Function = ctx.eval("(C, m) => new Proxy(C, { construct() { throw new Error(m); } })")?;
    wrap.call((class, message))
}
/// Before `transformstream_enable_standard_constructor`, workerd's `new TransformStream(...)`
/// ignores its transformer and makes an identity byte stream: the global is then a proxy of the
/// class whose `construct` makes an `IdentityTransformStream` (still `instanceof` both).
pub fn install_transform_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let class = export(ctx, "TransformStream")?;
    if crate::compat::enabled(ctx, crate::compat::TRANSFORMSTREAM_ENABLE_STANDARD_CONSTRUCTOR) {
        return Ok(class);
    }
    let warning = "To use the new TransformStream() constructor with a custom transformer, enable the \
                   transformstream_enable_standard_constructor compatibility flag. Refer to the docs for more \
                   information: https://developers.cloudflare.com/workers/platform/compatibility-dates/#compatibility-flags";
    let wrap: Function = ctx.eval(
        "(C, I, w) => new Proxy(C, { construct(_, args) { if (args[0] !== undefined) console.warn(w); return new I(); } })",
    )?;
    wrap.call((class, export(ctx, "IdentityTransformStream")?, warning))
}
pub fn install_identity_transform_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "IdentityTransformStream")
}
pub fn install_byob_reader<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "ReadableStreamBYOBReader")
}
pub fn install_byob_request<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "ReadableStreamBYOBRequest")
}
pub fn install_default_controller<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "ReadableStreamDefaultController")
}
pub fn install_byte_controller<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "ReadableByteStreamController")
}
pub fn install_writer<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "WritableStreamDefaultWriter")
}
pub fn install_writable_controller<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "WritableStreamDefaultController")
}
pub fn install_transform_controller<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "TransformStreamDefaultController")
}

fn encoding_stream_classes<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let make: Function = crate::glue::function(ctx, &ENCODING_STREAMS, "makeClasses")?;
    let encoder = crate::encoding::install_text_encoder(ctx)?;
    let decoder = crate::encoding::install_text_decoder(ctx)?;
    make.call((install_transform_stream(ctx)?, encoder, decoder))
}

pub fn install_text_encoder_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    encoding_stream_classes(ctx)?.get("TextEncoderStream")
}

pub fn install_text_decoder_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    encoding_stream_classes(ctx)?.get("TextDecoderStream")
}

#[cfg(test)]
mod tests {
    use crate::testing::run_js;

    #[test]
    fn pipe_through_transform_and_collect() {
        let out = run_js(
            r#"(async () => {
                 const t = new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); } });
                 const r = ReadableStream.from(["a", "b"]).pipeThrough(t);
                 const got = [];
                 for await (const x of r) got.push(x);
                 globalThis.result = got.join("");
               })().catch(e => globalThis.result = "threw " + e);"#,
        );
        assert_eq!(out, "AB");
    }

    /// Expected values from Node 20 running the same code, except that Node throws a plain
    /// `Error` for corrupt, truncated and trailing compressed data where workerd (and the spec)
    /// throw `TypeError`: these match workerd.
    #[test]
    fn encoding_and_compression_streams() {
        let out = run_js(
            r#"(async () => {
                 const collect = async (readable) => { const parts = []; for await (const c of readable) parts.push(c); return parts; };
                 const bytes = (parts) => { const all = []; for (const p of parts) all.push(...p); return new Uint8Array(all); };
                 const r = [];
                 // A surrogate pair split across chunks, and a lone high surrogate at the end.
                 const enc = ReadableStream.from(["a\uD83D", "\uDE00b", "\uD800"]).pipeThrough(new TextEncoderStream());
                 r.push([...bytes(await collect(enc))].join("."));
                 // A multi-byte character split across chunks.
                 const euro = new TextEncoder().encode("x€y");
                 const dec = ReadableStream.from([euro.slice(0, 2), euro.slice(2)]).pipeThrough(new TextDecoderStream());
                 r.push((await collect(dec)).join("|"));
                 const t = new TextDecoderStream("utf-16le", { fatal: true });
                 r.push(t.encoding, t.fatal, t.ignoreBOM);
                 for (const format of ["gzip", "deflate", "deflate-raw"]) {
                   const input = new TextEncoder().encode("hello hello hello hello ".repeat(50));
                   const packed = bytes(await collect(ReadableStream.from([input.slice(0, 100), input.slice(100)]).pipeThrough(new CompressionStream(format))));
                   const unpacked = bytes(await collect(ReadableStream.from([packed.slice(0, 7), packed.slice(7)]).pipeThrough(new DecompressionStream(format))));
                   r.push(format, packed.length < input.length, new TextDecoder().decode(unpacked) === new TextDecoder().decode(input));
                 }
                 try { new CompressionStream("brotli"); } catch (e) { r.push(e.name); }
                 try { await collect(ReadableStream.from([new Uint8Array([1, 2, 3, 4])]).pipeThrough(new DecompressionStream("gzip"))); } catch (e) { r.push(e.name); }
                 const gz = bytes(await collect(ReadableStream.from([new Uint8Array([65])]).pipeThrough(new CompressionStream("gzip"))));
                 try { await collect(ReadableStream.from([gz.slice(0, gz.length - 3)]).pipeThrough(new DecompressionStream("gzip"))); } catch (e) { r.push("truncated " + e.name); }
                 try { await collect(ReadableStream.from([new Uint8Array([...gz, 1, 2])]).pipeThrough(new DecompressionStream("gzip"))); } catch (e) { r.push("trailing " + e.name); }
                 globalThis.result = JSON.stringify(r);
               })().catch((e) => globalThis.result = "threw " + e + e.stack);"#,
        );
        assert_eq!(
            out,
            r#"["97.240.159.152.128.98.239.191.189","x|€y","utf-16le",true,false,"gzip",true,true,"deflate",true,true,"deflate-raw",true,true,"TypeError","TypeError","truncated TypeError","trailing TypeError"]"#
        );
    }
}

#[cfg(test)]
mod byte_stream_tests {
    use crate::testing::run_js;

    #[test]
    fn byob_reads_byob_requests_and_tee() {
        let out = run_js(
            r#"(async () => {
                 const r = [];
                 const s = new ReadableStream({ type: "bytes", start(c) { c.enqueue(new Uint8Array([1, 2, 3, 4, 5])); c.close(); } });
                 const reader = s.getReader({ mode: "byob" });
                 const a = await reader.read(new Uint8Array(2));
                 const b = await reader.read(new Uint8Array(8));
                 const c = await reader.read(new Uint8Array(2));
                 r.push(JSON.stringify([[...a.value], a.done, [...b.value], b.done, [...c.value], c.done]));
                 let n = 0;
                 const pulled = new ReadableStream({
                   type: "bytes", autoAllocateChunkSize: 16,
                   pull(c) { const req = c.byobRequest; if (n++ >= 2) { c.close(); if (req) req.respond(0); return; } req.view[0] = 65 + n; req.respond(1); },
                 });
                 const got = []; for await (const chunk of pulled) got.push(...chunk);
                 r.push(got.join());
                 const [t1, t2] = new ReadableStream({ type: "bytes", start(c) { c.enqueue(new Uint8Array([1, 2, 3, 4])); c.close(); } }).tee();
                 const t2reader = t2.getReader({ mode: "byob" });
                 const tv = await t2reader.read(new Uint8Array(3));
                 const all1 = []; for await (const chunk of t1) all1.push(...chunk);
                 r.push(all1.join() + "/" + [...tv.value].join());
                 const slow = new ReadableStream({ type: "bytes", start(c) { c.enqueue(new Uint8Array([1, 2])); setTimeout(() => { c.enqueue(new Uint8Array([3, 4])); c.close(); }, 5); } });
                 const v = await slow.getReader({ mode: "byob" }).read(new Uint16Array(2), { min: 2 });
                 r.push(v.value.constructor.name + ":" + v.value.length);
                 const buf = new Uint8Array([9, 9]);
                 const enq = new ReadableStream({ type: "bytes", start(c) { c.enqueue(buf); c.close(); } });
                 r.push("detached after enqueue " + buf.byteLength);
                 try { new ReadableStream({ start(c) {} }).getReader({ mode: "byob" }); } catch (e) { r.push(e.name); }
                 const body = new Response("body bytes").body;
                 const br = body.getReader({ mode: "byob" });
                 const bv = await br.read(new Uint8Array(4));
                 r.push("response body byob " + new TextDecoder().decode(bv.value));
                 globalThis.result = r.join(" | ");
               })().catch((e) => globalThis.result = "threw " + e + e.stack);"#,
        );
        assert_eq!(
            out,
            "[[1,2],false,[3,4,5],false,[],true] | 66,67 | 1,2,3,4/1,2,3 | Uint16Array:2 | detached after enqueue 0 | TypeError | response body byob body"
        );
    }
}
