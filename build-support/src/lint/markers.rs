//! The `-- dbmigrate:…` lines a migration file carries for the lint: `allow <rule> <reason>`,
//! `destructive <reason>`, `todo`, and `no-transaction` (the engine's own marker).

use super::Hit;
use crate::Rule;

/// What a file's markers say.
#[derive(Debug, Default)]
pub struct Markers {
    /// Rules allowed in this file, each with a reason.
    pub allowed: Vec<Rule>,
    /// Whether `-- dbmigrate:destructive` is present (a finding says so when it has no reason).
    pub destructive: bool,
    /// Whether the file runs outside a transaction.
    pub no_transaction: bool,
    /// The first `-- dbmigrate:todo` line (1-based).
    pub todo: Option<usize>,
    /// Findings about the markers themselves.
    pub problems: Vec<Hit>,
}

const ALLOW: &str = "-- dbmigrate:allow";
const DESTRUCTIVE: &str = "-- dbmigrate:destructive";
const TODO: &str = "-- dbmigrate:todo";

impl Markers {
    /// Reads the markers of `text`.
    pub fn read(text: &str) -> Self {
        let mut m = Markers { no_transaction: dbmigrate_core::sql::wants_no_transaction(text), ..Self::default() };
        // Cheap first: most files hold no marker at all.
        if !text.contains("-- dbmigrate:") {
            return m;
        }
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if m.todo.is_none() && line.starts_with(TODO) {
                m.todo = Some(n + 1);
            } else if let Some(rest) = marker_rest(line, ALLOW) {
                m.allow(n + 1, rest);
            } else if let Some(rest) = marker_rest(line, DESTRUCTIVE) {
                m.destructive = true;
                if rest.trim().is_empty() {
                    // A warning, not an error: `cargo dbmigrate diff` writes the bare marker.
                    m.problems.push(Hit {
                        severity: crate::diagnostic::Severity::Warning,
                        ..Hit::new(
                            Rule::AllowWithoutReason,
                            n + 1,
                            "the `-- dbmigrate:destructive` marker gives no reason",
                            "say why losing the data is fine after the marker: `-- dbmigrate:destructive <reason>`",
                        )
                    });
                }
            }
        }
        m
    }

    fn allow(&mut self, line: usize, rest: &str) {
        let mut words = rest.split_whitespace();
        let id = words.next().unwrap_or_default();
        let reason = words.next().is_some();
        let rule = super::LINT.iter().copied().find(|r| r.as_str() == id && *r != Rule::AllowWithoutReason);
        let problem = match rule {
            None => Some((
                if id.is_empty() {
                    "the `-- dbmigrate:allow` marker names no rule".to_owned()
                } else {
                    format!("the `-- dbmigrate:allow` marker names an unknown lint rule `{id}`")
                },
                format!("the lint rules are: {}", super::allowable_ids().join(", ")),
            )),
            Some(_) if !reason => Some((
                format!("the `-- dbmigrate:allow {id}` marker gives no reason"),
                format!("say why the finding does not apply after the rule: `-- dbmigrate:allow {id} <reason>`"),
            )),
            Some(rule) => {
                self.allowed.push(rule);
                None
            }
        };
        if let Some((message, help)) = problem {
            self.problems.push(Hit::new(Rule::AllowWithoutReason, line, message, help));
        }
    }
}

/// The text after `marker` when `line` is that marker (followed by nothing or whitespace).
fn marker_rest<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(marker)?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_needs_a_known_rule_and_a_reason() {
        let m = Markers::read(
            "-- dbmigrate:allow rename old clients read both names\n-- dbmigrate:allow destructive\n\
             -- dbmigrate:allow nope because\n-- dbmigrate:allow\n-- dbmigrate:allowed rename x\n",
        );
        assert_eq!(m.allowed, [Rule::Rename]);
        let lines: Vec<usize> = m.problems.iter().map(|h| h.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(m.problems[1].message.contains("unknown lint rule `nope`"), "{:?}", m.problems);
    }

    #[test]
    fn destructive_todo_and_no_transaction() {
        let m = Markers::read("-- dbmigrate:no-transaction\n  -- dbmigrate:todo fill\n-- dbmigrate:destructive\n");
        assert!(m.no_transaction && m.destructive);
        assert_eq!(m.todo, Some(2));
        assert_eq!(m.problems.len(), 1);
        let m = Markers::read("-- dbmigrate:destructive the table was empty since 2024\n");
        assert!(m.destructive && m.problems.is_empty());
    }
}
