//! `cargo dbmigrate init`: sets a crate up for migrations, or shows the diff with `--dry-run`.

use crate::cli::GlobalArgs;
use crate::ops::Note;
use crate::ops::init::{self, Driver, Plan, Setup, Source};
use crate::render::Format;
use crate::shell::Shell;
use crate::{CliError, CliResult, exit_code, fsutil, workspace};
use camino::Utf8Path;
use dbmigrate_template as template;
use std::path::{Path, PathBuf};

/// Set a crate up for migrations: folder, build script, dependencies, settings.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  cargo dbmigrate init
  cargo dbmigrate init -p server --db postgres --db sqlite
  cargo dbmigrate init --dry-run

--db sets the crate's default database (the first one, with several): sqlite:dev.db,
postgres://postgres@localhost/<crate>, or mysql://root@localhost/<crate>.

dbmigrate-build and dbmigrate-runtime come from the checkout this cargo-dbmigrate was built
from (`cargo install --path`) while it exists, else from crates.io.

An existing build.rs is never overwritten: the call is inserted into a plain `fn main`,
otherwise the line to add is printed and the exit code is 1.")]
pub struct InitArgs {
    /// Database drivers to enable in refinery (repeatable)
    #[arg(long = "db", value_enum, default_values_t = [Db::Sqlite])]
    pub db: Vec<Db>,
    /// Show the changes as a diff; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Depend on dbmigrate-build at this local path (and on the dbmigrate-runtime beside it),
    /// instead of the checkout this binary was built from or crates.io
    #[arg(long, value_name = "DIR")]
    pub dbmigrate_build_path: Option<PathBuf>,
    /// Output format; `json` prints one document (the files, not the diff)
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// A database refinery can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Db {
    /// SQLite through rusqlite, bundled (no system library needed)
    Sqlite,
    /// PostgreSQL through the `postgres` crate
    Postgres,
    /// MySQL or MariaDB through the `mysql` crate
    Mysql,
}

impl From<Db> for Driver {
    fn from(db: Db) -> Self {
        match db {
            Db::Sqlite => Driver::Sqlite,
            Db::Postgres => Driver::Postgres,
            Db::Mysql => Driver::Mysql,
        }
    }
}

/// Runs `init`.
pub fn run(args: &InitArgs, global: &GlobalArgs, shell: &Shell) -> CliResult {
    let target = workspace::locate(global.selector())?;
    let root = target.dir();
    let checkout = args.dbmigrate_build_path.is_none().then(init::built_from_checkout).flatten();
    let source = match (&args.dbmigrate_build_path, &checkout) {
        // The runtime lives beside build-support in a checkout.
        (Some(build), _) => {
            let runtime = std::path::absolute(build).unwrap_or_else(|_| build.clone()).with_file_name("runtime");
            Source::Local { build: build.clone(), runtime }
        }
        (None, Some(root)) => Source::checkout(root),
        (None, None) => Source::Registry,
    };
    let setup = Setup { drivers: args.db.iter().copied().map(Driver::from).collect(), source };
    let plan = init::plan(&target, &setup)?;
    if let Some(root) = checkout.filter(|_| plan.adds_local) {
        shell.status(
            "Using",
            format!(
                "dbmigrate-build and dbmigrate-runtime from {} (the checkout this cargo-dbmigrate was built from)",
                root.display()
            ),
        );
    }
    if args.format == Format::Json {
        return json(&plan, args.dry_run, &target.package, root.as_std_path(), shell);
    }
    if args.dry_run {
        return dry_run(&plan, root.as_std_path(), shell);
    }
    init::apply(&plan, &mut |note| {
        if let Note::Wrote { path, created } = note {
            let shown = rel(path, root) + if path == plan.migrations { "/" } else { "" };
            shell.status(if created { "Created" } else { "Updated" }, shown);
        }
    })?;
    if plan.is_empty() {
        shell.status("Unchanged", format!("`{}` is already set up for migrations", target.package));
        return Ok(exit_code::OK);
    }
    finish(&plan.build_rs, root.as_std_path(), plan.manual, shell)
}

/// `--format json`: writes (unless a dry run), then one document listing the files.
fn json(plan: &Plan, dry_run: bool, package: &str, root: &Path, shell: &Shell) -> CliResult {
    let mut files = Vec::new();
    if plan.create_dir {
        files.push(serde_json::json!({ "path": format!("{}/", fsutil::display_rel(&plan.migrations, root)), "action": "created" }));
    }
    for change in &plan.changes {
        let action = if change.old.is_some() { "updated" } else { "created" };
        files.push(serde_json::json!({ "path": fsutil::display_rel(&change.path, root), "action": action }));
    }
    if !dry_run {
        init::apply(plan, &mut |_| {})?;
    }
    let data = serde_json::json!({ "package": package, "dry_run": dry_run, "files": files });
    if !plan.manual {
        crate::render::json::print("init", data);
        return Ok(exit_code::OK);
    }
    let mut err = manual_error(&plan.build_rs, root);
    shell.print_error(&err);
    err.data = Some(data);
    crate::shell::outln!("{}", crate::render::json::failure("init", &err));
    Ok(err.code)
}

/// `path` relative to the crate, for messages.
fn rel(path: &Path, root: &Utf8Path) -> String {
    fsutil::display_rel(path, root)
}

fn finish(build_rs: &Path, root: &Path, manual: bool, shell: &Shell) -> CliResult {
    if manual {
        let err = manual_error(build_rs, root);
        shell.print_error(&err);
        return Ok(err.code);
    }
    shell.note("use the embedded migrations from your code with:");
    for line in template::USAGE.lines() {
        shell.text(format!("    {line}"));
    }
    shell.note("create the first migration with `cargo dbmigrate new <message>`");
    Ok(exit_code::OK)
}

/// A build script the call could not be added to.
fn manual_error(build_rs: &Path, root: &Path) -> CliError {
    CliError::problems(format!(
        "`{}` has no plain `fn main() {{ … }}` to add the migration check to",
        fsutil::display_rel(build_rs, root)
    ))
    .hint(format!("add this line to the function your build script runs: {}", template::BUILD_CALL.trim()))
}

fn dry_run(plan: &Plan, root: &Path, shell: &Shell) -> CliResult {
    if plan.create_dir {
        crate::shell::outln!("would create folder {}/", fsutil::display_rel(&plan.migrations, root));
    }
    for change in &plan.changes {
        let name = fsutil::display_rel(&change.path, root);
        let old = change.old.as_deref().unwrap_or("");
        let diff = similar::TextDiff::from_lines(old, &change.new);
        let from = if change.old.is_some() { format!("a/{name}") } else { "/dev/null".to_owned() };
        crate::shell::out!("{}", diff.unified_diff().header(&from, &format!("b/{name}")));
    }
    if plan.changes.is_empty() && !plan.create_dir {
        shell.status("Unchanged", "nothing to do");
    }
    shell.warn("dry run: nothing was written");
    Ok(if plan.manual { exit_code::PROBLEMS } else { exit_code::OK })
}
