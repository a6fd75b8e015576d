//! `Blob` and `File` through the real JS API in an isolate, against Node 20 and workerd.
//!
//! Each case is a JS expression (it may `await`); the expected text is what Node 20 prints for
//! `String(await expression)` (errors as `threw <name>`). Where Node and workerd differ, a
//! comment gives both, and the expected value is workerd's unless the comment says why not.
//! Covers every `BlobPart` shape, `type` normalization, `slice` with negative and clamped
//! indices, the read methods and `stream()`, `File` inheritance, and Blob bodies
//! (`new Response(blob)`, `response.blob()`'s MIME type).

use nanod_web::testing::check_async_expressions as check;

#[test]
fn blob_and_file_construction() {
    check(&[
        (r##"new Blob(["héllo", new Uint8Array([1, 2]), new Blob(["xy"])]).size"##, "10"),
        (
            r##"new Blob([new Uint16Array([1]), new DataView(new ArrayBuffer(3)), new ArrayBuffer(2), new Uint8Array([1, 2, 3, 4]).subarray(1, 3)]).size"##,
            "9",
        ),
        (r##"new Blob([], { type: "Text/Plain;Charset=UTF-8" }).type"##, "text/plain;charset=utf-8"),
        (r##"new Blob([], { type: "a\u00e9" }).type === """##, "true"),
        (r##"new Blob([], { type: "a\tb" }).type === """##, "true"),
        (r##"JSON.stringify(new Blob([], { type: " A B " }).type)"##, "\" a b \""),
        // workerd has no Symbol.toStringTag on its classes (Node: "[object Blob]").
        (r##"Object.prototype.toString.call(new Blob([]))"##, "[object Object]"),
        (r##"new Blob().size + "," + new Blob(undefined).size + "," + new Blob([]).type.length"##, "0,0,0"),
        (r##"new Blob("abc")"##, "threw TypeError"),
        (r##"new Blob(null)"##, "threw TypeError"),
        (r##"new Blob([], 5)"##, "threw TypeError"),
        // workerd: "threw Error" (it implements no `endings`); an invalid enum value is a TypeError.
        (r##"new Blob([], { endings: "bad" })"##, "threw TypeError"),
        (r##"new Blob(["\ud800"]).size"##, "3"),
        (r##"new Blob([{ toString() { return "obj"; } }, 12, null]).size"##, "9"),
        // workerd: "threw TypeError" (it takes only Arrays); WebIDL sequences are any iterable.
        (r##"new Blob(new Set(["ab", "c"])).size"##, "3"),
        (
            r##"(() => { const s = new Blob(["0123456789"], { type: "a/b" }).slice(-4, -1, "X/Y"); return s.size + s.type; })()"##,
            "3x/y",
        ),
        (r##"new Blob(["0123456789"]).slice(2, 1).size"##, "0"),
        (r##"new Blob(["0123456789"]).slice(undefined, 3).size"##, "3"),
        (r##"new Blob(["0123456789"]).slice(-100).size"##, "10"),
        (r##"new Blob(["0123456789"]).slice(5, 100).size"##, "5"),
        (r##"new Blob(["0123456789"]).slice(null, -8).size"##, "2"),
        (r##"new Blob(["0123456789"], { type: "a/b" }).slice().type === """##, "true"),
        (r##"new Blob(["0123456789"]).slice(0, 5, "é").type === """##, "true"),
        (r##"new Blob(["x"]).slice() instanceof Blob"##, "true"),
        (r##"Blob.prototype.slice.call({})"##, "threw TypeError"),
        (r##"typeof new Blob([]).stream().getReader"##, "function"),
        (
            r##"(() => { const f = new File(["abc"], "a.txt", { type: "Text/Plain", lastModified: 42 }); return [f instanceof Blob, f instanceof File, f.name, f.lastModified, f.size, f.type].join(); })()"##,
            "true,true,a.txt,42,3,text/plain",
        ),
        (r##"Object.prototype.toString.call(new File([], "x"))"##, "[object Object]"),
        (r##"Object.getPrototypeOf(File.prototype) === Blob.prototype"##, "true"),
        // workerd: "false"; a WebIDL subclass constructor inherits from its parent's.
        (r##"Object.getPrototypeOf(File) === Blob"##, "true"),
        (r##"new File(["abc"], "a").slice(1) instanceof File"##, "false"),
        (r##"new File(["abc"], "a").slice(1) instanceof Blob"##, "true"),
        (r##"new File(["abc"], "a").slice(1).size"##, "2"),
        (r##"Math.abs(new File([], "x").lastModified - Date.now()) < 1000"##, "true"),
        (r##"new File([])"##, "threw TypeError"),
        (r##"new File()"##, "threw TypeError"),
        (r##"new File(undefined, "x")"##, "[object Object]"),
        (r##"new File([], "x", { lastModified: "12.7" }).lastModified"##, "12.7"),
        (r##"new File([], "x", { lastModified: -5.5 }).lastModified"##, "-5.5"),
        (r##"new File([], 12).name"##, "12"),
        (r##"new File([new File(["ab"], "i")], "o").size"##, "2"),
        (r##"Object.getOwnPropertyDescriptor(Blob.prototype, "size").get.call(new File(["abc"], "f"))"##, "3"),
        (r##"(() => { class MyBlob extends Blob {} return new MyBlob(["abc"]).size; })()"##, "3"),
    ]);
}

#[test]
fn blob_reading_and_bodies() {
    check(&[
        (r##"await new Blob(["héllo ", new Uint8Array([119, 111]), new Blob(["rld"])]).text()"##, "héllo world"),
        (r##"new Uint8Array(await new Blob(["ab", new Uint8Array([0, 255])]).arrayBuffer()).join()"##, "97,98,0,255"),
        (r##"(await new Blob(["ab"]).arrayBuffer()) instanceof ArrayBuffer"##, "true"),
        (r##"(await new Blob(["abc"]).bytes()).join()"##, "97,98,99"),
        (r##"(await new Blob(["abc"]).bytes()) instanceof Uint8Array"##, "true"),
        (r##"await new Blob(["0123456789"]).slice(-4, -1).text()"##, "678"),
        (r##"await new File(["abc"], "f").slice(1).text()"##, "bc"),
        (r##"await new File(["abc"], "f").text()"##, "abc"),
        // Node: "\"a\\nb\\nc\\rd\"" (keeps a lone CR); workerd: "threw Error" (no `endings`).
        // The File API converts CRLF, CR and LF alike.
        (r##"JSON.stringify(await new Blob(["a\r\nb\nc\rd"], { endings: "native" }).text())"##, "\"a\\nb\\nc\\nd\""),
        // workerd: "threw Error" (it implements no `endings`).
        (
            r##"JSON.stringify(await new Blob(["a\r\nb\nc\rd"], { endings: "transparent" }).text())"##,
            "\"a\\r\\nb\\nc\\rd\"",
        ),
        (r##"JSON.stringify(await new Blob(["a\r\nb"]).text())"##, "\"a\\r\\nb\""),
        // Node: "1" (strips the BOM, as the spec's UTF-8 decode does); workerd keeps it.
        (r##"(await new Blob([new Uint8Array([0xef, 0xbb, 0xbf, 0x61])]).text()).length"##, "2"),
        (r##"await new Blob([new Uint8Array([0x61, 0xff, 0x62])]).text()"##, "a�b"),
        (
            r##"await (async () => { const r = new Blob(["stream me"]).stream().getReader(); const chunks = []; for (;;) { const { value, done } = await r.read(); if (done) break; chunks.push(value.constructor.name + ":" + value.length); } return chunks.join(); })()"##,
            "Uint8Array:9",
        ),
        (
            r##"await (async () => { const r = new Blob([]).stream().getReader(); const x = await r.read(); return x.done; })()"##,
            "true",
        ),
        (r##"await new Response(new Blob(["abc"]).stream()).text()"##, "abc"),
        (r##"new Response(new Blob(["x"], { type: "A/B" })).headers.get("content-type")"##, "a/b"),
        (r##"new Response(new Blob(["x"])).headers.get("content-type")"##, "null"),
        (
            r##"new Response(new Blob(["x"], { type: "a/b" }), { headers: { "content-type": "c/d" } }).headers.get("content-type")"##,
            "c/d",
        ),
        (r##"await new Response(new File(["file body"], "f.txt")).text()"##, "file body"),
        (
            r##"new Request("https://x/", { method: "POST", body: new Blob(["q"], { type: "text/x" }) }).headers.get("content-type")"##,
            "text/x",
        ),
        (r##"await new Request("https://x/", { method: "POST", body: new Blob(["q"]) }).text()"##, "q"),
        // Node: "text/html;charset=utf-8,1,Blob,true"; workerd gives the value below.
        (
            r##"await (async () => { const b = await new Response("x", { headers: { "content-type": "Text/HTML; Charset=\"UTF-8\"" } }).blob(); return [b.type, b.size, b.constructor.name, b instanceof Blob].join(); })()"##,
            "text/html;charset=UTF-8,1,Blob,true",
        ),
        // Node: "text/plain;charset=utf-8"; workerd gives the value below.
        (r##"(await new Response("x").blob()).type"##, "text/plain;charset=UTF-8"),
        (
            r##"JSON.stringify((await new Response("x", { headers: { "content-type": "bogus" } }).blob()).type)"##,
            "\"\"",
        ),
        (r##"JSON.stringify((await new Response(new Uint8Array([1])).blob()).type)"##, "\"\""),
        (
            r##"(await new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([104, 105])); c.close(); } }), { headers: { "content-type": "a/b" } }).blob()).type"##,
            "a/b",
        ),
        (
            r##"await (await new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([104, 105])); c.close(); } })).blob()).text()"##,
            "hi",
        ),
        (
            r##"(await new Request("https://x/", { method: "POST", body: "x", headers: { "content-type": "text/plain;charset=gbk, text/plain" } }).blob()).type"##,
            "text/plain;charset=gbk",
        ),
        (
            r##"await (async () => { const r = new Response("x"); await r.blob(); try { await r.blob(); return "no"; } catch (e) { return e.name; } })()"##,
            "TypeError",
        ),
    ]);
}
