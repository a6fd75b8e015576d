//! `Event`, `EventTarget`, `AbortController`/`AbortSignal`, `structuredClone` and `navigator`
//! through the real globals in an isolate.
//!
//! Expected values come from running the same JS under Node 20 and workerd (the binary in
//! `bench/`). Where they differ, workerd wins; those cases say so in a comment:
//! - a listener's exception ends the dispatch and propagates out of `dispatchEvent` (Node and
//!   the DOM report it and go on);
//! - `capture: true` is refused with a TypeError (DOM and Node accept it);
//! - `target`/`currentTarget` are `undefined` when unset, `currentTarget` is kept after
//!   dispatch, `CustomEvent.detail` defaults to `undefined` (DOM and Node: `null`);
//! - objects carry no `Symbol.toStringTag` (Node: `[object Event]`).
//!
//! One deliberate exception: listeners are called with `this` = the current target, as the DOM
//! says; workerd passes an internal object there.

use nanod_web::testing::{check_expressions, run_js};

#[test]
fn event_fields() {
    check_expressions(&[
        ("new Event('x').isTrusted", "false"),
        ("new Event('x').returnValue", "true"),
        ("new Event('x').timeStamp", "0"),
        ("new Event('x').composedPath().length", "0"),
        // workerd: `undefined` (spec and Node: null).
        // workerd: undefined before dispatch (DOM and Node: null).
        ("String(new Event('x').target) + String(new Event('x').currentTarget)", "undefinedundefined"),
        ("(() => { const e = new Event('x', {cancelable: false}); e.preventDefault(); return e.defaultPrevented + ':' + e.returnValue })()", "false:true"),
        ("(() => { const e = new Event('x'); e.cancelBubble = true; return e.cancelBubble })()", "true"),
        ("new Event()", "threw TypeError"),
        ("new Event('a', 5)", "threw TypeError"),
        ("new Event(5).type", "5"),
        ("new Event('a', {bubbles: 1, cancelable: '', composed: {}}).bubbles + ':' + new Event('a', {cancelable: ''}).cancelable + new Event('a', {composed: {}}).composed", "true:falsetrue"),
        ("Event.AT_TARGET + new Event('a').BUBBLING_PHASE", "5"),
        ("[Event.NONE, Event.CAPTURING_PHASE, Event.AT_TARGET, Event.BUBBLING_PHASE].join()", "0,1,2,3"),
        ("typeof Event.prototype.NONE", "number"),
        ("Event('a')", "threw TypeError"),
        ("Object.getOwnPropertyDescriptor(Event.prototype, 'type').get.call({})", "threw TypeError"),
        ("Object.keys(new Event('a')).join()", ""),
        ("JSON.stringify(new Event('a'))", "{}"),
        ("typeof new Event('x').initEvent", "undefined"),
        ("String(new Event('a'))", "[object Object]"),
        // workerd: undefined (spec and Node: null).
        // workerd: undefined unless given (DOM and Node: null).
        ("new CustomEvent('a').detail", "undefined"),
        ("new CustomEvent('a', {detail: 5}).detail", "5"),
        ("new CustomEvent('a', {detail: 5}) instanceof Event", "true"),
        ("(() => { const e = new CustomEvent('c', {detail: {x: 1}}); return e.detail.x + typeof e.initCustomEvent })()", "1undefined"),
        ("Object.getOwnPropertyNames(CustomEvent.prototype).includes('detail')", "true"),
        ("String(new CustomEvent('a'))", "[object Object]"),
        ("(() => { class E extends Event { constructor() { super('zz', {cancelable: true}); this.q = 1; } } const e = new E(); return e.type + e.q + e.cancelable + (e instanceof E) })()", "zz1truetrue"),
        ("(() => { class C extends CustomEvent { constructor() { super('cc', {detail: 3}); } } const e = new C(); return e.type + e.detail + (e instanceof C) + (e instanceof Event) })()", "cc3truetrue"),
    ]);
}

#[test]
fn event_target_dispatch() {
    check_expressions(&[
        ("(() => { const t = new EventTarget(); let n = 0; const f = () => n++; t.addEventListener('a', f); t.addEventListener('a', f); t.dispatchEvent(new Event('a')); return n })()", "1"),
        ("(() => { const t = new EventTarget(); let n = 0; const f = () => n++; t.addEventListener('a', f, {once: true}); t.dispatchEvent(new Event('a')); t.dispatchEvent(new Event('a')); return n })()", "1"),
        // workerd keeps currentTarget after dispatch (spec and Node: null).
        // workerd keeps currentTarget after dispatch (DOM and Node: null).
        ("(() => { const t = new EventTarget(); let log = []; const e = new Event('a'); t.addEventListener('a', (ev) => log.push(ev.eventPhase, ev.target === t, ev.currentTarget === t, ev.srcElement === t)); t.dispatchEvent(e); log.push(e.eventPhase, e.target === t, e.currentTarget); return log.join() })()", "2,true,true,true,0,true,[object Object]"),
        ("(() => { const t = new EventTarget(); const e = new Event('a'); t.dispatchEvent(e); return t.dispatchEvent(e) })()", "true"),
        ("new EventTarget().dispatchEvent('a')", "threw TypeError"),
        ("new EventTarget().addEventListener('a', 5)", "threw TypeError"),
        ("(() => { const t = new EventTarget(); t.addEventListener('a', null); return 'ok' })()", "ok"),
        ("new EventTarget().addEventListener('a')", "threw TypeError"),
        ("new EventTarget().addEventListener('a', () => {})", "undefined"),
        // workerd passes `this` = undefined (spec and Node: the current target).
        ("(() => { class T extends EventTarget { constructor() { super(); this.v = 7; } go() { return this.dispatchEvent(new Event('g', {cancelable: true})); } } const t = new T(); let who; t.addEventListener('g', function (e) { who = this === t && e.target === t; e.preventDefault(); }); return t.go() + ':' + who + ':' + t.v + ':' + (t instanceof EventTarget) })()", "false:true:7:true"),
        // Node calls listeners added during the dispatch; the spec and workerd do not.
        ("(() => { const t = new EventTarget(); const log = []; t.addEventListener('a', () => { log.push(1); t.addEventListener('a', () => log.push(3)); }); t.addEventListener('a', () => log.push(2)); t.dispatchEvent(new Event('a')); t.dispatchEvent(new Event('a')); return log.join() })()", "1,2,1,2,3"),
        ("(() => { const t = new EventTarget(); const log = []; const f2 = () => log.push(2); t.addEventListener('a', () => { log.push(1); t.removeEventListener('a', f2); }); t.addEventListener('a', f2); t.dispatchEvent(new Event('a')); return log.join() })()", "1"),
        ("(() => { const t = new EventTarget(); const log = []; t.addEventListener('a', (e) => { log.push(1); e.stopImmediatePropagation(); }); t.addEventListener('a', () => log.push(2)); t.dispatchEvent(new Event('a')); return log.join() })()", "1"),
        ("(() => { const t = new EventTarget(); const log = []; t.addEventListener('a', (e) => { log.push(1); e.stopPropagation(); }); t.addEventListener('a', () => log.push(2)); t.dispatchEvent(new Event('a')); return log.join() })()", "1,2"),
        // Node lets a passive listener cancel; the spec and workerd do not.
        ("(() => { const t = new EventTarget(); const log = []; t.addEventListener('a', (e) => { e.preventDefault(); log.push(e.defaultPrevented) }, {passive: true}); log.push(t.dispatchEvent(new Event('a', {cancelable: true}))); return log.join() })()", "false,true"),
        // workerd: a non-passive preventDefault() makes dispatchEvent return false even for a
        // non-cancelable event (Node and the spec: true).
        ("(() => { const t = new EventTarget(); t.addEventListener('a', (e) => e.preventDefault()); return t.dispatchEvent(new Event('a')) })()", "false"),
        ("(() => { const t = new EventTarget(); const log = []; const o = { handleEvent(e) { log.push(this === o, e.type) } }; t.addEventListener('a', o); t.addEventListener('a', o); t.dispatchEvent(new Event('a')); return log.join() })()", "true,a"),
        ("(() => { const t = new EventTarget(); const o = { handleEvent() { this.n = (this.n || 0) + 1 } }; t.addEventListener('a', o); t.dispatchEvent(new Event('a')); o.handleEvent = function () { this.n += 10 }; t.dispatchEvent(new Event('a')); return o.n })()", "11"),
        // workerd rejects capture listeners, and so does nanod (DOM and Node accept them).
        // workerd refuses capture listeners (DOM and Node: 3).
        ("(() => { const t = new EventTarget(); const log = []; const f = () => log.push('x'); t.addEventListener('a', f, true); t.addEventListener('a', f, false); t.dispatchEvent(new Event('a')); t.removeEventListener('a', f); t.dispatchEvent(new Event('a')); t.removeEventListener('a', f, {capture: true}); t.dispatchEvent(new Event('a')); return log.length })()", "threw TypeError"),
        // workerd refuses capture listeners (DOM and Node: cap,bub).
        ("(() => { const t = new EventTarget(); const log = []; t.addEventListener('a', () => log.push('bub')); t.addEventListener('a', () => log.push('cap'), true); t.dispatchEvent(new Event('a')); return log.join() })()", "threw TypeError"),
        ("(() => { const t = new EventTarget(); const log = []; t.addEventListener('a', (e) => { log.push('cap'); e.stopPropagation() }, {capture: true}); t.addEventListener('a', () => log.push('bub')); t.dispatchEvent(new Event('a')); return log.join() })()", "threw TypeError"),
        ("(() => { const t = new EventTarget(); const c = new AbortController(); let n = 0; t.addEventListener('a', () => n++, {signal: c.signal}); t.dispatchEvent(new Event('a')); c.abort(); t.dispatchEvent(new Event('a')); return n })()", "1"),
        ("(() => { const t = new EventTarget(); let n = 0; t.addEventListener('a', () => n++, {signal: AbortSignal.abort()}); t.dispatchEvent(new Event('a')); return n })()", "0"),
        ("new EventTarget().addEventListener('a', () => {}, {signal: 5})", "threw TypeError"),
        // workerd rethrows; the spec and Node report the error and go on.
        ("(() => { const t = new EventTarget(); const log = []; t.addEventListener('a', () => { throw new Error('boom') }); t.addEventListener('a', () => log.push('after')); log.push(t.dispatchEvent(new Event('a'))); return log.join() })()", "threw Error"),
        // workerd: calling a listener object without handleEvent throws out of dispatchEvent.
        ("(() => { const t = new EventTarget(); t.addEventListener('a', {}); return t.dispatchEvent(new Event('a')) })()", "threw TypeError"),
        ("EventTarget.prototype.addEventListener.call({}, 'a', () => {})", "threw TypeError"),
        ("(() => { const e = new Event('a'); const t = new EventTarget(); let r2; t.addEventListener('a', () => { try { t.dispatchEvent(e) } catch (x) { r2 = x.name + ':' + x.message + ':' + (x instanceof DOMException) } }); t.dispatchEvent(e); return r2 })()", "InvalidStateError:The event is already being dispatched.:true"),
        ("(() => { const t = new EventTarget(); const log = []; t.addEventListener('a', () => log.push(1), {once: true}); t.addEventListener('a', () => { log.push(2); t.dispatchEvent(new Event('a')) }, {once: true}); t.dispatchEvent(new Event('a')); return log.join() })()", "1,2"),
        ("(() => { const t = new EventTarget(); let n = 0; t.addEventListener('a', () => n++, {get once() { t.addEventListener('a', () => n += 10); return false }}); t.dispatchEvent(new Event('a')); return n })()", "11"),
        ("String(new EventTarget())", "[object Object]"),
    ]);
}

#[test]
fn abort_controller_and_signal() {
    check_expressions(&[
        ("new AbortController().signal.reason", "undefined"),
        // Node says "This operation was aborted"; workerd "The operation was aborted".
        ("(() => { const c = new AbortController(); c.abort(); return c.signal.reason.name + ':' + c.signal.reason.message + ':' + c.signal.reason.code + ':' + (c.signal.reason instanceof DOMException) })()", "AbortError:The operation was aborted:20:true"),
        ("(() => { const c = new AbortController(); const log = []; c.signal.onabort = (e) => log.push('on:' + e.type); c.signal.addEventListener('abort', (e) => log.push('l:' + e.isTrusted + e.cancelable + e.bubbles)); c.abort('why'); c.abort('again'); return log.join() + ':' + c.signal.reason })()", "on:abort,l:truefalsefalse:why"),
        ("(() => { const s = AbortSignal.abort(); try { s.throwIfAborted() } catch (e) { return e === s.reason && e.name } })()", "AbortError"),
        ("new AbortController().signal.throwIfAborted()", "undefined"),
        ("(() => { try { new AbortSignal() } catch (e) { return e.name + ':' + e.message } })()", "TypeError:Illegal constructor"),
        ("AbortSignal.abort().onabort", "null"),
        ("AbortSignal.timeout(10).aborted", "false"),
        ("AbortSignal.timeout(-1)", "threw TypeError"),
        ("(() => { const a = new AbortController(); const b = new AbortController(); const s = AbortSignal.any([a.signal, b.signal]); const log = []; s.onabort = () => log.push('any'); a.signal.onabort = () => log.push('a'); b.abort('B'); a.abort('A'); return log.join() + ':' + s.reason + s.aborted })()", "any,a:Btrue"),
        ("(() => { const a = AbortSignal.abort('X'); const s = AbortSignal.any([new AbortController().signal, a]); return s.aborted + ':' + s.reason })()", "true:X"),
        ("AbortSignal.any([]).aborted", "false"),
        ("AbortSignal.any([5])", "threw TypeError"),
        ("AbortSignal.any(5)", "threw TypeError"),
        ("(() => { const c = new AbortController(); const inner = AbortSignal.any([c.signal]); const outer = AbortSignal.any([inner]); const log = []; inner.onabort = () => log.push('inner'); outer.onabort = () => log.push('outer'); c.signal.onabort = () => log.push('src'); c.abort(); return log.join() + ':' + outer.aborted })()", "src,inner,outer:true"),
        ("AbortSignal.abort().reason.message", "The operation was aborted"),
        ("AbortSignal.abort(undefined).reason.name", "AbortError"),
        ("AbortSignal.abort(null).reason", "null"),
        ("new AbortController().signal instanceof EventTarget", "true"),
        ("Object.getPrototypeOf(AbortSignal) === EventTarget", "true"),
        ("(() => { const c = new AbortController(); return c.signal === c.signal })()", "true"),
        ("(() => { const c = new AbortController(); let n = 0; c.signal.addEventListener('abort', () => { n++; c.abort() }); c.abort(); return n })()", "1"),
        ("(() => { const c = new AbortController(); let n = 0; c.signal.onabort = () => n++; c.signal.onabort = null; c.abort(); return n })()", "0"),
        ("(() => { const c = new AbortController(); const log = []; c.signal.onabort = () => log.push('first'); c.signal.addEventListener('abort', () => log.push('second')); c.signal.onabort = () => log.push('replaced'); c.abort(); return log.join() })()", "replaced,second"),
        ("String(new AbortController().signal) + String(new AbortController())", "[object Object][object Object]"),
        ("Object.getOwnPropertyNames(AbortSignal).sort().join()", "abort,any,length,name,prototype,timeout"),
    ]);
}

#[test]
fn abort_signal_timeout_orders_with_timers() {
    let out = run_js(
        r#"const log = []; const s = AbortSignal.timeout(10);
           setTimeout(() => log.push('t5'), 5); setTimeout(() => log.push('t30'), 30);
           s.onabort = () => log.push(s.reason.name + ':' + s.reason.message + ':' + s.reason.code);
           const any = AbortSignal.any([s, new AbortController().signal]);
           any.addEventListener('abort', () => log.push('any:' + (any.reason === s.reason)));
           setTimeout(() => { globalThis.result = log.join(); }, 50);"#,
    );
    assert_eq!(out, "t5,TimeoutError:The operation was aborted due to timeout:23,any:true,t30");
}

#[test]
fn structured_clone() {
    check_expressions(&[
        ("(() => { const e = structuredClone(new RangeError('m')); return e.constructor.name + ':' + e.message + ':' + (e instanceof RangeError) + ':' + typeof e.stack })()", "RangeError:m:true:string"),
        ("(() => { const x = new Error('m'); x.name = 'Foo'; const e = structuredClone(x); return e.name + ':' + e.message })()", "Error:m"),
        // Node 20 clones a DOMException as {}; workerd (and the spec) keep it.
        ("(() => { const e = structuredClone(new DOMException('m', 'AbortError')); return e.constructor.name + ':' + e.name + ':' + e.message + ':' + e.code })()", "DOMException:AbortError:m:20"),
        ("(() => { try { structuredClone(() => 1) } catch (e) { return e.name + ':' + e.message + ':' + (e instanceof DOMException) + e.code } })()", "DataCloneError:() => 1 could not be cloned.:true25"),
        ("(() => { try { structuredClone(Symbol('x')) } catch (e) { return e.name + ':' + e.message } })()", "DataCloneError:Symbol(x) could not be cloned."),
        ("(() => { try { structuredClone({a: Symbol('x')}) } catch (e) { return e.name + ':' + e.message } })()", "DataCloneError:Symbol(x) could not be cloned."),
        // Node clones these as {}; workerd refuses.
        ("(() => { try { structuredClone(new EventTarget()) } catch (e) { return e.name + ':' + e.message } })()", "DataCloneError:Could not serialize object of type \"EventTarget\". This type does not support serialization."),
        ("(() => { try { structuredClone(new Event('x')) } catch (e) { return e.name } })()", "DataCloneError"),
        ("(() => { try { structuredClone(new AbortController().signal) } catch (e) { return e.name } })()", "DataCloneError"),
        ("(() => { try { structuredClone(new URL('http://a/')) } catch (e) { return e.name } })()", "DataCloneError"),
        ("(() => { try { structuredClone(new WeakMap()) } catch (e) { return e.name + ':' + e.message } })()", "DataCloneError:#<WeakMap> could not be cloned."),
        ("(() => { try { structuredClone(Promise.resolve()) } catch (e) { return e.name } })()", "DataCloneError"),
        ("JSON.stringify(structuredClone(new (class Foo { constructor() { this.a = 1 } get b() { return 2 } })))", "{\"a\":1}"),
        ("(() => { const o = {x: 1}; o.self = o; const a = [o, o]; const c = structuredClone(a); return (c[0] === c[1]) + ':' + (c[0].self === c[0]) + ':' + (c[0] !== o) })()", "true:true:true"),
        ("(() => { const buf = new ArrayBuffer(8); const a = new Uint8Array(buf, 2, 4); const b = new DataView(buf); const c = structuredClone({a, b}); return (c.a.buffer === c.b.buffer) + ':' + c.a.byteOffset + ':' + c.a.length + ':' + c.b.byteLength })()", "true:2:4:8"),
        ("(() => { const m = new Map([[1, {a: 1}], ['k', new Set([1, 2])]]); const c = structuredClone(m); return (c instanceof Map) + ':' + c.get(1).a + ':' + [...c.get('k')].join() })()", "true:1:1,2"),
        ("(() => { const m = new Map(); m.set(m, m); const c = structuredClone(m); return c.get(c) === c })()", "true"),
        ("(() => { const c = structuredClone([new Date(5), /a+b/gi, 10n, new Boolean(false), new Number(3), new String('s'), Object(5n)]); return c.map(x => Object.prototype.toString.call(x) + (typeof x === 'object' ? x.valueOf() : x)).join(';') + ':' + c[1].source + c[1].flags })()", "[object Date]5;[object RegExp]/a+b/gi;[object BigInt]10;[object Boolean]false;[object Number]3;[object String]s;[object BigInt]5:a+bgi"),
        ("(() => { const a = [1, , 3]; a.x = 'y'; const c = structuredClone(a); return c.length + ':' + (1 in c) + ':' + c.x })()", "3:false:y"),
        ("(() => { const buf = new ArrayBuffer(4); const c = structuredClone(buf, {transfer: [buf]}); return buf.byteLength + ':' + c.byteLength })()", "0:4"),
        ("(() => { const buf = new ArrayBuffer(4); new Uint8Array(buf)[1] = 9; const v = new Uint8Array(buf); const c = structuredClone({v, buf}, {transfer: [buf]}); return buf.byteLength + ':' + c.v[1] + ':' + (c.v.buffer === c.buf) })()", "0:9:true"),
        ("(() => { try { structuredClone(1, {transfer: [5]}) } catch (e) { return e.name } })()", "TypeError"),
        ("(() => { const b = new ArrayBuffer(1); try { structuredClone(1, {transfer: [b, b]}) } catch (e) { return e.name } })()", "DataCloneError"),
        ("structuredClone()", "threw TypeError"),
        ("structuredClone(undefined)", "undefined"),
        ("structuredClone(null)", "null"),
        ("1/structuredClone(-0)", "-Infinity"),
        ("(() => { const o = {}; Object.defineProperty(o, 'h', {value: 1, enumerable: false}); o[Symbol('s')] = 1; o.v = 2; return JSON.stringify(structuredClone(o)) })()", "{\"v\":2}"),
        ("Object.getPrototypeOf(structuredClone(Object.create(null))) === Object.prototype", "true"),
        ("(() => { try { structuredClone(new Proxy({}, {})); return 'ok' } catch (e) { return e.name + ':' + e.message } })()", "DataCloneError:#<Object> could not be cloned."),
        ("(() => { const e = new Error('m', {cause: 5}); const c = structuredClone(e); return String(c.cause) })()", "5"),
        ("(() => { const e = structuredClone(new TypeError('m')); return Object.keys(e).join() + ':' + Object.getOwnPropertyNames(e).sort().join() })()", ":message,stack"),
        ("Object.prototype.toString.call(structuredClone(new Float32Array([1.5]))) + structuredClone(new Float32Array([1.5]))[0] + Object.prototype.toString.call(structuredClone(new BigInt64Array([5n]))) + Object.prototype.toString.call(structuredClone(new Uint8ClampedArray(2)))", "[object Float32Array]1.5[object BigInt64Array][object Uint8ClampedArray]"),
        ("(() => { const x = {}; const c = structuredClone({a: x, b: {c: x}}); return c.a === c.b.c })()", "true"),
        ("(() => { try { structuredClone({get x() { throw new RangeError('g') }}) } catch (e) { return e.name + ':' + e.message } })()", "RangeError:g"),
        ("(() => { const d = Object.create(Date.prototype); return JSON.stringify(structuredClone(d)) })()", "{}"),
    ]);
}

#[test]
fn navigator_and_performance() {
    check_expressions(&[
        ("navigator.userAgent", "Cloudflare-Workers"),
        ("navigator.hardwareConcurrency", "1"),
        ("navigator.language", "undefined"),
        ("typeof performance.now()", "number"),
        ("(() => { const a = performance.now(); let b = a; for (let i = 0; i < 1000; i++) b = performance.now(); return b >= a && a >= 0 && a < 60000 })()", "true"),
        ("typeof performance.timeOrigin", "number"),
    ]);
}
