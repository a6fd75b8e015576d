export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/throw") throw new TypeError("thrown on purpose");
    if (path === "/reject") return Promise.reject(new RangeError("rejected on purpose"));
    if (path === "/not-a-response") return "just a string";
    if (path === "/undefined") return undefined;
    if (path === "/callee-throws") return env.THROWS.fetch("http://throws/");
    if (path === "/no-fetch") return env.NO_FETCH.fetch("http://nofetch/");
    if (path === "/catch-callee") {
      try { await env.THROWS.fetch("http://throws/"); return new Response("no error"); }
      catch (e) { return new Response(`caught ${e.name}: ${e.message}`); }
    }
    if (path === "/headers") {
      const h = new Headers([["b", "2"], ["a", "1"], ["A", "3"], ["set-cookie", "x=1"], ["set-cookie", "y=2"]]);
      return Response.json({ entries: [...h], cookies: h.getSetCookie(), get: h.get("a") });
    }
    if (path === "/echo-method") return new Response(`${request.method} ${request.headers.get("content-type")} ${await request.text()}`);
    if (path === "/status") return new Response(null, { status: 204 });
    if (path === "/json-error") {
      try { await new Response("{oops").json(); } catch (e) { return new Response(e.name); }
    }
    if (path === "/url") return new Response(request.url);
    return new Response("ok");
  },
};
