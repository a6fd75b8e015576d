// Headers: case-insensitivity, combining, set-cookie, sorting, trimming, validation, guards.
// Where Node 20 differs, the expected output follows workerd: header values above U+00FF are
// accepted (stored as UTF-8), an incoming request's headers are immutable, and there is no
// Symbol.toStringTag.
export default {
  async fetch(request) {
    const out = [];
    const show = (label, f) => { try { out.push(`${label}: ${f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    const h = new Headers({ "Content-Type": "text/plain", "X-B": "2" });
    h.append("x-a", "  one\t");
    h.append("X-A", "two");
    h.append("Set-Cookie", "a=1");
    h.append("set-cookie", "b=2");
    show("get", () => h.get("x-a"));
    show("has", () => [h.has("CONTENT-TYPE"), h.has("nope")].join());
    show("get missing", () => JSON.stringify(h.get("nope")));
    show("entries", () => JSON.stringify([...h]));
    show("getSetCookie", () => JSON.stringify(h.getSetCookie()));
    show("keys", () => [...h.keys()].join());
    h.set("x-a", "three");
    h.delete("x-b");
    show("after set/delete", () => JSON.stringify([...h.entries()]));
    const seen = [];
    h.forEach((v, k) => seen.push(`${k}=${v}`));
    show("forEach", () => seen.join(";"));
    show("bad name", () => new Headers({ "a b": "c" }));
    show("bad value", () => new Headers({ a: "b\nc" }));
    show("non-latin1", () => new Headers({ a: "€" }));
    show("from pairs", () => JSON.stringify([...new Headers([["b", "1"], ["a", "2"]])]));
    show("bad pairs", () => new Headers([["a", "b", "c"]]));
    show("copy", () => new Headers(h).get("content-type"));
    // workerd: an incoming request's headers are immutable (TypeError); Node's test Request is
    // constructed, so they are mutable there. Expected output follows workerd.
    show("request headers immutable", () => { request.headers.set("x", "y"); return "mutated"; });
    show("response headers mutable", () => { const r = new Response("x"); r.headers.set("x", "y"); return r.headers.get("x"); });
    show("tag", () => Object.prototype.toString.call(h));
    return new Response(out.join("\n") + "\n");
  },
};
