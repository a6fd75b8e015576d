// EventTarget, Event, CustomEvent, AbortController/AbortSignal, DOMException.
// Where Node 20 differs, the expected output follows workerd: eventPhase is AT_TARGET during
// dispatch, preventDefault() marks even a non-cancelable event (dispatchEvent → false), capture
// listeners are refused, unset targets are undefined, currentTarget is kept after dispatch,
// CustomEvent.detail defaults to undefined, and a throwing listener ends the dispatch.
export default {
  async fetch() {
    const out = [];
    const show = async (label, f) => { try { out.push(`${label}: ${await f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    await show("dispatch", () => {
      const t = new EventTarget();
      const seen = [];
      const once = () => seen.push("once");
      t.addEventListener("x", once, { once: true });
      t.addEventListener("x", (e) => seen.push(`fn ${e.type} ${e.target === t}`));
      t.addEventListener("x", { handleEvent(e) { seen.push("object " + e.eventPhase); } });
      t.addEventListener("x", once);
      t.dispatchEvent(new Event("x"));
      t.dispatchEvent(new Event("x"));
      return seen.join(",");
    });
    await show("duplicates", () => { const t = new EventTarget(); let n = 0; const f = () => n++; t.addEventListener("a", f); t.addEventListener("a", f); t.dispatchEvent(new Event("a")); return n; });
    await show("remove", () => { const t = new EventTarget(); let n = 0; const f = () => n++; t.addEventListener("a", f); t.removeEventListener("a", f); t.dispatchEvent(new Event("a")); return n; });
    await show("preventDefault", () => {
      const t = new EventTarget();
      t.addEventListener("c", (e) => e.preventDefault());
      return [t.dispatchEvent(new Event("c", { cancelable: true })), t.dispatchEvent(new Event("c"))].join();
    });
    await show("stopImmediatePropagation", () => { const t = new EventTarget(); const seen = []; t.addEventListener("a", (e) => { seen.push(1); e.stopImmediatePropagation(); }); t.addEventListener("a", () => seen.push(2)); t.dispatchEvent(new Event("a")); return seen.join(); });
    await show("event fields", () => { const e = new Event("t", { bubbles: true, cancelable: true }); return [e.type, e.bubbles, e.cancelable, e.defaultPrevented, e.isTrusted, e.eventPhase, Event.AT_TARGET].join(); });
    await show("custom event", () => new CustomEvent("c", { detail: { a: 1 } }).detail.a);
    await show("subclass", () => { class Bus extends EventTarget { fire() { return this.dispatchEvent(new Event("go")); } } const b = new Bus(); let hit = false; b.addEventListener("go", () => { hit = true; }); b.fire(); return [b instanceof EventTarget, hit].join(); });
    await show("signal removes listener", () => { const t = new EventTarget(); const c = new AbortController(); let n = 0; t.addEventListener("a", () => n++, { signal: c.signal }); t.dispatchEvent(new Event("a")); c.abort(); t.dispatchEvent(new Event("a")); return n; });
    await show("abort", () => { const c = new AbortController(); const seen = []; c.signal.addEventListener("abort", () => seen.push("event")); c.signal.onabort = () => seen.push("onabort"); c.abort("why"); c.abort("again"); return [c.signal.aborted, c.signal.reason, seen.join("+")].join(); });
    await show("default reason", () => { const c = new AbortController(); c.abort(); return [c.signal.reason instanceof DOMException, c.signal.reason.name, c.signal.reason.code].join(); });
    await show("throwIfAborted", () => { const s = AbortSignal.abort(new RangeError("r")); s.throwIfAborted(); });
    await show("timeout", async () => { const s = AbortSignal.timeout(10); await new Promise((r) => setTimeout(r, 40)); return [s.aborted, s.reason.name].join(); });
    await show("any", () => { const a = new AbortController(); const b = new AbortController(); const s = AbortSignal.any([a.signal, b.signal]); b.abort("b first"); return [s.aborted, s.reason].join(); });
    await show("capture refused", () => new EventTarget().addEventListener("a", () => {}, { capture: true }));
    await show("unset targets", () => { const e = new Event("a"); return [e.target, e.currentTarget].map(String).join(); });
    await show("currentTarget after", () => { const t = new EventTarget(); const e = new Event("a"); t.dispatchEvent(e); return e.currentTarget === t; });
    await show("detail default", () => String(new CustomEvent("c").detail));
    await show("listener throws", () => { const t = new EventTarget(); const seen = []; t.addEventListener("a", () => { seen.push(1); throw new RangeError("x"); }); t.addEventListener("a", () => seen.push(2)); try { t.dispatchEvent(new Event("a")); } catch (e) { seen.push(e.name); } return seen.join(); });
    await show("DOMException", () => { const e = new DOMException("m", "NotFoundError"); return [e.name, e.message, e.code, e instanceof Error].join(); });
    return new Response(out.join("\n") + "\n");
  },
};
