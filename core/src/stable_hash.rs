//! A hash that is the same in every binary and every Rust release, for anything persisted or shared between processes.
//!
//! `std`'s `DefaultHasher` may change between Rust releases, and `Hash` impls may feed a hasher
//! differently over time, so neither is used for values that outlive the process (cache files,
//! lock keys): bytes are fed explicitly into FNV-1a.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a, 64 bits, of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    Fnv1a::new().bytes(bytes).finish()
}

/// An FNV-1a (64-bit) hash fed field by field.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv1a {
    /// The hash of nothing.
    pub fn new() -> Self {
        Self(OFFSET)
    }

    /// Feeds raw bytes.
    #[must_use]
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(PRIME);
        }
        self
    }

    /// Feeds length-prefixed bytes, so the fields `("ab", "c")` and `("a", "bc")` differ.
    #[must_use]
    pub fn field(self, bytes: &[u8]) -> Self {
        self.u64(bytes.len() as u64).bytes(bytes)
    }

    /// Feeds a string as a [`Fnv1a::field`].
    #[must_use]
    pub fn str(self, text: &str) -> Self {
        self.field(text.as_bytes())
    }

    /// Feeds a number, little-endian.
    #[must_use]
    pub fn u64(self, n: u64) -> Self {
        self.bytes(&n.to_le_bytes())
    }

    /// The hash.
    pub fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published FNV-1a 64 test vectors: the hash never changes.
    #[test]
    fn known_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fields_are_delimited() {
        assert_ne!(Fnv1a::new().str("ab").str("c").finish(), Fnv1a::new().str("a").str("bc").finish());
        assert_eq!(Fnv1a::new().bytes(b"ab").bytes(b"c").finish(), fnv1a(b"abc"));
    }
}
