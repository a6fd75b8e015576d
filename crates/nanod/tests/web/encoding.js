// TextEncoder / TextDecoder.
export default {
  async fetch() {
    const out = [];
    const show = (label, f) => { try { out.push(`${label}: ${f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    show("encode", () => new TextEncoder().encode("a€𝌆").join());
    show("lone surrogate", () => new TextEncoder().encode("\uD800x").join());
    show("encodeInto", () => { const buf = new Uint8Array(4); const r = new TextEncoder().encodeInto("a€b", buf); return `${r.read}/${r.written} ${buf.join()}`; });
    show("decode", () => new TextDecoder().decode(new Uint8Array([0xe2, 0x82, 0xac, 0x41])));
    show("replacement", () => new TextDecoder().decode(new Uint8Array([0xff, 0x41])));
    show("fatal", () => new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xff])));
    show("bom", () => JSON.stringify(new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))));
    show("ignoreBOM", () => JSON.stringify(new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))));
    show("streaming", () => { const d = new TextDecoder(); return d.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + "|" + d.decode(new Uint8Array([0xac])); });
    show("utf-16le", () => new TextDecoder("utf-16le").decode(new Uint8Array([0x41, 0x00, 0x3d, 0xd8, 0x00, 0xde])));
    show("label", () => [new TextDecoder("latin1").encoding, new TextDecoder(" UTF8 ").encoding].join());
    show("bad label", () => new TextDecoder("nope"));
    show("views", () => new TextDecoder().decode(new DataView(new TextEncoder().encode("xyz").buffer, 1, 1)));
    show("atob", () => atob(" aGVs bG8= "));
    show("btoa", () => btoa("héllo"));
    show("atob bad", () => atob("a"));
    show("btoa bad", () => btoa("€"));
    return new Response(out.join("\n") + "\n");
  },
};
