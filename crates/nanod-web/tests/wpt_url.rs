//! WPT URL conformance, through the real JS API in an isolate.
//!
//! Feeds every case of `url/resources/urltestdata.json` and `url/resources/setters_tests.json`
//! (copied unchanged under `shared/conformance/wpt/url/`) to `URL` in a fresh isolate. The JSON
//! text goes into the isolate as a string and a JS harness there mirrors WPT's
//! `url-constructor.any.js`, `url-origin.any.js`, `url-statics-*.any.js`, `failure.html` and
//! `url-setters.any.js`: it compares every component and reports each failing case by id.
//!
//! Failures must match [`EXPECTED_FAILURES`] exactly (a reason per entry): an unexpected
//! failure fails the test, and so does an unexpected pass, so the list only shrinks.

use std::collections::BTreeMap;
use std::path::PathBuf;

use nanod_web::testing::run_js_with as run_js;

/// Cases known to fail, by the id the harness prints, each with a reason.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

fn conformance_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/wpt/url").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The harness: defines `report(total, failures)` output as lines: `total` then `id\tdetail`.
const HARNESS: &str = r#"
const fmt = (v) => JSON.stringify(v);
const components = ["href", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"];
function throwsTypeError(f) {
  try { f(); } catch (e) { return e instanceof TypeError; }
  return false;
}
function runUrlTestData(cases) {
  let total = 0;
  const failures = [];
  for (const c of cases) {
    if (typeof c === "string") continue;
    total++;
    const base = c.base !== null ? c.base : undefined;
    const problems = [];
    try {
      if (c.failure) {
        if (!throwsTypeError(() => new URL(c.input, base))) problems.push("constructor did not throw TypeError");
        if (URL.canParse(c.input, base) !== false) problems.push("canParse is not false");
        if (URL.parse(c.input, base) !== null) problems.push("parse is not null");
        if (c.base === null) {
          if (!throwsTypeError(() => new URL("about:blank", c.input))) problems.push("as base did not throw");
          if (!throwsTypeError(() => { new URL("about:blank").href = c.input; })) problems.push("href setter did not throw");
        }
      } else {
        const url = new URL(c.input, base);
        for (const key of components) {
          if (url[key] !== c[key]) problems.push(`${key}: got ${fmt(url[key])}, want ${fmt(c[key])}`);
        }
        if ("origin" in c && url.origin !== c.origin) problems.push(`origin: got ${fmt(url.origin)}, want ${fmt(c.origin)}`);
        if ("searchParams" in c && url.searchParams.toString() !== c.searchParams) {
          problems.push(`searchParams: got ${fmt(url.searchParams.toString())}, want ${fmt(c.searchParams)}`);
        }
        if (url.toString() !== c.href || url.toJSON() !== c.href) problems.push("toString/toJSON differ from href");
        if (URL.canParse(c.input, base) !== true) problems.push("canParse is not true");
        const parsed = URL.parse(c.input, base);
        if (parsed === null || parsed.href !== c.href) problems.push("parse: " + (parsed === null ? "null" : fmt(parsed.href)));
      }
    } catch (e) {
      problems.push("threw " + e);
    }
    if (problems.length) failures.push(fmt([c.input, c.base]) + "\t" + problems.join("; "));
  }
  return [total, ...failures].join("\n");
}
function runSetters(data) {
  let total = 0;
  const failures = [];
  for (const attribute in data) {
    if (attribute === "comment") continue;
    for (const c of data[attribute]) {
      total++;
      const problems = [];
      try {
        const url = new URL(c.href);
        url[attribute] = c.new_value;
        for (const key in c.expected) {
          if (url[key] !== c.expected[key]) problems.push(`${key}: got ${fmt(url[key])}, want ${fmt(c.expected[key])}`);
        }
      } catch (e) {
        problems.push("threw " + e);
      }
      if (problems.length) failures.push(fmt([attribute, c.href, c.new_value]) + "\t" + problems.join("; "));
    }
  }
  return [total, ...failures].join("\n");
}
"#;

/// Runs one data file through the harness; returns (total, failures by id → detail).
fn run_suite(global: &str, file: &str, entry: &str) -> (usize, BTreeMap<String, String>) {
    let script = format!("{HARNESS}\nglobalThis.result = {entry}(JSON.parse({global}));");
    let out = run_js(&script, &[(global, conformance_file(file))]);
    let mut lines = out.lines();
    let total: usize = match lines.next().map(str::parse) {
        Some(Ok(total)) => total,
        _ => panic!("harness failed: {out}"),
    };
    let failures = lines
        .map(|line| match line.split_once('\t') {
            Some((id, detail)) => (id.to_owned(), detail.to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect();
    (total, failures)
}

/// Prints the pass count and checks failures against [`EXPECTED_FAILURES`] both ways.
fn check(suite: &str, total: usize, failures: &BTreeMap<String, String>, id_prefix: &str) {
    println!("{suite}: {}/{total}", total - failures.len());
    let expected: BTreeMap<&str, &str> =
        EXPECTED_FAILURES.iter().copied().filter(|(id, _)| id.starts_with(id_prefix)).collect();
    let unexpected: Vec<String> = failures
        .iter()
        .filter(|(id, _)| !expected.contains_key(id.as_str()))
        .map(|(id, detail)| format!("  {id}: {detail}"))
        .collect();
    let now_passing: Vec<&str> = expected.keys().copied().filter(|id| !failures.contains_key(*id)).collect();
    assert!(
        unexpected.is_empty() && now_passing.is_empty(),
        "{suite}: {} unexpected failure(s):\n{}\nexpected failures that now pass (remove them): {now_passing:?}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

#[test]
fn urltestdata() {
    let (total, failures) = run_suite("URLTESTDATA", "urltestdata.json", "runUrlTestData");
    assert!(total > 800, "only {total} cases found");
    check("urltestdata", total, &failures, "[\"");
}

#[test]
fn setters_tests() {
    let (total, failures) = run_suite("SETTERSTESTS", "setters_tests.json", "runSetters");
    assert!(total > 250, "only {total} cases found");
    check("setters_tests", total, &failures, "[\"");
}
