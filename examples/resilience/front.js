// The public Worker: /api/* goes to the flaky backend through a binding with a timeout and a
// fallback; /quote asks it for a quote by RPC.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/api/")) {
      return env.API.fetch(request);
    }
    if (url.pathname === "/quote") {
      return new Response((await env.QUOTES.quote(url.searchParams.has("fail"))) + "\n");
    }
    return new Response("try /api/ok, /api/fail, /api/slow, /api/spin or /quote?fail\n", { status: 404 });
  },
};
