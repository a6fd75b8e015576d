// A reverse proxy: /api/* goes to the backend (an `external` service: whatever the URL's
// host, every request reaches the one configured server), with a request id added and the
// client's cookies kept away from it. Anything else is answered here.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/api/")) {
      return new Response("reverse proxy: try /api/...\n");
    }
    const headers = new Headers(request.headers);
    headers.delete("cookie");
    headers.set("x-request-id", crypto.randomUUID());
    const upstream = new URL(url.pathname.slice("/api".length) + url.search, "http://backend");
    try {
      const response = await env.BACKEND.fetch(upstream, { method: request.method, headers, body: request.body });
      const answer = new Response(response.body, response);
      answer.headers.set("x-proxied-by", "nanod");
      return answer;
    } catch (e) {
      return new Response(`backend unavailable: ${e.message}\n`, { status: 502 });
    }
  },
};
