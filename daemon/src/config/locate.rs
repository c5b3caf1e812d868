//! From byte offsets and key paths to `file:line:column`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A place in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` of `text` (read from `path`). An offset
    /// past the end or inside a character counts as the nearest place before.
    pub fn at(path: &Path, text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset = offset.saturating_sub(1);
        }
        let before = text.get(..offset).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let line = before.matches('\n').count() + 1;
        let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
        Location {
            path: path.to_owned(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// One step of a path into the document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    /// A key of a table.
    Key(&'a str),
    /// An element of an array.
    Index(usize),
}

/// The span of the value at `path`, or of the deepest part of it that exists
/// (a default filled in by serde has no span of its own).
pub(crate) fn span_of(root: &DeTable<'_>, path: &[Step<'_>]) -> Option<Range<usize>> {
    let mut found: Option<&Spanned<DeValue<'_>>> = None;
    for step in path {
        let next = match (found, step) {
            (None, Step::Key(key)) => root.get(*key),
            (None, Step::Index(_)) => None,
            (Some(value), Step::Key(key)) => value.get_ref().get(*key),
            (Some(value), Step::Index(index)) => value.get_ref().get(*index),
        };
        match next {
            Some(value) => found = Some(value),
            None => break,
        }
    }
    found.map(Spanned::span)
}

/// Keys whose values are secrets.
const SECRET_KEYS: [&str; 2] = ["pin", "password"];

/// Whether byte `offset` lies in the value of a secret key. (An error at the
/// key itself, such as `pin` where no PIN belongs, names only the key.)
pub(crate) fn is_secret_at(table: &DeTable<'_>, offset: usize) -> bool {
    table.iter().any(|(key, value)| {
        if SECRET_KEYS.contains(&key.get_ref().as_ref()) && value.span().contains(&offset) {
            return true;
        }
        is_secret_in(value.get_ref(), offset)
    })
}

fn is_secret_in(value: &DeValue<'_>, offset: usize) -> bool {
    match value {
        DeValue::Table(table) => is_secret_at(table, offset),
        DeValue::Array(items) => items
            .iter()
            .any(|item| is_secret_in(item.get_ref(), offset)),
        _ => false,
    }
}
