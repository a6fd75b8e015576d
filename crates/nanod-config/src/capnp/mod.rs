//! The Cap'n Proto text front end: workerd's config format → [`Config`].
//!
//! `lexer` turns text into positioned tokens, `parser` builds a syntax tree of `using`, `const`
//! and value literals, `schema` describes workerd's `workerd.capnp`, and `lower` checks the tree
//! against the schema and builds the model. Only `embed` reads files (relative to the config
//! file's directory); nothing here validates cross-references (see `validate`).

mod lexer;
mod lower;
mod parser;
mod schema;

#[cfg(test)]
mod tests;

use std::path::Path;

use crate::error::{Error, ErrorKind};
use crate::model::{Config, Span};

pub(crate) use lower::json_string;

/// Parses Cap'n Proto text and lowers the constant named `const_name` (or the only `Config`
/// constant) to the model.
pub fn parse(path: &Path, source: &str, const_name: Option<&str>) -> Result<Config, Error> {
    let at = |pos: lexer::Pos| Span { file: path.to_path_buf(), line: pos.line, col: pos.col };
    let tokens = lexer::lex(source).map_err(|e| Error::at(ErrorKind::Syntax, at(e.pos), e.message))?;
    let file =
        parser::parse(&tokens, end_of(source)).map_err(|e| Error::at(ErrorKind::Syntax, at(e.pos), e.message))?;
    lower::lower(path, &file, const_name)
}

/// The position just past the last character.
fn end_of(source: &str) -> lexer::Pos {
    let mut pos = lexer::Pos { line: 1, col: 1 };
    for c in source.chars() {
        if c == '\n' {
            pos.line += 1;
            pos.col = 1;
        } else {
            pos.col += 1;
        }
    }
    pos
}
