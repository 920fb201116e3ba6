//! Autogenerate: the schema the migrations build (replayed into a scratch database by the
//! engine itself) against the desired schema file, and the migration between them.

use super::replay_cache::{Key, Replayed};
use super::{Note, Notify};
use crate::CliError;
use crate::workspace::Target;
use dbmigrate_runtime::schema::{self, Difference, Migration, Renames, Schema};
use dbmigrate_runtime::{DatabaseUrl, Dialect, Engine, Goal, MigrationScript, Options};
use rusqlite::Connection;
use std::path::PathBuf;

/// Which dialect to compare in and where its scratch databases live.
#[derive(Debug, Clone)]
pub struct Source {
    pub dialect: Dialect,
    /// The server for scratch databases (`--dev-url`, else `DBMIGRATE_DEV_URL`); SQLite needs none.
    pub dev_url: Option<DatabaseUrl>,
}

/// The environment variable `--dev-url` falls back to.
pub const DEV_URL_ENV: &str = "DBMIGRATE_DEV_URL";

impl Source {
    /// The dialect: `--dialect`, else the crate's `dialects` (one; several need `--dialect`),
    /// else the dialect of the database `run` would use, else SQLite. A server dialect needs a
    /// dev url of that dialect.
    pub fn resolve(target: &Target, dialect: Option<&str>, dev_url: Option<&str>) -> Result<Source, CliError> {
        let names = || Dialect::ALL.map(Dialect::as_str).join(", ");
        let dialect = match dialect {
            Some(name) => Dialect::from_name(name).ok_or_else(|| {
                CliError::usage(format!("unknown dialect `{name}`")).hint(format!("--dialect is one of {}", names()))
            })?,
            None => default_dialect(target)?,
        };
        // The variable serves the server dialects: a SQLite crate ignores a shell-wide one.
        let env = std::env::var(DEV_URL_ENV).ok().filter(|v| !v.trim().is_empty() && dialect != Dialect::Sqlite);
        let given = dev_url.map(str::to_owned).or(env);
        let dev_url = match given {
            Some(text) => Some(DatabaseUrl::parse(&text, target.dir().as_std_path())?),
            None => None,
        };
        match &dev_url {
            None if dialect != Dialect::Sqlite => Err(CliError::usage(format!(
                "autogenerate on {dialect} replays the migrations into a scratch database and needs a server for it"
            ))
            .hint(format!("pass --dev-url {} (or set {DEV_URL_ENV})", example(dialect)))),
            Some(url) if url.dialect() != dialect => Err(CliError::usage(format!(
                "--dev-url is a {} url but the schema is compared in {dialect}",
                url.dialect()
            ))
            .hint(format!("pass a {dialect} server, e.g. --dev-url {}", example(dialect)))),
            _ => Ok(Source { dialect, dev_url }),
        }
    }
}

fn example(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Mysql => "mysql://root@127.0.0.1:3306/",
        _ => "postgres://postgres@127.0.0.1:5432/postgres",
    }
}

fn default_dialect(target: &Target) -> Result<Dialect, CliError> {
    let configured = &target.config.dialects;
    if configured.len() > 1 {
        let list: Vec<&str> = configured.iter().map(|d| d.as_str()).collect();
        return Err(CliError::usage(format!(
            "`{}` targets several dialects ({}): say which schema to compare",
            target.package,
            list.join(", ")
        ))
        .hint(format!("pass --dialect {}", list.join(" or --dialect "))));
    }
    if let Some(one) = configured.first() {
        return Ok(*one);
    }
    let chosen = super::session::database_url(target, &super::session::DbChoice::default());
    Ok(chosen.map(|u| u.dialect()).unwrap_or_else(|_| target.config.target_dialects()[0]))
}

/// The desired-schema file of `dialect`: `schema` as configured for a crate of one dialect,
/// else `schema.<dialect>.sql` beside it.
pub fn schema_file(target: &Target, dialect: Dialect) -> PathBuf {
    let configured = target.dir().as_std_path().join(&target.config.schema);
    if target.config.dialects.len() <= 1 {
        return configured;
    }
    let stem = configured.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "schema".into());
    configured.with_file_name(format!("{stem}.{dialect}.sql"))
}

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
    source: &Source,
    message: &str,
    renames: &Renames,
    dry_run: bool,
    notify: &mut Notify<'_>,
) -> Result<Generated, CliError> {
    let name = super::new::migration_name(message)?;
    let comparison = compare(target, source, renames, notify)?;
    if comparison.diff.is_empty() {
        return Ok(Generated { comparison, migration: Migration::default(), created: None });
    }
    let migration = render(source.dialect, &comparison.diff)?;
    let created = if dry_run {
        None
    } else {
        Some(super::new::create_with_sql(target, &name, message, &migration.up, &migration.down)?)
    };
    Ok(Generated { comparison, migration, created })
}

/// The dialect's SQL for `diff`.
fn render(dialect: Dialect, diff: &Difference) -> Result<Migration, CliError> {
    match dialect {
        Dialect::Sqlite => Ok(schema::render_sqlite(diff)),
        Dialect::Postgres => Ok(schema::render_pg(diff)),
        Dialect::Mysql => schema::render_mysql(diff).map_err(|why| {
            CliError::failure(why).hint("write this change by hand with `cargo dbmigrate new <message>`")
        }),
    }
}

/// The differences between the schema the migrations build and the desired one. Each side
/// comes from its cache when its inputs are unchanged; what is not cached is read in two
/// scratch databases at once (the replay here, the schema file on a second thread), so a cold
/// run takes about the longer of the two rather than their sum.
pub fn compare(
    target: &Target,
    source: &Source,
    renames: &Renames,
    notify: &mut Notify<'_>,
) -> Result<Comparison, CliError> {
    let schema_file = schema_file(target, source.dialect);
    let sql = read_schema_file(&schema_file)?;
    let set = super::session::load_valid_set(target, notify)?;
    let scripts = super::session::scripts(&set);
    let key = Key::new(target, source.dialect, source.dev_url.as_ref(), &scripts);
    let desired_key = Key::desired(target, source.dialect, source.dev_url.as_ref(), &sql);
    let cached_desired: Option<Schema> = desired_key.read();
    let (current, desired) = std::thread::scope(|scope| {
        let loading =
            cached_desired.is_none().then(|| scope.spawn(|| desired_schema(target, source, &schema_file, &sql)));
        let current = replayed_with(target, source, &key, &scripts, notify);
        let desired = match loading {
            Some(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => Ok(Schema::default()),
        };
        (current, desired)
    });
    // The replay's error first, as when the two ran one after the other.
    let current = current?.schema;
    let desired = match cached_desired {
        Some(hit) => {
            notify(Note::ReusedDesired(desired_key.path()));
            hit
        }
        None => {
            let desired = desired?;
            store(&desired_key, &desired, "desired", notify);
            desired
        }
    };
    let diff = schema::differences(&current, &desired, renames);
    let not_compared = current.not_compared.union(&desired.not_compared).cloned().collect();
    Ok(Comparison { schema_file, diff, not_compared })
}

/// The desired schema: the schema file loaded as the dialect loads it.
fn desired_schema(target: &Target, source: &Source, path: &std::path::Path, sql: &str) -> Result<Schema, CliError> {
    match source.dialect {
        Dialect::Sqlite => desired_sqlite(path, sql),
        Dialect::Postgres => desired_pg(source, path, sql),
        Dialect::Mysql => desired_mysql(target, source, path, sql),
    }
}

/// Caches `value` under `key`; a failure only costs the next run the work again.
fn store<T: serde::Serialize>(key: &Key, value: &T, what: &str, notify: &mut Notify<'_>) {
    if let Err(why) = key.write(value) {
        notify(Note::Warning(&format!("the {what} schema was not cached ({why}); the next run reads it again")));
    }
}

/// The schema file's text as `schema dump` writes it, from the migrations.
pub fn dump(target: &Target, source: &Source, notify: &mut Notify<'_>) -> Result<(PathBuf, String), CliError> {
    let file = schema_file(target, source.dialect);
    let replayed = replayed(target, source, notify)?;
    let current = replayed.schema;
    let sql = match source.dialect {
        Dialect::Sqlite => replayed.dump.unwrap_or_default(),
        Dialect::Postgres => {
            let all = schema::differences(&Schema::default(), &current, &Renames::default());
            let header = "-- The desired schema (postgres): edit it, then `cargo dbmigrate diff -m <message>`.\n\n";
            format!("{header}{}", schema::render_pg(&all).up)
        }
        Dialect::Mysql => {
            let header = "-- The desired schema (mysql): edit it, then `cargo dbmigrate diff -m <message>`.\n\n";
            format!("{header}{}", schema::dump_mysql(&current))
        }
    };
    Ok((file, sql))
}

fn read_schema_file(path: &std::path::Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| {
        CliError::failure(format!("cannot read the desired schema `{}`: {e}", path.display()))
            .hint("write it with `cargo dbmigrate schema dump`, or set `schema` in [package.metadata.dbmigrate]")
    })
}

/// The desired schema: the file loaded into an in-memory SQLite database.
fn desired_sqlite(path: &std::path::Path, sql: &str) -> Result<Schema, CliError> {
    let conn =
        Connection::open_in_memory().map_err(|e| CliError::failure(format!("cannot open sqlite in memory: {e}")))?;
    conn.execute_batch(sql).map_err(|e| {
        CliError::failure(format!("the desired schema `{}` does not load into sqlite: {e}", path.display()))
            .hint("fix the statement it names; the file holds plain sqlite ddl")
    })?;
    schema::introspect_sqlite(&conn, &[]).map_err(|e| read_failed(&e))
}

/// The schema the migrations build: from the replay cache when the history, settings and tool
/// are unchanged (no scratch database then), else replayed and cached.
fn replayed(target: &Target, source: &Source, notify: &mut Notify<'_>) -> Result<Replayed, CliError> {
    let set = super::session::load_valid_set(target, notify)?;
    let scripts = super::session::scripts(&set);
    let key = Key::new(target, source.dialect, source.dev_url.as_ref(), &scripts);
    replayed_with(target, source, &key, &scripts, notify)
}

/// [`replayed`] once the set is loaded and its key computed.
fn replayed_with(
    target: &Target,
    source: &Source,
    key: &Key,
    scripts: &[MigrationScript<'_>],
    notify: &mut Notify<'_>,
) -> Result<Replayed, CliError> {
    if let Some(hit) = key.read() {
        notify(Note::ReusedSchema(key.path()));
        return Ok(hit);
    }
    let replayed = match source.dialect {
        Dialect::Sqlite => {
            let (schema, dump) = replayed_sqlite(target, scripts)?;
            Replayed { schema, dump: Some(dump) }
        }
        Dialect::Postgres => Replayed { schema: replayed_pg(target, source, scripts)?, dump: None },
        Dialect::Mysql => Replayed { schema: replayed_mysql(target, source, scripts)?, dump: None },
    };
    store(key, &replayed, "replayed", notify);
    Ok(replayed)
}

/// The migrations applied in version order by the engine into `url`.
fn replay(target: &Target, url: &DatabaseUrl, scripts: &[MigrationScript<'_>]) -> Result<(), CliError> {
    let options = Options {
        table: target.config.history_table.clone(),
        setup_sql: without_durability(url.dialect(), target.config.setup_sql.as_deref()),
        ..Options::default()
    };
    let mut engine = Engine::connect(url, options)?;
    engine.migrate(scripts, Goal::Latest, &mut |_: &dbmigrate_runtime::Event| {}).map_err(|e| {
        CliError::from(dbmigrate_runtime::Error::from(e)).hint(format!(
            "the migrations must apply to an empty {} database for `diff` to compare them",
            url.dialect()
        ))
    })?;
    Ok(())
}

/// The user's set-up SQL, then the session settings that drop durability: a scratch replay
/// only needs the schema it leaves, never to survive a crash, and waiting for each of a
/// thousand commits to reach the disk was most of a cold replay. The schema is the same.
fn without_durability(dialect: Dialect, user: Option<&str>) -> Option<String> {
    let ours = match dialect {
        // The journal in memory still rolls a failed migration back.
        Dialect::Sqlite => "PRAGMA synchronous = OFF;\nPRAGMA journal_mode = MEMORY;",
        Dialect::Postgres => "SET synchronous_commit = off;",
        // MariaDB's flush on commit is server-wide (innodb_flush_log_at_trx_commit): nothing
        // a session may turn off.
        Dialect::Mysql => return user.map(str::to_owned),
    };
    match user.filter(|sql| !dbmigrate_core::sql::is_blank(sql)) {
        // Its own line and a `;`: the user's text may end in a comment or without a `;`.
        Some(sql) => Some(format!("{sql}\n;\n{ours}")),
        None => Some(ours.to_owned()),
    }
}

/// The schema the migrations build, and its dump: every up file applied in version order by
/// the engine (its own statement splitting) to a scratch database that is deleted afterwards.
fn replayed_sqlite(target: &Target, scripts: &[MigrationScript<'_>]) -> Result<(Schema, String), CliError> {
    let scratch = super::scratch::Scratch::create(None, "diff")?;
    let url = scratch.url().clone();
    let file = url.sqlite_target().and_then(|t| match t {
        dbmigrate_runtime::SqliteTarget::File(p) => Some(p.clone()),
        dbmigrate_runtime::SqliteTarget::Memory => None,
    });
    let file = file.ok_or_else(|| CliError::failure("the scratch database is not a file"))?;
    replay(target, &url, scripts)?;
    let conn =
        Connection::open(&file).map_err(|e| CliError::failure(format!("cannot open the replayed schema: {e}")))?;
    let skip = schema::engine_tables(&target.config.history_table);
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    let model = schema::introspect_sqlite(&conn, &skip).map_err(|e| read_failed(&e))?;
    let sql = schema::dump_sqlite(&conn, &skip).map_err(|e| read_failed(&e))?;
    Ok((model, sql))
}

fn dev_url(source: &Source) -> Result<&DatabaseUrl, CliError> {
    source.dev_url.as_ref().ok_or_else(|| CliError::usage("--dev-url is required for a server dialect"))
}

/// The migrations replayed by the engine into a scratch database on the dev server, read back.
fn replayed_pg(target: &Target, source: &Source, scripts: &[MigrationScript<'_>]) -> Result<Schema, CliError> {
    let scratch = super::scratch::Scratch::create(Some(dev_url(source)?), "diff")?;
    replay(target, scratch.url(), scripts)?;
    let skip = schema::engine_tables(&target.config.history_table);
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    let session = schema::PgSchemaSession::connect(scratch.url()).map_err(pg_read_failed)?;
    session.introspect(&skip).map_err(pg_read_failed)
}

/// The desired schema: the file run as one script in a scratch database on the dev server.
fn desired_pg(source: &Source, path: &std::path::Path, sql: &str) -> Result<Schema, CliError> {
    let scratch = super::scratch::Scratch::create(Some(dev_url(source)?), "diff")?;
    let session = schema::PgSchemaSession::connect(scratch.url()).map_err(pg_read_failed)?;
    session.execute(sql).map_err(|e| {
        CliError::failure(format!("the desired schema `{}` does not load into postgres: {e}", path.display()))
            .hint("fix the statement it names; the file holds plain postgres ddl")
    })?;
    session.introspect(&[]).map_err(pg_read_failed)
}

/// The migrations replayed by the engine into a scratch database on the dev server, read back.
fn replayed_mysql(target: &Target, source: &Source, scripts: &[MigrationScript<'_>]) -> Result<Schema, CliError> {
    let scratch = super::scratch::Scratch::create(Some(dev_url(source)?), "diff")?;
    replay(target, scratch.url(), scripts)?;
    let history = &target.config.history_table;
    schema::introspect_mysql_url(scratch.url(), MYSQL_READ_TIMEOUT, history).map_err(mysql_read_failed)
}

/// The desired schema: the file run by the engine (its own statement splitting, `DELIMITER`
/// included) as one migration in a scratch database on the dev server.
fn desired_mysql(target: &Target, source: &Source, path: &std::path::Path, sql: &str) -> Result<Schema, CliError> {
    let scratch = super::scratch::Scratch::create(Some(dev_url(source)?), "diff")?;
    let history = &target.config.history_table;
    let options = Options { table: history.clone(), setup_sql: target.config.setup_sql.clone(), ..Options::default() };
    let script = dbmigrate_runtime::MigrationScript {
        version: 1,
        name: "desired_schema".into(),
        up: sql.into(),
        down: None,
        rehash: None,
        released: false,
    };
    let mut engine = Engine::connect(scratch.url(), options)?;
    engine.migrate(&[script], Goal::Latest, &mut |_: &dbmigrate_runtime::Event| {}).map_err(|e| {
        CliError::failure(format!("the desired schema `{}` does not load into mysql: {e}", path.display()))
            .hint("fix the statement it names; the file holds plain mysql ddl")
    })?;
    drop(engine);
    schema::introspect_mysql_url(scratch.url(), MYSQL_READ_TIMEOUT, history).map_err(mysql_read_failed)
}

/// How long reading a scratch database's catalog may wait to connect.
const MYSQL_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn mysql_read_failed(e: String) -> CliError {
    CliError::failure(format!("cannot read the mysql schema: {e}"))
}

fn pg_read_failed(e: String) -> CliError {
    CliError::failure(format!("cannot read the postgres schema: {e}"))
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
