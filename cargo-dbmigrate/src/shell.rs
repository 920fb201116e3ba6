//! Status output in Cargo's style on stderr, and data on stdout through [`outln`], which
//! survives a reader that stops reading (`| head`).

use crate::CliError;
use anstyle::{AnsiColor, Effects, Style};
use std::fmt::Display;
use std::io::Write;
use std::sync::Mutex;

const STATUS: Style = AnsiColor::BrightGreen.on_default().effects(Effects::BOLD);
const ERROR: Style = AnsiColor::BrightRed.on_default().effects(Effects::BOLD);
const WARN: Style = AnsiColor::BrightYellow.on_default().effects(Effects::BOLD);
const HINT: Style = AnsiColor::BrightCyan.on_default().effects(Effects::BOLD);

/// How much to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// The default.
    Normal,
    /// `-v`.
    Verbose,
}

/// Where status lines go.
#[derive(Debug)]
pub struct Shell {
    verbosity: Verbosity,
    styled: bool,
}

impl Shell {
    /// Sets the colour choice for the process (`--color`, else `CARGO_TERM_COLOR`, else auto,
    /// which honours `NO_COLOR` and whether stderr is a terminal).
    pub fn new(color: Option<&str>, quiet: bool, verbose: u8) -> Self {
        let choice = color.map(str::to_owned).or_else(|| std::env::var("CARGO_TERM_COLOR").ok());
        let choice = match choice.as_deref() {
            Some("always") => anstream::ColorChoice::Always,
            Some("never") => anstream::ColorChoice::Never,
            _ => anstream::ColorChoice::Auto,
        };
        choice.write_global();
        let verbosity = match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            _ => Verbosity::Verbose,
        };
        let styled = !matches!(anstream::AutoStream::choice(&std::io::stderr()), anstream::ColorChoice::Never);
        Self { verbosity, styled }
    }

    /// Whether colour is on for stderr (for renderers that style their own output).
    pub fn styled(&self) -> bool {
        self.styled
    }

    /// The verbosity.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// `    Created migrations/V1__a.sql`: a right-aligned green verb, like Cargo.
    pub fn status(&self, verb: &str, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            let _ = writeln!(anstream::stderr(), "{STATUS}{verb:>12}{STATUS:#} {message}");
        }
    }

    /// A status line shown only with `-v`.
    pub fn verbose(&self, verb: &str, message: impl Display) {
        if self.verbosity >= Verbosity::Verbose {
            self.status(verb, message);
        }
    }

    /// `warning: …`
    pub fn warn(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            let _ = writeln!(anstream::stderr(), "{WARN}warning{WARN:#}: {message}");
        }
    }

    /// `note: …` (plain text lines, e.g. instructions for the user).
    pub fn note(&self, message: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            let _ = writeln!(anstream::stderr(), "{HINT}note{HINT:#}: {message}");
        }
    }

    /// Plain lines for the user (instructions), on stderr; silenced by `-q`.
    pub fn text(&self, text: impl Display) {
        if self.verbosity >= Verbosity::Normal {
            let _ = writeln!(anstream::stderr(), "{text}");
        }
    }

    /// Text already rendered (diagnostics), printed as is on stderr.
    pub fn raw(&self, text: impl Display) {
        let _ = writeln!(anstream::stderr(), "{text}");
    }

    /// `error: …` then `hint: …` lines; printed even with `-q`.
    pub fn print_error(&self, error: &CliError) {
        let mut err = anstream::stderr();
        let _ = writeln!(err, "{ERROR}error{ERROR:#}: {}", error.message);
        for hint in &error.hints {
            let _ = writeln!(err, "{HINT}hint{HINT:#}: {hint}");
        }
    }
}

/// The first error writing to stdout; later data is dropped instead of written.
static STDOUT_ERROR: Mutex<Option<std::io::ErrorKind>> = Mutex::new(None);

/// `println!` for data: every stdout line goes through here, because `println!` panics when the
/// reader has gone (`| head -1`).
macro_rules! outln {
    ($($arg:tt)*) => { $crate::shell::stdout_text(format_args!("{}\n", format_args!($($arg)*))) };
}
/// `print!` for data, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::shell::stdout_text(format_args!($($arg)*)) };
}
pub(crate) use {out, outln};

/// Prints `text` on stdout as is. After a failed write (a closed pipe) it prints nothing, so the
/// command finishes its work and [`stdout_failure`] decides the exit.
pub fn stdout_text(text: impl Display) {
    let mut failed = STDOUT_ERROR.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if failed.is_some() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    // Flushed each time: `main` ends with `process::exit`, which does not flush.
    if let Err(e) = write!(stdout, "{text}").and_then(|()| stdout.flush()) {
        *failed = Some(e.kind());
    }
}

/// How stdout failed, if it did. A closed pipe (`BrokenPipe`) is the reader's choice, which
/// Cargo answers with a quiet exit 0 (`cargo metadata | head -c1`); anything else (a full disk)
/// is a failure to report.
pub fn stdout_failure() -> Option<std::io::ErrorKind> {
    *STDOUT_ERROR.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
