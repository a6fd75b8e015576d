// The error-handler nanoservice: it answers for a binding's target that failed. The headers
// say why (`nanod-fallback-reason`: exception, timeout or limit; `nanod-fallback-limit`: which
// limit) and who (`nanod-fallback-from`); method, URL, headers and body are the original ones.
import { WorkerEntrypoint } from "cloudflare:workers";

export default {
  async fetch(request) {
    const reason = request.headers.get("nanod-fallback-reason") ?? "unknown";
    const from = request.headers.get("nanod-fallback-from") ?? "unknown";
    const limit = request.headers.get("nanod-fallback-limit");
    const body = {
      error: "service unavailable",
      reason: limit ? `${reason} (${limit})` : reason,
      from,
      path: new URL(request.url).pathname,
    };
    return new Response(JSON.stringify(body) + "\n", {
      status: 503,
      headers: { "content-type": "application/json", "retry-after": "1" },
    });
  },
};

// The RPC fallback of flaky's `Quotes`: called with the same method and arguments.
export class Quotes extends WorkerEntrypoint {
  quote() {
    return "errors: no quote right now, try again later";
  }
}
