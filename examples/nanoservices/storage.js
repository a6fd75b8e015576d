// A key-value store in module state: it lives as long as this Worker's isolate (one per
// thread), like any module-level state in workerd.
const items = new Map();

export default {
  async fetch(request) {
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    switch (request.method) {
      case "GET": {
        if (!items.has(key)) return new Response("no such key\n", { status: 404 });
        return new Response(items.get(key), { headers: { "x-stored-by": items.get(key + ":user") } });
      }
      case "PUT": {
        items.set(key, await request.text());
        items.set(key + ":user", request.headers.get("x-user") ?? "");
        return new Response(null, { status: 204 });
      }
      case "DELETE":
        items.delete(key);
        return new Response(null, { status: 204 });
      default:
        return new Response("method not allowed\n", { status: 405 });
    }
  },
};
