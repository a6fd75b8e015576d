// URLPattern. Node 20 has no URLPattern: the expected output is workerd's. (workerd also lacks
// the newer hasRegExpGroups getter, which nanod has; it is not checked here.)
export default {
  async fetch() {
    const out = [];
    const show = (label, f) => { try { out.push(`${label}: ${f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    const p = new URLPattern({ pathname: "/books/:id" });
    show("test", () => [p.test("https://example.com/books/123"), p.test("https://example.com/authors/1")].join());
    show("exec groups", () => JSON.stringify(p.exec("https://example.com/books/123").pathname));
    show("components", () => [p.protocol, p.hostname, p.pathname, p.search].join("|"));
    const full = new URLPattern("https://*.example.com/:section/*?q=:query");
    show("string pattern", () => JSON.stringify(full.exec("https://api.example.com/docs/a/b?q=x")?.pathname.groups));
    show("hostname wildcard", () => JSON.stringify(full.exec("https://api.example.com/docs/a?q=x")?.hostname));
    show("no match", () => full.exec("http://api.example.com/docs/a?q=x"));
    show("base url", () => new URLPattern("/users/:name", "https://h.example").test("https://h.example/users/ada"));
    show("init input", () => new URLPattern({ pathname: "/a/:b" }).test({ pathname: "/a/c" }));
    show("relative without base", () => new URLPattern("/x"));
    show("regexp group", () => { const r = new URLPattern({ pathname: "/n/:id(\\d+)" }); return [r.test({ pathname: "/n/42" }), r.test({ pathname: "/n/x" })].join(); });
    show("ignoreCase", () => new URLPattern({ pathname: "/ABC" }, { ignoreCase: true }).test({ pathname: "/abc" }));
    show("optional", () => { const r = new URLPattern({ pathname: "/p{/:opt}?" }); return [r.test({ pathname: "/p" }), r.test({ pathname: "/p/x" })].join(); });
    show("invalid", () => new URLPattern({ pathname: "/(" }));
    show("inputs", () => JSON.stringify(p.exec("https://example.com/books/9").inputs));
    return new Response(out.join("\n") + "\n");
  },
};
