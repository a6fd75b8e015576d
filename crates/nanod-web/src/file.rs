//! `File` (File API §4): a [`Blob`] with a `name` and a `lastModified` time.
//!
//! ```js
//! const f = new File(["abc"], "a.txt", { type: "text/plain", lastModified: 42 });
//! f instanceof Blob;          // true
//! [f.name, f.size, f.lastModified, f.webkitRelativePath]; // ["a.txt", 3, 42, ""]
//! ```
//!
//! rquickjs has no native class inheritance, so `File` is its own native class holding a
//! `Blob`, and its prototype is linked to `Blob.prototype` (`Object.setPrototypeOf(File.prototype,
//! Blob.prototype)`, and `File`'s own prototype is `Blob`, as for a JS subclass) when the
//! global is installed or a `File` is first made from Rust ([`File::create`], used by
//! `FormData`). `Blob.prototype`'s methods accept a `File` receiver (see [`crate::blob`]).

use bytes::Bytes;
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Class, Coerced, Ctx, FromJs, Function, JsLifetime, Object, Value};

use crate::blob::{dictionary, native_endings, process_parts, type_option, Blob};
use crate::encoding::usv_string;
use crate::headers::constructor;
use crate::webidl::type_error;

#[derive(Trace, JsLifetime, Debug)]
#[rquickjs::class]
pub struct File {
    #[qjs(skip_trace)]
    blob: Blob,
    #[qjs(skip_trace)]
    name: String,
    /// Milliseconds since the epoch.
    #[qjs(skip_trace)]
    last_modified: f64,
}

impl File {
    /// A new JS `File` (its prototype chain reaching `Blob.prototype`).
    pub fn create<'js>(
        ctx: &Ctx<'js>,
        blob: Blob,
        name: String,
        last_modified: f64,
    ) -> rquickjs::Result<Class<'js, File>> {
        link_prototype(ctx)?;
        Class::instance(ctx.clone(), File { blob, name, last_modified })
    }

    /// A new JS `File` of `bytes` with `kind` as its type, modified now.
    pub fn from_bytes<'js>(
        ctx: &Ctx<'js>,
        bytes: Bytes,
        name: String,
        kind: &str,
    ) -> rquickjs::Result<Class<'js, File>> {
        File::create(ctx, Blob::new(bytes, kind), name, now(ctx)?)
    }

    pub fn blob(&self) -> &Blob {
        &self.blob
    }

    pub fn file_name(&self) -> &str {
        &self.name
    }

    pub fn modified(&self) -> f64 {
        self.last_modified
    }
}

/// `Date.now()` as the isolate sees it.
pub(crate) fn now(ctx: &Ctx<'_>) -> rquickjs::Result<f64> {
    let date: Object = ctx.globals().get("Date")?;
    let now: Function = date.get("now")?;
    now.call(())
}

/// Makes `File.prototype` inherit from `Blob.prototype` (once per runtime).
fn link_prototype(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let (Some(file), Some(blob)) = (Class::<File>::prototype(ctx)?, Class::<Blob>::prototype(ctx)?) else {
        return Ok(());
    };
    if file.get_prototype().as_ref() != Some(&blob) {
        file.set_prototype(Some(&blob))?;
    }
    Ok(())
}

#[rquickjs::methods(rename_all = "camelCase")]
impl File {
    #[qjs(constructor)]
    pub fn constructor<'js>(
        ctx: Ctx<'js>,
        bits: Opt<Value<'js>>,
        name: Opt<Value<'js>>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<Self> {
        // `new File(undefined, name)` is an empty File, as in Node and workerd.
        let given = usize::from(bits.0.is_some()) + usize::from(name.0.is_some());
        let (Some(bits), Some(name)) = (bits.0, name.0) else {
            return Err(type_error(
                &ctx,
                &format!("Failed to construct 'File': 2 arguments required, but only {given} present."),
            ));
        };
        let name = usv_string(&ctx, name)?;
        let options = dictionary(&ctx, options, "File")?;
        let native = native_endings(&ctx, options.as_ref(), "File")?;
        let last_modified = match options.as_ref().map(|o| o.get::<_, Value>("lastModified")).transpose()? {
            // A plain number, as Node and workerd keep it (the spec's `long long` would truncate).
            Some(v) if !v.is_undefined() => Coerced::<f64>::from_js(&ctx, v)?.0,
            _ => now(&ctx)?,
        };
        let kind = type_option(&ctx, options.as_ref())?;
        let bytes = process_parts(&ctx, Some(bits), native, "File")?;
        Ok(File { blob: Blob::new(bytes, &kind), name, last_modified })
    }

    #[qjs(get)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    #[qjs(get)]
    pub fn last_modified(&self) -> f64 {
        self.last_modified
    }

    #[qjs(get)]
    pub fn webkit_relative_path(&self) -> &'static str {
        ""
    }
}

/// Installs the `File` constructor, inheriting from `Blob`.
pub fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let file = constructor::<File>(ctx)?;
    link_prototype(ctx)?;
    let blob: Value = ctx.globals().get("Blob")?;
    if let (Some(file), Some(blob)) = (file.as_object(), blob.as_object()) {
        file.set_prototype(Some(blob))?;
    }
    Ok(file)
}
