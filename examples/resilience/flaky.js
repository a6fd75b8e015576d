// An unreliable backend: it answers, throws, dawdles or spins depending on the path.
import { WorkerEntrypoint } from "cloudflare:workers";

export default {
  async fetch(request) {
    switch (new URL(request.url).pathname) {
      case "/api/ok":
        return new Response("flaky: ok\n");
      case "/api/fail":
        throw new Error("the database is down");
      case "/api/slow":
        await new Promise((resolve) => setTimeout(resolve, 2000));
        return new Response("flaky: finally\n");
      case "/api/spin":
        for (;;) {}
      default:
        return new Response("flaky: no such thing\n", { status: 404 });
    }
  },
};

export class Quotes extends WorkerEntrypoint {
  quote(fail) {
    if (fail) throw new Error("out of quotes");
    return "flaky: simplicity is prerequisite for reliability";
  }
}
