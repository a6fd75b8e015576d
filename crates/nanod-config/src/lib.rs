//! nanod's config: the model every other crate consumes, and the two front ends that produce it.
//!
//! - [`parse_capnp`] reads workerd's Cap'n Proto text format (`*.capnp`), schema-checked against
//!   workerd's own `workerd.capnp` field list.
//! - [`parse_toml`] reads `nanod.toml`, a friendlier spelling of the same model (see [`toml`]).
//! - [`validate`] checks what neither front end can: duplicate names, references to undefined
//!   services, the main module.
//! - [`compat`] is workerd's table of compatibility flags and resolves a Worker's date and flags
//!   (it needs the command line's `--experimental` and `--compat-date`, so the server calls it).
//! - [`load`] does all three for a file on disk.
//!
//! Every error is an [`Error`] that displays as `file:line:col: message`. This crate does no
//! I/O besides reading the config file and the files it embeds; it knows nothing of the runtime.

#![forbid(unsafe_code)]

mod capnp;
pub mod compat;
mod error;
pub mod model;
pub mod toml;
mod validate;

use std::path::{Path, PathBuf};

pub use error::{Error, ErrorKind};
pub use model::*;

/// Reads, parses and validates a config file: `.toml` files with the TOML front end, anything
/// else as Cap'n Proto text. `const_name` picks the `Config` constant of a capnp file (it is
/// ignored for TOML).
pub fn load(path: &Path, const_name: Option<&str>) -> Result<Config, Error> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| Error::in_file(ErrorKind::Io, path, format!("cannot read config: {e}")))?;
    let config = if path.extension().is_some_and(|ext| ext == "toml") {
        parse_toml(path, &source)?
    } else {
        parse_capnp(path, &source, const_name)?
    };
    validate(&config)?;
    Ok(config)
}

/// [`load`], also returning every file it read: the config file first, then each embedded or
/// referenced file (for `serve --watch`, which reloads when one of them changes).
pub fn load_with_files(path: &Path, const_name: Option<&str>) -> Result<(Config, Vec<PathBuf>), Error> {
    READ_FILES.with(|files| *files.borrow_mut() = Some(vec![path.to_owned()]));
    let loaded = load(path, const_name);
    let files = READ_FILES.with(|files| files.borrow_mut().take()).unwrap_or_default();
    loaded.map(|config| (config, files))
}

thread_local! {
    // The front ends read embedded files deep inside their lowering; a thread-local record
    // spares threading a list through both of them for the one caller that wants it.
    static READ_FILES: std::cell::RefCell<Option<Vec<PathBuf>>> = const { std::cell::RefCell::new(None) };
}

/// Reads a file the config embeds, recording it for [`load_with_files`].
fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    READ_FILES.with(|files| {
        if let Some(files) = files.borrow_mut().as_mut() {
            files.push(path.to_owned());
        }
    });
    std::fs::read(path)
}

/// Parses Cap'n Proto text. `path` names the file in errors and spans, and `embed` paths are
/// resolved relative to its directory (the only files read). Does not [`validate`].
pub fn parse_capnp(path: &Path, source: &str, const_name: Option<&str>) -> Result<Config, Error> {
    capnp::parse(path, source, const_name)
}

/// Parses `nanod.toml` text. Module and `*_file` paths are read relative to `path`'s directory.
/// Does not [`validate`].
pub fn parse_toml(path: &Path, source: &str) -> Result<Config, Error> {
    self::toml::parse(path, source)
}

/// workerd's `--external-addr NAME=ADDR`: sets the address of external service `name`,
/// replacing the config's own.
pub fn set_external_address(config: &mut Config, name: &str, address: &str) -> Result<(), String> {
    match config.services.iter_mut().find(|s| s.name == name) {
        Some(Service { kind: ServiceKind::External(external), .. }) => {
            external.address = Some(address.to_owned());
            Ok(())
        }
        Some(_) => Err(format!("--external-addr {name}=...: service \"{name}\" is not an external service")),
        None => Err(format!("--external-addr {name}=...: no service named \"{name}\" in the config")),
    }
}

/// workerd's `--directory-path NAME=PATH` (`-d`): points disk service `name` at `path`,
/// replacing the config's own; the error is workerd's.
pub fn set_directory_path(config: &mut Config, name: &str, path: &str) -> Result<(), String> {
    match config.services.iter_mut().find(|s| s.name == name) {
        Some(Service { kind: ServiceKind::Disk(disk), .. }) => {
            disk.path = Some(path.to_owned());
            Ok(())
        }
        _ => Err(format!(
            "Config did not define any disk service named \"{name}\" to match the override provided on the command line."
        )),
    }
}

/// Checks a parsed config for inconsistencies; the error points at the offending node.
pub fn validate(config: &Config) -> Result<(), Error> {
    validate::validate(config)
}
