// WHATWG Streams: ReadableStream, WritableStream, TransformStream and their readers, writers
// and controllers, plus the hooks Rust uses to move bodies in and out of isolates.
//
// Compiled to bytecode once per process and evaluated in an isolate only when its code first
// touches a stream. Internal state lives in `_`-prefixed fields (a later, native version will
// hide it); controllers keep their stream in private fields.
// Covered: default (non-byte) streams with count or size strategies, tee, pipeTo, pipeThrough,
// async iteration, ReadableStream.from. Byte streams accept `type: "bytes"` but behave as
// default streams (no BYOB readers yet).

const resolved = (v) => Promise.resolve(v);

function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

function sizeAlgorithm(strategy) {
  const size = strategy && strategy.size;
  if (size === undefined) return () => 1;
  if (typeof size !== "function") throw new TypeError("size must be a function");
  return (chunk) => size(chunk);
}

function highWaterMark(strategy, fallback) {
  const hwm = strategy && strategy.highWaterMark;
  if (hwm === undefined) return fallback;
  const n = Number(hwm);
  if (Number.isNaN(n) || n < 0) throw new RangeError("Invalid highWaterMark");
  return n;
}

const kStream = Symbol("stream");

export class ReadableStreamDefaultController {
  #stream;
  constructor(key, stream) {
    if (key !== kStream) throw new TypeError("Illegal constructor");
    this.#stream = stream;
  }
  get desiredSize() { return this.#stream._desiredSize(); }
  enqueue(chunk) { this.#stream._enqueue(chunk); }
  close() { this.#stream._requestClose(); }
  error(e) { this.#stream._error(e); }
}

export class ReadableStream {
  // "readable" | "closed" | "errored"
  _state = "readable";
  _storedError = undefined;
  _disturbed = false;
  _reader = undefined;
  _queue = [];
  _queueSize = 0;
  _closeRequested = false;
  _pulling = false;
  _pullAgain = false;
  _started = false;
  _source;
  _controller;
  _size;
  _hwm;
  _native = undefined;

  constructor(source = undefined, strategy = undefined) {
    if (source === null) throw new TypeError("Failed to construct 'ReadableStream': underlying source cannot be null");
    this._source = source || {};
    this._size = sizeAlgorithm(strategy);
    const isBytes = this._source.type === "bytes";
    if (this._source.type !== undefined && !isBytes) throw new TypeError(`Invalid type: ${this._source.type}`);
    this._hwm = highWaterMark(strategy, isBytes ? 0 : 1);
    this._controller = new ReadableStreamDefaultController(kStream, this);
    let startResult;
    try {
      startResult = this._source.start ? this._source.start.call(this._source, this._controller) : undefined;
    } catch (e) {
      throw e;
    }
    resolved(startResult).then(() => {
      this._started = true;
      this._maybePull();
    }, (e) => this._error(e));
  }

  get locked() { return this._reader !== undefined; }

  cancel(reason) {
    if (this.locked) return Promise.reject(new TypeError("Cannot cancel a locked stream"));
    return this._cancel(reason);
  }

  getReader(options = undefined) {
    const mode = options && options.mode;
    if (mode !== undefined && mode !== "byob") throw new TypeError(`Invalid mode: ${mode}`);
    if (mode === "byob") throw new TypeError("BYOB readers are not supported yet");
    return new ReadableStreamDefaultReader(this);
  }

  pipeThrough(transform, options = undefined) {
    if (!transform || !(transform.writable instanceof WritableStream) || !(transform.readable instanceof ReadableStream)) {
      throw new TypeError("pipeThrough expects { writable, readable }");
    }
    const p = this.pipeTo(transform.writable, options);
    p.catch(() => {});
    return transform.readable;
  }

  pipeTo(dest, options = {}) {
    if (!(dest instanceof WritableStream)) return Promise.reject(new TypeError("pipeTo expects a WritableStream"));
    if (this.locked) return Promise.reject(new TypeError("Cannot pipe a locked stream"));
    if (dest.locked) return Promise.reject(new TypeError("Cannot pipe to a locked stream"));
    const { preventClose = false, preventAbort = false, preventCancel = false, signal } = options || {};
    const reader = this.getReader();
    const writer = dest.getWriter();
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err, isError) => {
        if (done) return;
        done = true;
        reader.releaseLock();
        writer.releaseLock();
        if (isError) reject(err); else resolve();
      };
      if (signal) {
        const onAbort = () => {
          const reason = signal.reason;
          const actions = [];
          if (!preventAbort) actions.push(dest.abort(reason));
          if (!preventCancel) actions.push(this.cancel(reason));
          Promise.allSettled(actions).then(() => finish(reason, true));
        };
        if (signal.aborted) { onAbort(); return; }
        signal.addEventListener("abort", onAbort, { once: true });
      }
      const step = () => {
        if (done) return;
        writer.ready.then(() => reader.read()).then(({ value, done: end }) => {
          if (end) {
            if (preventClose) finish(); else writer.close().then(() => finish(), (e) => finish(e, true));
            return;
          }
          writer.write(value).catch(() => {});
          step();
        }, (e) => {
          if (!preventAbort) writer.abort(e).catch(() => {});
          finish(e, true);
        });
      };
      writer.closed.catch((e) => {
        if (!preventCancel) reader.cancel(e).catch(() => {});
        finish(e, true);
      });
      step();
    });
  }

  tee() {
    const reader = this.getReader();
    let canceled = 0;
    let reasons = [];
    const cancelAll = deferred();
    const branches = [];
    let reading = false;
    const pull = () => {
      if (reading) return resolved();
      reading = true;
      return reader.read().then(({ value, done }) => {
        reading = false;
        for (const b of branches) {
          if (b._state !== "readable" || b._closeRequested) continue;
          if (done) b._controller.close(); else b._controller.enqueue(value);
        }
      }, (e) => {
        reading = false;
        for (const b of branches) b._error(e);
      });
    };
    for (let i = 0; i < 2; i++) {
      branches.push(new ReadableStream({
        pull,
        cancel: (reason) => {
          reasons[i] = reason;
          if (++canceled === 2) cancelAll.resolve(reader.cancel(reasons));
          return cancelAll.promise;
        },
      }));
    }
    return branches;
  }

  values(options = undefined) {
    const preventCancel = !!(options && options.preventCancel);
    const reader = this.getReader();
    return {
      next: () => reader.read().then((r) => { if (r.done) reader.releaseLock(); return r; }),
      return: (value) => {
        const p = preventCancel ? resolved() : reader.cancel(value);
        return p.then(() => { reader.releaseLock(); return { value, done: true }; });
      },
      [Symbol.asyncIterator]() { return this; },
    };
  }

  [Symbol.asyncIterator](options) { return this.values(options); }

  static from(iterable) {
    if (iterable instanceof ReadableStream) return iterable;
    const getIter = iterable && (iterable[Symbol.asyncIterator] || iterable[Symbol.iterator]);
    if (typeof getIter !== "function") throw new TypeError("ReadableStream.from expects an iterable");
    const it = getIter.call(iterable);
    return new ReadableStream({
      async pull(c) {
        const { value, done } = await it.next();
        if (done) c.close(); else c.enqueue(await value);
      },
      async cancel(reason) { if (typeof it.return === "function") await it.return(reason); },
    }, { highWaterMark: 0 });
  }

  get [Symbol.toStringTag]() { return "ReadableStream"; }

  // ---- internals (used by the controller, readers and Rust hooks) ----
  _desiredSize() {
    if (this._state === "errored") return null;
    if (this._state === "closed") return 0;
    return this._hwm - this._queueSize;
  }

  _enqueue(chunk) {
    if (this._closeRequested || this._state !== "readable") throw new TypeError("Cannot enqueue into a closed stream");
    const reader = this._reader;
    if (reader && reader._readRequests.length > 0) {
      reader._readRequests.shift().resolve({ value: chunk, done: false });
    } else {
      let size;
      try { size = this._size(chunk); } catch (e) { this._error(e); throw e; }
      this._queue.push([chunk, size]);
      this._queueSize += size;
    }
    this._maybePull();
  }

  _requestClose() {
    if (this._closeRequested || this._state !== "readable") throw new TypeError("Cannot close a closed stream");
    this._closeRequested = true;
    if (this._queue.length === 0) this._close();
  }

  _close() {
    if (this._state !== "readable") return;
    this._state = "closed";
    const reader = this._reader;
    if (reader) {
      for (const r of reader._readRequests.splice(0)) r.resolve({ value: undefined, done: true });
      reader._closed.resolve();
    }
  }

  _error(e) {
    if (this._state !== "readable") return;
    this._state = "errored";
    this._storedError = e;
    this._queue = [];
    this._queueSize = 0;
    const reader = this._reader;
    if (reader) {
      for (const r of reader._readRequests.splice(0)) r.reject(e);
      reader._closed.reject(e);
      reader._closed.promise.catch(() => {});
    }
  }

  _cancel(reason) {
    this._disturbed = true;
    if (this._state === "closed") return resolved();
    if (this._state === "errored") return Promise.reject(this._storedError);
    this._queue = [];
    this._queueSize = 0;
    this._close();
    const cancel = this._source.cancel;
    return resolved(cancel ? cancel.call(this._source, reason) : undefined).then(() => undefined);
  }

  _read() {
    this._disturbed = true;
    if (this._state === "closed") return resolved({ value: undefined, done: true });
    if (this._state === "errored") return Promise.reject(this._storedError);
    if (this._queue.length > 0) {
      const [chunk, size] = this._queue.shift();
      this._queueSize -= size;
      if (this._closeRequested && this._queue.length === 0) this._close();
      else this._maybePull();
      return resolved({ value: chunk, done: false });
    }
    const request = deferred();
    this._reader._readRequests.push(request);
    this._maybePull();
    return request.promise;
  }

  _maybePull() {
    if (!this._started || this._state !== "readable" || this._closeRequested) return;
    const wanted = (this._reader && this._reader._readRequests.length > 0) || this._desiredSize() > 0;
    if (!wanted) return;
    if (this._pulling) { this._pullAgain = true; return; }
    const pull = this._source.pull;
    if (!pull) return;
    this._pulling = true;
    let result;
    try { result = pull.call(this._source, this._controller); } catch (e) { this._error(e); return; }
    resolved(result).then(() => {
      this._pulling = false;
      if (this._pullAgain) { this._pullAgain = false; this._maybePull(); }
    }, (e) => this._error(e));
  }
}

export class ReadableStreamDefaultReader {
  _stream;
  _readRequests = [];
  _closed = deferred();

  constructor(stream) {
    if (!(stream instanceof ReadableStream)) throw new TypeError("ReadableStreamDefaultReader expects a ReadableStream");
    if (stream.locked) throw new TypeError("ReadableStream is locked");
    this._stream = stream;
    stream._reader = this;
    if (stream._state === "closed") this._closed.resolve();
    if (stream._state === "errored") { this._closed.reject(stream._storedError); this._closed.promise.catch(() => {}); }
  }
  get closed() { return this._closed.promise; }
  read() {
    if (!this._stream) return Promise.reject(new TypeError("This reader has been released"));
    return this._stream._read();
  }
  cancel(reason) {
    if (!this._stream) return Promise.reject(new TypeError("This reader has been released"));
    return this._stream._cancel(reason);
  }
  releaseLock() {
    const stream = this._stream;
    if (!stream) return;
    const err = new TypeError("Reader was released");
    for (const r of this._readRequests.splice(0)) r.reject(err);
    if (stream._state === "readable") this._closed.reject(err);
    this._closed = deferred();
    this._closed.reject(err);
    this._closed.promise.catch(() => {});
    stream._reader = undefined;
    this._stream = undefined;
  }
  get [Symbol.toStringTag]() { return "ReadableStreamDefaultReader"; }
}

export class WritableStreamDefaultController {
  #stream;
  constructor(key, stream) {
    if (key !== kStream) throw new TypeError("Illegal constructor");
    this.#stream = stream;
  }
  error(e) { this.#stream._error(e); }
  get signal() { return undefined; }
}

export class WritableStream {
  _state = "writable"; // writable | closed | errored
  _storedError = undefined;
  _writer = undefined;
  _sink;
  _controller;
  _chain;
  _pendingSize = 0;
  _hwm;
  _size;
  _readyWaiters = [];

  constructor(sink = undefined, strategy = undefined) {
    this._sink = sink || {};
    this._size = sizeAlgorithm(strategy);
    this._hwm = highWaterMark(strategy, 1);
    this._controller = new WritableStreamDefaultController(kStream, this);
    const start = this._sink.start ? this._sink.start.call(this._sink, this._controller) : undefined;
    this._chain = resolved(start).catch((e) => this._error(e));
  }
  get locked() { return this._writer !== undefined; }
  getWriter() { return new WritableStreamDefaultWriter(this); }
  abort(reason) {
    if (this.locked) return Promise.reject(new TypeError("Cannot abort a locked stream"));
    return this._abort(reason);
  }
  close() {
    if (this.locked) return Promise.reject(new TypeError("Cannot close a locked stream"));
    return this._close();
  }
  get [Symbol.toStringTag]() { return "WritableStream"; }

  _desiredSize() {
    if (this._state === "errored") return null;
    if (this._state === "closed") return 0;
    return this._hwm - this._pendingSize;
  }
  _write(chunk) {
    if (this._state === "errored") return Promise.reject(this._storedError);
    if (this._state !== "writable") return Promise.reject(new TypeError("Cannot write to a closed stream"));
    let size = 1;
    try { size = this._size(chunk); } catch (e) { this._error(e); return Promise.reject(e); }
    this._pendingSize += size;
    const run = this._chain.then(() => {
      if (this._state === "errored") throw this._storedError;
      return this._sink.write ? this._sink.write.call(this._sink, chunk, this._controller) : undefined;
    });
    this._chain = run.then(() => {
      this._pendingSize -= size;
      this._wakeReady();
    }, (e) => { this._pendingSize -= size; this._error(e); });
    return run.then(() => undefined);
  }
  _close() {
    if (this._state !== "writable") return Promise.reject(new TypeError("Cannot close a closed stream"));
    this._state = "closing";
    const run = this._chain.then(() => (this._sink.close ? this._sink.close.call(this._sink) : undefined));
    this._chain = run.then(() => {
      if (this._state === "closing") this._state = "closed";
      if (this._writer) this._writer._closed.resolve();
    }, (e) => this._error(e));
    return run.then(() => undefined);
  }
  _abort(reason) {
    if (this._state === "closed" || this._state === "errored") return resolved();
    this._error(reason);
    return resolved(this._sink.abort ? this._sink.abort.call(this._sink, reason) : undefined).then(() => undefined);
  }
  _error(e) {
    if (this._state === "errored" || this._state === "closed") return;
    this._state = "errored";
    this._storedError = e;
    if (this._writer) {
      this._writer._closed.reject(e);
      this._writer._closed.promise.catch(() => {});
    }
    this._wakeReady();
  }
  _wakeReady() {
    if (this._desiredSize() === null || this._desiredSize() > 0) {
      for (const w of this._readyWaiters.splice(0)) w();
    }
  }
  _ready() {
    if (this._state === "errored") return Promise.reject(this._storedError);
    if (this._desiredSize() > 0 || this._state !== "writable") return resolved();
    return new Promise((resolve) => this._readyWaiters.push(resolve));
  }
}

export class WritableStreamDefaultWriter {
  _stream;
  _closed = deferred();
  constructor(stream) {
    if (!(stream instanceof WritableStream)) throw new TypeError("WritableStreamDefaultWriter expects a WritableStream");
    if (stream.locked) throw new TypeError("WritableStream is locked");
    this._stream = stream;
    stream._writer = this;
    if (stream._state === "closed") this._closed.resolve();
    if (stream._state === "errored") { this._closed.reject(stream._storedError); this._closed.promise.catch(() => {}); }
  }
  get closed() { return this._closed.promise; }
  get ready() { return this._stream ? this._stream._ready() : Promise.reject(new TypeError("This writer has been released")); }
  get desiredSize() {
    if (!this._stream) throw new TypeError("This writer has been released");
    return this._stream._desiredSize();
  }
  write(chunk) { return this._stream ? this._stream._write(chunk) : Promise.reject(new TypeError("This writer has been released")); }
  close() { return this._stream ? this._stream._close() : Promise.reject(new TypeError("This writer has been released")); }
  abort(reason) { return this._stream ? this._stream._abort(reason) : Promise.reject(new TypeError("This writer has been released")); }
  releaseLock() {
    if (!this._stream) return;
    this._stream._writer = undefined;
    this._stream = undefined;
  }
  get [Symbol.toStringTag]() { return "WritableStreamDefaultWriter"; }
}

export class TransformStreamDefaultController {
  #readable;
  #onTerminate;
  #onEnqueue;
  constructor(key, readable, onTerminate, onEnqueue) {
    if (key !== kStream) throw new TypeError("Illegal constructor");
    this.#readable = readable;
    this.#onTerminate = onTerminate;
    this.#onEnqueue = onEnqueue;
  }
  get desiredSize() { return this.#readable._desiredSize(); }
  enqueue(chunk) {
    this.#readable._enqueue(chunk);
    this.#onEnqueue();
  }
  error(e) { this.#readable._error(e); this.#onTerminate(e); }
  terminate() {
    if (this.#readable._state === "readable" && !this.#readable._closeRequested) this.#readable._requestClose();
    this.#onTerminate(new TypeError("The transform stream has been terminated"));
  }
}

export class TransformStream {
  #readable;
  #writable;
  constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
    const t = transformer || {};
    let writable;
    // Backpressure (Streams §6.4): set when an enqueue fills the readable side, cleared when
    // it pulls. A transform that enqueues nothing leaves it clear, so the next write proceeds.
    let backpressure = true;
    let backpressureCleared = deferred();
    const setBackpressure = (on) => {
      if (backpressure === on) return;
      backpressure = on;
      if (on) backpressureCleared = deferred(); else backpressureCleared.resolve();
    };
    const readable = new ReadableStream({
      pull() { setBackpressure(false); },
      cancel(reason) { writable._error(reason); },
    }, readableStrategy || { highWaterMark: 0 });
    const controller = new TransformStreamDefaultController(kStream, readable, (e) => writable._error(e), () => {
      if (readable._desiredSize() <= 0) setBackpressure(true);
    });
    writable = new WritableStream({
      start: () => (t.start ? t.start.call(t, controller) : undefined),
      write: (chunk) => {
        const wait = backpressure ? backpressureCleared.promise : resolved();
        return wait.then(() => (t.transform ? t.transform.call(t, chunk, controller) : controller.enqueue(chunk)))
          .catch((e) => {
            // A failed transform errors both sides, so readers see the error instead of waiting.
            readable._error(e);
            throw e;
          });
      },
      close: () => resolved().then(() => (t.flush ? t.flush.call(t, controller) : undefined)).then(() => {
        if (readable._state === "readable" && !readable._closeRequested) readable._requestClose();
      }, (e) => { readable._error(e); throw e; }),
      abort: (reason) => { readable._error(reason); },
    }, writableStrategy);
    this.#readable = readable;
    this.#writable = writable;
  }
  get readable() { return this.#readable; }
  get writable() { return this.#writable; }
  get [Symbol.toStringTag]() { return "TransformStream"; }
}

// ---- hooks for Rust ----

// A stream over a native body source: `source.read()` resolves to a Uint8Array or undefined
// at the end; `source.cancel()` drops the body.
export function fromNative(source) {
  const stream = new ReadableStream({
    pull(c) {
      return source.read().then((chunk) => {
        if (chunk === undefined) c.close(); else c.enqueue(chunk);
      });
    },
    cancel() { source.cancel(); },
  }, { highWaterMark: 0 });
  stream._native = source;
  return stream;
}

// The native source of a stream nobody has read or locked, which Rust then takes over
// whole; undefined otherwise.
export function takeNative(stream) {
  if (stream._native === undefined || stream._disturbed || stream.locked || stream._queue.length > 0) return undefined;
  stream._disturbed = true;
  const source = stream._native;
  stream._native = undefined;
  stream._state = "closed";
  return source;
}

export function isDisturbed(stream) { return stream._disturbed; }

// Reads a stream to its end: resolves to the list of chunks.
export function readAll(stream) {
  if (stream.locked) return Promise.reject(new TypeError("This ReadableStream is currently locked to a reader."));
  const reader = stream.getReader();
  const chunks = [];
  const next = () => reader.read().then(({ value, done }) => {
    if (done) { reader.releaseLock(); return chunks; }
    chunks.push(value);
    return next();
  });
  return next();
}
