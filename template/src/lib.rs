//! The files that `cargo dbmigrate init` scaffolds, kept inside this crate so that every crate
//! of the workspace stays publishable (`include_str!` may not reach outside a package).

/// `build.rs` for a crate that has none.
pub const BUILD_RS: &str = include_str!("../files/build.rs");

/// The one statement added to an existing `build.rs`'s `main`.
pub const BUILD_CALL: &str = include_str!("../files/build_call.rs");

/// The line added to `.gitattributes` in the migrations folder, so a Windows checkout keeps LF.
pub const GITATTRIBUTES_LINE: &str = include_str!("../files/gitattributes");

/// The two lines that use the embedded migrations from the user's code.
pub const USAGE: &str = include_str!("../files/usage.rs");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_rs_calls_the_build_call() {
        assert!(BUILD_RS.contains(BUILD_CALL.trim()));
        assert_eq!(GITATTRIBUTES_LINE.trim(), "*.sql text eol=lf");
        assert_eq!(USAGE.lines().count(), 2);
    }
}
