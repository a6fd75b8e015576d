# Outbound fetch behaviour (redirects, abort, external services), compared between nanod and
# workerd by scripts/differential/run.py. The script passes --external-addr self=<this socket>.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [(name = "outbound.js", esModule = embed "outbound.js")],
      compatibilityDate = "2024-09-01",
      bindings = [(name = "SELF", service = "self")],
    )),
    (name = "internet", network = (allow = ["local"])),
    (name = "self", external = (http = ())),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);
