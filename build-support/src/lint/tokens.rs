//! A small SQL lexer for the lint's recognisers: words, quoted names, literals and punctuation,
//! with comments dropped. It only has to be good enough to recognise DDL shapes, and never fails.

use dbmigrate_core::Dialect;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A bare word: keyword or name.
    Word,
    /// A quoted name: `"x"`, `` `x` ``, `[x]`.
    Quoted,
    /// A string literal (also PostgreSQL's `$$…$$`).
    Str,
    /// A number.
    Num,
    /// One character of punctuation.
    Punct,
}

/// One token: its kind and text.
#[derive(Clone, Copy, Debug)]
pub struct Tok<'a> {
    pub kind: Kind,
    pub text: &'a str,
}

impl Tok<'_> {
    /// Whether this is the bare word `word` (any case).
    pub fn is(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(word)
    }

    /// Whether this is the punctuation `c`.
    pub fn punct(&self, c: char) -> bool {
        self.kind == Kind::Punct && self.text.starts_with(c)
    }

    /// Whether this can be a name (a word or a quoted name).
    pub fn is_name(&self) -> bool {
        matches!(self.kind, Kind::Word | Kind::Quoted)
    }

    /// The name it spells, unquoted and lowercased (names compare case-insensitively here).
    pub fn name(&self) -> String {
        let t = self.text;
        let inner = if self.kind == Kind::Quoted && t.len() >= 2 { &t[1..t.len() - 1] } else { t };
        inner.to_ascii_lowercase()
    }
}

/// The tokens of one statement.
pub fn lex(sql: &str, dialect: Dialect) -> Vec<Tok<'_>> {
    lex_head(sql, dialect, usize::MAX)
}

/// The first `limit` tokens of one statement: enough to tell most statements apart without
/// reading them whole (the build script runs unoptimised, over thousands of files, so the hot
/// loops index bytes directly instead of going through iterator adapters and closures).
pub fn lex_head(sql: &str, dialect: Dialect, limit: usize) -> Vec<Tok<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::with_capacity(limit.min(16));
    let mut pos = 0;
    while pos < b.len() && out.len() < limit {
        let c = b[pos];
        let (kind, end) = match c {
            b' ' | b'\n' | b'\t' | b'\r' | b'\x0c' => {
                pos += 1;
                continue;
            }
            b'-' if b.get(pos + 1) == Some(&b'-') => {
                pos = line_end(b, pos);
                continue;
            }
            b'#' if dialect == Dialect::Mysql => {
                pos = line_end(b, pos);
                continue;
            }
            b'/' if b.get(pos + 1) == Some(&b'*') && b.get(pos + 2) != Some(&b'!') => {
                pos = until(b, pos + 2, b"*/");
                continue;
            }
            b'\'' => (Kind::Str, quoted(b, pos, b'\'', dialect == Dialect::Mysql)),
            b'"' => (Kind::Quoted, quoted(b, pos, b'"', false)),
            b'`' => (Kind::Quoted, quoted(b, pos, b'`', false)),
            b'[' if dialect == Dialect::Sqlite => (Kind::Quoted, until(b, pos + 1, b"]")),
            b'$' if dialect == Dialect::Postgres => match dollar(sql, pos) {
                Some(end) => (Kind::Str, end),
                None => (Kind::Punct, pos + 1),
            },
            b'0'..=b'9' => (Kind::Num, number_end(b, pos)),
            c if is_word(c) => (Kind::Word, word_end(b, pos)),
            _ => (Kind::Punct, pos + utf8_len(c)),
        };
        let end = end.min(b.len());
        // Every end above lies on a character boundary of valid UTF-8, or at the text's end.
        if let Some(text) = sql.get(pos..end) {
            out.push(Tok { kind, text });
        }
        pos = end.max(pos + 1);
        while pos < b.len() && (b[pos] & 0xC0) == 0x80 {
            pos += 1;
        }
    }
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

/// Just past a word (letters, digits, `_`, `$`, any non-ASCII byte) starting at `pos`.
fn word_end(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && matches!(b[pos], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'$' | 0x80..) {
        pos += 1;
    }
    pos
}

/// Just past a number (digits, letters, `.`) starting at `pos`.
fn number_end(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && matches!(b[pos], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.') {
        pos += 1;
    }
    pos
}

/// Just past the line end at or after `from` (the text's end when there is none).
fn line_end(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && b[pos] != b'\n' {
        pos += 1;
    }
    (pos + 1).min(b.len())
}

fn run(b: &[u8], pos: usize, keep: impl Fn(u8) -> bool) -> usize {
    b[pos..].iter().position(|&c| !keep(c)).map_or(b.len(), |n| pos + n)
}

/// Just past the first `needle` at or after `from` (the text's end when there is none).
fn until(b: &[u8], from: usize, needle: &[u8]) -> usize {
    let from = from.min(b.len());
    b[from..].windows(needle.len()).position(|w| w == needle).map_or(b.len(), |i| from + i + needle.len())
}

/// Just past a quoted text opening at `pos`: doubled quotes stay inside, and backslash escapes
/// when `backslash`.
fn quoted(b: &[u8], pos: usize, quote: u8, backslash: bool) -> usize {
    let mut i = pos + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if backslash => i += 2,
            c if c == quote && b.get(i + 1) == Some(&quote) => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Just past `$tag$ … $tag$` opening at `pos`, when it opens one.
fn dollar(sql: &str, pos: usize) -> Option<usize> {
    let b = sql.as_bytes();
    let tag_len = run(b, pos + 1, |c| c.is_ascii_alphanumeric() || c == b'_') - pos - 1;
    if b.get(pos + 1 + tag_len) != Some(&b'$') || b.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let tag = &sql[pos..pos + tag_len + 2];
    let body = pos + tag.len();
    Some(sql[body..].find(tag).map_or(sql.len(), |n| body + n + tag.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str, d: Dialect) -> Vec<(Kind, &str)> {
        lex(sql, d).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn words_names_strings_and_comments() {
        let got = kinds("ALTER TABLE \"a b\" -- x;\nADD c int DEFAULT 'it''s' /* y */ ;", Dialect::Postgres);
        assert_eq!(
            got,
            [
                (Kind::Word, "ALTER"),
                (Kind::Word, "TABLE"),
                (Kind::Quoted, "\"a b\""),
                (Kind::Word, "ADD"),
                (Kind::Word, "c"),
                (Kind::Word, "int"),
                (Kind::Word, "DEFAULT"),
                (Kind::Str, "'it''s'"),
                (Kind::Punct, ";"),
            ]
        );
        assert_eq!(lex("[x y]", Dialect::Sqlite)[0].name(), "x y");
        assert_eq!(kinds("# c\n`t`", Dialect::Mysql), [(Kind::Quoted, "`t`")]);
        assert_eq!(
            kinds("$$ a; $$ $1", Dialect::Postgres),
            [(Kind::Str, "$$ a; $$"), (Kind::Punct, "$"), (Kind::Num, "1")]
        );
    }

    /// Words run over digits, `_`, `$` and non-ASCII letters; numbers over letters and dots;
    /// a `--` comment ends at its line end.
    #[test]
    fn word_and_number_ends() {
        assert_eq!(
            kinds("été_1$x 12.5e3ab,x-- c\n\u{c}y", Dialect::Postgres),
            [
                (Kind::Word, "été_1$x"),
                (Kind::Num, "12.5e3ab"),
                (Kind::Punct, ","),
                (Kind::Word, "x"),
                (Kind::Word, "y")
            ]
        );
        assert_eq!(kinds("a-- no line end", Dialect::Sqlite), [(Kind::Word, "a")]);
        assert_eq!(kinds("a -- ü\n;", Dialect::Sqlite), [(Kind::Word, "a"), (Kind::Punct, ";")]);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for sql in ["'", "\"", "$a", "/*", "[", "é'ü", "\\", "$$", "--", "`é", "x'\\"] {
            for d in Dialect::ALL {
                let _ = lex(sql, d);
            }
        }
    }
}
