//! Splits SQL scripts into statements, per dialect: shared by the engine (which runs and
//! tracks statements one by one) and the build script's lint (which reads them), so both see
//! the same statements.
//!
//! MySQL/MariaDB ([`split_mysql`]): DDL commits implicitly there, so the engine runs and tracks
//! each statement on its own, and a failure can name the statement's line. Understood: `'…'` and `"…"` strings (doubled quotes and backslash escapes),
//! `` `…` `` identifiers (doubled backticks), `-- ` (dash dash whitespace),
//! `#` and `/* */` comments, `/*! … */` executable comments (kept as code) and
//! `DELIMITER xx` lines as the mysql client reads them.

use crate::sql::skip_trivia;

pub mod sqlite;

/// One statement of a script, without its delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, trimmed.
    pub sql: &'a str,
    /// 1-based line in the file where the statement starts.
    pub line: usize,
}

/// Line numbers of increasing byte offsets in one text, each counted on from the previous
/// one: a script costs one pass, where counting from byte 0 for each statement was quadratic.
struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines { text: text.as_bytes(), pos: 0, line: 1 }
    }

    /// The 1-based line of `offset`; offsets must come in increasing order.
    fn at(&mut self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        debug_assert!(end >= self.pos, "line asked for out of order");
        if end > self.pos {
            self.line += self.text[self.pos..end].iter().filter(|&&c| c == b'\n').count();
            self.pos = end;
        }
        self.line
    }
}

/// Splits `sql` into statements; comment-only pieces are dropped.
pub fn split_mysql(sql: &str) -> Vec<Statement<'_>> {
    let mut out = Vec::new();
    let mut lines = Lines::new(sql);
    let mut delimiter = ";".to_string();
    let mut pos = 0;
    while pos < sql.len() {
        let start = skip_mysql_trivia(sql, pos);
        if start >= sql.len() {
            break;
        }
        if let Some((new_delim, next)) = delimiter_command(sql, start) {
            delimiter = new_delim;
            pos = next;
            continue;
        }
        let end = statement_end(sql, start, &delimiter);
        let text = sql[start..end].trim_end();
        if !text.is_empty() {
            out.push(Statement { sql: text, line: lines.at(start) });
        }
        pos = (end + delimiter.len()).min(sql.len());
    }
    out
}

/// Like `skip_trivia`, also skipping `#` comments.
fn skip_mysql_trivia(sql: &str, mut pos: usize) -> usize {
    loop {
        pos = skip_trivia(sql, pos);
        if !sql[pos..].starts_with('#') {
            return pos;
        }
        pos = skip_line(sql.as_bytes(), pos);
    }
}

/// `DELIMITER xx` at the start of a line: returns the new delimiter and
/// where the next statement may start.
fn delimiter_command(sql: &str, start: usize) -> Option<(String, usize)> {
    // The keyword before the line's end: on a long line of statements, looking for the end
    // first scanned the rest of the line once per statement.
    let word = sql.get(start..start + 9)?;
    if !word.eq_ignore_ascii_case("delimiter") || !sql[start + 9..].starts_with([' ', '\t']) {
        return None;
    }
    let line_end = sql[start..].find('\n').map_or(sql.len(), |n| start + n);
    let delim = sql[start + 9..line_end].trim();
    if delim.is_empty() {
        return None;
    }
    Some((delim.to_string(), (line_end + 1).min(sql.len())))
}

/// Whether the `--` at `pos` starts a comment (it needs whitespace after it).
fn is_dash_comment(sql: &str, pos: usize) -> bool {
    sql.as_bytes().get(pos + 2).is_none_or(|c| c.is_ascii_whitespace())
}

/// Byte offset of the delimiter that ends the statement starting at `pos`,
/// or the end of the text.
fn statement_end(sql: &str, mut pos: usize, delimiter: &str) -> usize {
    let b = sql.as_bytes();
    while pos < b.len() {
        if b[pos..].starts_with(delimiter.as_bytes()) {
            return pos;
        }
        pos = match b[pos] {
            q @ (b'\'' | b'"') => skip_quoted(b, pos, q, true),
            b'`' => skip_quoted(b, pos, b'`', false),
            b'#' => skip_line(b, pos),
            b'-' if sql[pos..].starts_with("--") && is_dash_comment(sql, pos) => skip_line(b, pos),
            b'/' if sql[pos..].starts_with("/*") && !sql[pos..].starts_with("/*!") => {
                sql[pos + 2..].find("*/").map_or(b.len(), |n| pos + n + 4)
            }
            _ => pos + char_len(b[pos]),
        };
    }
    b.len()
}

fn char_len(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

fn skip_line(b: &[u8], pos: usize) -> usize {
    b[pos..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| pos + n + 1)
}

/// Skips a quoted string or identifier starting at `pos`; a doubled quote
/// stays inside, and so does a backslash-escaped one when `backslash` is set.
fn skip_quoted(b: &[u8], pos: usize, quote: u8, backslash: bool) -> usize {
    let mut i = pos + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if backslash => i += 2,
            c if c == quote => {
                if b.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    b.len()
}

/// Splits a PostgreSQL script into statements, so each can be sent on its
/// own: an error then names its statement's line even when the server gives
/// no position, and a `CREATE INDEX CONCURRENTLY` among several statements
/// does not end up in the implicit transaction of a multi-statement query.
///
/// Understood: `'…'` (with `E'…'` backslash escapes), `"…"`, `$tag$…$tag$`,
/// `--` and nested `/* */` comments. Returns `None` when the script holds
/// something this splitter does not model (a `;` inside parentheses, as in
/// `CREATE RULE … DO (…; …)`, a `BEGIN ATOMIC` body, a psql `\` command):
/// the caller then sends the whole file at once.
pub fn split_postgres(sql: &str) -> Option<Vec<Statement<'_>>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut lines = Lines::new(sql);
    let mut start = skip_pg_trivia(sql, 0);
    let mut pos = start;
    let mut depth = 0usize;
    while pos < b.len() {
        pos = match b[pos] {
            b';' if depth > 0 => return None,
            b';' => {
                push(sql, &mut out, &mut lines, start, pos);
                start = skip_pg_trivia(sql, pos + 1);
                start
            }
            b'(' => {
                depth += 1;
                pos + 1
            }
            b')' => {
                depth = depth.saturating_sub(1);
                pos + 1
            }
            b'\\' if at_line_start(b, pos) => return None,
            b'\'' => skip_quoted(b, pos, b'\'', escape_string(b, pos)),
            b'"' => skip_quoted(b, pos, b'"', false),
            b'$' => skip_dollar(sql, pos),
            b'-' if b.get(pos + 1) == Some(&b'-') => skip_line(b, pos),
            b'/' if b.get(pos + 1) == Some(&b'*') => skip_nested_comment(b, pos),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let end = word_end(b, pos);
                if sql[pos..end].eq_ignore_ascii_case("atomic") {
                    return None;
                }
                end
            }
            c => pos + char_len(c),
        };
    }
    push(sql, &mut out, &mut lines, start, b.len());
    Some(out)
}

/// Whitespace and comments, with PostgreSQL's nested block comments.
fn skip_pg_trivia(sql: &str, mut pos: usize) -> usize {
    let b = sql.as_bytes();
    loop {
        while pos < b.len() && b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if b[pos..].starts_with(b"--") {
            pos = skip_line(b, pos);
        } else if b[pos..].starts_with(b"/*") {
            pos = skip_nested_comment(b, pos);
        } else {
            return pos;
        }
    }
}

fn push<'a>(sql: &'a str, out: &mut Vec<Statement<'a>>, lines: &mut Lines<'_>, start: usize, end: usize) {
    if start >= end {
        return;
    }
    let text = sql[start..end].trim_end();
    if !text.is_empty() && !crate::sql::is_blank(text) {
        out.push(Statement { sql: text, line: lines.at(start) });
    }
}

fn at_line_start(b: &[u8], pos: usize) -> bool {
    b[..pos].iter().rev().take_while(|&&c| c != b'\n').all(|c| c.is_ascii_whitespace())
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn word_end(b: &[u8], pos: usize) -> usize {
    b[pos..].iter().position(|&c| !is_word_byte(c) && c != b'$').map_or(b.len(), |n| pos + n)
}

/// `E'…'` strings take backslash escapes; plain ones do not (standard strings).
fn escape_string(b: &[u8], pos: usize) -> bool {
    pos > 0 && matches!(b[pos - 1], b'e' | b'E') && (pos < 2 || !is_word_byte(b[pos - 2]))
}

/// Skips `$tag$ … $tag$`; a `$` that does not open one (`$1`) is one byte.
fn skip_dollar(sql: &str, pos: usize) -> usize {
    let b = sql.as_bytes();
    let tag_len =
        b[pos + 1..].iter().position(|&c| !(c.is_ascii_alphanumeric() || c == b'_')).unwrap_or(b.len() - pos - 1);
    let opens = b.get(pos + 1 + tag_len) == Some(&b'$') && b.get(pos + 1).is_none_or(|c| !c.is_ascii_digit());
    if !opens {
        return pos + 1;
    }
    let tag = &sql[pos..pos + tag_len + 2];
    let body = pos + tag.len();
    sql[body..].find(tag).map_or(b.len(), |n| body + n + tag.len())
}

fn skip_nested_comment(b: &[u8], pos: usize) -> usize {
    let mut depth = 0;
    let mut i = pos;
    while i + 1 < b.len() {
        match (b[i], b[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    b.len()
}

/// Whether a MySQL/MariaDB statement may end the open transaction (DDL, `LOCK TABLES`,
/// `SET autocommit`, a `CALL` of a procedure doing either, an executable comment): everything
/// but plain DML and reads, which run inside one. Wrongly saying yes costs a marker write;
/// wrongly saying no would let a commit escape the marker, hence the short list.
pub fn mysql_commits_implicitly(stmt: &str) -> bool {
    const STAY: [&str; 6] = ["INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH"];
    let stmt = stmt.trim_start();
    let end = stmt.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(stmt.len());
    let word = &stmt[..end];
    !STAY.iter().any(|k| word.eq_ignore_ascii_case(k)) || stmt.contains("/*!")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split_mysql(sql).into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn only_plain_dml_and_reads_stay_in_the_transaction() {
        for stay in [
            "INSERT INTO a VALUES (1)",
            "update a SET x = 1",
            "DELETE FROM a",
            "Replace INTO a VALUES (1)",
            "SELECT SLEEP(1)",
            "WITH c AS (SELECT 1) SELECT * FROM c",
        ] {
            assert!(!mysql_commits_implicitly(stay), "{stay}");
        }
        for commits in [
            "CREATE TABLE a (x INT)",
            "ALTER TABLE a ADD y INT",
            "SET autocommit = 1",
            "CALL p()",
            "LOCK TABLES a WRITE",
            "INSERTX",
            "(SELECT 1)",
            "INSERT /*!50000 IGNORE */ INTO a VALUES (1)",
            "DO 1",
            "TRUNCATE a",
            "RENAME TABLE a TO b",
            "COMMIT",
            "BEGIN",
        ] {
            assert!(mysql_commits_implicitly(commits), "{commits}");
        }
    }

    #[test]
    fn simple_statements_and_lines() {
        let s = split_mysql("CREATE TABLE a (x INT);\n\nINSERT INTO a VALUES (1);\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0], Statement { sql: "CREATE TABLE a (x INT)", line: 1 });
        assert_eq!(s[1], Statement { sql: "INSERT INTO a VALUES (1)", line: 3 });
    }

    #[test]
    fn last_statement_without_delimiter() {
        assert_eq!(texts("SELECT 1; SELECT 2"), vec!["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn empty_and_comment_only() {
        assert!(texts("").is_empty());
        assert!(texts("  \n -- c\n # d\n /* e ; */ ;;\n").is_empty());
    }

    #[test]
    fn semicolons_in_strings_and_identifiers() {
        assert_eq!(
            texts("INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`); SELECT 2;"),
            vec!["INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`)", "SELECT 2"]
        );
    }

    #[test]
    fn doubled_and_escaped_quotes() {
        assert_eq!(
            texts(r"SELECT 'it''s;', 'a\';b', `x``;y`; SELECT 2"),
            vec![r"SELECT 'it''s;', 'a\';b', `x``;y`", "SELECT 2"]
        );
        assert_eq!(texts(r#"SELECT "q\\"; SELECT 3"#), vec![r#"SELECT "q\\""#, "SELECT 3"]);
    }

    #[test]
    fn comments_hide_semicolons() {
        assert_eq!(
            texts("SELECT 1 -- a;b\n, 2; # c;d\nSELECT /* ; */ 3;"),
            vec!["SELECT 1 -- a;b\n, 2", "SELECT /* ; */ 3"]
        );
    }

    #[test]
    fn dash_dash_needs_whitespace() {
        assert_eq!(texts("SELECT 5--3; SELECT 1"), vec!["SELECT 5--3", "SELECT 1"]);
    }

    #[test]
    fn executable_comments_are_code() {
        assert_eq!(texts("/*!40101 SET NAMES utf8 */;\nSELECT 1;"), vec!["/*!40101 SET NAMES utf8 */", "SELECT 1"]);
    }

    #[test]
    fn leading_comments_skipped_for_line() {
        let s = split_mysql("-- header\n# more\n/* block\n*/\nALTER TABLE a ADD y INT;");
        assert_eq!(s, vec![Statement { sql: "ALTER TABLE a ADD y INT", line: 5 }]);
    }

    #[test]
    fn delimiter_lines() {
        let sql = "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//\nDELIMITER ;\nCALL p();\n";
        let s = split_mysql(sql);
        assert_eq!(
            s,
            vec![
                Statement { sql: "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END", line: 2 },
                Statement { sql: "CALL p()", line: 4 },
            ]
        );
    }

    #[test]
    fn delimiter_is_case_insensitive_and_multichar() {
        assert_eq!(texts("delimiter $$\nSELECT 1; SELECT 2$$\nSELECT 3$$"), vec!["SELECT 1; SELECT 2", "SELECT 3"]);
    }

    #[test]
    fn unterminated_string_runs_to_end() {
        assert_eq!(texts("SELECT 'abc; SELECT 2"), vec!["SELECT 'abc; SELECT 2"]);
    }

    #[test]
    fn multibyte_text() {
        assert_eq!(texts("SELECT 'é;ü'; SELECT 'ß'"), vec!["SELECT 'é;ü'", "SELECT 'ß'"]);
        assert_eq!(texts("SELECT ü; SELECT 2"), vec!["SELECT ü", "SELECT 2"]);
    }

    #[test]
    fn set_and_prepare_stay_separate() {
        let sql = "SET @s = 'ALTER TABLE a ADD c INT';\nPREPARE st FROM @s;\nEXECUTE st;\nDEALLOCATE PREPARE st;\n";
        assert_eq!(split_mysql(sql).iter().map(|s| s.line).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    }

    fn pg(sql: &str) -> Vec<(&str, usize)> {
        split_postgres(sql).expect("splittable").into_iter().map(|s| (s.sql, s.line)).collect()
    }

    #[test]
    fn pg_simple_and_lines() {
        assert_eq!(
            pg("-- head\nCREATE TABLE a (x INT);\n\nINSERT INTO a VALUES (1);\n-- tail\n"),
            vec![("CREATE TABLE a (x INT)", 2), ("INSERT INTO a VALUES (1)", 4)]
        );
        assert!(pg("  -- only a comment\n").is_empty());
        assert_eq!(pg("SELECT 1"), vec![("SELECT 1", 1)]);
    }

    #[test]
    fn pg_dollar_quotes() {
        let f = "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\nSELECT 2;";
        assert_eq!(pg(f).len(), 2);
        let g = "DO $body$ BEGIN PERFORM 1; /* $$ */ END $body$;\nSELECT $1$x$1;";
        assert_eq!(pg(g)[0].0, "DO $body$ BEGIN PERFORM 1; /* $$ */ END $body$");
    }

    #[test]
    fn pg_strings_and_comments() {
        assert_eq!(
            pg("SELECT 'a;''b', \"c;\"\"d\"; SELECT E'x\\';y'; SELECT 'p\\'; /* a /* nested; */ ; */ SELECT 3;"),
            vec![("SELECT 'a;''b', \"c;\"\"d\"", 1), ("SELECT E'x\\';y'", 1), ("SELECT 'p\\'", 1), ("SELECT 3", 1),]
        );
    }

    #[test]
    fn line_counter_counts_on() {
        let text = "a\nb\n\nc";
        let mut lines = Lines::new(text);
        assert_eq!([0, 1, 2, 4, 5, 6, 99].map(|o| lines.at(o)), [1, 1, 2, 3, 4, 4, 4]);
        let mut again = Lines::new(text);
        assert_eq!(again.at(6), 4, "a jump counts what it passes");
    }

    /// Every statement's line, checked against counting from byte 0.
    fn lines_match_a_full_count(stmts: &[Statement<'_>], sql: &str) {
        for st in stmts {
            let offset = st.sql.as_ptr() as usize - sql.as_ptr() as usize;
            assert_eq!(st.line, crate::sql::line_of(sql, offset), "{:?}", st.sql);
        }
    }

    #[test]
    fn mysql_lines_past_comments_strings_and_delimiters() {
        let sql = "-- head\n# hash\nINSERT INTO t VALUES ('a\nb;\nc');\n/* x\n; */ SELECT 1;\n\
                   DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 'x\n;';\nEND//\n\nDELIMITER ;\n\
                   SELECT `a\nb`; SELECT 2;\n\n\nSELECT \"q\n\"";
        let s = split_mysql(sql);
        assert_eq!(s.iter().map(|s| s.line).collect::<Vec<_>>(), vec![3, 7, 9, 16, 17, 20]);
        lines_match_a_full_count(&s, sql);
    }

    #[test]
    fn pg_lines_past_comments_strings_and_dollar_quotes() {
        let sql = "-- head\n/* a /* nested\n */ */\nINSERT INTO t VALUES ('a\n;b', E'\\'\n;');\n\
                   CREATE FUNCTION f() RETURNS int AS $body$\nBEGIN\n  RETURN 1;\nEND;\n$body$ LANGUAGE plpgsql;\n\
                   SELECT $$x\n;$$; SELECT \"c\nd\"; -- tail ;\n\nSELECT 3";
        let s = split_postgres(sql).expect("splittable");
        assert_eq!(s.iter().map(|s| s.line).collect::<Vec<_>>(), vec![4, 7, 12, 13, 16]);
        lines_match_a_full_count(&s, sql);
    }

    #[test]
    fn many_statements_on_one_line_and_many_lines() {
        let one_line = "INSERT INTO t VALUES (1);".repeat(2000);
        assert!(split_mysql(&one_line).iter().all(|s| s.line == 1));
        assert!(split_postgres(&one_line).expect("splittable").iter().all(|s| s.line == 1));
        let many = "INSERT INTO t VALUES ('a\nb');\n-- c\n".repeat(500);
        let lines: Vec<usize> = (0..500).map(|i| 1 + 3 * i).collect();
        assert_eq!(split_mysql(&many).iter().map(|s| s.line).collect::<Vec<_>>(), lines);
        assert_eq!(split_postgres(&many).expect("splittable").iter().map(|s| s.line).collect::<Vec<_>>(), lines);
    }

    #[test]
    fn delimiter_needs_its_keyword_at_the_statement_start() {
        assert_eq!(texts("SELECT 1; DELIMITERX //\n"), vec!["SELECT 1", "DELIMITERX //"]);
        assert_eq!(texts("delim"), vec!["delim"]);
        assert_eq!(texts("DELIMITER\t$$\nSELECT 1$$"), vec!["SELECT 1"]);
        assert_eq!(texts("DELIMITER é\nSELECT 1é SELECT 2"), vec!["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn pg_falls_back_when_unsure() {
        assert!(
            split_postgres(
                "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));"
            )
            .is_none()
        );
        assert!(split_postgres("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;").is_none());
        assert!(split_postgres("SELECT 1;\n\\set x 1\n").is_none());
        assert!(split_postgres("SELECT atomically FROM t; SELECT (1);").is_some());
    }
}
