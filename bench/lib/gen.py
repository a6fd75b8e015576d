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


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _worker(module, bindings=()):
    b = ", ".join(bindings)
    return (
        f'(modules = [(name = "{module}", esModule = embed "{module}")], '
        f'compatibilityDate = "{COMPAT}", bindings = [{b}])'
    )


def _config(services, entry):
    lines = [HEADER, "const config :Workerd.Config = (\n  services = [\n"]
    for name, worker in services:
        lines.append(f'    (name = "{name}", worker = {worker}),\n')
    lines.append("  ],\n  sockets = [ " + SOCKET.format(svc=entry) + " ],\n);\n")
    return "".join(lines)


def hello(root):
    d = os.path.join(root, "hello")
    os.makedirs(d, exist_ok=True)
    _write(os.path.join(d, "hello.js"), HELLO_JS)
    path = os.path.join(d, "config.capnp")
    _write(path, _config([("main", _worker("hello.js"))], "main"))
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
