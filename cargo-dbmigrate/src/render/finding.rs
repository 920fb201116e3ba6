//! Renders the build's findings the way rustc renders diagnostics (annotate-snippets, the renderer of
//! cargo and rustc), or as JSON.
//!
//! Only the CLI shows findings this way; the build script prints them as `cargo::error=`
//! lines, which Cargo prefixes itself, so the renderer stays out of every user's build.

use crate::shell::{Shell, Verbosity};
use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use dbmigrate_build::internal::{Finding, Severity};

/// Prints every finding as the compiler would, each followed by a blank line; warnings are
/// silenced by `-q`, and infos shown only with `-v`.
pub fn print_all(findings: &[Finding], shell: &Shell) {
    for finding in findings {
        let shown_from = match finding.severity {
            Severity::Error => Verbosity::Quiet,
            Severity::Warning => Verbosity::Normal,
            Severity::Info => Verbosity::Verbose,
        };
        if shell.verbosity() >= shown_from {
            shell.raw(format!("{}\n", render(finding, shell.styled())));
        }
    }
}

/// A finding as JSON: what `--format json` prints for each problem.
pub fn json(f: &Finding) -> serde_json::Value {
    serde_json::json!({
        "severity": match f.severity { Severity::Error => "error", Severity::Warning => "warning", Severity::Info => "info" },
        "code": f.rule.as_str(),
        "file": f.file,
        "line": f.line.as_ref().map(|(n, _)| n),
        "message": f.message,
        "help": f.help,
    })
}

/// Renders like rustc: title with the rule's code, location, source line when known, then
/// `help:` lines.
pub fn render(finding: &Finding, styled: bool) -> String {
    let level = match finding.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    };
    let title = level.primary_title(&finding.message).id(finding.rule.as_str());
    let group = match (&finding.file, &finding.line) {
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
    report.extend(finding.help.iter().map(|h| Group::with_title(Level::HELP.secondary_title(h))));
    let renderer = if styled { Renderer::styled() } else { Renderer::plain() };
    renderer.render(&report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbmigrate_build::internal::Rule;

    #[test]
    fn renders_title_location_and_help() {
        let finding =
            Finding::error(Rule::MalformedName, "migrations/V1_x.sql".to_owned(), "malformed migration file name")
                .help("rename it to `V1__x.sql`");
        let text = render(&finding, false);
        assert!(text.starts_with("error[malformed-name]: malformed migration file name"), "{text}");
        assert!(text.contains("--> migrations/V1_x.sql"), "{text}");
        assert!(text.contains("help: rename it to `V1__x.sql`"), "{text}");
    }

    #[test]
    fn renders_the_source_line() {
        let finding = Finding::error(Rule::LockConflict, "migrations/dbmigrate.lock".to_owned(), "merge conflict")
            .at_line(3, "<<<<<<< HEAD");
        let text = render(&finding, false);
        assert!(text.contains("--> migrations/dbmigrate.lock:3"), "{text}");
        assert!(text.contains("3 | <<<<<<< HEAD"), "{text}");
    }
}
