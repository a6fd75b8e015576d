// WHATWG Streams: ReadableStream, WritableStream, TransformStream and their readers, writers
// and controllers, plus the hooks Rust uses to move bodies in and out of isolates.
//
// Compiled to bytecode once per process and evaluated in an isolate only when its code first
// touches a stream. Internal state lives in `_`-prefixed fields (a later, native version will
// hide it); controllers keep their stream in private fields.
// Covered: default streams with count or size strategies; byte streams (`type: "bytes"`) with
// ReadableByteStreamController, byobRequest, autoAllocateChunkSize and BYOB readers
// (`read(view, { min })`); tee, pipeTo, pipeThrough, async iteration, ReadableStream.from.
// Enqueued byte chunks and BYOB views are transferred (ArrayBuffer.prototype.transfer), as the
// spec says, so the producer cannot change bytes a reader already has.

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

export class ReadableStreamBYOBRequest {
  #stream;
  #pullInto;
  constructor(key, stream, pullInto) {
    if (key !== kStream) throw new TypeError("Illegal constructor");
    this.#stream = stream;
    this.#pullInto = pullInto;
  }
  get view() {
    const p = this.#pullInto;
    return p ? new Uint8Array(p.buffer, p.byteOffset + p.filled, p.byteLength - p.filled) : null;
  }
  respond(bytesWritten) {
    if (!this.#pullInto) throw new TypeError("This BYOB request has already been responded to");
    const n = Number(bytesWritten);
    if (!Number.isInteger(n) || n < 0) throw new RangeError("bytesWritten must be a non-negative integer");
    this.#stream._respond(this.#pullInto, n);
    this.#pullInto = undefined;
  }
  respondWithNewView(view) {
    if (!ArrayBuffer.isView(view)) throw new TypeError("respondWithNewView expects an ArrayBufferView");
    const p = this.#pullInto;
    if (!p) throw new TypeError("This BYOB request has already been responded to");
    if (view.byteOffset !== p.byteOffset + p.filled) throw new RangeError("The view does not start where the request's view does");
    p.buffer = view.buffer;
    this.respond(view.byteLength);
  }
}

export class ReadableByteStreamController {
  #stream;
  constructor(key, stream) {
    if (key !== kStream) throw new TypeError("Illegal constructor");
    this.#stream = stream;
  }
  get byobRequest() { return this.#stream._byobRequest(); }
  get desiredSize() { return this.#stream._desiredSize(); }
  enqueue(chunk) {
    if (!ArrayBuffer.isView(chunk)) throw new TypeError("enqueue expects an ArrayBufferView");
    if (chunk.byteLength === 0) throw new TypeError("Cannot enqueue an empty view");
    if (chunk.buffer.detached) throw new TypeError("Cannot enqueue a view on a detached buffer");
    const start = chunk.byteOffset;
    const length = chunk.byteLength;
    const buffer = chunk.buffer.transfer();
    this.#stream._enqueue(new Uint8Array(buffer, start, length));
  }
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
  // Byte streams only: BYOB reads (and auto-allocated default reads) waiting for bytes.
  _bytes = false;
  _pullIntos = [];
  _autoAllocate = undefined;
  _currentRequest = undefined;

  constructor(source = undefined, strategy = undefined) {
    if (source === null) throw new TypeError("Failed to construct 'ReadableStream': underlying source cannot be null");
    this._source = source || {};
    const isBytes = this._source.type === "bytes";
    if (this._source.type !== undefined && !isBytes) throw new TypeError(`Invalid type: ${this._source.type}`);
    this._bytes = isBytes;
    if (isBytes) {
      if (strategy && strategy.size !== undefined) throw new RangeError("A byte stream cannot have a size strategy");
      this._size = (chunk) => chunk.byteLength;
      const auto = this._source.autoAllocateChunkSize;
      if (auto !== undefined) {
        if (!Number.isInteger(auto) || auto <= 0) throw new TypeError("autoAllocateChunkSize must be a positive integer");
        this._autoAllocate = auto;
      }
    } else {
      this._size = sizeAlgorithm(strategy);
    }
    this._hwm = highWaterMark(strategy, isBytes ? 0 : 1);
    this._controller = isBytes ? new ReadableByteStreamController(kStream, this) : new ReadableStreamDefaultController(kStream, this);
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
    if (mode === "byob") return new ReadableStreamBYOBReader(this);
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
        branches.forEach((b, i) => {
          if (b._state !== "readable" || b._closeRequested) return;
          if (done) b._controller.close();
          // Byte branches each get their own copy: enqueue transfers the buffer.
          else b._controller.enqueue(this._bytes ? (i === 0 ? value.slice() : value) : value);
        });
      }, (e) => {
        reading = false;
        for (const b of branches) b._error(e);
      });
    };
    for (let i = 0; i < 2; i++) {
      branches.push(new ReadableStream({
        type: this._bytes ? "bytes" : undefined,
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


  // ---- internals (used by the controller, readers and Rust hooks) ----
  _desiredSize() {
    if (this._state === "errored") return null;
    if (this._state === "closed") return 0;
    return this._hwm - this._queueSize;
  }

  _enqueue(chunk) {
    if (this._closeRequested || this._state !== "readable") throw new TypeError("Cannot enqueue into a closed stream");
    const reader = this._reader;
    if (this._bytes && this._pullIntos.length > 0) {
      // Bytes go into waiting BYOB views first; what does not fit is queued.
      this._currentRequest = undefined;
      let offset = 0;
      while (offset < chunk.byteLength && this._pullIntos.length > 0) {
        const p = this._pullIntos[0];
        const n = Math.min(chunk.byteLength - offset, p.byteLength - p.filled);
        new Uint8Array(p.buffer, p.byteOffset + p.filled, n).set(chunk.subarray(offset, offset + n));
        p.filled += n;
        offset += n;
        if (!this._commitPullInto(p)) break;
      }
      if (offset < chunk.byteLength) {
        const rest = chunk.subarray(offset);
        this._queue.push([rest, rest.byteLength]);
        this._queueSize += rest.byteLength;
      }
    } else if (reader && reader._readRequests.length > 0) {
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
    this._currentRequest = undefined;
    for (const p of this._pullIntos.splice(0)) {
      if (p.kind === "byob") p.request.resolve({ value: p.view(0), done: true });
      else p.request.resolve({ value: undefined, done: true });
    }
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
    this._currentRequest = undefined;
    for (const p of this._pullIntos.splice(0)) p.request.reject(e);
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
    if (this._bytes && this._autoAllocate !== undefined) {
      // A default read on an auto-allocating byte stream becomes a pull-into, so the source
      // sees a byobRequest.
      this._pullIntos.push(this._newPullInto(new ArrayBuffer(this._autoAllocate), 0, this._autoAllocate, 1, 1, Uint8Array, "default", request));
    } else {
      this._reader._readRequests.push(request);
    }
    this._maybePull();
    return request.promise;
  }

  _newPullInto(buffer, byteOffset, byteLength, elementSize, minFill, ctor, kind, request) {
    const p = { buffer, byteOffset, byteLength, filled: 0, elementSize, minFill, ctor, kind, request };
    p.view = (filled) => new ctor(p.buffer, p.byteOffset, filled / elementSize);
    return p;
  }

  // Resolves the first pull-into if it has enough bytes; returns whether it did.
  _commitPullInto(p) {
    if (p.filled < p.minFill) return false;
    const usable = p.filled - (p.filled % p.elementSize);
    this._pullIntos.shift();
    if (p.kind === "byob") p.request.resolve({ value: p.view(usable), done: false });
    else p.request.resolve({ value: new Uint8Array(p.buffer, p.byteOffset, usable), done: false });
    return true;
  }

  // A BYOB read into `view` (Streams §4.6): filled from the queue at once when possible.
  _readInto(view, min) {
    this._disturbed = true;
    if (this._state === "errored") return Promise.reject(this._storedError);
    const elementSize = view.BYTES_PER_ELEMENT || 1;
    const ctor = view.constructor;
    if (min * elementSize > view.byteLength) return Promise.reject(new RangeError("min is larger than the view"));
    const byteOffset = view.byteOffset;
    const byteLength = view.byteLength;
    const buffer = view.buffer.transfer();
    const request = deferred();
    const p = this._newPullInto(buffer, byteOffset, byteLength, elementSize, min * elementSize, ctor, "byob", request);
    if (this._state === "closed") {
      request.resolve({ value: p.view(0), done: true });
      return request.promise;
    }
    if (this._pullIntos.length === 0) {
      while (this._queue.length > 0 && p.filled < p.byteLength) {
        const [chunk] = this._queue[0];
        const n = Math.min(chunk.byteLength, p.byteLength - p.filled);
        new Uint8Array(p.buffer, p.byteOffset + p.filled, n).set(chunk.subarray(0, n));
        p.filled += n;
        this._queueSize -= n;
        if (n === chunk.byteLength) this._queue.shift();
        else this._queue[0] = [chunk.subarray(n), chunk.byteLength - n];
      }
      if (p.filled >= p.minFill && p.filled >= p.elementSize) {
        const usable = p.filled - (p.filled % elementSize);
        request.resolve({ value: p.view(usable), done: false });
        if (this._closeRequested && this._queue.length === 0) this._close();
        else this._maybePull();
        return request.promise;
      }
      if (this._closeRequested) {
        if (p.filled % elementSize !== 0) {
          const e = new TypeError("Insufficient bytes to fill elements in the given buffer");
          this._error(e);
          return Promise.reject(e);
        }
        request.resolve({ value: p.view(p.filled), done: true });
        this._close();
        return request.promise;
      }
    }
    this._pullIntos.push(p);
    this._maybePull();
    return request.promise;
  }

  _byobRequest() {
    if (!this._bytes || this._pullIntos.length === 0) return null;
    if (!this._currentRequest) this._currentRequest = new ReadableStreamBYOBRequest(kStream, this, this._pullIntos[0]);
    return this._currentRequest;
  }

  _respond(p, bytesWritten) {
    this._currentRequest = undefined;
    if (this._state === "closed") {
      if (bytesWritten !== 0) throw new TypeError("bytesWritten must be 0 for a closed stream");
      return;
    }
    if (bytesWritten === 0) throw new TypeError("bytesWritten must be greater than 0");
    if (p.filled + bytesWritten > p.byteLength) throw new RangeError("bytesWritten is larger than the view");
    p.filled += bytesWritten;
    if (this._commitPullInto(p)) this._maybePull();
  }

  _maybePull() {
    if (!this._started || this._state !== "readable" || this._closeRequested) return;
    const wanted = (this._reader && this._reader._readRequests.length > 0) || this._pullIntos.length > 0 ||
      this._desiredSize() > 0;
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
}

export class ReadableStreamBYOBReader {
  _stream;
  _readRequests = [];
  _closed = deferred();

  constructor(stream) {
    if (!(stream instanceof ReadableStream)) throw new TypeError("ReadableStreamBYOBReader expects a ReadableStream");
    if (!stream._bytes) throw new TypeError("Cannot use a BYOB reader with a non-byte stream");
    if (stream.locked) throw new TypeError("ReadableStream is locked");
    this._stream = stream;
    stream._reader = this;
    if (stream._state === "closed") this._closed.resolve();
    if (stream._state === "errored") { this._closed.reject(stream._storedError); this._closed.promise.catch(() => {}); }
  }
  get closed() { return this._closed.promise; }
  read(view, options = undefined) {
    if (!this._stream) return Promise.reject(new TypeError("This reader has been released"));
    if (!ArrayBuffer.isView(view)) return Promise.reject(new TypeError("read() expects an ArrayBufferView"));
    if (view.byteLength === 0) return Promise.reject(new TypeError("Cannot read into an empty view"));
    if (view.buffer.detached) return Promise.reject(new TypeError("Cannot read into a detached buffer"));
    const min = options && options.min !== undefined ? Number(options.min) : 1;
    if (!Number.isInteger(min) || min <= 0) return Promise.reject(new TypeError("min must be a positive integer"));
    return this._stream._readInto(view, min);
  }
  cancel(reason) {
    if (!this._stream) return Promise.reject(new TypeError("This reader has been released"));
    return this._stream._cancel(reason);
  }
  releaseLock() {
    const stream = this._stream;
    if (!stream) return;
    const err = new TypeError("Reader was released");
    for (const p of stream._pullIntos.splice(0)) p.request.reject(err);
    stream._currentRequest = undefined;
    this._closed = deferred();
    this._closed.reject(err);
    this._closed.promise.catch(() => {});
    stream._reader = undefined;
    this._stream = undefined;
  }
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
}

// workerd's IdentityTransformStream: bytes pass through unchanged, a string is UTF-8-encoded
// (as workerd does), anything else errors the stream with workerd's TypeError. It is also what
// `new TransformStream()` makes for a Worker without `transformstream_enable_standard_constructor`.
const BYTE_STREAM_GOT_OBJECT = "This TransformStream is being used as a byte stream, but received an object of " +
  "non-ArrayBuffer/ArrayBufferView type on its writable side.";
export class IdentityTransformStream extends TransformStream {
  constructor() {
    super({
      transform(chunk, controller) {
        if (chunk instanceof ArrayBuffer) chunk = new Uint8Array(chunk);
        else if (typeof chunk === "string") chunk = new TextEncoder().encode(chunk);
        else if (!ArrayBuffer.isView(chunk)) throw new TypeError(BYTE_STREAM_GOT_OBJECT);
        controller.enqueue(chunk);
      },
    });
  }
}

// ---- hooks for Rust ----

// A stream over a native body source: `source.read()` resolves to a Uint8Array or undefined
// at the end; `source.cancel()` drops the body.
export function fromNative(source) {
  let stream;
  stream = new ReadableStream({
    type: "bytes",
    pull(c) {
      return source.read().then((chunk) => {
        // Chunks from Rust are fresh and owned by nobody else: no transfer needed.
        if (chunk === undefined) c.close(); else stream._enqueue(chunk);
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
