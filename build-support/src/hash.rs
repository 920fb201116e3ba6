//! Content hashes that survive a Windows checkout.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;

/// SHA-256 of a migration file's text after [`normalize`]: a BOM or CRLF line ends from a
/// Windows checkout never look like an edit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// Hashes `text` after normalising it.
    pub fn of(text: &str) -> Self {
        Self::of_normalized(&normalize(text))
    }

    /// Hashes text that is already normalised.
    pub fn of_normalized(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
    }

    /// The 32 bytes of the digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A hash from the 32 bytes of its digest.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the 64 lowercase hex digits written by [`fmt::Display`].
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }
}

impl ContentHash {
    /// 64 lowercase hex digits, built in a buffer: the build script formats thousands of these
    /// in an unoptimised (debug) build, where one `write!` per byte is slow, and so is an
    /// iterator adapter: a plain indexed loop over a two-digit table is several times cheaper.
    fn hex(&self) -> [u8; 64] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        let mut i = 0;
        while i < 32 {
            let b = self.0[i];
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 0xf) as usize];
            i += 1;
        }
        out
    }

    /// Appends the 64 hex digits to `out`, without the formatting machinery.
    pub fn push_hex(&self, out: &mut String) {
        out.push_str(std::str::from_utf8(&self.hex()).unwrap_or_default());
    }
}

impl fmt::Display for ContentHash {
    /// 64 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.hex()).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

/// Strips a UTF-8 BOM and folds CRLF and lone CR to LF. Borrows when there is nothing to do,
/// which is the common case.
pub fn normalize(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.contains('\r') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_cr_and_bom_hash_like_lf() {
        let lf = ContentHash::of("create table a (id int);\nselect 1;\n");
        assert_eq!(lf, ContentHash::of("create table a (id int);\r\nselect 1;\r\n"));
        assert_eq!(lf, ContentHash::of("create table a (id int);\rselect 1;\r"));
        assert_eq!(lf, ContentHash::of("\u{feff}create table a (id int);\nselect 1;\n"));
        assert_ne!(lf, ContentHash::of("create table a (id int); \nselect 1;\n"));
    }

    #[test]
    fn hex_round_trips() {
        let h = ContentHash::of("x");
        assert_eq!(ContentHash::from_hex(&h.to_string()), Some(h));
        assert_eq!(ContentHash::from_hex("zz"), None);
    }

    #[test]
    fn normalize_borrows_clean_text() {
        assert!(matches!(normalize("a\nb"), Cow::Borrowed("a\nb")));
    }
}
