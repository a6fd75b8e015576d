// crypto.getRandomValues, randomUUID, subtle.digest, HMAC.
// Node 20 and workerd agree on everything here. (AES and the other algorithms beyond HMAC are
// not implemented yet, so they are not exercised.)
const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
export default {
  async fetch() {
    const out = [];
    const show = async (label, f) => { try { out.push(`${label}: ${await f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    const enc = new TextEncoder();
    for (const alg of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) {
      await show(`digest ${alg}`, async () => hex(await crypto.subtle.digest(alg, enc.encode("abc"))));
    }
    await show("digest object alg", async () => hex(await crypto.subtle.digest({ name: "sha-256" }, new Uint8Array([]))));
    await show("digest unknown", () => crypto.subtle.digest("SHA-3", enc.encode("x")));
    await show("getRandomValues", () => { const a = new Uint8Array(16); const b = crypto.getRandomValues(a); return [a === b, a.some((x) => x !== 0)].join(); });
    await show("getRandomValues float", () => crypto.getRandomValues(new Float64Array(2)));
    await show("getRandomValues quota", () => crypto.getRandomValues(new Uint8Array(65537)));
    await show("randomUUID", () => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()));
    const key = await crypto.subtle.importKey("raw", enc.encode("Jefe"), { name: "HMAC", hash: "SHA-256" }, true, ["sign", "verify"]);
    await show("key", () => [key.type, key.extractable, key.algorithm.name, key.algorithm.hash.name, key.algorithm.length, key.usages.join("+")].join());
    const sig = await crypto.subtle.sign("HMAC", key, enc.encode("what do ya want for nothing?"));
    await show("hmac sign (RFC 4231 case 2)", () => hex(sig));
    await show("hmac verify", () => crypto.subtle.verify("HMAC", key, sig, enc.encode("what do ya want for nothing?")));
    await show("hmac verify wrong", () => crypto.subtle.verify("HMAC", key, sig, enc.encode("other")));
    await show("export raw", async () => hex(await crypto.subtle.exportKey("raw", key)));
    await show("export jwk", async () => { const j = await crypto.subtle.exportKey("jwk", key); return [j.kty, j.alg, j.k, j.ext].join(); });
    await show("generateKey", async () => { const k = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-512" }, false, ["sign"]); return [k.algorithm.length, k.extractable].join(); });
    await show("sign without usage", async () => { const k = await crypto.subtle.importKey("raw", enc.encode("k"), { name: "HMAC", hash: "SHA-1" }, false, ["verify"]); return crypto.subtle.sign("HMAC", k, enc.encode("x")); });
    return new Response(out.join("\n") + "\n");
  },
};
