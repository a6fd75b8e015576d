// Streams: readers, controllers, tee, pipeTo/pipeThrough, async iteration, errors, backpressure,
// plus compression and encoding streams.
export default {
  async fetch() {
    const out = [];
    const show = async (label, f) => { try { out.push(`${label}: ${await f()}`); } catch (e) { out.push(`${label}: threw ${e.name}`); } };
    const collect = async (rs) => { const parts = []; for await (const c of rs) parts.push(c); return parts; };
    const bytes = (parts) => { const all = []; for (const p of parts) all.push(...p); return new Uint8Array(all); };
    const fromArray = (items) => new ReadableStream({ start(c) { for (const i of items) c.enqueue(i); c.close(); } });
    await show("read all", async () => (await collect(fromArray([1, 2, 3]))).join());
    await show("reader", async () => { const r = fromArray(["a"]).getReader(); const a = await r.read(); const b = await r.read(); return JSON.stringify([a, b]); });
    await show("locked", () => { const s = fromArray([]); s.getReader(); return [s.locked, (() => { try { s.getReader(); } catch (e) { return e.name; } })()].join(); });
    await show("release", async () => { const s = fromArray([1]); const r = s.getReader(); r.releaseLock(); return [s.locked, (await collect(s)).join()].join("|"); });
    await show("pull order", async () => {
      const log = [];
      let n = 0;
      const s = new ReadableStream({ start() { log.push("start"); }, pull(c) { log.push("pull" + n); c.enqueue(n++); if (n === 3) c.close(); } });
      const got = await collect(s);
      return log.join(",") + " -> " + got.join();
    });
    await show("error", async () => collect(new ReadableStream({ start(c) { c.error(new RangeError("bad")); } })));
    await show("cancel", async () => { let reason; const s = new ReadableStream({ cancel(r) { reason = r; } }); await s.cancel("why"); return reason; });
    await show("tee", async () => { const [a, b] = fromArray(["x", "y"]).tee(); return (await collect(a)).join() + "/" + (await collect(b)).join(); });
    await show("pipeTo", async () => { const got = []; await fromArray([1, 2]).pipeTo(new WritableStream({ write(c) { got.push(c); } })); return got.join(); });
    await show("pipeThrough", async () => (await collect(fromArray(["a", "b"]).pipeThrough(new TransformStream({ transform(c, ctl) { ctl.enqueue(c + c); } })))).join());
    await show("transform error", async () => collect(fromArray([1]).pipeThrough(new TransformStream({ transform() { throw new TypeError("nope"); } }))));
    await show("flush", async () => (await collect(fromArray(["a"]).pipeThrough(new TransformStream({ flush(ctl) { ctl.enqueue("end"); } })))).join());
    await show("writer", async () => { const got = []; const w = new WritableStream({ write(c) { got.push(c); } }).getWriter(); await w.write("a"); await w.write("b"); await w.close(); return got.join(); });
    await show("from iterable", async () => (await collect(ReadableStream.from((function* () { yield 1; yield 2; })()))).join());
    await show("text encoder stream", async () => bytes(await collect(fromArray(["é", "\uD83D", "\uDE00"]).pipeThrough(new TextEncoderStream()))).join());
    await show("text decoder stream", async () => { const e = new TextEncoder().encode("h€llo"); return (await collect(fromArray([e.slice(0, 2), e.slice(2)]).pipeThrough(new TextDecoderStream()))).join("|"); });
    for (const format of ["gzip", "deflate", "deflate-raw"]) {
      await show(format, async () => {
        const input = new TextEncoder().encode("abc".repeat(1000));
        const packed = bytes(await collect(fromArray([input]).pipeThrough(new CompressionStream(format))));
        const unpacked = bytes(await collect(fromArray([packed]).pipeThrough(new DecompressionStream(format))));
        return [packed.length < 100, unpacked.length, new TextDecoder().decode(unpacked.slice(0, 6))].join("|");
      });
    }
    await show("bad format", () => new CompressionStream("zip"));
    return new Response(out.join("\n") + "\n");
  },
};
