// Request and Response: constructors, init fields, body mixin, clone, static helpers.
// Where Node 20 differs, the expected output follows workerd: TRACE is a valid method but a
// non-standard one in mixed case is not, text() keeps a UTF-8 BOM, and there is no
// Symbol.toStringTag.
export default {
  async fetch() {
    const out = [];
    const show = async (label, f) => { try { out.push(`${label}: ${await f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    await show("request", () => {
      const r = new Request("https://example.com/a?b", { method: "post", headers: { "x-a": "1" }, body: "hi", redirect: "manual" });
      return [r.method, r.url, r.headers.get("x-a"), r.headers.get("content-type"), r.redirect, r.bodyUsed].join("|");
    });
    await show("request text", () => new Request("http://x/", { method: "PUT", body: "payload" }).text());
    await show("request json", async () => JSON.stringify(await new Request("http://x/", { method: "POST", body: '{"a":[1]}' }).json()));
    await show("get with body", () => new Request("http://x/", { body: "no" }));
    await show("forbidden method", () => new Request("http://x/", { method: "TRACE" }));
    await show("invalid method", () => new Request("http://x/", { method: "a b" }));
    await show("custom method kept", () => new Request("http://x/", { method: "Patch" }).method);
    await show("relative url", () => new Request("/relative"));
    await show("copy request", async () => { const a = new Request("http://x/", { method: "POST", body: "b" }); const b = new Request(a); return [b.method, await b.text(), a.bodyUsed].join("|"); });
    await show("response", () => { const r = new Response("body", { status: 201, statusText: "Made", headers: [["x", "y"]] }); return [r.status, r.statusText, r.ok, r.headers.get("x"), r.type, r.redirected, r.url].join("|"); });
    await show("default response", () => { const r = new Response(); return [r.status, r.statusText, r.ok, r.body].join("|"); });
    await show("status range", () => new Response("x", { status: 600 }));
    await show("null body status", () => new Response("x", { status: 204 }));
    await show("null body status ok", () => new Response(null, { status: 204 }).status);
    await show("json", async () => { const r = Response.json({ a: 1 }, { status: 202 }); return [r.status, r.headers.get("content-type"), await r.text()].join("|"); });
    await show("redirect", () => { const r = Response.redirect("http://x/y", 307); return [r.status, r.headers.get("location")].join("|"); });
    await show("bad redirect", () => Response.redirect("http://x/", 200));
    await show("error", () => { const r = Response.error(); return [r.type, r.status].join("|"); });
    await show("arrayBuffer", async () => new Uint8Array(await new Response("ab").arrayBuffer()).join());
    await show("bytes", async () => (await new Response(new Uint8Array([1, 2, 3])).bytes()).join());
    await show("typed body content-type", () => new Response(new Uint8Array([1])).headers.get("content-type"));
    await show("params body", async () => { const r = new Response(new URLSearchParams("a=1&b=2")); return [r.headers.get("content-type"), await r.text()].join("|"); });
    await show("used twice", async () => { const r = new Response("x"); await r.text(); return r.text(); });
    await show("bodyUsed", async () => { const r = new Response("x"); await r.text(); return r.bodyUsed; });
    await show("bad json", async () => new Response("{").json());
    await show("clone", async () => { const r = new Response("twice"); const c = r.clone(); return (await r.text()) + "/" + (await c.text()); });
    await show("clone used", async () => { const r = new Response("x"); await r.text(); return r.clone(); });
    await show("stream body", async () => new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("s1")); c.enqueue(new TextEncoder().encode("s2")); c.close(); } })).text());
    await show("body is stream", () => new Response("x").body instanceof ReadableStream);
    await show("utf8 bom stripped", async () => new Response(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])).text());
    await show("tags", () => [Object.prototype.toString.call(new Request("http://x/")), Object.prototype.toString.call(new Response())].join());
    return new Response(out.join("\n") + "\n");
  },
};
