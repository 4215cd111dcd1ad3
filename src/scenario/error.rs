//! [`ScenarioError`]: every way a scenario file can be wrong, as one value
//! that names the file, the JSON path and the line:column, and says what was
//! expected.

use std::fmt;

/// A scenario that cannot be read, parsed or validated.
///
/// Displays as one line, `file:line:column: path: message`, then, when there
/// is a hint, a second line indented by two spaces:
///
/// ```text
/// scenarios/chain.json:12:15: steps[3].crash: unknown node 'r9' (nodes: m, r1, r2)
/// scenarios/chain.json:4:14: network.latency: expected a duration with a unit, like "5ms" or "1s..3s", got "10"
///   hint: write "10ms", "10s" or "10m"
/// ```
///
/// `line:column` is left out when unknown (`line == 0`, I/O errors) and
/// `path: ` when the error is about the whole file or a JSON syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file's display name.
    pub file: String,
    /// JSON path of the offending value or key, like `steps[3].crash` or
    /// `nodes."my node"`; empty for the whole document and syntax errors.
    pub path: String,
    /// 1-based line of the offending value (or key); 0 when unknown.
    pub line: usize,
    /// 1-based column, counted in characters; 0 when unknown.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, shown on a second line.
    pub hint: Option<String>,
    /// The class of mistake.
    pub kind: ErrorKind,
}

/// The class of a [`ScenarioError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file or directory could not be read.
    Io,
    /// Not JSON (position from serde_json).
    Syntax,
    /// A key the format does not have here.
    UnknownField,
    /// A JSON value of the wrong type (a number where a string goes, ...).
    Type,
    /// A node name that is not in `nodes`.
    UnknownNode,
    /// A malformed duration or duration range.
    Duration,
    /// A step (or topology) that cannot happen: restarting a running node, a
    /// replication cycle, a command on a crashed node, ...
    Impossible,
    /// Any other bad value: missing field, out of range, duplicate, ...
    Value,
}

impl ScenarioError {
    pub(crate) fn new(
        file: &str,
        path: &str,
        (line, column): (usize, usize),
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        ScenarioError {
            file: file.to_string(),
            path: path.to_string(),
            line,
            column,
            message: message.into(),
            hint: None,
            kind,
        }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file)?;
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, " {}:", self.path)?;
        }
        write!(f, " {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_leaves_out_what_is_unknown() {
        let e = ScenarioError::new("a.json", "steps[1].crash", (3, 7), ErrorKind::Value, "bad");
        assert_eq!(e.to_string(), "a.json:3:7: steps[1].crash: bad");
        let e = ScenarioError::new("a.json", "", (0, 0), ErrorKind::Io, "cannot read");
        assert_eq!(e.to_string(), "a.json: cannot read");
        let e = ScenarioError::new("a.json", "", (1, 1), ErrorKind::Syntax, "eof").with_hint("h");
        assert_eq!(e.to_string(), "a.json:1:1: eof\n  hint: h");
    }
}
