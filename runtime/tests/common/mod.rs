//! Test databases on real servers: each test gets its own uniquely named
//! database (or a SQLite file in a temp dir), dropped by a guard even when
//! the test fails.
#![allow(dead_code)]

pub mod scenarios;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dbmigrate_runtime::{DatabaseUrl, Dialect, Engine, Event, MigrationScript, Options};

/// Hooks that do nothing: a migration without a backup or progress.
pub fn quiet(_: &Event) {}

pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const MY_ADMIN: &str = "mysql://root@127.0.0.1:3306/mysql";

pub struct TestDb {
    pub url: DatabaseUrl,
    pub name: String,
    dir: Option<tempfile::TempDir>,
}

pub fn unique(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("dbm_{test}_{}_{nanos}", std::process::id())
}

impl TestDb {
    pub fn sqlite(test: &str) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = unique(test);
        let url = DatabaseUrl::parse(&format!("sqlite:{name}.db"), dir.path()).expect("url");
        TestDb { url, name, dir: Some(dir) }
    }

    #[cfg(feature = "postgres")]
    pub fn postgres(test: &str) -> TestDb {
        let name = unique(test);
        admin_pg(&format!("CREATE DATABASE {name}"));
        let url = parse(&format!("postgres://postgres@127.0.0.1:5432/{name}"));
        TestDb { url, name, dir: None }
    }

    #[cfg(feature = "mysql")]
    pub fn mysql(test: &str) -> TestDb {
        let name = unique(test);
        admin_my(&format!("CREATE DATABASE {name}"));
        let url = parse(&format!("mysql://root@127.0.0.1:3306/{name}"));
        TestDb { url, name, dir: None }
    }

    pub fn dialect(&self) -> Dialect {
        self.url.dialect()
    }

    pub fn options(&self) -> Options {
        Options { lock_timeout: Duration::from_secs(30), ..Options::default() }
    }

    pub fn engine(&self) -> Engine {
        self.engine_with(self.options())
    }

    pub fn engine_with(&self, options: Options) -> Engine {
        Engine::connect(&self.url, options).expect("connect")
    }

    pub fn sqlite_path(&self) -> PathBuf {
        match self.url.sqlite_target() {
            Some(dbmigrate_runtime::SqliteTarget::File(p)) => p.clone(),
            _ => panic!("not a sqlite file"),
        }
    }

    /// Runs SQL on a fresh raw driver connection.
    pub fn exec(&self, sql: &str) {
        match self.dialect() {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => {
                let c = rusqlite::Connection::open(self.sqlite_path()).expect("open");
                c.execute_batch(sql).expect("exec");
            }
            #[cfg(feature = "postgres")]
            Dialect::Postgres => pg(&self.url.to_string()).batch_execute(sql).expect("exec"),
            #[cfg(feature = "mysql")]
            Dialect::Mysql => {
                use mysql::prelude::Queryable;
                my(&self.url.to_string()).query_drop(sql).expect("exec");
            }
            #[allow(unreachable_patterns)]
            other => panic!("{other:?} support not compiled in"),
        }
    }

    /// The first column of the first row, as i64.
    pub fn scalar(&self, sql: &str) -> i64 {
        match self.dialect() {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => {
                let c = rusqlite::Connection::open(self.sqlite_path()).expect("open");
                c.query_row(sql, [], |r| r.get(0)).expect("query")
            }
            #[cfg(feature = "postgres")]
            Dialect::Postgres => pg(&self.url.to_string()).query_one(sql, &[]).expect("query").get(0),
            #[cfg(feature = "mysql")]
            Dialect::Mysql => {
                use mysql::prelude::Queryable;
                my(&self.url.to_string()).query_first(sql).expect("query").expect("a row")
            }
            #[allow(unreachable_patterns)]
            other => panic!("{other:?} support not compiled in"),
        }
    }

    pub fn table_exists(&self, table: &str) -> bool {
        let sql = match self.dialect() {
            Dialect::Sqlite => format!("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='{table}'"),
            Dialect::Postgres => {
                format!("SELECT count(*) FROM pg_tables WHERE schemaname='public' AND tablename='{table}'")
            }
            Dialect::Mysql => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema=DATABASE() AND table_name='{table}'"
            ),
        };
        self.scalar(&sql) > 0
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort: a failed drop must not hide the test's own failure.
        #[allow(unused_variables)]
        let name = &self.name;
        let result = std::panic::catch_unwind(|| match self.url.dialect() {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => admin_pg(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
            #[cfg(feature = "mysql")]
            Dialect::Mysql => admin_my(&format!("DROP DATABASE IF EXISTS {name}")),
            _ => {}
        });
        drop(result);
        drop(self.dir.take());
    }
}

pub fn parse(url: &str) -> DatabaseUrl {
    DatabaseUrl::parse(url, Path::new("/")).expect("url")
}

#[cfg(feature = "postgres")]
fn pg(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("postgres connect")
}

#[cfg(feature = "mysql")]
fn my(url: &str) -> mysql::Conn {
    mysql::Conn::new(mysql::Opts::from_url(url).expect("mysql url")).expect("mysql connect")
}

#[cfg(feature = "postgres")]
pub fn admin_pg(sql: &str) {
    pg(PG_ADMIN).batch_execute(sql).expect("admin sql");
}

#[cfg(feature = "mysql")]
pub fn admin_my(sql: &str) {
    use mysql::prelude::Queryable;
    my(MY_ADMIN).query_drop(sql).expect("admin sql");
}

/// A script with owned text.
pub fn script(version: i64, name: &str, up: &str, down: Option<&str>) -> MigrationScript<'static> {
    MigrationScript::new(version, name.to_string(), up.to_string(), down.map(str::to_string))
}

/// Reads a corpus folder of `V<version>__<name>.sql` + `.down.sql` files; `None`, after saying
/// why, where the corpus is not beside the checkout and `$DBMIGRATE_CORPUS` is unset (a fresh
/// clone on its own). `.ci/run` sets `DBMIGRATE_REQUIRE_CORPUS`, so CI fails instead.
pub fn read_corpus(dialect_dir: &str) -> Option<Vec<MigrationScript<'static>>> {
    let base = std::env::var_os("DBMIGRATE_CORPUS")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"), PathBuf::from);
    if !base.is_dir() {
        assert!(std::env::var_os("DBMIGRATE_REQUIRE_CORPUS").is_none(), "the corpus is required: {}", base.display());
        eprintln!("skipped: no corpus at {} (set DBMIGRATE_CORPUS)", base.display());
        return None;
    }
    let dir = base.join("vaultwarden").join(dialect_dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_string();
        if !file.starts_with('V') || !file.ends_with(".sql") || file.ends_with(".down.sql") {
            continue;
        }
        let stem = &file[1..file.len() - 4];
        let (version, name) = stem.split_once("__").expect("V<v>__<name>");
        let down_path = dir.join(format!("V{stem}.down.sql"));
        let down = std::fs::read_to_string(&down_path).ok().map(|d| normalise(&d));
        let up = normalise(&std::fs::read_to_string(&path).expect("read up"));
        out.push(MigrationScript::new(version.parse().expect("version"), name.to_string(), up, down));
    }
    out.sort_by_key(|s| s.version);
    Some(out)
}

fn normalise(text: &str) -> String {
    text.trim_start_matches('\u{feff}').replace("\r\n", "\n")
}
