// URL and URLSearchParams edge cases.
export default {
  async fetch() {
    const out = [];
    const show = (label, f) => { try { out.push(`${label}: ${f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    const u = new URL("https://user:pa ss@EXAMPLE.com:443/a/./b/../c?x=1&y=a b#frag");
    show("href", () => u.href);
    show("parts", () => [u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash].join("|"));
    show("origin", () => u.origin);
    show("relative", () => new URL("../d?q", "http://h/a/b/c").href);
    show("invalid", () => new URL("http://[::1"));
    show("no base", () => new URL("/path"));
    show("canParse", () => [URL.canParse("x:"), URL.canParse("/a"), URL.canParse("/a", "http://h")].join());
    show("idna", () => new URL("http://Bücher.example/").hostname);
    show("ipv4", () => new URL("http://0x7f.1/").hostname);
    show("setters", () => { const v = new URL("http://h/p"); v.port = "8080"; v.hash = "x"; v.search = "?a=1"; v.pathname = "q r"; return v.href; });
    const p = new URLSearchParams("a=1&b=2+3&a=%20x&c");
    show("params get", () => [p.get("a"), p.getAll("a").join("/"), p.get("b"), p.get("c"), p.get("z")].join("|"));
    p.append("d", "é & =");
    show("params string", () => p.toString());
    p.sort();
    show("sorted", () => [...p.keys()].join(","));
    p.delete("a");
    show("after delete", () => `${p} size=${p.size}`);
    const linked = new URL("http://h/?x=1");
    linked.searchParams.append("y", "2 3");
    show("linked", () => linked.href);
    show("from record", () => new URLSearchParams({ k: "v", n: 1 }).toString());
    show("from pairs", () => new URLSearchParams([["a", "b"], ["c", "d"]]).toString());
    show("bad pairs", () => new URLSearchParams([["a"]]));
    return new Response(out.join("\n") + "\n");
  },
};
