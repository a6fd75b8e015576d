// Tests as `workerd test` runs them: every export with a `test(ctrl, env, ctx)` handler.
import assert from "node:assert";
import { strictEqual, deepStrictEqual, rejects, throws } from "node:assert";
import { mock } from "node:test";

export default {
  async fetch(request) {
    hits += 1;
    return new Response(`hit ${hits}`);
  },
  async test(ctrl, env, ctx) {
    strictEqual(env.GREETING, "hello");
  },
};

export const bindings = {
  async test(ctrl, env) {
    deepStrictEqual(env.CONFIG, { retries: 3, tags: ["a", "b"] });
    const response = await env.UPPER.fetch("http://upper/", { method: "POST", body: "shout" });
    strictEqual(response.status, 200);
    strictEqual(response.headers.get("x-served-by"), "upper");
    strictEqual(await response.text(), "SHOUT");
  },
};

export const webApis = {
  async test() {
    const url = new URL("https://example.com/a/../b?x=1#h");
    strictEqual(url.href, "https://example.com/b?x=1#h");
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc"));
    strictEqual(new Uint8Array(digest)[0], 0xba);
    const response = Response.json({ ok: true });
    deepStrictEqual(await response.json(), { ok: true });
    assert.match(response.headers.get("content-type"), /^application\/json/);
  },
};

export const assertions = {
  async test() {
    throws(() => strictEqual(1, 2), { name: "AssertionError", code: "ERR_ASSERTION" });
    throws(() => JSON.parse("{"), SyntaxError);
    await rejects(Promise.reject(new TypeError("nope")), TypeError);
    await rejects(async () => { throw new Error("bad input"); }, /bad input/);
    assert.notStrictEqual({}, {});
    assert.ok([1].includes(1));
    deepStrictEqual(new Map([["k", new Set([1])]]), new Map([["k", new Set([1])]]));
  },
};

export const mocks = {
  test() {
    const add = mock.fn((a, b) => a + b);
    strictEqual(add(2, 3), 5);
    strictEqual(add.mock.callCount(), 1);
    deepStrictEqual(add.mock.calls[0].arguments, [2, 3]);
    const counter = { value: () => 1 };
    mock.method(counter, "value", () => 42);
    strictEqual(counter.value(), 42);
    mock.restoreAll();
    strictEqual(counter.value(), 1);
  },
};

export const waitUntil = {
  async test(ctrl, env, ctx) {
    let finished = false;
    ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 5)).then(() => { finished = true; }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(finished);
  },
};

// An export without `test` is not a test.
export const notATest = {
  fetch() {
    return new Response("not a test");
  },
};

// `env.SELF` reaches this very Worker: the test and the request share one isolate, so module
// state set by the request is visible here.
let hits = 0;
export const selfBinding = {
  async test(ctrl, env) {
    const response = await env.SELF.fetch("http://self/hit");
    strictEqual(await response.text(), "hit 1");
    strictEqual(hits, 1);
  },
};
