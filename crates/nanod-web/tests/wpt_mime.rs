//! WPT MIME type parsing and serialization (`data-url/mime-types.json`, copied unchanged under
//! `shared/conformance/wpt/`): every case through [`nanod_web::mime::MimeType`], and every case
//! a header can carry through the JS API (`Response.blob().type`, the Fetch "get the MIME
//! type" of the response's `Content-Type`, serialized).
//!
//! The JSON is parsed by QuickJS (the crate has no JSON dependency): the test data goes into
//! an isolate as a string and comes back as `input \u{1} output` records. Every case must pass.

use std::path::PathBuf;

use nanod_web::mime::MimeType;
use nanod_web::testing::run_js_with;

/// Marks a failure (`output: null`) in the records.
const FAILURE: &str = "\u{2}";

fn cases() -> Vec<(String, Option<String>)> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/wpt/data-url/mime-types.json");
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let out = run_js_with(
        r#"globalThis.result = JSON.parse(data)
             .filter((c) => typeof c !== "string")
             .map((c) => c.input + "\u0001" + (c.output === null ? "\u0002" : c.output))
             .join("\u0000");"#,
        &[("data", json)],
    );
    out.split('\0')
        .map(|record| {
            let (input, output) = record.split_once('\u{1}').unwrap_or_else(|| panic!("bad record {record:?}"));
            (input.to_owned(), (output != FAILURE).then(|| output.to_owned()))
        })
        .collect()
}

#[test]
fn mime_types_rust() {
    let cases = cases();
    let mut failures = Vec::new();
    for (input, want) in &cases {
        let got = MimeType::parse(input).map(|m| m.to_string());
        if got != *want {
            failures.push(format!("{input:?}: got {got:?}, want {want:?}"));
        }
    }
    println!("mime-types: {}/{}", cases.len() - failures.len(), cases.len());
    assert_eq!(cases.len(), 74, "case count changed");
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

/// Through `Response.blob().type`. A header value cannot hold control characters other than TAB, nor
/// characters above U+00FF (the `Headers` constructor throws), and a comma splits a header into several MIME
/// types (Fetch "extract a MIME type"): those cases are counted as skipped.
#[test]
fn mime_types_js() {
    let cases = cases();
    let script = r#"
      (async () => {
        const records = data.split("\u0000").map((r) => r.split("\u0001"));
        let passed = 0, skipped = 0;
        const failures = [];
        for (const [input, output] of records) {
          if (/[\u0000-\u0008\u000a-\u001f\u007f,]|[^\u0000-\u00ff]/.test(input)) { skipped++; continue; }
          const want = output === "\u0002" ? "" : output;
          const got = (await new Response("", { headers: { "content-type": input } }).blob()).type;
          if (got === want) passed++; else failures.push(JSON.stringify([input, got, want]));
        }
        globalThis.result = [passed, skipped, failures.join("\n")].join("\u0001");
      })().catch((e) => globalThis.result = "threw " + e);"#;
    let data: Vec<String> = cases.iter().map(|(i, o)| format!("{i}\u{1}{}", o.as_deref().unwrap_or(FAILURE))).collect();
    let out = run_js_with(script, &[("data", data.join("\0"))]);
    let mut fields = out.split('\u{1}');
    let (passed, skipped, failures) = (fields.next(), fields.next(), fields.next().unwrap_or_default());
    let passed: usize = passed.and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{out}"));
    let skipped: usize = skipped.and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{out}"));
    println!(
        "mime-types (JS, Response.blob().type): {passed}/{} ({skipped} not expressible as a header)",
        cases.len() - skipped
    );
    assert!(failures.is_empty(), "failures:\n{failures}");
    assert_eq!(passed + skipped, cases.len());
}
