//! Status output in Cargo's style on stderr; data goes to stdout through `println!`.

use crate::CliError;
use anstyle::{AnsiColor, Effects, Style};
use std::fmt::Display;
use std::io::Write;

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
