//! Findings about a migration set and the one renderer used for them by both the build
//! script and the CLI (annotate-snippets, the renderer of cargo and rustc).

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use std::fmt;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Reported, but the set is still usable.
    Warning,
    /// The set must not be built or applied.
    Error,
}

/// One problem in a migration set, with the file it is about and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A short stable identifier, e.g. `malformed-name`, for `--format json` and docs.
    pub code: &'static str,
    /// The file, relative to the crate root (forward slashes), when there is one.
    pub file: Option<String>,
    /// A 1-based line number and that line's text, when the finding points into a file.
    pub line: Option<(usize, String)>,
    /// What is wrong, lowercase.
    pub message: String,
    /// What to do about it, one line each.
    pub help: Vec<String>,
}

impl Finding {
    /// An error about `file`.
    pub fn error(code: &'static str, file: impl Into<Option<String>>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            file: file.into(),
            line: None,
            message: message.into(),
            help: Vec::new(),
        }
    }

    /// A warning about `file`.
    pub fn warning(code: &'static str, file: impl Into<Option<String>>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(code, file, message) }
    }

    /// Adds a line of advice.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    /// Points the finding at a line of its file.
    #[must_use]
    pub fn at_line(mut self, number: usize, text: impl Into<String>) -> Self {
        self.line = Some((number, text.into()));
        self
    }

    /// Whether this finding stops a build.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders like rustc: title, location, source line when known, then `help:` lines.
    pub fn render(&self, styled: bool) -> String {
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level.primary_title(&self.message).id(self.code);
        let group = match (&self.file, &self.line) {
            (Some(file), Some((number, text))) => title.element(
                Snippet::source(text.as_str())
                    .line_start(*number)
                    .path(file.as_str())
                    .annotation(AnnotationKind::Primary.span(0..text.len())),
            ),
            (Some(file), None) => title.element(Origin::path(file.as_str())),
            _ => Group::with_title(title),
        };
        let mut report = vec![group];
        report.extend(self.help.iter().map(|h| Group::with_title(Level::HELP.secondary_title(h))));
        let renderer = if styled { Renderer::styled() } else { Renderer::plain() };
        renderer.render(&report)
    }
}

impl fmt::Display for Finding {
    /// One line: `file:line: message`, for logs and `cargo::` directives.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, &self.line) {
            (Some(file), Some((n, _))) => write!(f, "{file}:{n}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_title_location_and_help() {
        let text = Finding::error("malformed-name", "migrations/V1_x.sql".to_owned(), "malformed migration file name")
            .help("rename it to `V1__x.sql`")
            .render(false);
        assert!(text.starts_with("error[malformed-name]: malformed migration file name"), "{text}");
        assert!(text.contains("--> migrations/V1_x.sql"), "{text}");
        assert!(text.contains("help: rename it to `V1__x.sql`"), "{text}");
    }

    #[test]
    fn renders_the_source_line() {
        let text = Finding::error("lock-conflict", "migrations/dbmigrate.lock".to_owned(), "merge conflict")
            .at_line(3, "<<<<<<< HEAD")
            .render(false);
        assert!(text.contains("--> migrations/dbmigrate.lock:3"), "{text}");
        assert!(text.contains("3 | <<<<<<< HEAD"), "{text}");
    }
}
