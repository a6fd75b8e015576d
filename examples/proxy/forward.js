// A forward proxy: the socket speaks the proxy protocol, so `request.url` is the absolute URL
// the client asked for. Hosts on the deny list are refused here; everything else goes out
// through the global fetch(), which the `internet` service allows to public addresses only.
export default {
  async fetch(request, env) {
    const url = URL.canParse(request.url) ? new URL(request.url) : null;
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return new Response("forward proxy: send an absolute http(s) URL (curl -x)\n", { status: 400 });
    }
    if (env.DENY.includes(url.hostname)) {
      return new Response(`forward proxy: ${url.hostname} is blocked\n`, { status: 403 });
    }
    try {
      return await fetch(request);
    } catch (e) {
      return new Response(`forward proxy: ${e.message}\n`, { status: 502 });
    }
  },
};
