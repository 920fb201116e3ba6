//! `cargo dbmigrate diff -m <message>`: writes the migration from the migrations' schema to the
//! desired schema file (autogenerate).

use crate::cli::GlobalArgs;
use crate::ops::autogen::{self, Generated};
use crate::render::Format;
use crate::render::notes::Notes;
use crate::shell::Shell;
use crate::{CliResult, exit_code, fsutil, workspace};
use dbmigrate_runtime::schema::Renames;

/// Write a migration that turns the migrations' schema into the desired schema (`schema.sql`).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate diff -m 'add phone number'
  cargo dbmigrate diff -m 'rename mail' --rename users.mail=email --dry-run
  cargo dbmigrate diff -m 'rename people' --rename people=users
  cargo dbmigrate diff -m 'add phone' --dev-url postgres://postgres@127.0.0.1:5432/postgres
  cargo dbmigrate diff -m 'add phone' --dev-url mysql://root@127.0.0.1:3306/

SQLite, PostgreSQL and MySQL/MariaDB. The migrations are replayed into a scratch database
(SQLite: a temporary file; servers: a uniquely named database on the --dev-url server, dropped
afterwards, also on Ctrl-C; an unchanged history is read from the cache in
<target>/dbmigrate/replay instead), the desired schema (`schema` in [package.metadata.dbmigrate], default schema.sql;
schema.<dialect>.sql beside it when the crate lists several `dialects`) is loaded into another,
both are read from the catalog and compared; the up and down files are written as `new` writes
them. Review them: a removed table or column is marked `-- dbmigrate:destructive`, a NOT NULL
column without a default is backfilled with a placeholder marked `-- dbmigrate:todo`, and a
dropped column beside an added one of the same type is noted as a likely rename. Views,
functions and triggers are listed as not compared. Nothing to change: says so, writes nothing, exit 0.")]
pub struct DiffArgs {
    /// What the migration does, in a few words (its file name)
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: String,
    /// Print the up and down SQL instead of writing the files
    #[arg(long)]
    pub dry_run: bool,
    /// A rename, not a drop and an add: `old=new` (table) or `table.old=new` (column); repeatable
    #[arg(long, value_name = "OLD=NEW")]
    pub rename: Vec<String>,
    #[command(flatten)]
    pub source: super::args::SchemaSourceArgs,
    /// Output format; `json` prints one document on stdout
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Runs `diff`.
pub fn run(args: &DiffArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let mut renames = Renames::default();
    for r in &args.rename {
        autogen::parse_rename(r, &mut renames)?;
    }
    crate::ops::new::migration_name(&args.message)?;
    let target = workspace::locate(global.selector())?;
    let source = args.source.resolve(&target)?;
    let mut notes = Notes::new(shell);
    let generated = autogen::generate(&target, &source, &args.message, &renames, args.dry_run, &mut |n| notes.show(n))?;
    for w in &generated.migration.warnings {
        shell.warn(w);
    }
    for object in &generated.comparison.not_compared {
        shell.note(format!("not compared: {object}"));
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let files: Vec<String> =
        generated.created.iter().flat_map(|c| c.files.iter()).map(|p| fsutil::display_rel(p, &cwd)).collect();
    if args.format == Format::Json {
        crate::render::json::print("diff", json(&generated, &files));
        return Ok(exit_code::OK);
    }
    if generated.comparison.diff.is_empty() {
        shell.status("Unchanged", "the migrations already give the desired schema; nothing was written");
    } else if args.dry_run {
        crate::shell::outln!("-- up\n{}\n-- down\n{}", generated.migration.up, generated.migration.down);
    } else {
        for f in &files {
            shell.status("Created", f);
            crate::shell::outln!("{f}");
        }
    }
    Ok(exit_code::OK)
}

fn json(g: &Generated, files: &[String]) -> serde_json::Value {
    let changed = !g.comparison.diff.is_empty();
    serde_json::json!({
        "changed": changed,
        "differences": g.comparison.diff.describe(),
        "not_compared": g.comparison.not_compared,
        "warnings": g.migration.warnings,
        "up": changed.then_some(&g.migration.up),
        "down": changed.then_some(&g.migration.down),
        "files": files,
    })
}
