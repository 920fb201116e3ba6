//! Autogenerate: the schema the migrations build (replayed into a scratch SQLite database by
//! the engine itself) against the desired schema file, and the migration between them.

use super::Notify;
use crate::CliError;
use crate::workspace::Target;
use dbmigrate_runtime::schema::{self, Difference, Migration, Renames, Schema};
use dbmigrate_runtime::{Dialect, Engine, Goal, Options};
use rusqlite::Connection;
use std::path::PathBuf;

/// The two schemas of a crate and what separates them.
#[derive(Debug)]
pub struct Comparison {
    /// The desired schema file, as configured.
    pub schema_file: PathBuf,
    pub diff: Difference,
    /// Objects of either schema that are not compared (views, triggers).
    pub not_compared: Vec<String>,
}

/// What `diff` produced.
#[derive(Debug)]
pub struct Generated {
    pub comparison: Comparison,
    /// Empty SQL when there is nothing to change.
    pub migration: Migration,
    /// The files written; `None` for a dry run or when there was nothing to change.
    pub created: Option<super::new::Created>,
}

/// Compares the migrations' schema with the desired one and, unless `dry_run` or nothing
/// differs, writes the migration between them through `new`'s code.
pub fn generate(
    target: &Target,
    message: &str,
    renames: &Renames,
    dry_run: bool,
    notify: &mut Notify<'_>,
) -> Result<Generated, CliError> {
    let name = super::new::migration_name(message)?;
    let comparison = compare(target, renames, notify)?;
    if comparison.diff.is_empty() {
        return Ok(Generated { comparison, migration: Migration::default(), created: None });
    }
    let migration = schema::render_sqlite(&comparison.diff).map_err(|why| {
        CliError::failure(why).hint(
            "write this change by hand with `cargo dbmigrate new <message>` (the sqlite docs' 12-step rebuild, foreign keys off, outside a transaction), then run `cargo dbmigrate check --schema`",
        )
    })?;
    let created = if dry_run {
        None
    } else {
        Some(super::new::create_with_sql(target, &name, message, &migration.up, &migration.down)?)
    };
    Ok(Generated { comparison, migration, created })
}

/// The differences between the schema the migrations build and the desired one.
pub fn compare(target: &Target, renames: &Renames, notify: &mut Notify<'_>) -> Result<Comparison, CliError> {
    require_sqlite(target)?;
    let schema_file = target.dir().as_std_path().join(&target.config.schema);
    let desired = desired(&schema_file)?;
    let (current, _) = replayed(target, notify)?;
    let diff = schema::differences(&current, &desired, renames);
    let not_compared = current.not_compared.union(&desired.not_compared).cloned().collect();
    Ok(Comparison { schema_file, diff, not_compared })
}

/// The schema file's text as `schema dump` writes it, from the migrations.
pub fn dump(target: &Target, notify: &mut Notify<'_>) -> Result<(PathBuf, String), CliError> {
    require_sqlite(target)?;
    let (_, sql) = replayed(target, notify)?;
    Ok((target.dir().as_std_path().join(&target.config.schema), sql))
}

/// Refuses a crate whose database is not SQLite: its DDL would be read by the wrong dialect.
/// The database is the one `run` would use; a crate with none configured is SQLite's default.
fn require_sqlite(target: &Target) -> Result<(), CliError> {
    let Ok(url) = super::session::database_url(target, &super::session::DbChoice::default()) else { return Ok(()) };
    if url.dialect() == Dialect::Sqlite {
        return Ok(());
    }
    Err(CliError::failure(format!(
        "autogenerate reads sqlite only so far, and the database of `{}` is {url}",
        target.package
    ))
    .hint("write this migration by hand with `cargo dbmigrate new <message>`; postgresql and mysql/mariadb come next"))
}

/// The desired schema: the file loaded into an in-memory SQLite database.
fn desired(path: &std::path::Path) -> Result<Schema, CliError> {
    let shown = path.display();
    let sql = std::fs::read_to_string(path).map_err(|e| {
        CliError::failure(format!("cannot read the desired schema `{shown}`: {e}"))
            .hint("write it with `cargo dbmigrate schema dump`, or set `schema` in [package.metadata.dbmigrate]")
    })?;
    let conn =
        Connection::open_in_memory().map_err(|e| CliError::failure(format!("cannot open sqlite in memory: {e}")))?;
    conn.execute_batch(&sql).map_err(|e| {
        CliError::failure(format!("the desired schema `{shown}` does not load into sqlite: {e}"))
            .hint("fix the statement it names; the file holds plain sqlite ddl")
    })?;
    schema::introspect_sqlite(&conn, &[]).map_err(|e| read_failed(&e))
}

/// The schema the migrations build, and its dump: every up file applied in version order by
/// the engine (its own statement splitting) to a scratch database that is deleted afterwards.
fn replayed(target: &Target, notify: &mut Notify<'_>) -> Result<(Schema, String), CliError> {
    let set = super::session::load_valid_set(target, notify)?;
    let scripts = super::session::scripts(&set);
    let scratch = super::scratch::Scratch::create(None, "diff")?;
    let url = scratch.url().clone();
    let file = url.sqlite_target().and_then(|t| match t {
        dbmigrate_runtime::SqliteTarget::File(p) => Some(p.clone()),
        dbmigrate_runtime::SqliteTarget::Memory => None,
    });
    let file = file.ok_or_else(|| CliError::failure("the scratch database is not a file"))?;
    let table = target.config.history_table.clone();
    let options = Options { table: table.clone(), setup_sql: target.config.setup_sql.clone(), ..Options::default() };
    let mut engine = Engine::connect(&url, options)?;
    engine.migrate(&scripts, Goal::Latest, &mut |_: &dbmigrate_runtime::Event| {}).map_err(|e| {
        CliError::from(dbmigrate_runtime::Error::from(e))
            .hint("the migrations must apply to an empty sqlite database for `diff` to compare them")
    })?;
    drop(engine);
    let conn =
        Connection::open(&file).map_err(|e| CliError::failure(format!("cannot open the replayed schema: {e}")))?;
    let skip = schema::engine_tables(&table);
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    let model = schema::introspect_sqlite(&conn, &skip).map_err(|e| read_failed(&e))?;
    let sql = schema::dump_sqlite(&conn, &skip).map_err(|e| read_failed(&e))?;
    Ok((model, sql))
}

fn read_failed(e: &rusqlite::Error) -> CliError {
    CliError::failure(format!("cannot read the sqlite schema: {e}"))
}

/// Parses one `--rename`: `old=new` for a table, `table.col=newcol` for a column.
pub fn parse_rename(text: &str, renames: &mut Renames) -> Result<(), CliError> {
    let bad = || {
        CliError::usage(format!("invalid --rename `{text}`"))
            .hint("write `--rename old_table=new_table` or `--rename table.old_column=new_column`")
    };
    let (old, new) = text.split_once('=').ok_or_else(bad)?;
    let (old, new) = (old.trim(), new.trim());
    if old.is_empty() || new.is_empty() || new.contains('.') {
        return Err(bad());
    }
    match old.split_once('.') {
        Some((table, col)) if !table.is_empty() && !col.is_empty() => {
            renames.columns.insert((table.to_owned(), col.to_owned()), new.to_owned());
        }
        Some(_) => return Err(bad()),
        None => {
            renames.tables.insert(old.to_owned(), new.to_owned());
        }
    }
    Ok(())
}
