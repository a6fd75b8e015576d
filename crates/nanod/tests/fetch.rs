//! `fetch()` semantics through the real binary, against real upstreams on loopback: redirect
//! modes (`follow`, `manual`, `error`), method and body rules, the redirect limit, `redirected`
//! and `url`, the SSRF chain (every hop re-checked by the `network` service), and
//! `AbortSignal` cancellation (before sending, in flight, by timeout). Expected texts are
//! workerd's (checked against it). All traffic stays in 127.0.0.0/8.

mod support;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::upstream::Upstream;
use support::{Server, TestDir};

/// Runs case `t` against URL `u` and answers what came back, or the error.
const WORKER: &str = r#"
export default {
  async fetch(request, env) {
    const params = new URL(request.url).searchParams;
    const u = params.get("u"), t = params.get("t");
    const show = async (r) => `${r.status} ${r.redirected} ${r.url} ${r.headers.get("location")} ${await r.text()}`;
    const stream = () => new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("streamed")); c.close(); } });
    const t0 = Date.now();
    try {
      switch (t) {
        case "follow": return new Response(await show(await fetch(u)));
        case "manual": return new Response(await show(await fetch(u, { redirect: "manual" })));
        case "error": await fetch(u, { redirect: "error" }); return new Response("resolved");
        case "post": return new Response(await show(await fetch(u, { method: "POST", body: "posted", headers: { "content-type": "text/x" } })));
        case "stream": return new Response(await show(await fetch(u, { method: "POST", body: stream() })));
        case "binding": return new Response(await show(await env.B.fetch(u)));
        case "abort-before": await fetch(u, { signal: AbortSignal.abort() }); return new Response("resolved");
        case "abort-mid": {
          const c = new AbortController();
          setTimeout(() => c.abort(), 200);
          await fetch(u, { signal: c.signal });
          return new Response("resolved");
        }
        case "timeout": await fetch(new Request(u, { signal: AbortSignal.timeout(100) })); return new Response("resolved");
      }
      return new Response("no such case");
    } catch (e) {
      return new Response(`error ${e.name}: ${e.message} after ${Date.now() - t0}ms`);
    }
  },
};
"#;

/// A Worker answering `/r/N` with a relative redirect to `/r/N-1`, and `/r/0` with its URL.
const BOUND: &str = r#"
export default {
  async fetch(request) {
    const n = +new URL(request.url).pathname.slice(3);
    if (n > 0) return new Response(null, { status: 302, headers: { location: "/r/" + (n - 1) } });
    return new Response("bound " + request.url);
  },
};
"#;

fn config(outbound_allow: &str) -> String {
    format!(
        r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2024-09-01", globalOutbound = "lan", bindings = [(name = "B", service = "bound")])),
    (name = "bound", worker = (modules = [(name = "b.js", esModule = embed "b.js")], compatibilityDate = "2024-09-01")),
    (name = "lan", network = (allow = [{outbound_allow}])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);
"#
    )
}

fn serve(name: &str, outbound_allow: &str) -> (TestDir, Server) {
    let dir = TestDir::new(name);
    dir.write("w.js", WORKER);
    dir.write("b.js", BOUND);
    let server = Server::start(&dir.write("config.capnp", &config(outbound_allow)), &["--threads", "1"]);
    (dir, server)
}

/// Runs case `t` on the Worker against `url`.
fn run(server: &Server, t: &str, url: &str) -> String {
    let encoded: String = url
        .chars()
        .map(|c| match c {
            ':' => "%3A".to_owned(),
            '/' => "%2F".to_owned(),
            '?' => "%3F".to_owned(),
            '&' => "%26".to_owned(),
            '=' => "%3D".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let response = server.get(&format!("/?t={t}&u={encoded}"));
    assert_eq!(response.status, 200, "{}", response.text());
    response.text()
}

/// An HTTP/1.1 response with `Content-Length`.
fn answer(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    format!("{head}\r\n{body}").into_bytes()
}

/// The path of a logged request.
fn path_of(request: &str) -> &str {
    request.split(' ').nth(1).unwrap_or("")
}

/// `/r/N` redirects (302) to `/r/N-1`; `/r/0` answers `done`; `/s/CODE/LOCATION` answers CODE
/// with that `Location` (the rest of the path); `/none` answers 302 without one; `/echo` answers the request's method, content
/// type and body; anything else `ok`.
fn redirector(ip: Ipv4Addr) -> Upstream {
    Upstream::start_with(
        ip,
        Arc::new(|request: &str| {
            let path = path_of(request).to_owned();
            if let Some(n) = path.strip_prefix("/r/").and_then(|n| n.parse::<u32>().ok()) {
                if n == 0 {
                    return answer("200 OK", &[], "done");
                }
                return answer("302 Found", &[("Location", &format!("/r/{}", n - 1))], "moved");
            }
            if let Some(rest) = path.strip_prefix("/s/") {
                let (code, location) = rest.split_once('/').unwrap_or((rest, ""));
                return answer(&format!("{code} Redirect"), &[("Location", location)], "");
            }
            if path == "/none" {
                return answer("302 Found", &[], "no location");
            }
            if path == "/echo" {
                let (head, body) = request.split_once("\r\n\r\n").unwrap_or((request, ""));
                let method = head.split(' ').next().unwrap_or("");
                let content_type = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_owned))
                    .unwrap_or_default();
                return answer("200 OK", &[], &format!("{method} [{content_type}] {body}"));
            }
            answer("200 OK", &[], "ok")
        }),
    )
}

#[test]
fn redirects_follow_manual_and_error_as_workerd_does() {
    let up = redirector(Ipv4Addr::new(127, 0, 0, 2));
    let (_dir, server) = serve("fetch-redirects", r#""127.0.0.2/32""#);
    let base = format!("http://127.0.0.2:{}", up.port);

    assert_eq!(run(&server, "follow", &format!("{base}/r/3")), format!("200 true {base}/r/0 null done"));
    assert_eq!(run(&server, "follow", &format!("{base}/r/0")), format!("200 false {base}/r/0 null done"));
    assert_eq!(run(&server, "manual", &format!("{base}/r/3")), format!("302 false {base}/r/3 /r/2 moved"));
    let error = run(&server, "error", &format!("{base}/r/3"));
    assert!(
        error.starts_with(concat!(
            r#"error TypeError: Invalid redirect value, must be one of "follow" or "manual" ("error" won't be "#,
            r#"implemented since it does not make sense at the edge; use "manual" and check the response status code). after"#
        )),
        "{error}"
    );
    // 20 redirects are followed; the 21st is refused with workerd's text, the URL list appended.
    assert_eq!(run(&server, "follow", &format!("{base}/r/20")), format!("200 true {base}/r/0 null done"));
    let too_many = run(&server, "follow", &format!("{base}/r/21"));
    let list: Vec<String> = (1..=21).rev().map(|n| format!("{base}/r/{n}")).collect();
    assert!(
        too_many.starts_with(&format!("error TypeError: Too many redirects.{} after", list.join(", "))),
        "{too_many}"
    );
    // A Location without a host.
    let data = run(&server, "follow", &format!("{base}/s/302/data:text/plain,hi"));
    assert!(data.starts_with("error TypeError: Invalid Location header; unable to follow redirect."), "{data}");
    // A 3xx without Location is the response.
    assert_eq!(run(&server, "follow", &format!("{base}/none")), format!("302 false {base}/none null no location"));
}

#[test]
fn redirects_change_method_and_body_by_status() {
    let up = redirector(Ipv4Addr::new(127, 0, 0, 2));
    let (_dir, server) = serve("fetch-methods", r#""127.0.0.2/32""#);
    let base = format!("http://127.0.0.2:{}", up.port);

    // 303: POST becomes GET, the body dropped; its Content-Type stays, as in workerd.
    assert_eq!(
        run(&server, "post", &format!("{base}/s/303//echo")),
        format!("200 true {base}/echo null GET [text/x] ")
    );
    // 302 on POST: GET too.
    assert_eq!(
        run(&server, "post", &format!("{base}/s/302//echo")),
        format!("200 true {base}/echo null GET [text/x] ")
    );
    // 307 and 308: the bytes body is sent again, with its content type.
    for code in [307, 308] {
        assert_eq!(
            run(&server, "post", &format!("{base}/s/{code}//echo")),
            format!("200 true {base}/echo null POST [text/x] posted")
        );
    }
    // A stream body cannot be sent again: workerd's TypeError; after a 303 it is simply dropped.
    let stream = run(&server, "stream", &format!("{base}/s/307//echo"));
    assert!(stream.starts_with("error TypeError: A request with a one-time-use body (it was initialized from a stream, not a buffer) encountered a redirect requiring the body to be retransmitted."), "{stream}");
    assert_eq!(run(&server, "stream", &format!("{base}/s/303//echo")), format!("200 true {base}/echo null GET [] "));

    let echoed: Vec<String> = up.requests().into_iter().filter(|r| path_of(r) == "/echo").collect();
    assert_eq!(echoed.len(), 5, "the stream 307 never reached /echo: {echoed:?}");
    assert!(echoed[2].starts_with("POST /echo HTTP/1.1\r\n") && echoed[2].ends_with("\r\n\r\nposted"), "{}", echoed[2]);
}

#[test]
fn service_binding_fetches_follow_redirects_through_the_binding() {
    let (_dir, server) = serve("fetch-binding", r#""127.0.0.2/32""#);
    assert_eq!(
        run(&server, "binding", "http://bound.test/r/2"),
        "200 true http://bound.test/r/0 null bound http://bound.test/r/0"
    );
}

#[test]
fn every_redirect_hop_is_checked_against_the_network_policy() {
    let inner = redirector(Ipv4Addr::LOCALHOST);
    let outer = redirector(Ipv4Addr::new(127, 0, 0, 2));
    let chain = format!("http://127.0.0.2:{}/s/302/http://127.0.0.1:{}/r/0", outer.port, inner.port);

    let (_dir, server) = serve("fetch-ssrf", r#""127.0.0.2/32""#);
    let refused = run(&server, "follow", &chain);
    assert!(refused.starts_with("error Error: network service \"lan\" refused"), "{refused}");
    assert_eq!(outer.connections().len(), 1);
    assert!(inner.connections().is_empty(), "the redirect reached 127.0.0.1: {:?}", inner.connections());
    drop(server);

    let (_dir, server) = serve("fetch-ssrf-local", r#""local""#);
    let inner_url = format!("http://127.0.0.1:{}/r/0", inner.port);
    assert_eq!(run(&server, "follow", &chain), format!("200 true {inner_url} null done"));
    assert_eq!(inner.connections().len(), 1);
}

#[test]
fn an_aborted_signal_sends_nothing() {
    let up = redirector(Ipv4Addr::new(127, 0, 0, 2));
    let (_dir, server) = serve("fetch-abort-before", r#""127.0.0.2/32""#);
    let answer = run(&server, "abort-before", &format!("http://127.0.0.2:{}/echo", up.port));
    assert!(answer.starts_with("error AbortError: The operation was aborted after"), "{answer}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(up.connections().is_empty(), "{:?}", up.connections());
}

#[test]
fn abort_in_flight_rejects_early_and_closes_the_upstream_connection() {
    let slow = Upstream::start_slow(
        Ipv4Addr::new(127, 0, 0, 2),
        Duration::from_secs(2),
        Arc::new(|_: &str| answer("200 OK", &[], "late")),
    );
    let (_dir, server) = serve("fetch-abort-mid", r#""127.0.0.2/32""#);
    let url = format!("http://127.0.0.2:{}/slow", slow.port);

    let mut starts = Vec::new();
    for (case, name) in [("abort-mid", "AbortError"), ("timeout", "TimeoutError")] {
        let start = Instant::now();
        starts.push(start);
        let answer = run(&server, case, &url);
        let elapsed = start.elapsed();
        assert!(answer.starts_with(&format!("error {name}: The operation was aborted")), "{case}: {answer}");
        assert!(elapsed < Duration::from_millis(1500), "{case}: answered after {elapsed:?}");
    }
    // Both connections were closed by nanod well before the upstream would have answered.
    let closed = slow.wait_closed(2, Duration::from_secs(5));
    assert_eq!(closed.len(), 2, "connections still open: {:?}", slow.connections());
    for (start, closed) in starts.iter().zip(&closed) {
        let after = closed.duration_since(*start);
        assert!(after < Duration::from_millis(1500), "closed {after:?} after the request started");
    }
    assert_eq!(slow.connections().len(), 2);
}
