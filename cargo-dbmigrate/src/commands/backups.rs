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
    let all = match &args.database_url {
        Some(url) => {
            let choice = DbChoice { url: Some(url.clone()), ..DbChoice::default() };
            let mut notes = crate::render::notes::Notes::new(shell);
            let url = session::target_url(&target, &choice, &mut |note| notes.show(note))?.url;
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
        crate::shell::outln!("{}", serde_json::json!({ "dir": config.dir, "backups": list, "unfinished": stale }));
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
        shell.status("Empty", format!("no backups in {}", config.dir));
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

/// One line a backup, the columns as wide as their widest entry.
fn print_table(all: &[Backup]) {
    let rows: Vec<[String; 6]> = all
        .iter()
        .map(|b| {
            [
                b.id.clone(),
                dbmigrate_core::version::display(b.version),
                b.time.clone(),
                crate::render::size(b.bytes),
                kind_name(b.kind()).to_owned(),
                b.source().unwrap_or("unknown (no manifest)").to_owned(),
            ]
        })
        .collect();
    let header = ["ID", "VERSION", "TIME (UTC)", "SIZE", "KIND", "DATABASE"].map(str::to_owned);
    let widths: Vec<usize> =
        (0..6).map(|i| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        crate::shell::outln!("{}", cells.join("  ").trim_end());
    }
}

fn kind_name(kind: Option<Kind>) -> &'static str {
    match kind {
        Some(Kind::Deploy) => "deploy",
        Some(Kind::Failed) => "failed",
        Some(Kind::PreRestore) => "pre-restore",
        Some(Kind::PreDrop) => "pre-drop",
        None => "-",
    }
}
