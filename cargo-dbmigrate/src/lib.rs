//! `cargo dbmigrate`: schema migrations for Cargo projects.
//!
//! The binary is a thin `main` over [`main_entry`]; every command lives in [`commands`], the
//! migration rules live in `dbmigrate-build` and `dbmigrate-core`, shared with the user's build
//! script and the engine.

pub mod backup;
pub mod cli;
pub mod commands;
pub mod diagnostic;
pub mod error;
pub mod fsutil;
pub mod shell;
pub mod uptodate;
pub mod workspace;

pub use error::{CliError, CliResult, exit_code};

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main_entry() -> i32 {
    let args = match cli::parse() {
        Ok(args) => args,
        Err(e) => {
            let code = if e.use_stderr() { exit_code::USAGE } else { exit_code::OK };
            let _ = e.print();
            return code;
        }
    };
    let shell = shell::Shell::new(&args.global);
    match commands::run(args.command, &args.global, &shell) {
        Ok(code) => code,
        Err(e) => {
            shell.print_error(&e);
            e.code
        }
    }
}
