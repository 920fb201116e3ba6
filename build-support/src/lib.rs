//! Build-script support for cargo-dbmigrate: checks a crate's SQL migrations and embeds them.
//!
//! In `build.rs`'s `fn main`:
//!
//! ```no_run
//! dbmigrate_build::embed();
//! ```
//!
//! and in the crate: `include!(concat!(env!("OUT_DIR"), "/dbmigrate.rs"));`. A migration is
//! `V<version>__<name>.sql` with an optional `V<version>__<name>.down.sql`, in one flat folder.
//! Everything that decides whether a set is valid lives in this crate (and in
//! `dbmigrate-core`), so that `cargo build` and `cargo dbmigrate check` can never disagree.
//!
//! The generated `migrations` module always has `MIGRATIONS`, `MigrationInfo`, `down_sql(v)`
//! and refinery's `runner()`. Helpers over the crate `dbmigrate-runtime` are generated only
//! when asked for, since they do not compile without it:
//!
//! | feature of this crate | [`Runtime`] | the module also has |
//! |---|---|---|
//! | (none) | `Off` | nothing: refinery alone is enough |
//! | `runtime` | `Blocking` | `run(url)`, `scripts()`, `options()`, `SETTINGS` |
//! | `runtime-async` | `Async` | also `run_async(url)` (dbmigrate-runtime with its `tokio` feature) |
//!
//! `cargo dbmigrate init` writes the features. A build script can override them with
//! `Embed::new().runtime(Runtime::Off).run();`, e.g. when another crate of the workspace turns
//! a feature on that this crate does not want (Cargo unifies a build-dependency's features).

mod cache;
mod check;
mod config;
mod diagnostic;
mod embed;
mod hash;
mod lint;
mod lock_merge;
mod release_log;
mod set;

pub use embed::{Embed, Runtime, embed};

/// The model of a migration set, for cargo-dbmigrate only: not part of this crate's API, and
/// it may change in any release. Build scripts need only [`embed`] and [`Embed`].
#[doc(hidden)]
pub mod internal {
    pub use crate::cache::{CACHE_FILE, Cache, Entry, Hashed};
    pub use crate::check::{Checked, check, check_manifest, config_finding, lint_report};
    pub use crate::config::{Config, ConfigError, KEYS, Manifest};
    pub use crate::diagnostic::{Finding, Rule, Severity};
    pub use crate::embed::{Generated, OUT_FILE, directive_lines};
    pub use crate::hash::{ContentHash, normalize};
    pub use crate::lint::{Context as LintContext, LINT, Level as LintLevel};
    pub use crate::lock_merge::resolve as resolve_lock_conflict;
    pub use crate::release_log::{
        CONFLICT_HELP, LogLine, MALFORMED_HELP, RELEASE_LOG_FILE, Rehash, ReleaseLog, Released,
    };
    pub use crate::set::{Migration, MigrationSet, Texts};
}

use config::{Config, ConfigError, Manifest};
use diagnostic::{Finding, Rule};
use set::{Migration, MigrationSet};
