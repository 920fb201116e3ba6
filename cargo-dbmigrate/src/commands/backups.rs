//! `backups`: the backups in the crate's backup folder, oldest first.

use crate::backup::{self, Backup, BackupConfig, Kind, Source};
use crate::cli::GlobalArgs;
use crate::ops::session::{self, DbChoice};
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliResult, exit_code, workspace};

/// List the backups taken before migrations.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate backups
  cargo dbmigrate backups --format json

Backups are taken by `run`, `down` and `restore` before they change the database, into
`[package.metadata.dbmigrate.backup] dir` (default .dbmigrate/backups in the crate); the newest
`keep` (default 3) of each database are kept. Restore one with `cargo dbmigrate restore ID`.")]
pub struct BackupsArgs {
    /// Only the backups of this database (default: every database's)
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl BackupsArgs {
    /// The output format asked for.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Runs `backups`.
pub fn run(args: &BackupsArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let config = BackupConfig::of(&target)?;
    let mut chosen = None;
    let all = match &args.database_url {
        Some(url) => {
            let choice = DbChoice { url: Some(url.clone()), ..DbChoice::default() };
            let mut notes = crate::render::notes::Notes::new(shell);
            let target = session::target_url(&target, &choice, &mut |note| notes.show(note))?;
            let url = target.url.clone();
            chosen = Some(target);
            match Source::of(&url)? {
                Some(source) => backup::of_source(&config.dir, &source)?,
                None => Vec::new(),
            }
        }
        None => backup::list(&config.dir)?,
    };
    let stale = backup::stale_temps(&config.dir);
    if args.format == Format::Json {
        let list: Vec<_> = all.iter().map(json).collect();
        let stale: Vec<&str> = stale.iter().map(|p| p.as_str()).collect();
        let database = chosen.as_ref().map(crate::render::notes::target_json);
        crate::render::json::print(
            "backups",
            serde_json::json!({ "database": database, "dir": config.dir, "backups": list, "unfinished": stale }),
        );
        return Ok(exit_code::OK);
    }
    if !stale.is_empty() {
        shell.warn(format!(
            "{} unfinished backup file(s) in {} from an interrupted backup; the next backup of that database removes them",
            stale.len(),
            config.dir
        ));
    }
    if all.is_empty() {
        crate::shell::outln!("no backups");
        shell.note(format!("backups are kept in {}", config.dir));
        return Ok(exit_code::OK);
    }
    print_table(&all);
    Ok(exit_code::OK)
}

fn json(b: &Backup) -> serde_json::Value {
    let mut value = serde_json::to_value(b).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("source".into(), b.source().into());
        object.insert("kind".into(), serde_json::to_value(b.kind()).unwrap_or_default());
        object.insert("sha256".into(), b.manifest.as_ref().map(|m| m.sha256.clone()).into());
    }
    value
}

/// The backups grouped under their database, one line each; the ID holds the time
/// (`<database>-<version>-<UTC time>.<ext>`), so the table fits in 100 columns.
fn print_table(all: &[Backup]) {
    let mut sources: Vec<&str> = Vec::new();
    for b in all {
        let source = b.source().unwrap_or(UNKNOWN);
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    for (i, source) in sources.iter().enumerate() {
        if i > 0 {
            crate::shell::outln!("");
        }
        crate::shell::outln!("{source}");
        let rows: Vec<[String; 4]> = all
            .iter()
            .filter(|b| b.source().unwrap_or(UNKNOWN) == *source)
            .map(|b| {
                [
                    b.id.clone(),
                    dbmigrate_core::version::display(b.version),
                    crate::render::size(b.bytes),
                    kind_name(b.kind()).to_owned(),
                ]
            })
            .collect();
        for line in crate::render::table(["ID", "VERSION", "SIZE", "KIND"], &rows) {
            crate::shell::outln!("  {line}");
        }
    }
}

/// The heading of backups without a manifest (taken by an older cargo-dbmigrate).
const UNKNOWN: &str = "unknown database (no manifest)";

fn kind_name(kind: Option<Kind>) -> &'static str {
    match kind {
        Some(Kind::Deploy) => "deploy",
        Some(Kind::Failed) => "failed",
        Some(Kind::PreRestore) => "pre-restore",
        Some(Kind::PreDrop) => "pre-drop",
        None => "-",
    }
}
