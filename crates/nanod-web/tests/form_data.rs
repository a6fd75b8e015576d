//! `FormData` and `multipart/form-data` through the real JS API, against Node 20 and workerd,
//! plus the Rust-level parser on bodies exactly as curl sends them.
//!
//! JS cases: each is an expression (it may `await`); the expected text is what Node 20 prints
//! for `String(await expression)` (errors as `threw <name>`). Where Node and workerd differ, a
//! comment gives both, and the expected value is workerd's unless the comment says why not.

use bytes::Bytes;
use nanod_web::form_data::{parse_multipart, MultipartError, Part};
use nanod_web::testing::check_async_expressions as check;
use nanod_web::testing::run_js_with;

#[test]
fn form_data_api_and_bodies() {
    check(&[
        // workerd: "true,b,text/x,…" (names the File after the entry); the XHR spec and Node say "blob".
        (r##"(() => { const fd = new FormData(); fd.append("a", "1"); fd.append("b", new Blob(["xyz"], { type: "text/x" })); fd.append("a", "2"); const b = fd.get("b"); return [b instanceof File, b.name, b.type, b.size, fd.get("b") === fd.get("b"), fd.get("a"), fd.getAll("a").join("+"), fd.has("a"), fd.has("zz"), fd.get("zz")].join(); })()"##, "true,blob,text/x,3,true,1,1+2,true,false,"),
        // workerd: "renamed.bin,t/t,<now>,1" (a renamed File is modified now); Node keeps lastModified.
        (r##"(() => { const fd = new FormData(); fd.append("c", new File(["q"], "orig.txt", { type: "t/t", lastModified: 7 }), "renamed.bin"); const c = fd.get("c"); return [c.name, c.type, c.lastModified, c.size].join(); })()"##, "renamed.bin,t/t,7,1"),
        (r##"(() => { const fd = new FormData(); fd.append("d", new Blob(["z"]), "named"); return fd.get("d").name; })()"##, "named"),
        (r##"(() => { const fd = new FormData(); const f = new File(["abc"], "orig"); fd.append("f", f); return fd.get("f") === f; })()"##, "true"),
        (r##"(() => { const fd = new FormData(); fd.append("a", "1"); fd.append("b", "2"); fd.append("a", "3"); fd.append("c", "4"); fd.set("a", "x"); return JSON.stringify([...fd]); })()"##, "[[\"a\",\"x\"],[\"b\",\"2\"],[\"c\",\"4\"]]"),
        (r##"(() => { const fd = new FormData(); fd.append("a", "1"); fd.set("z", new Blob([]), "zz"); return [...fd.keys()].join() + "|" + fd.get("z").name; })()"##, "a,z|zz"),
        (r##"(() => { const fd = new FormData(); fd.append("a", "1"); fd.append("b", "2"); fd.append("a", "3"); fd.delete("a"); return JSON.stringify([...fd.entries()]); })()"##, "[[\"b\",\"2\"]]"),
        (r##"(() => { const fd = new FormData(); fd.append("a", "1"); fd.append("b", new Blob([])); return [...fd.values()].map((v) => typeof v).join(); })()"##, "string,object"),
        (r##"(() => { const fd = new FormData(); fd.append("k", "v"); const out = []; fd.forEach(function (v, k, o) { out.push(k, v, o === fd, this.x); }, { x: 9 }); return out.join(); })()"##, "k,v,true,9"),
        // workerd has no Symbol.toStringTag on its classes (Node: "[object FormData]").
        (r##"Object.prototype.toString.call(new FormData())"##, "[object Object]"),
        // The tag comes from %IteratorPrototype% (workerd: "[object EntryIterator]").
        (r##"Object.prototype.toString.call(new FormData().entries())"##, "[object Iterator]"),
        (r##"(() => { const fd = new FormData(); fd.append("a", "1"); fd.append("b", "2"); const it = fd.keys(); const first = it.next().value; fd.delete("a"); return first + JSON.stringify(it.next()); })()"##, "a{\"done\":true}"),
        (r##"(() => { const fd = new FormData(); fd.append("a", "1"); const it = fd[Symbol.iterator](); return it[Symbol.iterator]() === it; })()"##, "true"),
        (r##"(() => { const fd = new FormData(); fd.append("a", 5); fd.append("b", null); fd.append("c", { toString() { return "obj"; } }); return JSON.stringify([...fd]); })()"##, "[[\"a\",\"5\"],[\"b\",\"null\"],[\"c\",\"obj\"]]"),
        // workerd: "[[\"���\",\"x���\"]]" (WTF-8 bytes); USVString conversion gives U+FFFD.
        (r##"(() => { const fd = new FormData(); fd.append("\ud800", "x\udc00"); return JSON.stringify([...fd]); })()"##, "[[\"�\",\"x�\"]]"),
        (r##"new FormData().append("x")"##, "threw TypeError"),
        (r##"new FormData().get()"##, "threw TypeError"),
        (r##"(() => { const fd = new FormData(); fd.append("n\r\nl", "v\nw"); return JSON.stringify(fd.get("n\r\nl")); })()"##, "\"v\\nw\""),
        // workerd escapes only `"` and LF (a raw CR in a header breaks its own parser) and
        // normalizes no line breaks; this follows HTML's encoding algorithm, as Node does.
        (r##"await (async () => { const fd = new FormData(); fd.append("na\"me\r\n", "val\nue\rx"); fd.append("file", new Blob(["hi"]), "f\"n\r\n.txt"); fd.append("t", new File(["x"], "typed", { type: "image/png" })); const r = new Response(fd); const ct = r.headers.get("content-type"); const boundary = ct.split("boundary=")[1]; return JSON.stringify(ct.replace(boundary, "B") + "\n" + (await r.text()).split(boundary).join("B")); })()"##, "\"multipart/form-data; boundary=B\\n--B\\r\\nContent-Disposition: form-data; name=\\\"na%22me%0D%0A\\\"\\r\\n\\r\\nval\\r\\nue\\r\\nx\\r\\n--B\\r\\nContent-Disposition: form-data; name=\\\"file\\\"; filename=\\\"f%22n%0D%0A.txt\\\"\\r\\nContent-Type: application/octet-stream\\r\\n\\r\\nhi\\r\\n--B\\r\\nContent-Disposition: form-data; name=\\\"t\\\"; filename=\\\"typed\\\"\\r\\nContent-Type: image/png\\r\\n\\r\\nx\\r\\n--B--\\r\\n\""),
        (r##"await (async () => { const fd = new FormData(); fd.append("a", "1"); fd.append("f", new File(["data"], "x.bin", { type: "application/x-thing" })); fd.append("e", new File([], "empty.txt")); const back = await new Response(fd).formData(); return [...back].map(([k, v]) => k + ":" + (typeof v === "string" ? v : [v.constructor.name, v.name, v.type, v.size].join("/"))).join("|"); })()"##, "a:1|f:File/x.bin/application/x-thing/4|e:File/empty.txt/application/octet-stream/0"),
        (r##"await (async () => { const fd = new FormData(); fd.append("a", "1"); const back = await new Request("https://x/", { method: "POST", body: fd }).formData(); return back.get("a"); })()"##, "1"),
        // Node: "multipart/form-data; boundary=----formdata-undici-025235382527"; workerd gives the value below.
        (r##"/^multipart\/form-data; boundary=[0-9a-f]{32}$/.test(new Response(new FormData()).headers.get("content-type")) ? "ok" : new Response(new FormData()).headers.get("content-type")"##, "ok"),
        (r##"await (async () => JSON.stringify([...await new Response("a=1&b=%20x+y&a=&c&=d&&e=%C3%A9", { headers: { "content-type": "application/x-www-form-urlencoded" } }).formData()]))()"##, "[[\"a\",\"1\"],[\"b\",\" x y\"],[\"a\",\"\"],[\"c\",\"\"],[\"\",\"d\"],[\"e\",\"é\"]]"),
        (r##"await (async () => JSON.stringify([...await new Response(new URLSearchParams("q=1&r=2")).formData()]))()"##, "[[\"q\",\"1\"],[\"r\",\"2\"]]"),
        // Node: "[[\"a\",\"1\"]]"; workerd gives the value below.
        (r##"await (async () => JSON.stringify([...await new Response("a=1", { headers: { "content-type": "application/x-www-form-urlencoded; charset=latin1" } }).formData()]))()"##, "threw TypeError"),
        (r##"await new Response("x", { headers: { "content-type": "text/plain" } }).formData()"##, "threw TypeError"),
        (r##"await new Response("x").formData()"##, "threw TypeError"),
        (r##"await new Response(new Uint8Array([1])).formData()"##, "threw TypeError"),
        (r##"await new Response("x", { headers: { "content-type": "multipart/form-data" } }).formData()"##, "threw TypeError"),
        (r##"await (async () => JSON.stringify([...await new Response("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--B--", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()]))()"##, "[[\"a\",\"v\"]]"),
        (r##"await (async () => JSON.stringify([...await new Response("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()]))()"##, "threw TypeError"),
        // Node: "threw TypeError"; workerd gives the value below.
        (r##"await (async () => JSON.stringify([...await new Response("preamble\r\n--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--B--\r\nepilogue", { headers: { "content-type": "multipart/form-data; boundary=\"B\"" } }).formData()]))()"##, "[[\"a\",\"v\"]]"),
        // Node: "File,x.txt,\"text/plain\",1"; workerd gives the value below.
        (r##"await (async () => { const f = await new Response("--B\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x.txt\"\r\n\r\nv\r\n--B--", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData(); const v = f.get("a"); return [v.constructor.name, v.name, JSON.stringify(v.type), v.size].join(); })()"##, "File,x.txt,\"\",1"),
        // Node: "threw TypeError"; workerd gives the value below.
        (r##"await (async () => JSON.stringify([...await new Response("--B\nContent-Disposition: form-data; name=\"a\"\n\nv\n--B--", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()]))()"##, "[[\"a\",\"v\"]]"),
        (r##"await new Response("--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()"##, "threw TypeError"),
        // Node: "[[\"a\\\"b\",\"v\"]]"; workerd gives the value below.
        (r##"await (async () => JSON.stringify([...await new Response("--B\r\nContent-Disposition: form-data; name=\"a%22b\"\r\n\r\nv\r\n--B--", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()]))()"##, "[[\"a%22b\",\"v\"]]"),
        (r##"await (async () => JSON.stringify([...await new Response("--B--", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()]))()"##, "[]"),
        (r##"await new Response("", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()"##, "threw TypeError"),
        (r##"await new Response("--Bx\r\n", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()"##, "threw TypeError"),
        (r##"await new Response("--B\r\nContent-Type: text/plain\r\n\r\nv\r\n--B--", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()"##, "threw TypeError"),
        (r##"await (async () => JSON.stringify([...await new Response("--B\r\ncontent-disposition: form-data; name=\"a\"\r\nX-Other: y\r\n\r\nline1\r\nline2\r\n\r\n--B\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n\r\n--B--", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()]))()"##, "[[\"a\",\"line1\\r\\nline2\\r\\n\"],[\"b\",\"\"]]"),
        (r##"await (async () => { const f = (await new Response(new Uint8Array([45,45,66,13,10,...new TextEncoder().encode("Content-Disposition: form-data; name=\"f\"; filename=\"b.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"), 0, 13, 10, 255, 13, 13, 10, 45, 45, 66, 45, 45]), { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData()).get("f"); return [...new Uint8Array(await f.arrayBuffer())].join(); })()"##, "0,13,10,255,13"),
        (r##"await (async () => { const r = new Response("a=1", { headers: { "content-type": "application/x-www-form-urlencoded" } }); await r.formData(); try { await r.formData(); return "no"; } catch (e) { return e.name; } })()"##, "TypeError"),
    ]);
}

/// A body exactly as `curl -F x=hello -F f=@a.txt` sends it (checked against a capture from
/// curl 7.88.1): a boundary of 24 dashes and 16 hex digits, CRLF lines, a text part, a file
/// part with `Content-Type: text/plain` whose data has bare LFs, and a CRLF after the closing
/// delimiter.
const CURL_BOUNDARY: &str = "------------------------d74496d66958873e";

fn curl_body() -> Bytes {
    let b = CURL_BOUNDARY;
    Bytes::from(format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nhello\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n\
         line one\nline two\n\r\n--{b}--\r\n"
    ))
}

fn part(name: &str, filename: Option<&str>, content_type: Option<&str>, body: &str) -> Part {
    Part {
        name: name.into(),
        filename: filename.map(Into::into),
        content_type: content_type.map(Into::into),
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

#[test]
fn curl_upload_parses() {
    let parts = parse_multipart(&curl_body(), CURL_BOUNDARY);
    assert_eq!(
        parts,
        Ok(vec![part("x", None, None, "hello"), part("f", Some("a.txt"), Some("text/plain"), "line one\nline two\n"),])
    );
}

#[test]
fn curl_upload_through_request_form_data() {
    let body = String::from_utf8(curl_body().to_vec()).unwrap_or_default();
    let out = run_js_with(
        r#"(async () => {
             const req = new Request("https://x/upload", { method: "POST", body,
               headers: { "content-type": "multipart/form-data; boundary=" + boundary } });
             const fd = await req.formData();
             const f = fd.get("f");
             globalThis.result = JSON.stringify([fd.get("x"), f instanceof File, f.name, f.type, f.size, await f.text()]);
           })().catch((e) => globalThis.result = "threw " + e);"#,
        &[("body", body), ("boundary", CURL_BOUNDARY.to_owned())],
    );
    assert_eq!(out, r#"["hello",true,"a.txt","text/plain",18,"line one\nline two\n"]"#);
}

#[test]
fn multipart_edge_cases() {
    let parse = |body: &str, boundary: &str| parse_multipart(&Bytes::copy_from_slice(body.as_bytes()), boundary);
    let disposition = "Content-Disposition: form-data; name=\"a\"";
    // A preamble before the first boundary and an epilogue after the last are ignored.
    assert_eq!(
        parse(&format!("preamble\r\n--B\r\n{disposition}\r\n\r\nv\r\n--B--\r\nepilogue"), "B"),
        Ok(vec![part("a", None, None, "v")])
    );
    // LF-only line breaks (as workerd accepts them); CR and LF inside a value are kept.
    assert_eq!(parse(&format!("--B\n{disposition}\n\nv\n--B--"), "B"), Ok(vec![part("a", None, None, "v")]));
    assert_eq!(
        parse(&format!("--B\r\n{disposition}\r\n\r\n\r\nx\r\n\r\n--B--"), "B"),
        Ok(vec![part("a", None, None, "\r\nx\r\n")])
    );
    // Transport padding after a boundary, an empty value, header names in any case.
    assert_eq!(
        parse("--B \t\r\ncontent-DISPOSITION: form-data; name=\"e\"\r\n\r\n\r\n--B--", "B"),
        Ok(vec![part("e", None, None, "")])
    );
    // A boundary that looks like a prefix of the delimiter inside the data.
    assert_eq!(
        parse(&format!("--BB\r\n{disposition}\r\n\r\nx\r\n--B\r\n--BB--"), "BB"),
        Ok(vec![part("a", None, None, "x\r\n--B")])
    );
    assert_eq!(parse("--B--", "B"), Ok(vec![]));
    assert_eq!(parse("", "B"), Err(MultipartError::NoInitialBoundary));
    assert_eq!(parse("no boundary here", "B"), Err(MultipartError::NoInitialBoundary));
    // A missing final boundary.
    assert_eq!(parse(&format!("--B\r\n{disposition}\r\n\r\nv\r\n"), "B"), Err(MultipartError::NoSubsequentBoundary));
    assert_eq!(parse(&format!("--B\r\n{disposition}"), "B"), Err(MultipartError::NoHeaderEnd));
    assert_eq!(parse("--Bx\r\n", "B"), Err(MultipartError::BadBoundaryEnd));
    assert_eq!(parse("--B\r\nbad header\r\n\r\nv\r\n--B--", "B"), Err(MultipartError::InvalidHeaders));
    assert_eq!(parse("--B\r\nX: y\r\n\r\nv\r\n--B--", "B"), Err(MultipartError::NoContentDisposition));
    assert_eq!(parse("--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--", "B"), Err(MultipartError::MissingName));
}

/// The quoted boundary parameter and the missing-final-boundary error, through `formData()`.
#[test]
fn quoted_boundary_and_errors_through_js() {
    check(&[
        (
            r##"(await new Response("--a b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--a b--", { headers: { "content-type": "multipart/form-data; boundary=\"a b\"" } }).formData()).get("k")"##,
            "v",
        ),
        (
            r##"await new Response("--B\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv", { headers: { "content-type": "multipart/form-data; boundary=B" } }).formData().catch((e) => e.message)"##,
            "No subsequent boundary string after multipart message.",
        ),
    ]);
}
