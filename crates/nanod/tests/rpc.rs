//! Named entrypoints, JS RPC and `ctx.props` through the real binary: `env.X.method(...)`
//! across two Workers on one thread, values structured-cloned both ways, exceptions re-thrown
//! in the caller, `WorkerEntrypoint` classes (named and default), plain-object entrypoints, and
//! the start-up and call-time errors. Every expected line is what workerd answers for the same
//! config (checked with `bench/`'s workerd).

mod support;

use support::{nanod, Server, TestDir};

const AUTH_JS: &str = r#"
import { WorkerEntrypoint } from "cloudflare:workers";
export class Auth extends WorkerEntrypoint {
  async check(token) { return { ok: token === "t", props: this.ctx.props, envKeys: Object.keys(this.env) }; }
  echo(v) { return v; }
  boom() { throw new RangeError("bad range"); }
  custom() { class MyErr extends Error { constructor(m) { super(m); this.name = "MyErr"; } } throw new MyErr("mine"); }
  primitive() { throw "str"; }
  dom() { throw new DOMException("dm", "AbortError"); }
  rejects() { return Promise.reject(new SyntaxError("rej")); }
  fetch(req) { return new Response("auth fetch " + req.url + " " + JSON.stringify(this.ctx.props)); }
  get prop() { return 42; }
  field = 5;
  args(...a) { return a.length + ":" + a.map((x) => typeof x).join(","); }
  fn() { return () => 1; }
}
export const Obj = {
  fetch(req, env, ctx) { return new Response("obj fetch " + JSON.stringify(ctx.props)); },
  hello(x, env, ctx) { return "hi " + x + " " + JSON.stringify(ctx.props); },
};
let calls = 0;
export default class extends WorkerEntrypoint {
  fetch(req) { return new Response("default fetch " + JSON.stringify(this.ctx.props)); }
  add(a, b) { calls++; return a + b; }
  calls() { return calls; }
};
"#;

const MAIN_JS: &str = r#"
const tests = {
  async values(env) {
    const sent = { a: new Uint8Array([1, 2, 3]).buffer, d: new Date(5), m: new Map([[1, { x: 2 }]]), s: new Set(["k"]),
      u: undefined, n: null, b: 10n, arr: [1, , 3], re: /x/g, ta: new Uint16Array([7, 8]), nested: { deep: [{ e: new TypeError("te") }] } };
    sent.self = sent;
    const v = await env.AUTH.echo(sent);
    return [v.a instanceof ArrayBuffer, [...new Uint8Array(v.a)].join("."), v.d instanceof Date, v.d.getTime(),
      v.m instanceof Map, v.m.get(1).x, v.s.has("k"), "u" in v, v.u, v.n, typeof v.b, v.b, v.arr.length, 1 in v.arr,
      String(v.re), v.ta instanceof Uint16Array, v.ta[1], v.nested.deep[0].e instanceof TypeError, v.nested.deep[0].e.message,
      v.self === v, v !== sent].join(",");
  },
  async check(env) { return JSON.stringify(await env.AUTH.check("t")); },
  async args(env) { return await env.AUTH.args(1, undefined, "x"); },
  async prop(env) { return await env.AUTH.prop; },
  async errors(env) {
    const out = [];
    for (const m of ["boom", "custom", "primitive", "dom", "rejects", "nope", "field", "fn"]) {
      try { await env.AUTH[m](); out.push(m + ": no throw"); }
      catch (e) { out.push(`${m}: ${e.constructor.name} ${e.name}: ${m === "fn" ? e.message.slice(-20) : e.message}`); }
    }
    try { await env.AUTH.echo(Symbol("s")); } catch (e) { out.push(`symbol: ${e.name}: ${e.message}`); }
    try { await env.NET.foo(1); } catch (e) { out.push(`network: ${e.name}: ${e.message}`); }
    try { await env.OBJ.hello("x", 2); } catch (e) { out.push(`arity: ${e.name}: ${e.message}`); }
    return out.join("\n");
  },
  async loop(env) {
    let sum = 0;
    for (let i = 0; i < 1000; i++) sum += await env.DEF.add(i, 1);
    return sum + " " + await env.DEF.calls();
  },
  async pipeline(env) {
    const out = [];
    const t = async (f) => { try { out.push(await f()); } catch (e) { out.push(e.name + ": " + e.message); } };
    await t(() => env.AUTH.check("t").props.user);
    await t(() => env.AUTH.echo({ a: { b: [1, 2] } }).a.b);
    await t(() => env.AUTH.echo({ x: 1 }).y);
    await t(() => env.AUTH.echo([5, 6]).length);
    await t(() => env.AUTH.echo(new Date(5)).getTime());
    await t(() => env.AUTH.echo({ x: 1 }).x.y.z);
    await t(() => env.AUTH.echo({ a: { b: [1, 2] } }).a.b.length);
    return out.join("\n");
  },
  async default_(env) { return await env.DEF.add(20, 22); },
  async named(env) { return await env.OBJ.hello("x"); },
  async fetches(env) {
    const texts = [];
    for (const b of [env.AUTH, env.DEF, env.OBJ, env.PROPS]) texts.push(await (await b.fetch("http://x/y")).text());
    return texts.join("\n");
  },
  async shape(env, ctx) {
    return [typeof env.AUTH.check, typeof env.AUTH.fetch, typeof env.AUTH, Object.keys(env.AUTH).length,
      String(env.AUTH), typeof env.AUTH.then, JSON.stringify(ctx.props), (await env.AUTH) === env.AUTH].join(",");
  },
};
export default {
  async fetch(req, env, ctx) {
    const name = new URL(req.url).pathname.slice(1);
    return new Response(await tests[name](env, ctx));
  },
};
"#;

const CONFIG: &str = r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "main.js", esModule = embed "main.js")], compatibilityDate = "2024-09-01",
       bindings = [(name = "AUTH", service = (name = "auth", entrypoint = "Auth", props = (json = "{\"user\":\"bob\"}"))),
                   (name = "DEF", service = "auth"),
                   (name = "OBJ", service = (name = "auth", entrypoint = "Obj", props = (json = "[1]"))),
                   (name = "PROPS", service = (name = "auth", props = (json = "{\"p\":1}"))),
                   (name = "NET", service = "internet")],
       # `/loop` makes 1001 calls: past the default subrequest limit of 1000.
       limits = (subrequests = 0))),
    (name = "auth", worker = (modules = [(name = "auth.js", esModule = embed "auth.js")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")]
);
"#;

fn server(dir: &TestDir) -> Server {
    dir.write("main.js", MAIN_JS);
    dir.write("auth.js", AUTH_JS);
    let config = dir.write("config.capnp", CONFIG);
    Server::start(&config, &["--threads", "1"])
}

fn get(server: &Server, path: &str) -> String {
    let response = server.get(path);
    assert_eq!(response.status, 200, "{path}: {}\n{}", response.text(), server.stderr());
    response.text()
}

#[test]
fn values_round_trip_through_an_rpc() {
    let dir = TestDir::new("rpc-values");
    let server = server(&dir);
    assert_eq!(
        get(&server, "/values"),
        "true,1.2.3,true,5,true,2,true,true,,,bigint,10,3,false,/x/g,true,8,true,te,true,true"
    );
    assert_eq!(get(&server, "/args"), "3:number,undefined,string");
    assert_eq!(get(&server, "/prop"), "42");
}

#[test]
fn exceptions_cross_with_their_name_and_message() {
    let dir = TestDir::new("rpc-errors");
    let server = server(&dir);
    let not = |m: &str| format!("{m}: TypeError TypeError: The RPC receiver does not implement the method \"{m}\".");
    let expected = [
        "boom: RangeError RangeError: bad range".to_owned(),
        "custom: Error Error: MyErr: mine".to_owned(),
        "primitive: Error Error: str".to_owned(),
        "dom: DOMException AbortError: dm".to_owned(),
        "rejects: SyntaxError SyntaxError: rej".to_owned(),
        not("nope"),
        not("field"),
        // workerd returns a function as a stub; nanod does not pass functions by reference.
        "fn: DOMException DataCloneError: could not be cloned.".to_owned(),
        "symbol: DataCloneError: Symbol(s) could not be cloned.".to_owned(),
        "network: Error: Network connection lost.".to_owned(),
        "arity: TypeError: Attempted to call RPC function \"hello\" with the wrong number of arguments. When calling a top-level handler function that is not declared as part of a class, you must always send exactly one argument. In order to support variable numbers of arguments, the server must use class-based syntax (extending WorkerEntrypoint) instead.".to_owned(),
    ];
    assert_eq!(get(&server, "/errors"), expected.join("\n"));
}

#[test]
fn results_are_pipelined() {
    let dir = TestDir::new("rpc-pipeline");
    let server = server(&dir);
    let not = |m: &str| format!("TypeError: The RPC receiver does not implement the method \"{m}\".");
    let expected = ["bob".to_owned(), "1,2".to_owned(), not("y"), not("length"), not("getTime"), not("x"), not("b")];
    assert_eq!(get(&server, "/pipeline"), expected.join("\n"));
}

#[test]
fn a_thousand_rpc_calls_in_a_loop_keep_the_callees_state() {
    let dir = TestDir::new("rpc-loop");
    let server = server(&dir);
    assert_eq!(get(&server, "/loop"), "500500 1000");
    assert_eq!(get(&server, "/loop"), "500500 2000");
}

#[test]
fn rpc_to_a_class_default_export_and_to_named_entrypoints() {
    let dir = TestDir::new("rpc-entrypoints");
    let server = server(&dir);
    assert_eq!(get(&server, "/default_"), "42");
    assert_eq!(get(&server, "/named"), "hi x [1]");
    assert_eq!(get(&server, "/check"), r#"{"ok":true,"props":{"user":"bob"},"envKeys":[]}"#);
}

#[test]
fn fetch_reaches_named_entrypoints_and_class_defaults_with_their_props() {
    let dir = TestDir::new("rpc-fetch");
    let server = server(&dir);
    let expected =
        ["auth fetch http://x/y {\"user\":\"bob\"}", "default fetch {}", "obj fetch [1]", "default fetch {\"p\":1}"];
    assert_eq!(get(&server, "/fetches"), expected.join("\n"));
    assert_eq!(get(&server, "/shape"), "function,function,object,0,[object Object],undefined,{},true");
}

#[test]
fn a_class_default_export_serves_the_socket() {
    let dir = TestDir::new("rpc-class-default");
    dir.write("auth.js", AUTH_JS);
    let config = dir.write(
        "config.capnp",
        &CONFIG.replace("service = \"main\")", "service = \"auth\")").replace("embed \"main.js\"", "\"\""),
    );
    let server = Server::start(&config, &["--threads", "1"]);
    assert_eq!(get(&server, "/"), "default fetch {}");
}

/// A socket's service designator may name an entrypoint and props, as a binding's may; a bad
/// one stops start-up with workerd's words.
#[test]
fn a_socket_reaches_a_named_entrypoint_with_its_props() {
    let dir = TestDir::new("rpc-socket-entrypoint");
    dir.write("auth.js", AUTH_JS);
    let socket = |entrypoint: &str| {
        CONFIG
            .replace(
                "service = \"main\")",
                &format!("service = (name = \"auth\", entrypoint = \"{entrypoint}\", props = (json = \"{{\\\"via\\\":\\\"socket\\\"}}\")))"),
            )
            .replace("embed \"main.js\"", "\"\"")
    };
    let server = Server::start(&dir.write("config.capnp", &socket("Auth")), &["--threads", "1"]);
    assert_eq!(get(&server, "/x"), r#"auth fetch http://example.com/x {"via":"socket"}"#);
    drop(server);

    let path = dir.write("config.capnp", &socket("Nope"));
    let output = nanod().arg("check").arg(&path).output().expect("run nanod");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            r#"Socket "http" refers to service "auth" with a named entrypoint "Nope", but "auth" has no such named entrypoint."#
        ),
        "{stderr}"
    );
}

#[test]
fn toml_spells_entrypoint_and_props() {
    let dir = TestDir::new("rpc-toml");
    dir.write("auth.js", AUTH_JS);
    dir.write(
        "main.js",
        "export default { async fetch(req, env) { return new Response(JSON.stringify(await env.AUTH.check('t'))); } };",
    );
    let config = dir.write(
        "nanod.toml",
        r#"[[socket]]
name = "http"
address = "127.0.0.1:0"
service = "main"

[service.main]
compatibility_date = "2024-09-01"
modules = ["main.js"]

[service.main.bindings]
AUTH = { service = { name = "auth", entrypoint = "Auth", props_json = '{"t":1}' } }

[service.auth]
compatibility_date = "2024-09-01"
modules = ["auth.js"]
"#,
    );
    let server = Server::start(&config, &["--threads", "1"]);
    assert_eq!(get(&server, "/"), r#"{"ok":true,"props":{"t":1},"envKeys":[]}"#);
}

/// `nanod check` on `config` with `auth.js`: exit status 1 and stderr.
fn check_fails(dir: &TestDir, config: &str) -> String {
    dir.write("main.js", MAIN_JS);
    dir.write("auth.js", AUTH_JS);
    let path = dir.write("config.capnp", config);
    let output = nanod().arg("check").arg(&path).output().expect("run nanod");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    stderr
}

#[test]
fn an_unknown_entrypoint_stops_start_up_as_workerd_words_it() {
    let dir = TestDir::new("rpc-unknown");
    let stderr = check_fails(&dir, &CONFIG.replace("entrypoint = \"Obj\"", "entrypoint = \"Nope\""));
    assert_eq!(
        stderr.trim(),
        "Worker \"main\"'s binding \"OBJ\" refers to service \"auth\" with a named entrypoint \"Nope\", but \"auth\" has no such named entrypoint."
    );
    let stderr = check_fails(
        &dir,
        &CONFIG.replace("service = \"internet\"", "service = (name = \"internet\", entrypoint = \"X\")"),
    );
    assert_eq!(
        stderr.trim(),
        "Worker \"main\"'s binding \"NET\" refers to service \"internet\" with a named entrypoint \"X\", but \"internet\" is not a Worker, so does not have any named entrypoints."
    );
}
