//! `ReadableStream`, `WritableStream`, `TransformStream` and readers, as globals.
//!
//! The classes themselves are JS glue (`js/streams.js`, see its header for what is covered);
//! this module only exposes them lazily. Moving bodies between Rust and streams is in `body`.

use rquickjs::{Ctx, Value};

use crate::glue::{namespace, STREAMS};

fn export<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Value<'js>> {
    namespace(ctx, &STREAMS)?.get(name)
}

pub fn install_readable_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "ReadableStream")
}
pub fn install_reader<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "ReadableStreamDefaultReader")
}
pub fn install_writable_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "WritableStream")
}
pub fn install_transform_stream<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    export(ctx, "TransformStream")
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
}
