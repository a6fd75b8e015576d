# Failure behaviour, compared between nanod and workerd by scripts/differential/run.py.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [(name = "main.js", esModule = embed "failures.js")],
      compatibilityDate = "2024-09-01",
      bindings = [(name = "NO_FETCH", service = "nofetch"), (name = "THROWS", service = "throws")],
    )),
    (name = "nofetch", worker = (
      modules = [(name = "nofetch.js", esModule = "export default { notFetch() {} };")],
      compatibilityDate = "2024-09-01",
    )),
    (name = "throws", worker = (
      modules = [(name = "throws.js", esModule = "export default { fetch() { throw new RangeError('callee threw'); } };")],
      compatibilityDate = "2024-09-01",
    )),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);
