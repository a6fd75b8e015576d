// CompressionStream / DecompressionStream: a TransformStream whose chunks go through a native
// codec. `makeClasses` is called once per isolate with the native `Codec` constructor and the
// isolate's `TransformStream`.

let made;

export function makeClasses(Codec, TransformStream) {
  if (made) return made;
  const transformer = (codec) => ({
    transform(chunk, controller) {
      const out = codec.push(chunk);
      if (out.byteLength > 0) controller.enqueue(out);
    },
    flush(controller) {
      const out = codec.finish();
      if (out.byteLength > 0) controller.enqueue(out);
    },
  });
  class CompressionStream {
    #inner;
    constructor(format) {
      if (arguments.length < 1) throw new TypeError("Failed to construct 'CompressionStream': 1 argument required, but only 0 present.");
      this.#inner = new TransformStream(transformer(new Codec(format, false)));
    }
    get readable() { return this.#inner.readable; }
    get writable() { return this.#inner.writable; }
  }
  class DecompressionStream {
    #inner;
    constructor(format) {
      if (arguments.length < 1) throw new TypeError("Failed to construct 'DecompressionStream': 1 argument required, but only 0 present.");
      this.#inner = new TransformStream(transformer(new Codec(format, true)));
    }
    get readable() { return this.#inner.readable; }
    get writable() { return this.#inner.writable; }
  }
  made = { CompressionStream, DecompressionStream };
  return made;
}
