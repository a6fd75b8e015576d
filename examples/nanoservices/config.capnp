# The nanoservices example: a public `main` Worker that routes, an `auth` Worker that checks a
# bearer token, and a `storage` Worker that keeps data in module state. Only `main` has a
# socket; `auth` and `storage` are reachable only through main's service bindings, which run
# them in the same thread as a function call.
#
#   nanod serve examples/nanoservices/config.capnp --threads 1
#   (one thread: `storage` keeps its data in module state, one copy per thread)
#   (workerd serve examples/nanoservices/config.capnp runs it too)

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "auth", worker = .authWorker),
    (name = "storage", worker = .storageWorker),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:8080", http = (), service = "main"),
  ],
);

const mainWorker :Workerd.Worker = (
  modules = [
    (name = "main.js", esModule = embed "main.js"),
    (name = "routes.js", esModule = embed "routes.js"),
    (name = "banner.txt", text = embed "banner.txt"),
  ],
  compatibilityDate = "2024-09-01",
  bindings = [
    (name = "AUTH", service = "auth"),
    (name = "STORAGE", service = "storage"),
    (name = "SITE", json = "{\"name\": \"nanod example\", \"version\": 1}"),
  ],
);

const authWorker :Workerd.Worker = (
  modules = [ (name = "auth.js", esModule = embed "auth.js") ],
  compatibilityDate = "2024-09-01",
  bindings = [
    # The accepted token; set NANOD_EXAMPLE_TOKEN to override the default in auth.js.
    (name = "TOKEN", fromEnvironment = "NANOD_EXAMPLE_TOKEN"),
  ],
);

const storageWorker :Workerd.Worker = (
  modules = [ (name = "storage.js", esModule = embed "storage.js") ],
  compatibilityDate = "2024-09-01",
);
