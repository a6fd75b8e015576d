# The proxy example: two sockets with JavaScript in the request path.
#
# - `http` (127.0.0.1:8080) is a reverse proxy: the `reverse` Worker forwards /api/* to the
#   `backend` external service (one fixed server; here 127.0.0.1:9000, or the address given
#   with --external-addr backend=HOST:PORT), adding a request id and stripping cookies.
# - `forward` (127.0.0.1:8081) is a forward proxy (`style = proxy`: clients send absolute
#   URLs, `curl -x http://127.0.0.1:8081 http://example.com/`): the `forward` Worker refuses
#   hosts on its deny list and sends everything else out through the global fetch(), whose
#   `internet` service reaches only public addresses, so the proxy cannot be turned against
#   this machine or its network (SSRF).
#
#   nanod serve examples/proxy/config.capnp
#   (workerd serve examples/proxy/config.capnp runs it too)

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "reverse", worker = .reverseWorker),
    (name = "forward", worker = .forwardWorker),
    (name = "backend", external = (address = "127.0.0.1:9000", http = ())),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:8080", http = (), service = "reverse"),
    (name = "forward", address = "127.0.0.1:8081", http = (style = proxy), service = "forward"),
  ],
);

const reverseWorker :Workerd.Worker = (
  modules = [ (name = "reverse.js", esModule = embed "reverse.js") ],
  compatibilityDate = "2024-09-01",
  bindings = [ (name = "BACKEND", service = "backend") ],
);

const forwardWorker :Workerd.Worker = (
  modules = [ (name = "forward.js", esModule = embed "forward.js") ],
  compatibilityDate = "2024-09-01",
  bindings = [ (name = "DENY", json = "[\"blocked.example\", \"ads.example\"]") ],
);
