# The resilience example: an unreliable backend behind a binding with a timeout and an
# error-handler fallback (nanod extensions: workerd rejects `timeoutMs`, `fallback` and
# `limits`, so this config is nanod's alone).
#
# - `front` (127.0.0.1:8080) sends /api/* to `flaky` through its API binding: a call that
#   throws, takes longer than 300 ms to answer, or breaks flaky's CPU limit (50 ms) is
#   answered by `errors` instead, which sees why in the `nanod-fallback-reason` header
#   (`exception`, `timeout`, `limit`) and who failed in `nanod-fallback-from`.
# - /quote?fail calls flaky's `Quotes.quote(true)` by RPC; its fallback is the `Quotes`
#   entrypoint of `errors`, which answers with the same method and arguments.
#
#   nanod serve examples/resilience/config.capnp
#   curl localhost:8080/api/ok      # flaky answers
#   curl localhost:8080/api/fail    # flaky throws: errors answers (503, reason exception)
#   curl localhost:8080/api/slow    # flaky takes 2 s: errors answers after 300 ms (timeout)
#   curl localhost:8080/api/spin    # flaky loops: its CPU limit stops it (limit)
#   curl localhost:8080/quote?fail  # RPC: errors' Quotes answers

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "front", worker = .frontWorker),
    (name = "flaky", worker = .flakyWorker),
    (name = "errors", worker = .errorsWorker),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8080", http = (), service = "front") ],
);

const frontWorker :Workerd.Worker = (
  modules = [ (name = "front.js", esModule = embed "front.js") ],
  compatibilityDate = "2024-09-01",
  bindings = [
    (name = "API", service = (name = "flaky", timeoutMs = 300, fallback = "errors")),
    (name = "QUOTES", service = (name = "flaky", entrypoint = "Quotes",
                                 fallback = (name = "errors", entrypoint = "Quotes"))),
  ],
);

const flakyWorker :Workerd.Worker = (
  modules = [ (name = "flaky.js", esModule = embed "flaky.js") ],
  compatibilityDate = "2024-09-01",
  limits = (cpuMs = 50),
);

const errorsWorker :Workerd.Worker = (
  modules = [ (name = "errors.js", esModule = embed "errors.js") ],
  compatibilityDate = "2024-09-01",
);
