// `node:assert` (under `nodejs_compat`): the assertions Worker test suites use, with Node's
// AssertionError (`code: 'ERR_ASSERTION'`, `actual`, `expected`, `operator`) and messages
// close to workerd's. As in workerd, `equal`/`deepEqual` are the strict comparisons.

function inspect(value, depth = 0) {
  if (typeof value === 'string') return depth === 0 ? `'${value}'` : `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return value.name ? `[Function: ${value.name}]` : '[Function (anonymous)]';
  if (Object.is(value, -0)) return '-0';
  if (value === null || typeof value !== 'object') return String(value);
  if (depth > 2) return Array.isArray(value) ? '[Array]' : '[Object]';
  if (value instanceof Error) return value.stack ? String(value.stack).split('\n')[0] : `${value.name}: ${value.message}`;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof RegExp) return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[ ${value.map((v) => inspect(v, depth + 1)).join(', ')} ]`;
  }
  if (value instanceof Map) {
    const items = [...value].map(([k, v]) => `${inspect(k, depth + 1)} => ${inspect(v, depth + 1)}`);
    return `Map(${value.size}) {${items.length ? ` ${items.join(', ')} ` : ''}}`;
  }
  if (value instanceof Set) {
    const items = [...value].map((v) => inspect(v, depth + 1));
    return `Set(${value.size}) {${items.length ? ` ${items.join(', ')} ` : ''}}`;
  }
  if (ArrayBuffer.isView(value)) {
    return `${value.constructor.name}(${value.length}) [ ${Array.from(value).join(', ')} ]`;
  }
  const keys = Object.keys(value);
  const proto = Object.getPrototypeOf(value);
  const prefix = proto && proto !== Object.prototype && proto.constructor ? `${proto.constructor.name} ` : '';
  if (keys.length === 0) return `${prefix}{}`;
  const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`);
  return `${prefix}{ ${keys.map((k) => `${key(k)}: ${inspect(value[k], depth + 1)}`).join(', ')} }`;
}

const kReadableOperator = {
  deepStrictEqual: 'Expected values to be strictly deep-equal:',
  strictEqual: 'Expected values to be strictly equal:',
  notDeepStrictEqual: 'Expected "actual" not to be strictly deep-equal to:',
  notStrictEqual: 'Expected "actual" to be strictly unequal to:',
};

function diffMessage(actual, expected, operator) {
  const a = inspect(actual);
  const e = inspect(expected);
  const header = kReadableOperator[operator] ?? `${operator} failed:`;
  const aLines = a.split('\n');
  const eLines = e.split('\n');
  if (aLines.length === 1 && eLines.length === 1 && a !== e) {
    const objects = (typeof actual === 'object' && actual !== null) || (typeof expected === 'object' && expected !== null);
    if (a.length + e.length <= 12) {
      if (!objects && (actual !== 0 || expected !== 0)) return `${header}\n\n${a} !== ${e}\n`;
    } else if (a.length + e.length < 80) {
      let i = 0;
      while (a[i] === e[i]) i++;
      const indicator = i > 2 ? `\n  ${' '.repeat(i)}^` : '';
      return `${header}\n+ actual - expected\n\n+ ${a}\n- ${e}${indicator}`;
    }
  }
  return `${header}\n+ actual - expected\n\n${aLines.map((l) => `+ ${l}`).join('\n')}\n${eLines.map((l) => `- ${l}`).join('\n')}`;
}

export class AssertionError extends Error {
  constructor(options = {}) {
    const { message, actual, expected, operator } = options;
    let text = message;
    let generated = false;
    if (text === undefined) {
      generated = true;
      text = operator === 'fail' ? 'Failed' : diffMessage(actual, expected, operator);
    } else if (text instanceof Error) {
      throw text;
    }
    super(String(text));
    this.generatedMessage = options.generatedMessage ?? generated;
    this.code = 'ERR_ASSERTION';
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
  }
  get name() {
    return 'AssertionError';
  }
  toString() {
    return `AssertionError [ERR_ASSERTION]: ${this.message}`;
  }
}

function fail(options, userMessage) {
  if (userMessage instanceof Error) throw userMessage;
  if (userMessage !== undefined) options.message = userMessage;
  throw new AssertionError(options);
}

function isDeepStrictEqual(a, b, seen = new Map()) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof RegExp) return String(a) === String(b) && a.lastIndex === b.lastIndex;
  if (a instanceof Error && (a.message !== b.message || a.name !== b.name)) return false;
  if (ArrayBuffer.isView(a)) {
    if (a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.every((v, i) => v === y[i]);
  }
  if (a instanceof ArrayBuffer) return isDeepStrictEqual(new Uint8Array(a), new Uint8Array(b), seen);
  if (a instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !isDeepStrictEqual(v, b.get(k), seen)) return false;
    return true;
  }
  if (a instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v) && ![...b].some((w) => isDeepStrictEqual(v, w, seen))) return false;
    return true;
  }
  if (Array.isArray(a) && a.length !== b.length) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !isDeepStrictEqual(a[k], b[k], seen)) return false;
  }
  return true;
}

export function ok(value, message) {
  if (!value) {
    const generated = message === undefined;
    fail({ actual: value, expected: true, operator: '==', message: generated ? `${inspect(value)} == true` : message, generatedMessage: generated });
  }
}

export function strictEqual(actual, expected, message) {
  if (Object.is(actual, expected)) return;
  if (message !== undefined) fail({ actual, expected, operator: 'strictEqual' }, message);
  let text;
  if (typeof actual === 'object' && actual !== null && typeof expected === 'object' && expected !== null
      && inspect(actual) === inspect(expected)) {
    text = `Values have the same structure but are not reference-equal:\n\n    ${inspect(actual)}\n`;
  } else {
    const show = (v) => (typeof v === 'string' ? v : inspect(v));
    const tail = typeof actual === 'string' || typeof expected === 'string' ? '\n' : '';
    text = `Values are not strictly equal:\n\n\n[Diff] Actual / Expected\n\n\n-   ${show(actual)}\n+   ${show(expected)}\n${tail}`;
  }
  throw new AssertionError({ message: text, actual, expected, operator: 'strictEqual', generatedMessage: false });
}

export function notStrictEqual(actual, expected, message) {
  if (!Object.is(actual, expected)) return;
  fail({ actual, expected, operator: 'notStrictEqual', message: message ?? 'Expected actual to be strictly unequal to expected', generatedMessage: false });
}

export function deepStrictEqual(actual, expected, message) {
  if (!isDeepStrictEqual(actual, expected)) fail({ actual, expected, operator: 'deepStrictEqual' }, message);
}

export function notDeepStrictEqual(actual, expected, message) {
  if (isDeepStrictEqual(actual, expected)) {
    fail({ actual, expected, operator: 'notDeepStrictEqual', message: message ?? 'Expected actual to not be deeply strictly equal to expected', generatedMessage: false });
  }
}

export const equal = strictEqual;
export const notEqual = notStrictEqual;
export const deepEqual = deepStrictEqual;
export const notDeepEqual = notDeepStrictEqual;

export function match(string, regexp, message) {
  if (typeof string !== 'string' || !regexp.test(string)) {
    fail({ actual: string, expected: regexp, operator: 'match', message: message ?? `actual: ${JSON.stringify(string)} expected to match: "${regexp}"`, generatedMessage: false });
  }
}

export function doesNotMatch(string, regexp, message) {
  if (typeof string === 'string' && regexp.test(string)) {
    fail({ actual: string, expected: regexp, operator: 'doesNotMatch', message: message ?? `actual: ${JSON.stringify(string)} expected to not match: "${regexp}"`, generatedMessage: false });
  }
}

// Checks a thrown `error` against `expected` (a class, RegExp, validation function or object of
// properties), as Node's `throws`/`rejects` do.
function checkError(error, expected, operator, message) {
  if (expected === undefined) return;
  if (expected instanceof RegExp) {
    if (!expected.test(String(error))) {
      fail({ actual: error, expected, operator, generatedMessage: message === undefined, message: message ?? `The input did not match the regular expression ${expected}. Input:\n\n${inspect(String(error))}\n` });
    }
    return;
  }
  if (typeof expected === 'function') {
    if (expected.prototype !== undefined && error instanceof expected) return;
    if (Error.isPrototypeOf(expected) || expected === Error) {
      const received = error && error.constructor ? error.constructor.name : typeof error;
      fail({ actual: error, expected, operator, generatedMessage: message === undefined, message: message ?? `The error is expected to be an instance of "${expected.name}". Received "${received}"\n\nError message:\n\n${error?.message}` });
    }
    if (expected.call({}, error) !== true) {
      fail({ actual: error, expected, operator, generatedMessage: message === undefined, message: message ?? `The ${expected.name ? `"${expected.name}" validation function` : 'validation function'} is expected to return "true". Received ${inspect(expected.call({}, error))}` });
    }
    return;
  }
  if (typeof expected === 'object' && expected !== null) {
    for (const key of Object.keys(expected)) {
      const want = expected[key];
      const got = error?.[key];
      const same = want instanceof RegExp && typeof got === 'string' ? want.test(got) : isDeepStrictEqual(got, want);
      if (!same) {
        fail({ actual: error, expected, operator: 'deepStrictEqual', generatedMessage: message === undefined, message: message ?? `Expected values to be strictly deep-equal:\n\n${inspect(got)} !== ${inspect(want)}\n` });
      }
    }
  }
}

const NO_ERROR = Symbol('no error');

export function throws(fn, expected, message) {
  if (typeof expected === 'string') {
    message = expected;
    expected = undefined;
  }
  let error = NO_ERROR;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  if (error === NO_ERROR) {
    fail({ actual: undefined, expected, operator: 'throws', message: `Missing expected exception${message ? `: ${message}` : '.'}`, generatedMessage: false });
  }
  checkError(error, expected, 'throws', message);
}

export function doesNotThrow(fn, expected, message) {
  try {
    fn();
  } catch (e) {
    fail({ actual: e, expected, operator: 'doesNotThrow', message: `Got unwanted exception.\nActual message: "${e?.message}"`, generatedMessage: false });
  }
}

export async function rejects(promiseOrFn, expected, message) {
  if (typeof expected === 'string') {
    message = expected;
    expected = undefined;
  }
  let error = NO_ERROR;
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    error = e;
  }
  if (error === NO_ERROR) {
    fail({ actual: undefined, expected, operator: 'rejects', generatedMessage: !message, message: `Missing expected rejection${message ? `: ${message}` : '.'}` });
  }
  checkError(error, expected, 'rejects', message);
}

export async function doesNotReject(promiseOrFn, expected, message) {
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    fail({ actual: e, expected, operator: 'doesNotReject', message: `Got unwanted exception.\nActual message: "${e?.message}"`, generatedMessage: false });
  }
}

export function ifError(value) {
  if (value !== null && value !== undefined) {
    if (value instanceof Error) throw value;
    fail({ actual: value, expected: null, operator: 'ifError', message: `ifError got unwanted exception: ${inspect(value)}` });
  }
}

function assertFail(message) {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message, operator: 'fail', generatedMessage: message === undefined });
}
export { assertFail as fail };

function assert(value, message) {
  ok(value, message);
}
Object.assign(assert, {
  AssertionError, ok, strictEqual, notStrictEqual, deepStrictEqual, notDeepStrictEqual, equal, notEqual,
  deepEqual, notDeepEqual, match, doesNotMatch, throws, doesNotThrow, rejects, doesNotReject, ifError,
  fail: assertFail,
});
assert.strict = assert;
export const strict = assert;
export default assert;
