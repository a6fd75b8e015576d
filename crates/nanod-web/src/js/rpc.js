// JS RPC stubs on service bindings. `install` puts a Proxy at the end of the Fetcher
// prototype chain: `fetch` (and everything else the Fetcher or Object.prototype has) is found
// before the Proxy, so `env.X.fetch` never reaches it; any other name becomes a stub, cached
// on the binding as a non-enumerable property. Calling a stub calls the method in the target
// Worker; awaiting it (`await env.X.prop`) reads the property there.
//
// A call's promise is pipelined, as workerd's are: `env.X.user().name` is a promise of that
// member of the result, so one `await` does. The path is walked in the caller on the cloned
// result, with workerd's rule: only own properties of plain objects (no `length` of an
// array, no `getTime` of a Date).

const PROMISE_METHODS = ["then", "catch", "finally"];

// The prototype of a call's promise: `Promise.prototype`'s members (and `Object.prototype`'s)
// through a Proxy, anything else a member of the promise's eventual value. The promise stays a
// real promise, so `await` takes its fast path; `constructor` is an own property here so that
// `await` does not go through the Proxy either. As in workerd, it is not `instanceof Promise`.
const pipelineProto = Object.create(
  new Proxy(Promise.prototype, {
    get(target, key, receiver) {
      if (typeof key === "symbol" || key in target) return Reflect.get(target, key, receiver);
      return member(receiver, key);
    },
  }),
  { constructor: { value: Promise, writable: true, configurable: true } },
);

const pipelined = (promise) => Object.setPrototypeOf(promise, pipelineProto);

const notImplemented = (key) => new TypeError(`The RPC receiver does not implement the method "${key}".`);

// `v[key]`, where `v` is the member `parentKey` of the path (`undefined`: the result itself).
// As workerd words it, a missing key names itself and a value that is not a plain object
// names the key it came from.
const readMember = (v, key, parentKey) => {
  const plain = v !== null && typeof v === "object" &&
    [Object.prototype, null].includes(Object.getPrototypeOf(v));
  if (plain && Object.hasOwn(v, key)) return v[key];
  throw notImplemented(plain || parentKey === undefined ? key : parentKey);
};

// Member `key` of what `parent` settles to: callable (a method call on it) and awaitable.
const member = (parent, key, parentKey) => {
  let read;
  const value = () => (read ??= parent.then((v) => readMember(v, key, parentKey)));
  return new Proxy(function () {}, {
    apply(_, __, args) {
      return pipelined(parent.then((v) => {
        const method = readMember(v, key, parentKey);
        if (typeof method !== "function") throw notImplemented(key);
        return method.apply(v, args);
      }));
    },
    get(_, k) {
      if (typeof k === "symbol") return undefined;
      if (PROMISE_METHODS.includes(k)) {
        const promise = value();
        return promise[k].bind(promise);
      }
      return member(value(), k, key);
    },
  });
};

export function install(proto, call) {
  const base = Object.getPrototypeOf(proto);
  const invoke = (fetcher, name, args) => {
    try {
      return pipelined(call(fetcher, name, args));
    } catch (e) {
      return Promise.reject(e);
    }
  };
  const stub = (fetcher, name) => {
    const method = (...args) => invoke(fetcher, name, args);
    method.then = (onFulfilled, onRejected) => invoke(fetcher, name, undefined).then(onFulfilled, onRejected);
    return method;
  };
  const handler = {
    get(target, key, receiver) {
      if (typeof key === "symbol" || key in target) return Reflect.get(target, key, receiver);
      // Not thenable: `await env.X` is the binding itself, as in workerd.
      if (key === "then") return undefined;
      const method = stub(receiver, key);
      Object.defineProperty(receiver, key, { value: method, configurable: true });
      return method;
    },
  };
  Object.setPrototypeOf(proto, new Proxy(base, handler));
}
