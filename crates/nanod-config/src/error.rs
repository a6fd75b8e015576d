//! The one error type of this crate: a message, what kind of mistake it is, and where in which
//! file it was made.
//!
//! Display is exactly `file:line:col: message`, or `file: message` when no position is known
//! (an unreadable file, a missing constant). Messages are single lines, start in lower case
//! unless they quote Cap'n Proto's own wording, and name what was expected. This module also
//! holds [`suggest`], the "did you mean" helper every front end uses.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::Span;

/// What kind of mistake an [`Error`] reports, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The config file or an embedded file could not be read.
    Io,
    /// The text is not well-formed Cap'n Proto text or TOML.
    Syntax,
    /// A field, type or value that the schema does not have.
    Schema,
    /// A reference to a constant or service that does not exist.
    Reference,
    /// Well-formed and schema-conformant, but inconsistent (duplicates, bad dates, ...).
    Invalid,
}

/// A config error with its location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    file: PathBuf,
    /// `None` when no position in the file is known.
    span: Option<Span>,
    message: String,
}

impl Error {
    /// An error at a position.
    pub fn at(kind: ErrorKind, span: Span, message: impl Into<String>) -> Self {
        Error { kind, file: span.file.clone(), span: Some(span), message: message.into() }
    }

    /// An error about a whole file.
    pub fn in_file(kind: ErrorKind, file: &Path, message: impl Into<String>) -> Self {
        Error { kind, file: file.to_path_buf(), span: None, message: message.into() }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file the error is about.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Where the error is, if a position is known.
    pub fn span(&self) -> Option<&Span> {
        self.span.as_ref()
    }

    /// The message without the location.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.span {
            Some(span) => write!(f, "{span}: {}", self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo:
/// at most one edit per three characters (at least one), and never a complete rewrite.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = name.chars().count();
    let limit = (len / 3).max(1);
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|&(d, _)| d <= limit && d < len)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `"; did you mean 'x'?"` or nothing.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(name, candidates) {
        Some(s) => format!("; did you mean '{s}'?"),
        None => String::new(),
    }
}

/// Edit distance counting insertions, deletions, substitutions and swaps of neighbours
/// (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // d[i * width + j]: distance between a[..i] and b[..j].
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        d[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        d[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[at(i - 1, j)] + 1).min(d[at(i, j - 1)] + 1).min(d[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[at(i - 2, j - 2)] + 1);
            }
            d[at(i, j)] = best;
        }
    }
    d[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, candidates: &[&str], expected: Option<&str>) {
        assert_eq!(suggest(name, candidates.iter().copied()), expected, "{name}");
    }

    #[test]
    fn suggestions() {
        check("bindingz", &["bindings", "modules"], Some("bindings"));
        check("compatibilityDat", &["compatibilityDate", "compatibilityFlags"], Some("compatibilityDate"));
        check("xyz", &["bindings", "modules"], None);
        check("mian", &["main", "auth"], Some("main"));
        check("a", &["b"], None);
        check("a", &[], None);
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("mian", "main"), 1);
    }

    #[test]
    fn display() {
        let span = Span { file: "a.capnp".into(), line: 3, col: 7 };
        assert_eq!(Error::at(ErrorKind::Syntax, span, "bad").to_string(), "a.capnp:3:7: bad");
        let e = Error::in_file(ErrorKind::Io, Path::new("b.toml"), "gone");
        assert_eq!(e.to_string(), "b.toml: gone");
        assert!(e.span().is_none());
        assert_eq!(e.message(), "gone");
    }
}
