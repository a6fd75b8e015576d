//! `FormData` (XHR §4.3): an ordered list of name → string-or-`File` entries, and the
//! `multipart/form-data` format it is sent and received as.
//!
//! ```js
//! const fd = new FormData();
//! fd.append("a", "1");
//! fd.append("f", new Blob(["hi"], { type: "text/plain" }), "hi.txt");
//! fd.get("f").name;                       // "hi.txt"
//! const r = new Response(fd);             // multipart/form-data; boundary=<32 hex digits>
//! (await r.formData()).get("a");          // "1"
//! ```
//!
//! Serializing ([`FormData::multipart`]) follows HTML's "multipart/form-data encoding
//! algorithm": names and string values get CRLF line breaks; names and filenames escape `"`,
//! CR and LF as `%22`, `%0D`, `%0A`; a file part carries its `Content-Type` (default
//! `application/octet-stream`).
//!
//! Parsing ([`parse_multipart`], pure Rust) follows workerd's parser, with its error messages:
//! the first `--boundary` may follow a preamble; a part ends at LF + `--boundary` (a CR before
//! the LF is dropped), so LF-only bodies parse; text after the closing `--boundary--` is
//! ignored; a missing closing boundary is an error. Unlike workerd, spaces or tabs after a
//! boundary (RFC 2046 transport padding) and unquoted `name=token` parameters are accepted.
//! Names and filenames are not percent-decoded (as in workerd; Node decodes `%22`). A part
//! with a `filename` becomes a `File` typed with the part's `Content-Type` (empty if none).
//!
//! Where the spec and workerd disagree elsewhere: `append(name, string, filename)` ignores the
//! filename (as workerd; the spec throws), and `new FormData(x)` ignores `x` (no forms here).

use bytes::{BufMut, Bytes, BytesMut};
use rquickjs::atom::PredefinedAtom;
use rquickjs::class::{Trace, Tracer};
use rquickjs::function::{Opt, This};
use rquickjs::{Array, Class, Ctx, Function, JsLifetime, Object, Value};

use crate::blob::Blob;
use crate::encoding::usv_string;
use crate::file::File;
use crate::headers::constructor;
use crate::mime;
use crate::webidl::type_error;

/// An entry: a name and its value.
#[derive(Clone, JsLifetime)]
pub struct Entry<'js> {
    pub name: String,
    pub value: FormValue<'js>,
}

/// The value of an entry.
#[derive(Clone, JsLifetime)]
pub enum FormValue<'js> {
    Text(String),
    File(Class<'js, File>),
}

impl<'js> FormValue<'js> {
    fn to_js(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
        match self {
            FormValue::Text(text) => rquickjs::String::from_str(ctx.clone(), text).map(|s| s.into_value()),
            FormValue::File(file) => Ok(file.clone().into_value()),
        }
    }
}

#[derive(JsLifetime, Default)]
#[rquickjs::class]
pub struct FormData<'js> {
    entries: Vec<Entry<'js>>,
}

impl<'js> Trace<'js> for FormData<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        for entry in &self.entries {
            if let FormValue::File(file) = &entry.value {
                file.trace(tracer);
            }
        }
    }
}

/// A part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// The `filename` parameter: present for file parts.
    pub filename: Option<String>,
    /// The part's `Content-Type` header, as sent.
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// Why a `multipart/form-data` body did not parse (workerd's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("No initial boundary string (or you have a truncated message).")]
    NoInitialBoundary,
    #[error("Boundary string was not succeeded by CRLF, LF, or '--'.")]
    BadBoundaryEnd,
    #[error("No multipart message header termination found.")]
    NoHeaderEnd,
    #[error("FormData part had invalid headers.")]
    InvalidHeaders,
    #[error("No valid Content-Disposition header found in FormData part.")]
    NoContentDisposition,
    #[error("Invalid Content-Disposition header found in FormData part.")]
    InvalidContentDisposition,
    #[error(
        "Content-Disposition header for FormData part must have the value \"form-data\", possibly followed by parameters. Got: \"{0}\""
    )]
    NotFormData(String),
    #[error("Content-Disposition header in FormData part is missing a name.")]
    MissingName,
    #[error("No subsequent boundary string after multipart message.")]
    NoSubsequentBoundary,
}

impl<'js> FormData<'js> {
    /// The entries, in order.
    pub fn list(&self) -> &[Entry<'js>] {
        &self.entries
    }

    /// The entries as a `multipart/form-data` body delimited by `boundary`.
    pub fn multipart(&self, boundary: &str) -> Bytes {
        let mut out = BytesMut::new();
        for Entry { name, value } in &self.entries {
            out.put_slice(b"--");
            out.put_slice(boundary.as_bytes());
            out.put_slice(b"\r\nContent-Disposition: form-data; name=\"");
            escape_name(&mut out, &crlf(name));
            match value {
                FormValue::Text(text) => {
                    out.put_slice(b"\"\r\n\r\n");
                    out.put_slice(crlf(text).as_bytes());
                }
                FormValue::File(file) => {
                    let file = file.borrow();
                    out.put_slice(b"\"; filename=\"");
                    escape_name(&mut out, file.file_name());
                    out.put_slice(b"\"\r\nContent-Type: ");
                    let kind = file.blob().kind();
                    out.put_slice(if kind.is_empty() { b"application/octet-stream" } else { kind.as_bytes() });
                    out.put_slice(b"\r\n\r\n");
                    out.put_slice(file.blob().data());
                }
            }
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"--");
        out.put_slice(boundary.as_bytes());
        out.put_slice(b"--\r\n");
        out.freeze()
    }

    fn from_parts(ctx: &Ctx<'js>, parts: Vec<Part>) -> rquickjs::Result<FormData<'js>> {
        let mut entries = Vec::with_capacity(parts.len());
        // Before `formdata_parser_supports_files`, workerd turned files into strings.
        let files = crate::compat::enabled(ctx, crate::compat::FORMDATA_PARSER_SUPPORTS_FILES);
        for part in parts {
            let value = match part.filename {
                Some(filename) if files => FormValue::File(File::from_bytes(
                    ctx,
                    part.body,
                    filename,
                    part.content_type.as_deref().unwrap_or(""),
                )?),
                _ => FormValue::Text(String::from_utf8_lossy(&part.body).into_owned()),
            };
            entries.push(Entry { name: part.name, value });
        }
        Ok(FormData { entries })
    }
}

/// A fresh random boundary: 32 hex digits, as workerd makes them.
pub fn random_boundary() -> String {
    let mut random = [0u8; 16];
    if getrandom::fill(&mut random).is_err() {
        // No randomness: a fixed boundary still frames correctly unless a value contains it.
        return "nanod-form-data-boundary-9f8e7d6c5b4a".to_owned();
    }
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// HTML's line-break normalization: lone CR, lone LF and CRLF all become CRLF.
fn crlf(text: &str) -> String {
    if !text.contains(['\r', '\n']) {
        return text.to_owned();
    }
    text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n")
}

/// "Escape a multipart/form-data name": `"`, CR, LF → `%22`, `%0D`, `%0A`.
fn escape_name(out: &mut BytesMut, name: &str) {
    for &b in name.as_bytes() {
        match b {
            b'"' => out.put_slice(b"%22"),
            b'\r' => out.put_slice(b"%0D"),
            b'\n' => out.put_slice(b"%0A"),
            _ => out.put_u8(b),
        }
    }
}

/// The first index of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = from;
    while let Some(offset) = haystack.get(at..)?.iter().position(|&b| b == first) {
        let start = at + offset;
        if haystack.get(start + 1..)?.starts_with(rest) {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// Parses a `multipart/form-data` body (see the module doc for the accepted syntax).
pub fn parse_multipart(body: &Bytes, boundary: &str) -> Result<Vec<Part>, MultipartError> {
    let dash_boundary = format!("--{boundary}");
    let delimiter = format!("\n--{boundary}");
    let start = find(body, dash_boundary.as_bytes(), 0).ok_or(MultipartError::NoInitialBoundary)?;
    let mut at = start + dash_boundary.len();
    let mut parts = Vec::new();
    loop {
        // After a boundary: `--` ends the body; otherwise optional padding, then (CR)LF.
        let rest = body.get(at..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        let padding = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        let rest = rest.get(padding..).unwrap_or_default();
        at += padding
            + if rest.starts_with(b"\r\n") {
                2
            } else if rest.starts_with(b"\n") {
                1
            } else {
                return Err(MultipartError::BadBoundaryEnd);
            };
        let (headers_end, body_start) = header_end(body, at).ok_or(MultipartError::NoHeaderEnd)?;
        let headers = parse_headers(body.get(at..headers_end).unwrap_or_default())?;
        let disposition = headers.disposition.ok_or(MultipartError::NoContentDisposition)?;
        let (name, filename) = parse_disposition(&disposition)?;
        let end = find(body, delimiter.as_bytes(), body_start).ok_or(MultipartError::NoSubsequentBoundary)?;
        let content_end = if end > body_start && body.get(end - 1) == Some(&b'\r') { end - 1 } else { end };
        parts.push(Part {
            name,
            filename,
            content_type: headers.content_type,
            body: body.slice(body_start.min(content_end)..content_end),
        });
        at = end + delimiter.len();
    }
}

/// Where the header block starting at `from` ends: (end of the headers, start of the body),
/// at the first `\r?\n\r?\n`.
fn header_end(body: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut at = from;
    loop {
        let lf = at + body.get(at..)?.iter().position(|&b| b == b'\n')?;
        let next = body.get(lf + 1..)?;
        if next.starts_with(b"\n") {
            return Some((lf, lf + 2));
        }
        if next.starts_with(b"\r\n") {
            return Some((lf, lf + 3));
        }
        at = lf + 1;
    }
}

#[derive(Default)]
struct PartHeaders {
    disposition: Option<String>,
    content_type: Option<String>,
}

/// Parses `Name: value` lines (CRLF or LF); header names must be tokens.
fn parse_headers(block: &[u8]) -> Result<PartHeaders, MultipartError> {
    let mut headers = PartHeaders::default();
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(MultipartError::InvalidHeaders)?;
        let (name, value) = line.split_at(colon);
        let is_tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
        if name.is_empty() || !name.iter().all(is_tchar) {
            return Err(MultipartError::InvalidHeaders);
        }
        let value = String::from_utf8_lossy(value.get(1..).unwrap_or_default());
        let value = value.trim_matches(|c| c == ' ' || c == '\t').to_owned();
        if name.eq_ignore_ascii_case(b"content-disposition") {
            headers.disposition.get_or_insert(value);
        } else if name.eq_ignore_ascii_case(b"content-type") {
            headers.content_type.get_or_insert(value);
        }
    }
    Ok(headers)
}

/// Parses `form-data; name="x"; filename="y"` into (name, filename). Quoted values take
/// `\c` as `c` (as Chrome and workerd do); unquoted values are tokens.
fn parse_disposition(value: &str) -> Result<(String, Option<String>), MultipartError> {
    let is_ws = |c: char| c == ' ' || c == '\t';
    let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
    let kind = kind.trim_matches(is_ws);
    if !kind.eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::NotFormData(kind.to_owned()));
    }
    let mut name = None;
    let mut filename = None;
    loop {
        rest = rest.trim_start_matches(is_ws);
        if rest.is_empty() {
            break;
        }
        let (param, after) = rest.split_once('=').ok_or(MultipartError::InvalidContentDisposition)?;
        let param = param.trim_matches(is_ws).to_ascii_lowercase();
        let after = after.trim_start_matches(is_ws);
        let (param_value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut param_value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((at, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(at + 1);
                        break;
                    }
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            param_value.push(escaped);
                        }
                    }
                    _ => param_value.push(c),
                }
            }
            let end = end.ok_or(MultipartError::InvalidContentDisposition)?;
            (param_value, quoted.get(end..).unwrap_or(""))
        } else {
            let end = after.find([';', ' ', '\t']).unwrap_or(after.len());
            let token = after.get(..end).unwrap_or("");
            if token.is_empty() {
                return Err(MultipartError::InvalidContentDisposition);
            }
            (token.to_owned(), after.get(end..).unwrap_or(""))
        };
        match param.as_str() {
            "name" => {
                name.get_or_insert(param_value);
            }
            "filename" => {
                filename.get_or_insert(param_value);
            }
            _ => {}
        }
        let after = after.trim_start_matches(is_ws);
        rest = match after.strip_prefix(';') {
            Some(next) => next,
            None if after.is_empty() => "",
            None => return Err(MultipartError::InvalidContentDisposition),
        };
    }
    Ok((name.ok_or(MultipartError::MissingName)?, filename))
}

/// `formData()` of a body: parses `bytes` by its `Content-Type` (`multipart/form-data` or
/// `application/x-www-form-urlencoded`); anything else is a `TypeError`.
pub fn from_body<'js>(ctx: &Ctx<'js>, bytes: Bytes, content_type: Option<&str>) -> rquickjs::Result<Value<'js>> {
    let mime = content_type.and_then(mime::extract);
    let form = match mime.as_ref().map(|m| (m.essence(), m)) {
        Some((essence, mime)) if essence == "multipart/form-data" => {
            let boundary = mime.param("boundary").ok_or_else(|| {
                type_error(
                    ctx,
                    "No boundary string in Content-Type header. The multipart/form-data MIME type requires a boundary parameter, e.g. 'Content-Type: multipart/form-data; boundary=\"abcd\"'. See RFC 7578, section 4.",
                )
            })?;
            let parts = parse_multipart(&bytes, boundary).map_err(|e| type_error(ctx, &e.to_string()))?;
            FormData::from_parts(ctx, parts)?
        }
        Some((essence, mime)) if essence == "application/x-www-form-urlencoded" => {
            if let Some(charset) = mime.param("charset") {
                if !["utf-8", "utf8", "unicode-1-1-utf-8"].iter().any(|c| charset.eq_ignore_ascii_case(c)) {
                    return Err(type_error(ctx, "Non-utf-8 application/x-www-form-urlencoded body."));
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            let entries = crate::url_search_params::parse(&text)
                .into_iter()
                .map(|(name, value)| Entry { name, value: FormValue::Text(value) })
                .collect();
            FormData { entries }
        }
        _ => {
            return Err(type_error(
                ctx,
                "Unrecognized Content-Type header value. FormData can only parse the following MIME types: multipart/form-data, application/x-www-form-urlencoded",
            ))
        }
    };
    Class::instance(ctx.clone(), form).map(|f| f.into_value())
}

/// Turns an `append`/`set` value into an entry value: a Blob becomes a `File` named
/// `filename` (default `"blob"`); a File keeps its identity unless renamed.
fn entry_value<'js>(
    ctx: &Ctx<'js>,
    value: Value<'js>,
    filename: Option<Value<'js>>,
) -> rquickjs::Result<FormValue<'js>> {
    let filename = filename.filter(|f| !f.is_undefined());
    if let Ok(file) = Class::<File>::from_value(&value) {
        let Some(filename) = filename else { return Ok(FormValue::File(file)) };
        let filename = usv_string(ctx, filename)?;
        let (blob, modified) = {
            let file = file.try_borrow()?;
            (file.blob().clone(), file.modified())
        };
        return File::create(ctx, blob, filename, modified).map(FormValue::File);
    }
    if let Some(blob) = Blob::from_value(&value) {
        let filename = match filename {
            Some(filename) => usv_string(ctx, filename)?,
            None => "blob".to_owned(),
        };
        return File::create(ctx, blob, filename, crate::file::now(ctx)?).map(FormValue::File);
    }
    usv_string(ctx, value).map(FormValue::Text)
}

/// The first two arguments of `append`/`set`, or the WebIDL arity `TypeError`.
fn name_and_value<'js>(
    ctx: &Ctx<'js>,
    method: &str,
    name: Opt<Value<'js>>,
    value: Opt<Value<'js>>,
) -> rquickjs::Result<(String, Value<'js>)> {
    let given = usize::from(name.0.is_some()) + usize::from(value.0.is_some());
    match (name.0, value.0) {
        (Some(name), Some(value)) => Ok((usv_string(ctx, name)?, value)),
        _ => Err(type_error(
            ctx,
            &format!("Failed to execute '{method}' on 'FormData': 2 arguments required, but only {given} present."),
        )),
    }
}

/// A required `name` argument.
fn name_arg<'js>(ctx: &Ctx<'js>, method: &str, name: Opt<Value<'js>>) -> rquickjs::Result<String> {
    match name.0 {
        Some(name) => usv_string(ctx, name),
        None => Err(type_error(
            ctx,
            &format!("Failed to execute '{method}' on 'FormData': 1 argument required, but only 0 present."),
        )),
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> FormData<'js> {
    #[qjs(constructor)]
    pub fn new(_form: Opt<Value<'js>>) -> Self {
        FormData::default()
    }

    pub fn append(
        &mut self,
        ctx: Ctx<'js>,
        name: Opt<Value<'js>>,
        value: Opt<Value<'js>>,
        filename: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let (name, value) = name_and_value(&ctx, "append", name, value)?;
        let value = entry_value(&ctx, value, filename.0)?;
        self.entries.push(Entry { name, value });
        Ok(())
    }

    pub fn set(
        &mut self,
        ctx: Ctx<'js>,
        name: Opt<Value<'js>>,
        value: Opt<Value<'js>>,
        filename: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let (name, value) = name_and_value(&ctx, "set", name, value)?;
        let value = entry_value(&ctx, value, filename.0)?;
        match self.entries.iter().position(|e| e.name == name) {
            Some(first) => {
                let mut index = 0;
                self.entries.retain(|e| {
                    let keep = index <= first || e.name != name;
                    index += 1;
                    keep
                });
                if let Some(entry) = self.entries.get_mut(first) {
                    entry.value = value;
                }
            }
            None => self.entries.push(Entry { name, value }),
        }
        Ok(())
    }

    pub fn delete(&mut self, ctx: Ctx<'js>, name: Opt<Value<'js>>) -> rquickjs::Result<()> {
        let name = name_arg(&ctx, "delete", name)?;
        self.entries.retain(|e| e.name != name);
        Ok(())
    }

    pub fn get(&self, ctx: Ctx<'js>, name: Opt<Value<'js>>) -> rquickjs::Result<Value<'js>> {
        let name = name_arg(&ctx, "get", name)?;
        match self.entries.iter().find(|e| e.name == name) {
            Some(entry) => entry.value.to_js(&ctx),
            None => Ok(Value::new_null(ctx)),
        }
    }

    pub fn get_all(&self, ctx: Ctx<'js>, name: Opt<Value<'js>>) -> rquickjs::Result<Array<'js>> {
        let name = name_arg(&ctx, "getAll", name)?;
        let all = Array::new(ctx.clone())?;
        for (i, entry) in self.entries.iter().filter(|e| e.name == name).enumerate() {
            all.set(i, entry.value.to_js(&ctx)?)?;
        }
        Ok(all)
    }

    pub fn has(&self, ctx: Ctx<'js>, name: Opt<Value<'js>>) -> rquickjs::Result<bool> {
        let name = name_arg(&ctx, "has", name)?;
        Ok(self.entries.iter().any(|e| e.name == name))
    }

    pub fn for_each(
        this: This<Class<'js, FormData<'js>>>,
        ctx: Ctx<'js>,
        callback: Function<'js>,
        this_arg: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let this_arg = this_arg.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        let mut index = 0;
        loop {
            let entry = this.0.try_borrow()?.entries.get(index).cloned();
            let Some(Entry { name, value }) = entry else { return Ok(()) };
            callback.call::<_, ()>((This(this_arg.clone()), value.to_js(&ctx)?, name, this.0.clone()))?;
            index += 1;
        }
    }

    pub fn entries(
        this: This<Class<'js, FormData<'js>>>,
        ctx: Ctx<'js>,
    ) -> rquickjs::Result<Class<'js, FormDataIterator<'js>>> {
        FormDataIterator::create(&ctx, this.0, IterKind::Entries)
    }

    pub fn keys(
        this: This<Class<'js, FormData<'js>>>,
        ctx: Ctx<'js>,
    ) -> rquickjs::Result<Class<'js, FormDataIterator<'js>>> {
        FormDataIterator::create(&ctx, this.0, IterKind::Keys)
    }

    pub fn values(
        this: This<Class<'js, FormData<'js>>>,
        ctx: Ctx<'js>,
    ) -> rquickjs::Result<Class<'js, FormDataIterator<'js>>> {
        FormDataIterator::create(&ctx, this.0, IterKind::Values)
    }

    #[qjs(rename = PredefinedAtom::SymbolIterator)]
    pub fn iterate(
        this: This<Class<'js, FormData<'js>>>,
        ctx: Ctx<'js>,
    ) -> rquickjs::Result<Class<'js, FormDataIterator<'js>>> {
        FormDataIterator::create(&ctx, this.0, IterKind::Entries)
    }
}

#[derive(Clone, Copy)]
enum IterKind {
    Keys,
    Values,
    Entries,
}

/// A live iterator over a `FormData` (WebIDL "default iterator object"): it walks the current
/// list by index, so entries added or deleted during iteration are seen.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "FormData Iterator")]
pub struct FormDataIterator<'js> {
    form: Class<'js, FormData<'js>>,
    #[qjs(skip_trace)]
    kind: IterKind,
    #[qjs(skip_trace)]
    index: usize,
}

impl<'js> FormDataIterator<'js> {
    fn create(
        ctx: &Ctx<'js>,
        form: Class<'js, FormData<'js>>,
        kind: IterKind,
    ) -> rquickjs::Result<Class<'js, FormDataIterator<'js>>> {
        let iterator = Class::instance(ctx.clone(), FormDataIterator { form, kind, index: 0 })?;
        crate::webidl::inherit_iterator_prototype::<FormDataIterator>(ctx)?;
        Ok(iterator)
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> FormDataIterator<'js> {
    pub fn next(&mut self, ctx: Ctx<'js>) -> rquickjs::Result<Object<'js>> {
        let result = Object::new(ctx.clone())?;
        let entry = self.form.try_borrow()?.entries.get(self.index).cloned();
        match entry {
            None => {
                result.set("value", Value::new_undefined(ctx))?;
                result.set("done", true)?;
            }
            Some(Entry { name, value }) => {
                self.index += 1;
                match self.kind {
                    IterKind::Keys => result.set("value", name)?,
                    IterKind::Values => result.set("value", value.to_js(&ctx)?)?,
                    IterKind::Entries => {
                        let pair = Array::new(ctx.clone())?;
                        pair.set(0, name)?;
                        pair.set(1, value.to_js(&ctx)?)?;
                        result.set("value", pair)?;
                    }
                }
                result.set("done", false)?;
            }
        }
        Ok(result)
    }

    #[qjs(rename = PredefinedAtom::SymbolIterator)]
    pub fn iterate(this: This<Value<'js>>) -> Value<'js> {
        this.0
    }
}

/// Installs the `FormData` constructor.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    constructor::<FormData>(ctx)
}

#[cfg(test)]
mod tests {
    use super::{crlf, find, parse_disposition, MultipartError};

    #[test]
    fn line_breaks_become_crlf() {
        assert_eq!(crlf("a\rb\nc\r\nd"), "a\r\nb\r\nc\r\nd");
        assert_eq!(crlf("plain"), "plain");
    }

    #[test]
    fn find_substring() {
        assert_eq!(find(b"xx\n--B", b"\n--B", 0), Some(2));
        assert_eq!(find(b"\n-\n--B", b"\n--B", 1), Some(2));
        assert_eq!(find(b"abc", b"\n--B", 0), None);
        assert_eq!(find(b"abc", b"c", 5), None);
    }

    #[test]
    fn content_disposition() {
        let ok = |v: &str| parse_disposition(v);
        assert_eq!(ok("form-data; name=\"a\""), Ok(("a".into(), None)));
        assert_eq!(ok("Form-Data;name=a;filename=\"x \\\"y\\\".txt\""), Ok(("a".into(), Some("x \"y\".txt".into()))));
        assert_eq!(ok("form-data; filename=\"f\"; name=\"n\" "), Ok(("n".into(), Some("f".into()))));
        assert_eq!(ok("form-data; name=\"a;b\""), Ok(("a;b".into(), None)));
        assert_eq!(ok("form-data"), Err(MultipartError::MissingName));
        assert_eq!(ok("attachment; name=\"a\""), Err(MultipartError::NotFormData("attachment".into())));
        assert_eq!(ok("form-data; name=\"a"), Err(MultipartError::InvalidContentDisposition));
        assert_eq!(ok("form-data; name"), Err(MultipartError::InvalidContentDisposition));
    }
}
