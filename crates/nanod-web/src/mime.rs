//! MIME types (MIME Sniffing §4): parsing, serialization, and Fetch's "extract a MIME type".
//!
//! ```
//! use nanod_web::mime::MimeType;
//! let mime = MimeType::parse("Text/HTML; Charset=\"UTF-8\"").unwrap();
//! assert_eq!(mime.essence(), "text/html");
//! assert_eq!(mime.param("charset"), Some("UTF-8"));
//! assert_eq!(mime.to_string(), "text/html;charset=UTF-8");
//! ```
//!
//! Input is a string of code points (a header value is isomorphic-decoded first, so bytes
//! 0x80–0xFF arrive as U+0080–U+00FF). Types, subtypes and parameter names are lowercased;
//! parameter values keep their case; a parameter seen twice keeps its first value. Used by
//! `Response.blob()`/`Request.blob()` (the Blob's type) and `formData()` (which parser, and the
//! multipart boundary). This module only parses: it does not sniff content.

use std::fmt;

/// A parsed MIME type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeType {
    kind: String,
    subtype: String,
    params: Vec<(String, String)>,
}

/// HTTP whitespace (Fetch): TAB, LF, CR, SPACE.
fn is_http_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' ')
}

/// An HTTP token code point (RFC 9110 `tchar`).
fn is_token(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// An HTTP quoted-string token code point: TAB, U+0020–U+007E, U+0080–U+00FF.
fn is_quoted_string_token(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{80}'..='\u{ff}')
}

impl MimeType {
    /// "Parse a MIME type" (MIME Sniffing §4.4); `None` is failure.
    pub fn parse(input: &str) -> Option<MimeType> {
        let input = input.trim_matches(is_http_whitespace);
        let (kind, rest) = input.split_once('/')?;
        if kind.is_empty() || !kind.chars().all(is_token) {
            return None;
        }
        let (subtype, mut rest) = match rest.find(';') {
            Some(at) => (rest.get(..at)?, rest.get(at..)?),
            None => (rest, ""),
        };
        let subtype = subtype.trim_end_matches(is_http_whitespace);
        if subtype.is_empty() || !subtype.chars().all(is_token) {
            return None;
        }
        let mut mime =
            MimeType { kind: kind.to_ascii_lowercase(), subtype: subtype.to_ascii_lowercase(), params: Vec::new() };
        // `rest` is empty or starts with ';'.
        while let Some(after) = rest.strip_prefix(';') {
            let after = after.trim_start_matches(is_http_whitespace);
            let name_end = after.find([';', '=']).unwrap_or(after.len());
            let name = after.get(..name_end)?.to_ascii_lowercase();
            rest = after.get(name_end..)?;
            if rest.starts_with(';') {
                continue;
            }
            let Some(value_start) = rest.strip_prefix('=') else { break };
            let value = if value_start.starts_with('"') {
                let (value, after_quote) = collect_quoted_string(value_start);
                rest = after_quote.find(';').and_then(|at| after_quote.get(at..)).unwrap_or("");
                value
            } else {
                let value_end = value_start.find(';').unwrap_or(value_start.len());
                rest = value_start.get(value_end..)?;
                let value = value_start.get(..value_end)?.trim_end_matches(is_http_whitespace);
                if value.is_empty() {
                    continue;
                }
                value.to_owned()
            };
            if !name.is_empty()
                && name.chars().all(is_token)
                && value.chars().all(is_quoted_string_token)
                && !mime.params.iter().any(|(n, _)| *n == name)
            {
                mime.params.push((name, value));
            }
        }
        Some(mime)
    }

    /// `type/subtype`, lowercased.
    pub fn essence(&self) -> String {
        format!("{}/{}", self.kind, self.subtype)
    }

    /// The value of parameter `name` (a lowercase name).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    fn set_param(&mut self, name: &str, value: String) {
        match self.params.iter_mut().find(|(n, _)| n == name) {
            Some(param) => param.1 = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }
}

/// "Collect an HTTP quoted string" with the extract-value flag; `input` starts with `"`.
/// Returns the value and the input after the closing quote (or the end).
fn collect_quoted_string(input: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = input.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return (value, input.get(at + 1..).unwrap_or("")),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => {
                    value.push('\\');
                    return (value, "");
                }
            },
            _ => value.push(c),
        }
    }
    (value, "")
}

/// "Serialize a MIME type" (MIME Sniffing §4.5).
impl fmt::Display for MimeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.subtype)?;
        for (name, value) in &self.params {
            write!(f, ";{name}=")?;
            if !value.is_empty() && value.chars().all(is_token) {
                f.write_str(value)?;
            } else {
                f.write_str("\"")?;
                for c in value.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")?;
            }
        }
        Ok(())
    }
}

/// Fetch's "extract a MIME type" from a combined `Content-Type` value (all values joined by
/// `, `, isomorphic-decoded): the last parsable value wins, keeping an earlier `charset` of
/// the same essence. `None` is failure (no header, or nothing parsable).
pub fn extract(content_type: &str) -> Option<MimeType> {
    let mut charset: Option<String> = None;
    let mut essence: Option<String> = None;
    let mut mime: Option<MimeType> = None;
    for value in split_header_value(content_type) {
        let Some(mut temporary) = MimeType::parse(&value) else { continue };
        let temporary_essence = temporary.essence();
        if temporary_essence == "*/*" {
            continue;
        }
        if essence.as_deref() != Some(temporary_essence.as_str()) {
            charset = temporary.param("charset").map(str::to_owned);
            essence = Some(temporary_essence);
        } else if temporary.param("charset").is_none() {
            if let Some(charset) = &charset {
                temporary.set_param("charset", charset.clone());
            }
        }
        mime = Some(temporary);
    }
    mime
}

/// Fetch's "getting, decoding, and splitting": splits on commas outside quoted strings and
/// strips spaces and tabs.
fn split_header_value(value: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            ',' => values.push(std::mem::take(&mut current)),
            '"' => {
                current.push('"');
                while let Some(c) = chars.next() {
                    current.push(c);
                    if c == '"' {
                        break;
                    }
                    if c == '\\' {
                        if let Some(escaped) = chars.next() {
                            current.push(escaped);
                        }
                    }
                }
            }
            _ => current.push(c),
        }
    }
    values.push(current);
    values.into_iter().map(|v| v.trim_matches(|c| c == ' ' || c == '\t').to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::{extract, MimeType};

    fn serialized(input: &str) -> Option<String> {
        MimeType::parse(input).map(|m| m.to_string())
    }

    #[test]
    fn parse_and_serialize() {
        let cases: &[(&str, Option<&str>)] = &[
            ("text/html;charset=gbk", Some("text/html;charset=gbk")),
            (" TEXT/HTML ; CHARSET=\"a\\\"b\" ", Some("text/html;charset=\"a\\\"b\"")),
            ("text/html;charset=", Some("text/html")),
            ("text/html;;charset=x;charset=y", Some("text/html;charset=x")),
            ("multipart/form-data; boundary=\"--x y\"", Some("multipart/form-data;boundary=\"--x y\"")),
            ("text", None),
            ("/html", None),
            ("te xt/html", None),
            ("text/", None),
        ];
        for (input, want) in cases {
            assert_eq!(serialized(input).as_deref(), *want, "{input:?}");
        }
    }

    #[test]
    fn extract_from_combined_header() {
        let got = |v: &str| extract(v).map(|m| m.to_string());
        assert_eq!(got("text/plain;charset=gbk, text/plain").as_deref(), Some("text/plain;charset=gbk"));
        assert_eq!(got("text/plain;charset=gbk, text/html").as_deref(), Some("text/html"));
        assert_eq!(got("text/html, */*").as_deref(), Some("text/html"));
        assert_eq!(got("text/html;x=\"a,b\"").as_deref(), Some("text/html;x=\"a,b\""));
        assert_eq!(got("bogus"), None);
        assert_eq!(got(""), None);
    }
}
