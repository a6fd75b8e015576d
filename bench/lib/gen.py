"""Generates the benchmark configs (workerd capnp text) and their JS under bench/generated/.

Every config is served unchanged by both nanod and workerd; the socket address in the file is
a placeholder that both servers override with `--socket-addr http=127.0.0.1:PORT`.
"""

import os

COMPAT = "2024-09-01"
HEADER = 'using Workerd = import "/workerd/workerd.capnp";\n\n'
SOCKET = '(name = "http", address = "127.0.0.1:8080", http = (), service = "{svc}")'

HELLO_JS = """export default {
  fetch(request, env, ctx) {
    return new Response("Hello World\\n");
  },
};
"""

HOP_JS = """export default {
  fetch(request, env, ctx) {
    return env.NEXT.fetch(request);
  },
};
"""

# A tiny per-Worker module; each Worker gets its own ID text binding so they are distinct.
LEAF_JS = """export default {
  fetch(request, env, ctx) {
    return new Response("worker " + env.ID + "\\n");
  },
};
"""

ROUTER_JS = """export default {
  fetch(request, env, ctx) {
    const m = /^\\/w\\/(\\d+)$/.exec(new URL(request.url).pathname);
    if (m === null) return new Response("router\\n");
    const target = env["W" + m[1]];
    if (target === undefined) return new Response("no such worker\\n", { status: 404 });
    return target.fetch(request);
  },
};
"""


# ~1 KB of JSON in, parsed, transformed, serialized back out.
JSON_JS = """export default {
  async fetch(request, env, ctx) {
    if (request.method !== "POST") return new Response("ready");  // the readiness probe
    const order = await request.json();
    const items = order.items.map((item) => ({ ...item, total: item.price * item.qty }));
    const sum = items.reduce((acc, item) => acc + item.total, 0);
    return Response.json({ id: order.id, customer: order.customer, items, sum, count: items.length });
  },
};
"""

# The request body streams through a TransformStream into the response (never whole in memory).
STREAM_JS = """export default {
  fetch(request, env, ctx) {
    if (request.method !== "POST") return new Response("ready");  // the readiness probe
    const upper = new TransformStream({
      transform(chunk, controller) {
        for (let i = 0; i < chunk.length; i++) if (chunk[i] >= 97 && chunk[i] <= 122) chunk[i] -= 32;
        controller.enqueue(chunk);
      },
    });
    return new Response(request.body.pipeThrough(upper));
  },
};
"""


# Forwards every request to the upstream named by the UPSTREAM text binding, through the global
# fetch() (the `internet` network service, here allowing loopback) or an `external` service
# binding, and answers with what came back (the body streams through).
PROXY_FETCH_JS = """export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM + url.pathname + url.search, request);
  },
};
"""

PROXY_BINDING_JS = """export default {
  fetch(request, env, ctx) {
    return env.BACKEND.fetch(request);
  },
};
"""


def json_body():
    """A ~1 KB order document."""
    import json
    items = [{"sku": f"SKU-{i:04d}", "name": f"item number {i}", "price": 3 + i, "qty": 1 + i % 4} for i in range(14)]
    return json.dumps({"id": 12345, "customer": {"name": "Ada", "email": "ada@example.com"}, "items": items})


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _worker(module, bindings=(), extra=""):
    b = ", ".join(bindings)
    return (
        f'(modules = [(name = "{module}", esModule = embed "{module}")], '
        f'compatibilityDate = "{COMPAT}", bindings = [{b}]{extra})'
    )


def _config(services, entry, extra_services=()):
    lines = [HEADER, "const config :Workerd.Config = (\n  services = [\n"]
    for name, worker in services:
        lines.append(f'    (name = "{name}", worker = {worker}),\n')
    for service in extra_services:
        lines.append(f"    {service},\n")
    lines.append("  ],\n  sockets = [ " + SOCKET.format(svc=entry) + " ],\n);\n")
    return "".join(lines)


def hello(root, no_limits=False):
    """The hello Worker; with `no_limits`, nanod's limits all off (a nanod-only config)."""
    d = os.path.join(root, "hello-no-limits" if no_limits else "hello")
    os.makedirs(d, exist_ok=True)
    _write(os.path.join(d, "hello.js"), HELLO_JS)
    path = os.path.join(d, "config.capnp")
    extra = (", limits = (cpuMs = 0, memoryMb = 0, concurrentRequests = 0, requestBodyBytes = 0, subrequests = 0)"
             if no_limits else "")
    _write(path, _config([("main", _worker("hello.js", extra=extra))], "main"))
    return path


def chain(root, hops):
    """w0 -> w1 -> ... -> w<hops>; w<hops> answers with the hello Response (so hops=0 is hello)."""
    d = os.path.join(root, f"chain-{hops}")
    os.makedirs(d, exist_ok=True)
    _write(os.path.join(d, "hop.js"), HOP_JS)
    _write(os.path.join(d, "hello.js"), HELLO_JS)
    services = []
    for i in range(hops):
        services.append((f"w{i}", _worker("hop.js", [f'(name = "NEXT", service = "w{i + 1}")'])))
    services.append((f"w{hops}", _worker("hello.js")))
    path = os.path.join(d, "config.capnp")
    _write(path, _config(services, "w0"))
    return path


def many(root, n):
    """A `router` Worker with bindings W0..W<n-1> to n leaf Workers, routing /w/<i> to W<i>."""
    d = os.path.join(root, f"workers-{n}")
    os.makedirs(d, exist_ok=True)
    _write(os.path.join(d, "leaf.js"), LEAF_JS)
    _write(os.path.join(d, "router.js"), ROUTER_JS)
    router_bindings = [f'(name = "W{i}", service = "w{i}")' for i in range(n)]
    services = [("router", _worker("router.js", router_bindings))]
    for i in range(n):
        services.append((f"w{i}", _worker("leaf.js", [f'(name = "ID", text = "{i}")'])))
    path = os.path.join(d, "config.capnp")
    _write(path, _config(services, "router"))
    return path


def json_api(root):
    d = os.path.join(root, "json")
    os.makedirs(d, exist_ok=True)
    _write(os.path.join(d, "json.js"), JSON_JS)
    body = json_body().replace("\\", "\\\\").replace('"', '\\"')
    _write(os.path.join(d, "post.lua"),
           f'wrk.method = "POST"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n')
    path = os.path.join(d, "config.capnp")
    _write(path, _config([("main", _worker("json.js"))], "main"))
    return path


def stream(root):
    d = os.path.join(root, "stream")
    os.makedirs(d, exist_ok=True)
    _write(os.path.join(d, "stream.js"), STREAM_JS)
    path = os.path.join(d, "config.capnp")
    _write(path, _config([("main", _worker("stream.js"))], "main"))
    return path


def proxy(root, upstream_port, via):
    """A Worker forwarding every request to 127.0.0.1:<upstream_port>: `via` is "fetch" (global
    fetch() through an `internet` service that allows loopback) or "external" (a service
    binding to an `external` service with that address)."""
    d = os.path.join(root, f"proxy-{via}")
    os.makedirs(d, exist_ok=True)
    if via == "fetch":
        _write(os.path.join(d, "proxy.js"), PROXY_FETCH_JS)
        worker = _worker("proxy.js", [f'(name = "UPSTREAM", text = "http://127.0.0.1:{upstream_port}")'])
        extra = ['(name = "internet", network = (allow = ["local"]))']
    else:
        _write(os.path.join(d, "proxy.js"), PROXY_BINDING_JS)
        worker = _worker("proxy.js", ['(name = "BACKEND", service = "backend")'])
        extra = [f'(name = "backend", external = (address = "127.0.0.1:{upstream_port}", http = ()))']
    path = os.path.join(d, "config.capnp")
    _write(path, _config([("main", worker)], "main", extra))
    return path


# The rpc section: a caller making CALLS calls per request to a callee, either `fetch` hops or
# JS RPC method calls, on the same callee (a WorkerEntrypoint class default export).
RPC_CALLEE_JS = """import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  fetch(request) {
    return new Response("pong");
  }
  add(a, b) {
    return a + b;
  }
}
"""

RPC_CALLER_JS = """export default {
  async fetch(request, env, ctx) {
    let n = 0;
    for (let i = 0; i < CALLS; i++) {
      if (MODE === "rpc") n += await env.B.add(i, 1);
      else n += (await (await env.B.fetch("http://b/")).text()).length;
    }
    return new Response("done " + n + "\\n");
  },
};
"""


def rpc(root, mode, calls):
    """`caller` makes `calls` calls per request to `callee`: `mode` "rpc" (env.B.add) or "fetch"."""
    d = os.path.join(root, f"rpc-{mode}-{calls}")
    os.makedirs(d, exist_ok=True)
    caller = RPC_CALLER_JS.replace("CALLS", str(calls)).replace("MODE", f'"{mode}"')
    _write(os.path.join(d, "caller.js"), caller)
    _write(os.path.join(d, "callee.js"), RPC_CALLEE_JS)
    services = [("caller", _worker("caller.js", ['(name = "B", service = "callee")'])),
                ("callee", _worker("callee.js"))]
    path = os.path.join(d, "config.capnp")
    _write(path, _config(services, "caller"))
    return path
