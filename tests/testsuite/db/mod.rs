//! The database commands (`run`, `down`, `status`, `current`, `history`, `show`, `stamp`,
//! `repair`) through the real binary, against real servers: SQLite (a file in the fixture),
//! PostgreSQL at 127.0.0.1:5432 and MariaDB at 127.0.0.1:3306. Each test makes its own database
//! and drops it at the end, also when it fails.

use dbmigrate_tests::{Fixture, code, text};
use std::process::Output;

mod adopt;
mod anomalies;
mod commands;
mod concurrency;
mod database_cmd;
mod ddl_lock;
mod down_refusals;
mod failure;
mod faults;
mod kill;
mod lock_wait;
mod maria_bookkeeping;
mod no_transaction_hint;
mod pg_restart;
mod redaction;
mod signals_matrix;
mod sqlite_modes;
mod target;
mod transcript;
mod uptodate;
mod urls;
mod vaultwarden;
mod version_zero;

/// One `#[test]` per backend for each function `fn name(backend: Backend)` of the module:
/// `db::<topic>::<backend>::<name>`.
macro_rules! on_all_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(dbmigrate_tests::Backend::Sqlite) } )*
        }
        mod pg {
            $( #[test] fn $name() { super::$name(dbmigrate_tests::Backend::Postgres) } )*
        }
        mod maria {
            $( #[test] fn $name() { super::$name(dbmigrate_tests::Backend::Mariadb) } )*
        }
    };
}
pub(crate) use on_all_backends;

/// A throwaway crate with these `migrations/` files (`(file name, text)`).
pub fn crate_with(name: &str, files: &[(&str, &str)]) -> Fixture {
    let fixture = Fixture::new(name);
    for (file, sql) in files {
        fixture.write(&format!("migrations/{file}"), sql);
    }
    fixture
}

/// Asserts the command exited with `expected`, showing its output otherwise.
#[track_caller]
pub fn assert_code(out: &Output, expected: i32) {
    assert_eq!(code(out), expected, "exit code; output:\n{}", text(out));
}

/// Parses the command's stdout as JSON.
#[track_caller]
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(out)))
}
