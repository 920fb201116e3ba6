//! End-to-end tests of `cargo dbmigrate`, through the real binary.
//!
//! Layout follows cargo-edit: `<command>/<case>/mod.rs`, with `in/` (the project before) and
//! `out/` (the files expected after) where a case edits a project. `SNAPSHOTS=overwrite`
//! rewrites snapshots.

mod autogen;
mod backup;
mod build_guard;
mod cli;
mod db;
mod init;
mod lint;
mod lock_conflict;
mod new;
mod team;
mod verify;
