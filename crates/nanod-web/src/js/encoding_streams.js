// TextEncoderStream / TextDecoderStream (Encoding §7): TransformStreams over the native
// TextEncoder and TextDecoder. `makeClasses` is called once per isolate with those classes.

let made;

export function makeClasses(TransformStream, TextEncoder, TextDecoder) {
  if (made) return made;
  class TextEncoderStream {
    #inner;
    constructor() {
      const encoder = new TextEncoder();
      let pendingHigh = "";
      this.#inner = new TransformStream({
        transform(chunk, controller) {
          let text = pendingHigh + String(chunk);
          pendingHigh = "";
          // A high surrogate at the end may pair with the next chunk's first character.
          const last = text.charCodeAt(text.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) {
            pendingHigh = text.slice(-1);
            text = text.slice(0, -1);
          }
          if (text.length > 0) controller.enqueue(encoder.encode(text));
        },
        flush(controller) {
          if (pendingHigh) controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
        },
      });
    }
    get encoding() { return "utf-8"; }
    get readable() { return this.#inner.readable; }
    get writable() { return this.#inner.writable; }
  }
  class TextDecoderStream {
    #inner;
    #decoder;
    constructor(label = "utf-8", options = {}) {
      const decoder = new TextDecoder(label, options);
      this.#decoder = decoder;
      this.#inner = new TransformStream({
        transform(chunk, controller) {
          if (typeof chunk !== "object" || chunk === null || !(ArrayBuffer.isView(chunk) || chunk instanceof ArrayBuffer)) {
            throw new TypeError("The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.");
          }
          const text = decoder.decode(chunk, { stream: true });
          if (text.length > 0) controller.enqueue(text);
        },
        flush(controller) {
          const text = decoder.decode();
          if (text.length > 0) controller.enqueue(text);
        },
      });
    }
    get encoding() { return this.#decoder.encoding; }
    get fatal() { return this.#decoder.fatal; }
    get ignoreBOM() { return this.#decoder.ignoreBOM; }
    get readable() { return this.#inner.readable; }
    get writable() { return this.#inner.writable; }
  }
  made = { TextEncoderStream, TextDecoderStream };
  return made;
}
