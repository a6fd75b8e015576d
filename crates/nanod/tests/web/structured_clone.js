// structuredClone.
// Node 20 and workerd agree on everything here.
export default {
  async fetch() {
    const out = [];
    const show = (label, f) => { try { out.push(`${label}: ${f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    show("plain", () => JSON.stringify(structuredClone({ a: [1, { b: "c" }], d: null })));
    show("types", () => { const c = structuredClone({ m: new Map([[1, "x"]]), s: new Set([2]), d: new Date(0), r: /a+/g, n: 10n }); return [c.m.get(1), c.s.has(2), c.d.toISOString(), c.r.source + c.r.flags, typeof c.n].join("|"); });
    show("cycle", () => { const o = { name: "o" }; o.self = o; const c = structuredClone(o); return [c.self === c, c !== o].join(); });
    show("shared", () => { const inner = { x: 1 }; const c = structuredClone([inner, inner]); return c[0] === c[1]; });
    show("typed arrays", () => { const buf = new ArrayBuffer(8); const c = structuredClone({ a: new Uint8Array(buf, 0, 4), b: new Uint16Array(buf, 4, 2) }); return [c.a.buffer === c.b.buffer, c.b.byteOffset].join(); });
    show("error", () => { const c = structuredClone(new RangeError("bad")); return [c instanceof RangeError, c.message].join(); });
    show("function", () => structuredClone({ f() {} }));
    show("symbol", () => structuredClone(Symbol("s")));
    show("transfer", () => { const b = new ArrayBuffer(4); const c = structuredClone(b, { transfer: [b] }); return [b.byteLength, c.byteLength].join(); });
    return new Response(out.join("\n") + "\n");
  },
};
