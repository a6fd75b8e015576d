//! HTTP/1.1 behaviour through the real binary: keep-alive, HEAD, `Expect: 100-continue`,
//! Content-Length vs chunked, and bodies that stream (never buffered whole) through Workers
//! and service bindings in both directions.
//!
//! The streaming tests need no timing: the client sends the next piece only after it has
//! received the previous one back, so a layer that buffered the whole body would make the
//! test block and fail on its read timeout.

mod support;

use support::{Conn, Server, TestDir};

const CONFIG: &str = r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (modules = [(name = "main.js", esModule = embed "main.js")], compatibilityDate = "2024-09-01",
       bindings = [(name = "ECHO", service = "echo")])),
    (name = "echo", worker = (modules = [(name = "echo.js", esModule = embed "echo.js")], compatibilityDate = "2024-09-01")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);"#;

const MAIN: &str = r#"
let release;
const released = new Promise((r) => { release = r; });
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/hello") return new Response("hello world");
    if (path === "/stream") {
      // The second chunk waits for a request to /release, so the client must receive the
      // first chunk while the response is still open.
      const body = new ReadableStream({
        async start(c) {
          c.enqueue(new TextEncoder().encode("first;"));
          await released;
          c.enqueue(new TextEncoder().encode("second"));
          c.close();
        },
      });
      return new Response(body);
    }
    if (path === "/release") { release(); return new Response("released"); }
    if (path === "/echo-direct") return new Response(request.body);
    if (path === "/echo-binding") {
      // Request body → service binding → echo Worker → response body, all streaming.
      const upstream = await env.ECHO.fetch("http://echo/", { method: "POST", body: request.body });
      return new Response(upstream.body, { headers: { "x-via": "binding" } });
    }
    if (path === "/echo-transform") {
      const upstream = await env.ECHO.fetch(request);
      const upper = new TransformStream({
        transform(chunk, c) { c.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())); },
      });
      return new Response(upstream.body.pipeThrough(upper));
    }
    if (path === "/body-null") {
      // An incoming request passed on as a RequestInit, as a proxy does: `fetch(url, request)`.
      const copy = new Request("http://copy/", request);
      return new Response(`${request.body === null} ${copy.body === null}`);
    }
    if (path === "/size") return new Response(String((await request.arrayBuffer()).byteLength));
    if (path === "/form") {
      const form = await request.formData();
      const file = form.get("upload");
      return Response.json({ field: form.get("field"), name: file.name, type: file.type, text: await file.text() });
    }
    return new Response("not found", { status: 404 });
  },
};"#;

const ECHO: &str = "export default { fetch(request) { return new Response(request.body); } };";

fn server() -> (TestDir, Server) {
    let dir = TestDir::new(&format!("http-{:?}", std::thread::current().id()).replace(['(', ')'], ""));
    let config = dir.write("config.capnp", CONFIG);
    dir.write("main.js", MAIN);
    dir.write("echo.js", ECHO);
    let server = Server::start(&config, &["--threads", "1"]);
    (dir, server)
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let (_dir, server) = server();
    let mut conn = server.connect();
    for _ in 0..3 {
        let response = conn.request("GET", "/hello", &[], None);
        assert_eq!(response.text(), "hello world");
        assert_eq!(response.header("content-length"), Some("11"));
        assert!(!response.chunked);
    }
}

#[test]
fn head_has_length_but_no_body() {
    let (_dir, server) = server();
    let mut conn = server.connect();
    let head = conn.request("HEAD", "/hello", &[], None);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("11"));
    // The connection is still in sync: a body would have been read as the next status line.
    assert_eq!(conn.request("GET", "/hello", &[], None).text(), "hello world");
}

#[test]
fn expect_100_continue() {
    let (_dir, server) = server();
    let mut conn = server.connect();
    conn.write_raw(b"POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let (status, _) = conn.read_head();
    assert_eq!(status, 100);
    conn.write_raw(b"abcde");
    let response = conn.read_response(false);
    assert_eq!((response.status, response.text().as_str()), (200, "5"));
}

#[test]
fn unknown_length_is_chunked_and_the_first_chunk_is_flushed_at_once() {
    let (_dir, server) = server();
    let mut conn = server.connect();
    conn.write_raw(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    let (status, headers) = conn.read_head();
    assert_eq!(status, 200);
    assert!(headers.iter().any(|(n, v)| n == "transfer-encoding" && v == "chunked"), "{headers:?}");
    assert_eq!(conn.read_chunk().as_deref(), Some(&b"first;"[..]));
    assert_eq!(server.get("/release").text(), "released");
    assert_eq!(conn.read_chunk().as_deref(), Some(&b"second"[..]));
    assert_eq!(conn.read_chunk(), None);
}

/// Sends a chunked upload piece by piece, reading each piece back before sending the next.
fn ping_pong(server: &Server, path: &str, transform: fn(&str) -> String) -> Conn {
    let mut conn = server.connect();
    conn.write_raw(format!("POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes());
    let pieces = ["one;", "two;", "three"];
    conn.write_raw(format!("{:x}\r\n{}\r\n", pieces[0].len(), pieces[0]).as_bytes());
    let (status, _) = conn.read_head();
    assert_eq!(status, 200);
    for (i, piece) in pieces.iter().enumerate() {
        let mut echoed = String::new();
        while echoed.len() < piece.len() {
            let chunk = conn.read_chunk().expect("echoed chunk");
            echoed.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
        assert_eq!(echoed, transform(piece));
        match pieces.get(i + 1) {
            Some(next) => conn.write_raw(format!("{:x}\r\n{}\r\n", next.len(), next).as_bytes()),
            None => conn.write_raw(b"0\r\n\r\n"),
        }
    }
    assert_eq!(conn.read_chunk(), None);
    conn
}

#[test]
fn request_body_streams_straight_back() {
    let (_dir, server) = server();
    let mut conn = ping_pong(&server, "/echo-direct", str::to_owned);
    assert_eq!(conn.request("GET", "/hello", &[], None).text(), "hello world");
}

#[test]
fn bodies_stream_both_ways_through_a_service_binding() {
    let (_dir, server) = server();
    ping_pong(&server, "/echo-binding", str::to_owned);
}

#[test]
fn bodies_stream_through_a_js_transform() {
    let (_dir, server) = server();
    ping_pong(&server, "/echo-transform", str::to_uppercase);
}

#[test]
fn a_large_upload_keeps_its_content_length_when_echoed() {
    let (_dir, server) = server();
    let body = vec![b'x'; 5 << 20];
    let response = server.request("POST", "/echo-direct", &[], Some(&body));
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("5242880"));
    assert_eq!(response.body.len(), body.len());
    let through_binding = server.request("POST", "/echo-binding", &[], Some(&body));
    assert_eq!(through_binding.header("content-length"), Some("5242880"));
    assert_eq!(through_binding.body, body);
}

/// A multipart upload byte for byte as `curl -F field=value -F upload=@notes.txt` (curl 7.88)
/// sends it, parsed by `request.formData()` in the Worker.
#[test]
fn curl_form_upload_parses() {
    let (_dir, server) = server();
    let boundary = "------------------------d74496d66958873e";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"notes.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nline one\nline two\n\r\n--{boundary}--\r\n"
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let response = server.request("POST", "/form", &[("Content-Type", &content_type)], Some(body.as_bytes()));
    assert_eq!(response.status, 200, "{}", server.stderr());
    assert_eq!(
        response.text(),
        r#"{"field":"value","name":"notes.txt","type":"text/plain","text":"line one\nline two\n"}"#
    );
}

/// As workerd: a request announcing no body (no `Content-Length`, no `Transfer-Encoding`) has
/// `body === null` whatever its method, so it can be passed on as a `RequestInit`; an explicit
/// `Content-Length: 0` is an (empty) body.
#[test]
fn a_request_without_body_headers_has_a_null_body() {
    let (_dir, server) = server();
    let raw = |method: &str, headers: &str| {
        let mut conn = server.connect();
        conn.write_raw(format!("{method} /body-null HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes());
        let response = conn.read_response(false);
        assert_eq!(response.status, 200, "{method} {headers:?}: {}", server.stderr());
        response.text()
    };
    assert_eq!(raw("GET", ""), "true true");
    assert_eq!(raw("POST", ""), "true true");
    assert_eq!(raw("DELETE", ""), "true true");
    assert_eq!(raw("POST", "Content-Length: 0\r\n"), "false false");
    assert_eq!(raw("POST", "Content-Length: 3\r\n\r\nabc"), "false false");
    assert_eq!(raw("POST", "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"), "false false");
}
