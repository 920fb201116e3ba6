//! `cargo dbmigrate new <message…>`: writes `V<UTC timestamp>__<name>.sql` and its down file.

use crate::cli::GlobalArgs;
use crate::ops::new::Rule;
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliResult, fsutil, workspace};

/// Create a new migration: `V<UTC YYYYMMDDHHMMSS>__<name>.sql` and `.down.sql`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate new create users table
  cargo dbmigrate new -p server 'Add email index' --no-down

The message becomes the file name in snake case: `create users table` gives
migrations/V20261125143000__create_users_table.sql and ….down.sql.
The version is the UTC time YYYYMMDDHHMMSS; when the newest migration is not older (two
in one second, clock skew), one second after it. In a folder numbered V1, V2, … it is the
next number.
The created paths are printed on stdout, one a line.")]
pub struct NewArgs {
    /// What the migration does, in a few words
    #[arg(required = true, value_name = "MESSAGE")]
    pub message: Vec<String>,
    /// Do not create the down (revert) file
    #[arg(long)]
    pub no_down: bool,
    /// Output format; `json` prints one document instead of the paths
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Runs `new`: the names of the files written go to stdout, relative to the current folder.
pub fn run(args: &NewArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let message = args.message.join(" ");
    // The message is checked before the crate is looked for: a bad message is a usage error.
    let name = crate::ops::new::migration_name(&message)?;
    let target = workspace::locate(global.selector())?;
    let created = crate::ops::new::create(&target, &name, &message, !args.no_down)?;
    match created.rule {
        Rule::Now => {}
        Rule::AfterNewest(newest) => shell.note(format!(
            "the newest migration, V{newest}, is not older than now: V{} is one second after it",
            created.version
        )),
        Rule::Sequence(newest) => {
            shell.note(format!("the migrations are numbered: V{} follows V{newest}", created.version));
        }
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    for path in &created.files {
        shell.status("Created", fsutil::display_rel(path, target.dir()));
        if args.format == Format::Human {
            crate::shell::outln!("{}", fsutil::display_rel(path, &cwd));
        }
    }
    if args.format == Format::Json {
        let files: Vec<String> = created.files.iter().map(|p| fsutil::display_rel(p, &cwd)).collect();
        crate::render::json::print(
            "new",
            serde_json::json!({ "version": created.version, "name": name, "files": files }),
        );
    }
    Ok(crate::exit_code::OK)
}
