//! Splits a SQLite script where the sqlite3 shell would, by the state machine of SQLite's own
//! `sqlite3_complete` (complete.c), so a no-transaction file runs statement by statement and
//! the `;`s inside a trigger body stay in it. One pass, linear in the script's length.

use super::Statement;
use crate::sql::{is_blank, line_of, skip_trivia};

/// The tokens `sqlite3_complete` tells apart.
#[derive(Clone, Copy)]
enum Token {
    Semi = 0,
    Space,
    Other,
    Explain,
    Create,
    Temp,
    Trigger,
    End,
}

/// complete.c's transitions, by state then token. State 1 (START) after a `;` ends a
/// statement; 5 to 7 are inside `CREATE TRIGGER … END`.
const NEXT: [[u8; 8]; 8] = [
    [1, 0, 2, 3, 4, 2, 2, 2], // 0 before anything
    [1, 1, 2, 3, 4, 2, 2, 2], // 1 start of a statement
    [1, 2, 2, 2, 2, 2, 2, 2], // 2 in a statement
    [1, 3, 3, 2, 4, 2, 2, 2], // 3 after EXPLAIN
    [1, 4, 2, 2, 2, 4, 5, 2], // 4 after CREATE
    [6, 5, 5, 5, 5, 5, 5, 5], // 5 in a trigger
    [6, 6, 5, 5, 5, 5, 5, 7], // 6 after a `;` in a trigger
    [1, 7, 5, 5, 5, 5, 5, 5], // 7 after END in a trigger
];

/// The script's statements, without comment-only pieces.
pub fn split(sql: &str) -> Vec<Statement<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let (mut state, mut start, mut pos) = (0u8, 0, 0);
    while pos < b.len() {
        let (token, end) = token(b, pos);
        state = NEXT[usize::from(state)][token as usize];
        pos = end;
        if matches!(token, Token::Semi) && state == 1 {
            push(sql, start, pos, &mut out);
            start = pos;
        }
    }
    push(sql, start, b.len(), &mut out);
    out
}

fn push<'a>(sql: &'a str, from: usize, to: usize, out: &mut Vec<Statement<'a>>) {
    let begin = skip_trivia(sql, from).min(to);
    let text = sql[begin..to].trim_end();
    // An empty statement (`;;`) is nothing to run or count.
    if !is_blank(text) && text != ";" {
        out.push(Statement { sql: text, line: line_of(sql, begin) });
    }
}

/// The token at `pos` and where it ends. An unterminated comment, string or identifier runs to
/// the end of the script (the rest is then one statement, as the shell would leave it).
fn token(b: &[u8], pos: usize) -> (Token, usize) {
    let until = |from: usize, needle: &[u8]| {
        b[from..].windows(needle.len()).position(|w| w == needle).map_or(b.len(), |i| from + i + needle.len())
    };
    match b[pos] {
        b';' => (Token::Semi, pos + 1),
        b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => (Token::Space, pos + 1),
        b'/' if b.get(pos + 1) == Some(&b'*') => (Token::Space, until(pos + 2, b"*/")),
        b'-' if b.get(pos + 1) == Some(&b'-') => (Token::Space, until(pos + 2, b"\n")),
        b'[' => (Token::Other, until(pos + 1, b"]")),
        q @ (b'`' | b'"' | b'\'') => (Token::Other, until(pos + 1, &[q])),
        c if is_id(c) => {
            let end = b[pos..].iter().position(|&c| !is_id(c)).map_or(b.len(), |n| pos + n);
            (keyword(&b[pos..end]), end)
        }
        _ => (Token::Other, pos + 1),
    }
}

fn is_id(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

fn keyword(word: &[u8]) -> Token {
    let is = |k: &str| word.eq_ignore_ascii_case(k.as_bytes());
    match () {
        () if is("create") => Token::Create,
        () if is("trigger") => Token::Trigger,
        () if is("temp") || is("temporary") => Token::Temp,
        () if is("end") => Token::End,
        () if is("explain") => Token::Explain,
        () => Token::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    fn pieces(sql: &str) -> Vec<(usize, &str)> {
        split(sql).iter().map(|s| (s.line, s.sql)).collect()
    }

    #[test]
    fn statements_as_the_shell_sees_them() {
        let sql = "-- dbmigrate:no-transaction\nCREATE TABLE t (x TEXT DEFAULT ';');\n\
                   CREATE TEMP TRIGGER g AFTER INSERT ON t BEGIN\n  UPDATE t SET x = 'a;b';\n  DELETE FROM t WHERE 0;\nEND;\n\
                   /* ; */ VACUUM\n";
        let got = pieces(sql);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], (2, "CREATE TABLE t (x TEXT DEFAULT ';');"));
        assert!(got[1].1.starts_with("CREATE TEMP TRIGGER g") && got[1].1.ends_with("END;"), "{got:?}");
        assert_eq!(got[2], (7, "VACUUM"));
    }

    #[test]
    fn quoting_and_blanks() {
        assert_eq!(pieces("-- only a comment\n;;\n"), vec![]);
        assert_eq!(
            pieces("SELECT \"a;\", [b;], `c;`;SELECT 'it''s;'"),
            vec![(1, "SELECT \"a;\", [b;], `c;`;"), (1, "SELECT 'it''s;'")]
        );
        assert_eq!(pieces("SELECT 1; -- trailing ; comment"), vec![(1, "SELECT 1;")]);
        // `end` as a column outside a trigger changes nothing.
        assert_eq!(pieces("CREATE TABLE e (end_ INT, \"end\" INT);\nSELECT 2;").len(), 2);
    }
}
