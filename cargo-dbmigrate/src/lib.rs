//! `cargo dbmigrate`: schema migrations for Cargo projects.
//!
//! The binary is a thin `main` over [`main_entry`]. Inside, layers point one way: `commands`
//! parse arguments and render (human or JSON) → `ops` do the work and return typed outcomes →
//! the mechanisms (`workspace`, `backup`, `uptodate`, `fsutil`) and the engine
//! (`dbmigrate-runtime`); the migration rules live in `dbmigrate-build` and `dbmigrate-core`,
//! shared with the user's build script. Only the exit codes and the entry point are public.

// Data goes to stdout through `shell::outln!`, which survives a closed pipe; `println!` panics.
#![deny(clippy::print_stdout)]

mod backup;
mod cli;
mod commands;
mod error;
mod fsutil;
mod ops;
mod render;
mod shell;
mod signals;
mod uptodate;
mod workspace;

use error::CliError;
use error::CliResult;
pub use error::exit_code;

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
    let global = &args.global;
    let shell = shell::Shell::new(global.color.as_deref(), global.quiet, global.verbose);
    let result = commands::run(args.command, &args.global, &shell);
    match (result, shell::stdout_failure()) {
        (Err(e), _) => {
            shell.print_error(&e);
            e.code
        }
        // The reader closed the pipe: it wanted no more, as with `cargo metadata | head -c1`,
        // so nothing is said; the command's own result stands (`check | head` with problems
        // still exits 1, for `set -o pipefail`).
        (Ok(code), Some(std::io::ErrorKind::BrokenPipe)) => code,
        (Ok(_), Some(kind)) => {
            shell.print_error(&CliError::failure(format!("cannot write to stdout: {}", std::io::Error::from(kind))));
            exit_code::FAILURE
        }
        (Ok(code), None) => code,
    }
}
