// `node:test` (under `nodejs_compat`): what workerd's module exports, its mocking API
// (`mock.fn`, `mock.method`, `mock.restoreAll`/`reset`, `MockTracker`, `MockFunctionContext`).
// workerd exports no `test`/`describe`: Worker tests are `test()` handlers run by `workerd test`.

export class MockFunctionContext {
  #calls = [];
  #implementation;
  #original;
  #restore;
  #once = new Map();
  constructor(implementation, original, restore) {
    this.#implementation = implementation;
    this.#original = original;
    this.#restore = restore;
  }
  get calls() {
    return this.#calls.slice();
  }
  callCount() {
    return this.#calls.length;
  }
  mockImplementation(implementation) {
    this.#implementation = implementation;
  }
  mockImplementationOnce(implementation, onCall = this.#calls.length) {
    this.#once.set(onCall, implementation);
  }
  resetCalls() {
    this.#calls = [];
  }
  restore() {
    this.#implementation = this.#original;
    if (this.#restore) this.#restore();
  }
  // Runs one call: the implementation for this call, recorded with its outcome.
  invoke(self, args, target) {
    const index = this.#calls.length;
    const implementation = this.#once.get(index) ?? this.#implementation;
    this.#once.delete(index);
    const record = { arguments: args, error: undefined, result: undefined, stack: new Error(), target, this: self };
    this.#calls.push(record);
    try {
      record.result = target ? Reflect.construct(implementation, args, target) : Reflect.apply(implementation, self, args);
      return record.result;
    } catch (error) {
      record.error = error;
      throw error;
    }
  }
}

export class MockTracker {
  #mocks = [];
  fn(original = function () {}, implementation = original) {
    const context = new MockFunctionContext(implementation, original);
    this.#mocks.push(context);
    const mocked = function (...args) {
      return context.invoke(this, args, new.target);
    };
    Object.defineProperty(mocked, 'mock', { value: context, enumerable: false });
    Object.defineProperty(mocked, 'name', { value: original.name });
    Object.defineProperty(mocked, 'length', { value: original.length });
    return mocked;
  }
  method(object, methodName, implementation, options) {
    const original = object[methodName];
    if (typeof original !== 'function') {
      throw new TypeError(`The argument 'methodName' must be a method. Received ${String(original)}`);
    }
    if (typeof implementation === 'object' && implementation !== null) {
      options = implementation;
      implementation = original;
    }
    const mocked = this.fn(original, implementation ?? original);
    const context = mocked.mock;
    const restore = () => {
      object[methodName] = original;
    };
    const contextWithRestore = new MockFunctionContext(implementation ?? original, original, restore);
    this.#mocks[this.#mocks.length - 1] = contextWithRestore;
    const wrapped = function (...args) {
      return contextWithRestore.invoke(this, args, new.target);
    };
    Object.defineProperty(wrapped, 'mock', { value: contextWithRestore, enumerable: false });
    void context;
    void options;
    object[methodName] = wrapped;
    return wrapped;
  }
  reset() {
    this.restoreAll();
    this.#mocks = [];
  }
  restoreAll() {
    for (const mock of this.#mocks) mock.restore();
  }
}

export const mock = new MockTracker();

export default { mock, MockFunctionContext, MockTracker };
