// The public Worker: answers `/`, and for `/data/<key>` checks the caller with the `auth`
// Worker, then forwards to the `storage` Worker. Both calls are service bindings: same
// thread, no network.
import banner from "./banner.txt";
import { route } from "./routes.js";

export default {
  async fetch(request, env) {
    const { name, key } = route(new URL(request.url));
    if (name === "home") {
      return new Response(`${banner}bindings: ${Object.keys(env).join(", ")}\n`);
    }
    if (name === "data") {
      const verdict = await env.AUTH.fetch("http://auth/check", {
        headers: { authorization: request.headers.get("authorization") ?? "" },
      });
      if (verdict.status !== 200) {
        return new Response("unauthorized\n", { status: 401, headers: { "www-authenticate": "Bearer" } });
      }
      const user = await verdict.text();
      // The request body streams through to storage untouched.
      const upstream = await env.STORAGE.fetch(`http://storage/${encodeURIComponent(key)}`, {
        method: request.method,
        body: request.method === "PUT" ? request.body : undefined,
        headers: { "x-user": user },
      });
      return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
    }
    if (name === "site") return Response.json(env.SITE);
    return new Response("not found\n", { status: 404 });
  },
};
