// Outbound behaviour, compared between nanod and workerd by scripts/differential/run.py: the
// Worker fetches its own socket (through an `internet` that allows loopback, or an `external`
// service the script points at the same socket with --external-addr), so every request stays
// on 127.0.0.1.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const self = url.origin;
    const show = async (r) => `${r.status} ${r.redirected} ${r.url} ${r.headers.get("location")} ${await r.text()}`;
    const caught = (e) => `${e.name}: ${e.message}`;
    switch (url.pathname) {
      case "/land":
        return new Response(`landed ${request.method} ${request.headers.get("content-type")} [${await request.text()}]`);
      case "/r301": return Response.redirect(self + "/land", 301);
      case "/r302": return Response.redirect(self + "/land", 302);
      case "/r303": return new Response(null, { status: 303, headers: { location: "/land" } });
      case "/r307": return new Response(null, { status: 307, headers: { location: "/land" } });
      case "/r308": return new Response(null, { status: 308, headers: { location: "land" } });
      case "/twice": return Response.redirect(self + "/r302", 302);
      case "/loop": return Response.redirect(self + "/loop", 302);
      case "/no-location": return new Response("no location", { status: 302 });
      case "/bad-location": return new Response(null, { status: 302, headers: { location: "http://" } });
      case "/slow":
        await new Promise((resolve) => setTimeout(resolve, 1500));
        return new Response("slow");
      case "/follow": return new Response(await show(await fetch(self + "/twice")));
      case "/manual": return new Response(await show(await fetch(self + "/r302", { redirect: "manual" })));
      case "/error":
        try { await fetch(self + "/r302", { redirect: "error" }); return new Response("no error"); }
        catch (e) { return new Response(caught(e)); }
      case "/no-location-fetch": return new Response(await show(await fetch(self + "/no-location")));
      case "/bad-location-fetch":
        try { return new Response(await show(await fetch(self + "/bad-location"))); }
        catch (e) { return new Response(caught(e)); }
      case "/loop-fetch":
        try { await fetch(self + "/loop"); return new Response("no error"); }
        catch (e) { return new Response(`${e.name}: ${e.message.split(" ")[0]} ${e.message.split(" ")[1]}`); }
      case "/post": {
        const to = url.searchParams.get("to");
        const init = { method: "POST", body: "data", headers: { "content-type": "text/x" } };
        return new Response(await show(await fetch(self + to, init)));
      }
      case "/stream-post": {
        const body = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("streamed")); c.close(); } });
        try { return new Response(await show(await fetch(self + "/r307", { method: "POST", body }))); }
        catch (e) { return new Response(caught(e)); }
      }
      case "/abort":
        try { await fetch(self + "/slow", { signal: AbortSignal.timeout(50) }); return new Response("no abort"); }
        catch (e) { return new Response(`${e.name}`); }
      case "/external": return new Response(await show(await env.SELF.fetch("http://backend.example/land", { method: "PUT", body: "x" })));
      case "/external-redirect": return new Response(await show(await env.SELF.fetch("http://backend.example/r302")));
      case "/passthrough": return fetch(self + "/land", request);
      default: return new Response("not found", { status: 404 });
    }
  },
};
