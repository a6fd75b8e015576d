//! The isolate's compatibility flags: the Worker's resolved [`CompatFlags`], kept in runtime
//! userdata (one small `Copy` struct per isolate) and consulted by the web APIs whose behaviour
//! a flag changes (`navigator`, `FormData` parsing, `fetch()`'s schemes: [`check_fetch_scheme`]).
//!
//! The embedder sets them before [`crate::install_globals`]; an isolate where nothing was set
//! (the crate's own tests) behaves as a Worker dated [`NEWEST_COMPATIBILITY_DATE`].

use std::sync::OnceLock;

use nanod_config::compat::{CompatFlags, FlagId, NEWEST_COMPATIBILITY_DATE};
use rquickjs::{Ctx, JsLifetime};

pub const GLOBAL_NAVIGATOR: FlagId = FlagId::of("global_navigator");
pub const FORMDATA_PARSER_SUPPORTS_FILES: FlagId = FlagId::of("formdata_parser_supports_files");
pub const STREAMS_ENABLE_CONSTRUCTORS: FlagId = FlagId::of("streams_enable_constructors");
pub const FETCH_REFUSES_UNKNOWN_PROTOCOLS: FlagId = FlagId::of("fetch_refuses_unknown_protocols");
pub const TRANSFORMSTREAM_ENABLE_STANDARD_CONSTRUCTOR: FlagId =
    FlagId::of("transformstream_enable_standard_constructor");

#[derive(JsLifetime)]
struct IsolateFlags(CompatFlags);

/// Sets this isolate's flags.
pub fn set(ctx: &Ctx<'_>, flags: CompatFlags) -> rquickjs::Result<()> {
    let _ = ctx.remove_userdata::<IsolateFlags>();
    ctx.store_userdata(IsolateFlags(flags)).map_err(|_| rquickjs::Error::Unknown)?;
    Ok(())
}

/// This isolate's flags.
pub fn flags(ctx: &Ctx<'_>) -> CompatFlags {
    match ctx.userdata::<IsolateFlags>() {
        Some(flags) => flags.0,
        None => *NEWEST.get_or_init(|| CompatFlags::for_date(NEWEST_COMPATIBILITY_DATE)),
    }
}

static NEWEST: OnceLock<CompatFlags> = OnceLock::new();

/// Whether flag `id` is on in this isolate.
pub fn enabled(ctx: &Ctx<'_>, id: FlagId) -> bool {
    flags(ctx).has(id)
}

/// `fetch()`'s scheme rule: with `fetch_refuses_unknown_protocols` a URL that is not `http:` or
/// `https:` is refused with workerd's message; without it, workerd's historical bug: the URL is
/// sent as `http:` (with workerd's warning on stderr).
pub fn check_fetch_scheme(ctx: &Ctx<'_>, url: &mut String) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once(':') else { return Ok(()) };
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        return Ok(());
    }
    if enabled(ctx, FETCH_REFUSES_UNKNOWN_PROTOCOLS) || !rest.starts_with("//") {
        return Err(format!("Fetch API cannot load: {url}"));
    }
    tracing::warn!(
        "Worker passed an invalid URL to fetch(). URLs passed to fetch() must begin with either 'http:' or \
         'https:', not '{scheme}:'. Due to a historical bug, any other protocol used here will be treated the same \
         as 'http:'. We plan to correct this bug in the future, so please update your Worker to use 'http:' or \
         'https:' for all fetch() URLs."
    );
    *url = format!("http:{rest}");
    Ok(())
}
