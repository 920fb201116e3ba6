//! `cargo dbmigrate schema dump`: writes the desired schema file from the migrations.

use crate::cli::GlobalArgs;
use crate::render::Format;
use crate::render::notes::Notes;
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code, fsutil, workspace};

/// Work with the desired schema file (`schema.sql`)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate schema dump
  cargo dbmigrate schema dump --stdout")]
pub struct SchemaArgs {
    #[command(subcommand)]
    pub action: SchemaAction,
}

/// What to do with the schema file.
#[derive(Debug, clap::Subcommand)]
pub enum SchemaAction {
    /// Write the schema file from the current migrations (bootstraps `diff` and `check --schema`)
    Dump(DumpArgs),
}

/// Write the schema file from the current migrations.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate schema dump
  cargo dbmigrate schema dump -p server --stdout
  cargo dbmigrate schema dump --dialect postgres --dev-url postgres://postgres@127.0.0.1:5432/postgres

The migrations are replayed into a scratch database and written to the `schema` file of
[package.metadata.dbmigrate] (default schema.sql; schema.<dialect>.sql beside it when the crate
lists several `dialects`), replacing it. SQLite: its tables (each followed by its indexes),
views and triggers in name order. PostgreSQL (needs --dev-url): schemas, enum types, then
tables in foreign-key order with their keys, checks, indexes and comments. `cargo dbmigrate check
--schema` passes right after it.")]
pub struct DumpArgs {
    /// Print the schema instead of writing the file
    #[arg(long)]
    pub stdout: bool,
    #[command(flatten)]
    pub source: super::args::SchemaSourceArgs,
    /// Output format; `json` prints one document on stdout
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

impl SchemaArgs {
    pub fn format(&self) -> Format {
        match &self.action {
            SchemaAction::Dump(a) => a.format,
        }
    }
}

/// Runs `schema dump`.
pub fn run(args: &SchemaArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let SchemaAction::Dump(args) = &args.action;
    let target = workspace::locate(global.selector())?;
    let source = args.source.resolve(&target)?;
    let mut notes = Notes::new(shell);
    let (path, sql) = crate::ops::autogen::dump(&target, &source, &mut |n| notes.show(n))?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let shown = fsutil::display_rel(&path, &cwd);
    if !args.stdout {
        std::fs::write(&path, &sql)
            .map_err(|e| CliError::failure(format!("cannot write the schema file `{shown}`: {e}")))?;
    }
    match args.format {
        Format::Json => {
            let file = (!args.stdout).then_some(&shown);
            crate::render::json::print("schema dump", serde_json::json!({ "file": file, "sql": sql }));
        }
        Format::Human if args.stdout => crate::shell::outln!("{}", sql.trim_end()),
        Format::Human => {
            shell.status("Wrote", &shown);
            crate::shell::outln!("{shown}");
        }
    }
    Ok(exit_code::OK)
}
