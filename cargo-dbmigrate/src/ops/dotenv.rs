//! Reading one variable from a `.env` file, as sqlx-cli and diesel_cli do, without ever
//! setting it in the process or showing the file's contents.

use crate::CliError;
use std::path::Path;

/// The value `file` gives `var` (the last one, as dotenvy would set it), `None` when it gives
/// none. A malformed file is a usage error naming the file and the line, never its text.
pub fn lookup(file: &Path, var: &str) -> Result<Option<String>, CliError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        CliError::usage(format!("cannot read `{}`: {e}", file.display()))
            .hint("fix or remove the file, or pass --no-dotenv to ignore it")
    };
    let entries = dotenvy::from_path_iter(file).map_err(|e| unreadable(&e))?;
    let mut value = None;
    for entry in entries {
        match entry {
            Ok((key, v)) if key == var => value = Some(v),
            Ok(_) => {}
            Err(dotenvy::Error::LineParse(text, _)) => {
                return Err(CliError::usage(format!(
                    "`{}` is malformed at line {}: expected NAME=value",
                    file.display(),
                    line_of(file, &text)
                ))
                .hint("fix that line, or pass --no-dotenv to ignore the file"));
            }
            Err(e) => return Err(unreadable(&e)),
        }
    }
    Ok(value)
}

/// The 1-based line where the entry `text` (what dotenvy reports) starts; dotenvy names the
/// entry, not its line, and the entry's text must not be shown (it may hold a secret).
fn line_of(file: &Path, text: &str) -> usize {
    let contents = std::fs::read_to_string(file).unwrap_or_default();
    let first = text.lines().next().unwrap_or(text);
    match contents.lines().position(|l| !first.is_empty() && l.contains(first)) {
        Some(i) => i + 1,
        None => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_is_read_and_a_bad_line_is_named_without_its_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join(".env");
        std::fs::write(&file, "# comment\nOTHER=1\nDATABASE_URL=sqlite:a.db\n").expect("write");
        assert_eq!(lookup(&file, "DATABASE_URL").expect("ok").as_deref(), Some("sqlite:a.db"));
        assert_eq!(lookup(&file, "NOPE").expect("ok"), None);
        std::fs::write(&file, "A=1\n\nnot a line secret\nB=2\n").expect("write");
        let e = lookup(&file, "DATABASE_URL").expect_err("malformed");
        assert!(e.message.contains("line 3") && !e.message.contains("secret"), "{}", e.message);
        assert_eq!(e.code, crate::exit_code::USAGE);
    }
}
