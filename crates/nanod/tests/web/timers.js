// Timers and microtask ordering, structuredClone basics.
export default {
  async fetch() {
    const out = [];
    const log = [];
    await new Promise((done) => {
      setTimeout(() => log.push("timeout 0"), 0);
      setTimeout((a, b) => log.push(`timeout args ${a} ${b}`), 20, "x", "y");
      queueMicrotask(() => log.push("microtask"));
      Promise.resolve().then(() => log.push("promise"));
      const cancelled = setTimeout(() => log.push("cancelled ran"), 1);
      clearTimeout(cancelled);
      let n = 0;
      const iv = setInterval(() => { log.push(`interval ${n}`); if (++n === 2) clearInterval(iv); }, 1);
      setTimeout(() => { log.push("last"); done(); }, 50);
      log.push("sync");
    });
    out.push(log.join(", "));
    const show = (label, f) => { try { out.push(`${label}: ${f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    // workerd returns a number (Node a Timeout object): expected output follows workerd.
    show("setTimeout returns", () => typeof setTimeout(() => {}, 0));
    show("bad callback", () => queueMicrotask("nope"));
    return new Response(out.join("\n") + "\n");
  },
};
