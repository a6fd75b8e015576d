// Service-worker syntax: `addEventListener("fetch", (event) => event.respondWith(...))`.
//
// `install(global)` defines the global `addEventListener`/`removeEventListener` before the
// script runs and returns the function the runtime calls per request.

class FetchEvent {
  #response = undefined;
  #responded = false;
  #ctx;
  constructor(request, ctx) {
    this.type = "fetch";
    this.request = request;
    this.#ctx = ctx;
  }
  respondWith(response) {
    if (this.#responded) throw new DOMException("FetchEvent.respondWith() has already been called.", "InvalidStateError");
    this.#responded = true;
    this.#response = response;
  }
  waitUntil(promise) { this.#ctx.waitUntil(promise); }
  passThroughOnException() {}
  get responded() { return this.#responded; }
  get response() { return this.#response; }
}

export function install(global) {
  const listeners = [];
  const define = (name, value) => Object.defineProperty(global, name, { value, writable: true, configurable: true });
  define("addEventListener", function addEventListener(type, listener) {
    if (type === "fetch" && listener != null && !listeners.includes(listener)) listeners.push(listener);
  });
  define("removeEventListener", function removeEventListener(type, listener) {
    const i = listeners.indexOf(listener);
    if (type === "fetch" && i >= 0) listeners.splice(i, 1);
  });
  define("FetchEvent", FetchEvent);
  return function dispatchFetch(request, ctx) {
    if (listeners.length === 0) throw new Error("No event handlers were registered. This script does nothing.");
    const event = new FetchEvent(request, ctx);
    for (const listener of listeners) {
      if (typeof listener === "function") listener.call(global, event);
      else listener.handleEvent(event);
    }
    if (!event.responded) throw new Error("No response! The fetch event listener never called respondWith().");
    return event.response;
  };
}
