//! `URL` (URL Standard §6.1): the URL class, parsing and setters delegated to `ada-url`.
//!
//! ```js
//! const u = new URL("../b?x=1#h", "https://example.com/a/c");
//! u.href;                      // "https://example.com/b?x=1#h"
//! u.searchParams.append("y", "2");
//! u.search;                    // "?x=1&y=2"
//! URL.canParse("nope");        // false
//! URL.parse("nope");           // null
//! ```
//!
//! Every string crossing into `ada-url` is a USVString (lone surrogates → U+FFFD). Setters
//! that ada rejects leave the URL unchanged, as the spec's setters do; only the constructor and
//! the `href` setter throw (`TypeError: Invalid URL`). One check sits on top of ada 4.0: UTS #46
//! validity of `xn--` labels in special URLs' domains ([`has_invalid_xn_label`]), which ada
//! skips and WPT's `urltestdata.json` tests.
//!
//! ## The `URL` ↔ `searchParams` link
//!
//! Both objects are rquickjs classes and each holds a traced `Class` handle to the other, so
//! QuickJS's cycle collector sees the pair and frees it when neither is reachable:
//! - `URL` keeps `search_params: Option<Class<URLSearchParams>>`, created on the first read of
//!   `url.searchParams` (from the current query) and then always the same object (`[SameObject]`).
//!   The `search` and `href` setters replace that object's list from the new query.
//! - `URLSearchParams` keeps `url: Option<Class<URL>>`; each mutation serializes the list and
//!   writes it into the URL's query (an empty list clears the query).
//!
//! Methods that run user code (argument conversion) take `This<Class<…>>` and borrow only
//! after converting, so a re-entrant `toString` cannot hit a borrowed cell.

use rquickjs::class::Trace;
use rquickjs::function::{Opt, This};
use rquickjs::{Class, Ctx, JsLifetime, Value};

use crate::encoding::usv_string;
use crate::headers::constructor;
use crate::url_search_params::{parse, UrlSearchParams};
use crate::webidl::type_error;

#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "URL")]
pub struct Url<'js> {
    #[qjs(skip_trace)]
    url: ada_url::Url,
    /// The `searchParams` object, once read.
    search_params: Option<Class<'js, UrlSearchParams<'js>>>,
}

impl<'js> Url<'js> {
    /// Wraps an already-parsed URL.
    pub fn from_ada(url: ada_url::Url) -> Self {
        Url { url, search_params: None }
    }

    /// The parsed URL.
    pub fn ada(&self) -> &ada_url::Url {
        &self.url
    }

    /// Called by the linked `URLSearchParams` after it changed: sets the query (empty → none).
    pub(crate) fn set_query_from_params(&mut self, query: &str) {
        // An empty string clears the query (and strips trailing spaces of an opaque path).
        self.url.set_search(Some(query));
    }

    /// The query without its `?`, parsed as form data.
    fn query_list(&self) -> Vec<(String, String)> {
        let search = self.url.search();
        parse(search.strip_prefix('?').unwrap_or(search))
    }

    /// The shared body of the setters: converts `value`, then applies `set` to the URL.
    fn apply(
        ctx: &Ctx<'js>,
        this: &Class<'js, Url<'js>>,
        value: Value<'js>,
        set: impl FnOnce(&mut ada_url::Url, &str),
    ) -> rquickjs::Result<()> {
        let value = usv_string(ctx, value)?;
        set(&mut this.try_borrow_mut()?.url, &value);
        Ok(())
    }

    /// Replaces the linked `searchParams` list (after `href` or `search` changed).
    fn resync_params(this: &Class<'js, Url<'js>>, list: Vec<(String, String)>) -> rquickjs::Result<()> {
        let params = this.try_borrow()?.search_params.clone();
        if let Some(params) = params {
            params.try_borrow_mut()?.replace_list(list);
        }
        Ok(())
    }
}

/// Parses `input` against an optional `base`, both already USVStrings.
fn parse_url(input: &str, base: Option<&str>) -> Option<ada_url::Url> {
    if let Some(base) = base {
        if base.to_ascii_lowercase().contains("xn--") && parse_url(base, None).is_none() {
            return None;
        }
    }
    ada_url::Url::parse(input, base).ok().filter(|url| !has_invalid_xn_label(url))
}

/// Runs a host-changing setter on a copy and keeps it only if its host is valid.
fn set_host_checked(url: &mut ada_url::Url, set: impl FnOnce(&mut ada_url::Url)) {
    let mut changed = url.clone();
    set(&mut changed);
    if !has_invalid_xn_label(&changed) {
        *url = changed;
    }
}

/// UTS #46 validity of `xn--` labels, which the bundled ada 4.0 does not check (WPT expects
/// `https://xn--/` and `http://a.b.c.xn--pokxncvks` to fail): in a special URL's domain, each
/// `xn--` label must be non-empty Punycode that decodes to a label ToASCII maps back to itself
/// (so the decoded characters are all "valid", not mapped or disallowed).
fn has_invalid_xn_label(url: &ada_url::Url) -> bool {
    if matches!(url.scheme_type(), ada_url::SchemeType::NotSpecial)
        || !matches!(url.host_type(), ada_url::HostType::Domain)
    {
        return false;
    }
    url.hostname().split('.').any(|label| {
        let Some(encoded) = label.strip_prefix("xn--") else {
            return false;
        };
        match punycode_decode(encoded) {
            Some(decoded) if !decoded.is_empty() => ada_url::Idna::ascii(&decoded) != label,
            _ => true,
        }
    })
}

/// RFC 3492 Punycode decoding; `None` for malformed input.
fn punycode_decode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    let (basic, extended) = input.rsplit_once('-').unwrap_or(("", input));
    if !basic.is_ascii() {
        return None;
    }
    let mut output: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (128u32, 0u32, 72u32);
    let mut digits = extended.bytes().peekable();
    while digits.peek().is_some() {
        let (old_i, mut w, mut k) = (i, 1u32, BASE);
        loop {
            let digit = match digits.next()? {
                b @ b'a'..=b'z' => u32::from(b - b'a'),
                b @ b'A'..=b'Z' => u32::from(b - b'A'),
                b @ b'0'..=b'9' => u32::from(b - b'0') + 26,
                _ => return None,
            };
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = k.saturating_sub(bias).clamp(T_MIN, T_MAX);
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let len = u32::try_from(output.len()).ok()?.checked_add(1)?;
        bias = adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len)?;
        i %= len;
        let at = usize::try_from(i).ok()?;
        if at > output.len() {
            return None;
        }
        output.insert(at, char::from_u32(n)?);
        i += 1;
    }
    Some(output.into_iter().collect())
}

/// RFC 3492 §6.1 bias adaptation.
fn adapt(delta: u32, num_points: u32, first: bool) -> u32 {
    const BASE: u32 = 36;
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / num_points;
    let mut k = 0;
    while delta > ((BASE - 1) * 26) / 2 {
        delta /= BASE - 1;
        k += BASE;
    }
    k + (BASE * delta) / (delta + 38)
}

/// Converts the `(url, base?)` arguments shared by the constructor and the statics.
fn url_and_base<'js>(
    ctx: &Ctx<'js>,
    url: Opt<Value<'js>>,
    base: Opt<Value<'js>>,
    what: &str,
) -> rquickjs::Result<(String, Option<String>)> {
    let Some(url) = url.0 else {
        return Err(type_error(ctx, &format!("{what}: 1 argument required, but only 0 present.")));
    };
    let url = usv_string(ctx, url)?;
    let base = match base.0 {
        Some(base) if !base.is_undefined() => Some(usv_string(ctx, base)?),
        _ => None,
    };
    Ok((url, base))
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Url<'js> {
    #[qjs(constructor)]
    pub fn new(ctx: Ctx<'js>, url: Opt<Value<'js>>, base: Opt<Value<'js>>) -> rquickjs::Result<Url<'js>> {
        let (input, base) = url_and_base(&ctx, url, base, "Failed to construct 'URL'")?;
        match parse_url(&input, base.as_deref()) {
            Some(url) => Ok(Url::from_ada(url)),
            None => Err(type_error(&ctx, "Invalid URL")),
        }
    }

    #[qjs(static)]
    pub fn can_parse(ctx: Ctx<'js>, url: Opt<Value<'js>>, base: Opt<Value<'js>>) -> rquickjs::Result<bool> {
        let (input, base) = url_and_base(&ctx, url, base, "Failed to execute 'canParse' on 'URL'")?;
        Ok(parse_url(&input, base.as_deref()).is_some())
    }

    #[qjs(static)]
    pub fn parse(ctx: Ctx<'js>, url: Opt<Value<'js>>, base: Opt<Value<'js>>) -> rquickjs::Result<Value<'js>> {
        let (input, base) = url_and_base(&ctx, url, base, "Failed to execute 'parse' on 'URL'")?;
        match parse_url(&input, base.as_deref()) {
            Some(url) => Class::instance(ctx, Url::from_ada(url)).map(Class::into_value),
            None => Ok(Value::new_null(ctx)),
        }
    }

    #[qjs(get)]
    pub fn href(&self) -> String {
        self.url.href().to_owned()
    }

    #[qjs(set, rename = "href")]
    pub fn set_href(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        let value = usv_string(&ctx, value)?;
        let Some(url) = parse_url(&value, None) else {
            return Err(type_error(&ctx, "Invalid URL"));
        };
        let list = {
            let mut me = this.0.try_borrow_mut()?;
            me.url = url;
            me.query_list()
        };
        Url::resync_params(&this.0, list)
    }

    #[qjs(get)]
    pub fn origin(&self) -> String {
        self.url.origin()
    }

    #[qjs(get)]
    pub fn protocol(&self) -> String {
        self.url.protocol().to_owned()
    }

    #[qjs(set, rename = "protocol")]
    pub fn set_protocol(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        Url::apply(&ctx, &this.0, value, |url, v| {
            let _ = url.set_protocol(v);
        })
    }

    #[qjs(get)]
    pub fn username(&self) -> String {
        self.url.username().to_owned()
    }

    #[qjs(set, rename = "username")]
    pub fn set_username(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        Url::apply(&ctx, &this.0, value, |url, v| {
            let _ = url.set_username(Some(v));
        })
    }

    #[qjs(get)]
    pub fn password(&self) -> String {
        self.url.password().to_owned()
    }

    #[qjs(set, rename = "password")]
    pub fn set_password(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        Url::apply(&ctx, &this.0, value, |url, v| {
            let _ = url.set_password(Some(v));
        })
    }

    #[qjs(get)]
    pub fn host(&self) -> String {
        self.url.host().to_owned()
    }

    #[qjs(set, rename = "host")]
    pub fn set_host(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        Url::apply(&ctx, &this.0, value, |url, v| {
            set_host_checked(url, |url| {
                let _ = url.set_host(Some(v));
            });
        })
    }

    #[qjs(get)]
    pub fn hostname(&self) -> String {
        self.url.hostname().to_owned()
    }

    #[qjs(set, rename = "hostname")]
    pub fn set_hostname(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        Url::apply(&ctx, &this.0, value, |url, v| {
            set_host_checked(url, |url| {
                let _ = url.set_hostname(Some(v));
            });
        })
    }

    #[qjs(get)]
    pub fn port(&self) -> String {
        self.url.port().to_owned()
    }

    #[qjs(set, rename = "port")]
    pub fn set_port(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        Url::apply(&ctx, &this.0, value, |url, v| {
            let _ = url.set_port(Some(v));
        })
    }

    #[qjs(get)]
    pub fn pathname(&self) -> String {
        self.url.pathname().to_owned()
    }

    #[qjs(set, rename = "pathname")]
    pub fn set_pathname(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        Url::apply(&ctx, &this.0, value, |url, v| {
            let _ = url.set_pathname(Some(v));
        })
    }

    #[qjs(get)]
    pub fn search(&self) -> String {
        self.url.search().to_owned()
    }

    #[qjs(set, rename = "search")]
    pub fn set_search(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        let value = usv_string(&ctx, value)?;
        this.0.try_borrow_mut()?.url.set_search(Some(&value));
        // The list comes from the input itself, not from the percent-encoded query.
        let list = parse(value.strip_prefix('?').unwrap_or(&value));
        Url::resync_params(&this.0, list)
    }

    #[qjs(get, rename = "searchParams")]
    pub fn search_params(
        ctx: Ctx<'js>,
        this: This<Class<'js, Url<'js>>>,
    ) -> rquickjs::Result<Class<'js, UrlSearchParams<'js>>> {
        let list = {
            let me = this.0.try_borrow()?;
            if let Some(params) = &me.search_params {
                return Ok(params.clone());
            }
            me.query_list()
        };
        let params = UrlSearchParams::linked(&ctx, list, this.0.clone())?;
        this.0.try_borrow_mut()?.search_params = Some(params.clone());
        Ok(params)
    }

    #[qjs(get)]
    pub fn hash(&self) -> String {
        self.url.hash().to_owned()
    }

    #[qjs(set, rename = "hash")]
    pub fn set_hash(ctx: Ctx<'js>, this: This<Class<'js, Url<'js>>>, value: Value<'js>) -> rquickjs::Result<()> {
        Url::apply(&ctx, &this.0, value, |url, v| url.set_hash(Some(v)))
    }

    #[qjs(rename = "toString")]
    pub fn to_js_string(&self) -> String {
        self.url.href().to_owned()
    }

    #[qjs(rename = "toJSON")]
    pub fn to_json(&self) -> String {
        self.url.href().to_owned()
    }
}

/// Installs the `URL` constructor.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    constructor::<Url>(ctx)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_js;

    #[test]
    fn punycode_decoding() {
        assert_eq!(super::punycode_decode("mnchen-3ya").as_deref(), Some("münchen"));
        assert_eq!(super::punycode_decode("ls8h").as_deref(), Some("💩"));
        assert_eq!(super::punycode_decode("").as_deref(), Some(""));
        assert_eq!(super::punycode_decode("abc-").as_deref(), Some("abc"));
        assert_eq!(super::punycode_decode("é-a"), None);
        assert_eq!(super::punycode_decode("99999999999"), None);
    }

    /// Expected output is what Node 20 prints for the same script.
    #[test]
    fn idna_labels_statics_and_errors() {
        let out = run_js(
            r#"const r = [];
               r.push(new URL("http://xn--ls8h/").href, new URL("https://xn--nxasmq6b.com/").hostname, new URL("http://münchen.de/").host);
               const u = new URL("https://a.example/"); u.host = "xn--"; r.push(u.href); u.hostname = "xn--mnchen-3ya"; r.push(u.href);
               r.push(URL.canParse("/p", "https://xn--/"), URL.canParse("/p", "https://a/"));
               try { new URL() } catch (e) { r.push(e.name) }
               try { new URL("/x", "nope") } catch (e) { r.push(e.name) }
               const v = new URL("http://h/p?q"); v.pathname = { toString() { return v.search + "z"; } }; r.push(v.href);
               r.push(Object.prototype.toString.call(v), JSON.stringify({u: v}), URL.parse("/a", "http://b/c").href);
               const w = new URL("sc://xn--/"); r.push(w.href);
               globalThis.result = r.join("\n");"#,
        );
        assert_eq!(
            out,
            "http://xn--ls8h/\nxn--nxasmq6b.com\nxn--mnchen-3ya.de\nhttps://a.example/\nhttps://xn--mnchen-3ya/\nfalse\ntrue\nTypeError\nTypeError\nhttp://h/%3Fqz?q\n[object Object]\n{\"u\":\"http://h/%3Fqz?q\"}\nhttp://b/a\nsc://xn--/"
        );
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let out = run_js(r#"globalThis.result = new URL("http://h/\uD800?\uDC00#\uD800").href;"#);
        assert_eq!(out, "http://h/%EF%BF%BD?%EF%BF%BD#%EF%BF%BD");
    }
}
