//! WPT forgiving-base64 conformance for `atob`/`btoa`, through the real globals in an isolate.
//!
//! Runs every case of `data-url/resources/base64.json` (copied under
//! `shared/conformance/wpt/data-url/`) as WPT's `html/webappapis/atob/base64.any.js` does:
//! `[input, bytes]` must decode to exactly those bytes, `[input, null]` must throw a
//! `DOMException` named `InvalidCharacterError` (code 5). Then `btoa`: round trips over every
//! Latin-1 code unit, and `InvalidCharacterError` for anything above U+00FF. Requires 100%.

use std::path::PathBuf;

use nanod_web::testing::run_js_with;

fn conformance_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/wpt/data-url").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

const HARNESS: &str = r#"
const cases = JSON.parse(DATA);
const failures = [];
let total = 0;
for (const [input, want] of cases) {
  total++;
  let got;
  try {
    const s = atob(input);
    got = Array.from(s, (c) => c.charCodeAt(0));
  } catch (e) {
    got = e instanceof DOMException && e.name === "InvalidCharacterError" && e.code === 5 ? null : "threw " + e;
  }
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    failures.push(JSON.stringify(input) + "\t" + JSON.stringify(got) + " want " + JSON.stringify(want));
  }
}
// btoa: every Latin-1 string round-trips; anything above U+00FF is an InvalidCharacterError.
const latin1 = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");
for (let n = 0; n <= 4; n++) {
  for (let i = 0; i + n <= latin1.length; i += 7) {
    total++;
    const s = latin1.slice(i, i + n);
    if (atob(btoa(s)) !== s) failures.push("btoa round trip " + JSON.stringify(s));
  }
}
const btoaCases = [["", ""], ["a", "YQ=="], ["ab", "YWI="], ["abc", "YWJj"], ["\xff\xfe", "//4="], [undefined, "dW5kZWZpbmVk"],
  [null, "bnVsbA=="], [12, "MTI="]];
for (const [input, want] of btoaCases) {
  total++;
  const got = btoa(input);
  if (got !== want) failures.push("btoa " + JSON.stringify(input) + " got " + got);
}
for (const bad of ["\u0100", "a\u20ac", "\ud800", "\u{10000}"]) {
  total++;
  try { btoa(bad); failures.push("btoa " + JSON.stringify(bad) + " did not throw"); }
  catch (e) { if (!(e instanceof DOMException) || e.name !== "InvalidCharacterError") failures.push("btoa threw " + e); }
}
for (const f of [() => atob(), () => btoa()]) {
  total++;
  try { f(); failures.push("no-argument call did not throw"); }
  catch (e) { if (!(e instanceof TypeError)) failures.push("no-argument call threw " + e); }
}
globalThis.result = [total, ...failures].join("\n");
"#;

#[test]
fn forgiving_base64() {
    let out = run_js_with(HARNESS, &[("DATA", conformance_file("base64.json"))]);
    let mut lines = out.lines();
    let total: usize = lines.next().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("harness output: {out}"));
    let failures: Vec<&str> = lines.collect();
    println!("base64: {}/{total}", total - failures.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
