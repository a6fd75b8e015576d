// Blob, File, FormData, and bodies made of them.
// Where Node 20 differs, the expected output follows workerd: blob().type keeps the parameter
// value's case (charset=UTF-8).
export default {
  async fetch() {
    const out = [];
    const show = async (label, f) => { try { out.push(`${label}: ${await f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    const blob = new Blob(["héllo ", new Uint8Array([119, 111]), new Blob(["rld"])], { type: "Text/Plain" });
    await show("blob", () => [blob.size, blob.type].join());
    await show("blob text", () => blob.text());
    await show("slice", () => blob.slice(-3).text());
    await show("slice type", () => blob.slice(0, 1, "a/b").type);
    await show("arrayBuffer", async () => new Uint8Array(await blob.slice(0, 2).arrayBuffer()).join());
    await show("stream", async () => { const parts = []; for await (const c of blob.stream()) parts.push(c.length); return parts.reduce((a, b) => a + b, 0); });
    await show("file", () => { const f = new File(["abc"], "a.txt", { type: "text/plain", lastModified: 42 }); return [f.name, f.size, f.type, f.lastModified, f instanceof Blob].join(); });
    const fd = new FormData();
    fd.append("a", "1");
    fd.append("a", "2");
    fd.append("f", new Blob(["data"], { type: "text/plain" }), "f.txt");
    fd.set("b", "3");
    await show("formdata", () => [fd.get("a"), fd.getAll("a").join("/"), fd.has("f"), fd.get("f").name, [...fd.keys()].join()].join("|"));
    await show("multipart round trip", async () => {
      const r = new Response(fd);
      const type = r.headers.get("content-type");
      const back = await r.formData();
      return [type.startsWith("multipart/form-data; boundary="), back.getAll("a").join("/"), await back.get("f").text(), back.get("f").type].join("|");
    });
    await show("urlencoded", async () => { const r = new Response("x=1&y=%20z", { headers: { "content-type": "application/x-www-form-urlencoded" } }); const f = await r.formData(); return [f.get("x"), f.get("y")].join("|"); });
    await show("formData wrong type", () => new Response("x").formData());
    await show("blob body", async () => { const r = new Response(new Blob(["zz"], { type: "x/y" })); return [r.headers.get("content-type"), await r.text()].join("|"); });
    await show("response.blob", async () => { const b = await new Response("abc", { headers: { "content-type": "Text/HTML; Charset=UTF-8" } }).blob(); return [b.size, b.type].join("|"); });
    return new Response(out.join("\n") + "\n");
  },
};
