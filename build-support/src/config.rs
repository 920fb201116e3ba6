//! `[package.metadata.dbmigrate]` (defaults from `[workspace.metadata.dbmigrate]`).
//!
//! Read straight from the manifests with toml_edit rather than through `cargo metadata`:
//! the build script and the CLI's inner-loop commands must not spawn cargo.

use dbmigrate_core::TableNameError;
use std::fmt;
use std::path::{Path, PathBuf};
use toml_edit::{DocumentMut, Item};

/// The settings of one crate's migrations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The migrations folder, relative to the crate root.
    pub migrations: String,
    /// The environment variable that holds the database URL.
    pub database_url_env: String,
    /// The database used when no URL is given: the embedded SQLite default.
    pub default_database: String,
    /// The history table (refinery's by default).
    pub history_table: String,
    /// SQL run on every migration connection before any transaction begins.
    pub setup_sql: Option<String>,
    /// Seconds a migration's statement may wait for a lock another session holds (0: no
    /// limit); `None` leaves the engine's default (5).
    pub ddl_lock_timeout: Option<u64>,
    /// Whether `run` applies pending migrations older than the newest applied one (off: it
    /// refuses them, naming the files).
    pub allow_out_of_order: bool,
    /// The desired schema for `cargo dbmigrate diff` and `check --schema`, relative to the crate
    /// root.
    pub schema: String,
    /// The dialects the crate's migrations are written for (`dialects = ["postgres"]`): what
    /// lint checks them against and which desired-schema files autogenerate reads. Unset, it
    /// is the dialect of `default-database`.
    pub dialects: Vec<dbmigrate_core::Dialect>,
    /// The lint levels set in `[package.metadata.dbmigrate.lint]` (`<rule> = "error" | "warning"
    /// | "off"`); rules not listed keep their default level.
    pub lint: Vec<(crate::Rule, crate::lint::Level)>,
}

/// The keys users may set, in the order `init` writes them.
pub const KEYS: &[&str] = &[
    "migrations",
    "database-url-env",
    "default-database",
    "history-table",
    "setup-sql",
    "ddl-lock-timeout",
    "allow-out-of-order",
    "schema",
    "dialects",
    "lint",
];

impl Config {
    /// The dialects the migrations are written for: `dialects`, else the dialect of
    /// `default-database` (SQLite when its scheme is unknown).
    pub fn target_dialects(&self) -> Vec<dbmigrate_core::Dialect> {
        if !self.dialects.is_empty() {
            return self.dialects.clone();
        }
        vec![dbmigrate_core::Dialect::of_url(&self.default_database).unwrap_or(dbmigrate_core::Dialect::Sqlite)]
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            migrations: "migrations".to_owned(),
            database_url_env: "DATABASE_URL".to_owned(),
            default_database: "sqlite:dev.db".to_owned(),
            history_table: dbmigrate_core::DEFAULT_HISTORY_TABLE.to_owned(),
            setup_sql: None,
            ddl_lock_timeout: None,
            allow_out_of_order: false,
            schema: "schema.sql".to_owned(),
            dialects: Vec::new(),
            lint: Vec::new(),
        }
    }
}

/// A manifest that cannot be read, or a `dbmigrate` metadata table with a bad key or value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The manifest at fault.
    pub file: PathBuf,
    /// What is wrong, lowercase.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A crate's manifest, parsed once.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// Path of `Cargo.toml`.
    pub path: PathBuf,
    /// The parsed document.
    pub doc: DocumentMut,
}

impl Manifest {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let fail = |message: String| ConfigError { file: path.to_owned(), message, help: None };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read the manifest: {e}")))?;
        let doc = text
            .parse::<DocumentMut>()
            .map_err(|e| fail(format!("the manifest is not valid TOML: {}", e.message())))?;
        Ok(Self { path: path.to_owned(), doc })
    }

    /// The folder holding the manifest.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// `package.name`, when this is a package manifest.
    pub fn package_name(&self) -> Option<&str> {
        self.doc.get("package")?.get("name")?.as_str()
    }

    /// Whether the manifest has a `[workspace]` table.
    pub fn is_workspace_root(&self) -> bool {
        self.doc.get("workspace").is_some()
    }

    /// The workspace root's manifest: itself, the one named by `package.workspace`, or the
    /// nearest ancestor with `[workspace]`. `None` for a crate outside any workspace.
    pub fn workspace_root(&self) -> Result<Option<Manifest>, ConfigError> {
        if self.is_workspace_root() {
            return Ok(None);
        }
        if let Some(rel) = self.doc.get("package").and_then(|p| p.get("workspace")).and_then(Item::as_str) {
            return Manifest::read(&self.dir().join(rel).join("Cargo.toml")).map(Some);
        }
        for dir in self.dir().ancestors().skip(1) {
            let candidate = dir.join("Cargo.toml");
            if candidate.is_file() {
                let manifest = Manifest::read(&candidate)?;
                if manifest.is_workspace_root() {
                    return Ok(Some(manifest));
                }
            }
        }
        Ok(None)
    }

    /// The crate's migration settings: package keys over workspace keys over defaults.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let own_ws = self.is_workspace_root().then_some(self);
        let parent = self.workspace_root()?;
        if let Some(ws) = own_ws.or(parent.as_ref()) {
            let table = ws.doc.get("workspace").and_then(|w| w.get("metadata")).and_then(|m| m.get("dbmigrate"));
            apply(&mut config, table, &ws.path, "workspace.metadata.dbmigrate")?;
        }
        let table = self.doc.get("package").and_then(|p| p.get("metadata")).and_then(|m| m.get("dbmigrate"));
        apply(&mut config, table, &self.path, "package.metadata.dbmigrate")?;
        Ok(config)
    }
}

fn apply(config: &mut Config, item: Option<&Item>, file: &Path, where_: &str) -> Result<(), ConfigError> {
    let Some(item) = item else { return Ok(()) };
    let fail = |message: String, help: Option<String>| ConfigError { file: file.to_owned(), message, help };
    let Some(table) = item.as_table_like() else {
        return Err(fail(format!("`{where_}` must be a table"), None));
    };
    for (key, value) in table.iter() {
        // `backup` belongs to deploy settings that a later release reads; accept it as a table.
        if key == "backup" && value.is_table_like() {
            continue;
        }
        if key == "ddl-lock-timeout" {
            config.ddl_lock_timeout = Some(seconds(value).ok_or_else(|| {
                fail(
                    format!("`{where_}.{key}` must be a whole number of seconds"),
                    Some(format!("for example `{key} = 5`, or `{key} = 0` to wait without limit")),
                )
            })?);
            continue;
        }
        if key == "dialects" {
            config.dialects = dialects(value).map_err(|bad| {
                fail(
                    format!("`{where_}.{key}` {bad}"),
                    Some(format!("for example `{key} = [\"postgres\"]`; the dialects are sqlite, postgres and mysql")),
                )
            })?;
            continue;
        }
        if key == "lint" {
            lint_levels(config, value, &format!("{where_}.lint")).map_err(|(m, h)| fail(m, Some(h)))?;
            continue;
        }
        if key == "allow-out-of-order" {
            config.allow_out_of_order = value.as_bool().ok_or_else(|| {
                fail(format!("`{where_}.{key}` must be true or false"), Some(format!("for example `{key} = true`")))
            })?;
            continue;
        }
        let Some(text) = value.as_str() else {
            return Err(fail(
                format!("`{where_}.{key}` must be a string"),
                KEYS.contains(&key).then(|| format!("write it as `{key} = \"...\"`")),
            ));
        };
        let slot = match key {
            "migrations" => &mut config.migrations,
            "database-url-env" => &mut config.database_url_env,
            "default-database" => &mut config.default_database,
            "history-table" => &mut config.history_table,
            "schema" => &mut config.schema,
            "setup-sql" => {
                config.setup_sql = Some(text.to_owned());
                continue;
            }
            _ => return Err(unknown_key(file, where_, key)),
        };
        *slot = text.to_owned();
    }
    validate(config, file, where_)
}

/// `[….lint]`: a level per lint rule id; a later table (the package's) overrides an earlier
/// one (the workspace's) rule by rule.
fn lint_levels(config: &mut Config, value: &Item, where_: &str) -> Result<(), (String, String)> {
    let ids = || crate::lint::LINT.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let Some(table) = value.as_table_like() else {
        return Err((
            format!("`{where_}` must be a table"),
            format!("for example `[{where_}]` with `rename = \"off\"`"),
        ));
    };
    for (id, level) in table.iter() {
        let Some(rule) = crate::lint::LINT.iter().copied().find(|r| r.as_str() == id) else {
            return Err((
                format!("unknown lint rule `{id}` in `[{where_}]`"),
                format!("the lint rules are: {}", ids()),
            ));
        };
        let Some(level) = level.as_str().and_then(crate::lint::Level::from_name) else {
            return Err((
                format!("`{where_}.{id}` must be \"error\", \"warning\", \"info\" or \"off\""),
                format!("for example `{id} = \"warning\"`"),
            ));
        };
        config.lint.retain(|(r, _)| *r != rule);
        config.lint.push((rule, level));
    }
    Ok(())
}

/// A list of dialect names (a single name is a list of one), without repeats.
fn dialects(value: &Item) -> Result<Vec<dbmigrate_core::Dialect>, String> {
    let names: Vec<&str> = match (value.as_str(), value.as_array()) {
        (Some(one), _) => vec![one],
        (None, Some(list)) => {
            list.iter().map(|v| v.as_str().ok_or("must list dialect names as strings")).collect::<Result<_, _>>()?
        }
        _ => return Err("must be a list of dialect names".to_owned()),
    };
    if names.is_empty() {
        return Err("is empty".to_owned());
    }
    let mut out = Vec::new();
    for name in names {
        let d = dbmigrate_core::Dialect::from_name(name).ok_or_else(|| format!("names an unknown dialect `{name}`"))?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// A whole number of seconds, written as an integer or a string of digits.
fn seconds(value: &Item) -> Option<u64> {
    match value.as_integer() {
        Some(n) => u64::try_from(n).ok(),
        None => value.as_str()?.trim().parse().ok(),
    }
}

fn unknown_key(file: &Path, where_: &str, key: &str) -> ConfigError {
    ConfigError {
        file: file.to_owned(),
        message: format!("unknown key `{key}` in `[{where_}]`"),
        help: Some(format!("the known keys are: {}", KEYS.join(", "))),
    }
}

fn validate(config: &Config, file: &Path, where_: &str) -> Result<(), ConfigError> {
    let fail =
        |message: String, help: &str| ConfigError { file: file.to_owned(), message, help: Some(help.to_owned()) };
    // The engine's own rule (it refuses the same names at `run`), so a name that builds also runs.
    let table = &config.history_table;
    match dbmigrate_core::history_table::validate(table) {
        Ok(()) => {}
        Err(TableNameError::NotIdentifier) => {
            return Err(fail(
                format!("`{where_}.history-table` is `{table}`, which is not a plain SQL identifier"),
                "use letters, digits and `_`, starting with a letter (refinery pastes the name into SQL unquoted)",
            ));
        }
        Err(e @ TableNameError::TooLong { .. }) => {
            return Err(fail(
                format!("`{where_}.history-table` is {e}"),
                "shorten it: on MySQL/MariaDB the engine adds a `<table>_dbmigrate` table, and identifiers stop at 64 characters",
            ));
        }
    }
    let dir = Path::new(&config.migrations);
    if config.migrations.is_empty() || dir.is_absolute() {
        return Err(fail(
            format!("`{where_}.migrations` is `{}`; it must be a folder relative to the crate", config.migrations),
            "for example `migrations = \"migrations\"`",
        ));
    }
    if config.database_url_env.is_empty() {
        return Err(fail(
            format!("`{where_}.database-url-env` is empty"),
            "for example `database-url-env = \"DATABASE_URL\"`",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_of(package: &str, workspace: Option<&str>) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some(ws) = workspace {
            std::fs::write(dir.path().join("Cargo.toml"), ws).expect("write");
        }
        let krate = dir.path().join("app");
        std::fs::create_dir(&krate).expect("mkdir");
        std::fs::write(krate.join("Cargo.toml"), package).expect("write");
        Manifest::read(&krate.join("Cargo.toml"))?.config()
    }

    const PKG: &str = "[package]\nname = \"app\"\n";

    #[test]
    fn defaults_when_nothing_is_set() {
        assert_eq!(config_of(PKG, None), Ok(Config::default()));
    }

    #[test]
    fn package_keys_override_workspace_keys() {
        let ws = "[workspace]\nmembers = [\"app\"]\n[workspace.metadata.dbmigrate]\nmigrations = \"sql\"\nhistory-table = \"hist\"\n";
        let pkg = format!("{PKG}[package.metadata.dbmigrate]\nhistory-table = \"mine\"\n");
        let config = config_of(&pkg, Some(ws)).expect("config");
        assert_eq!((config.migrations.as_str(), config.history_table.as_str()), ("sql", "mine"));
    }

    #[test]
    fn lint_levels_are_read_and_unknown_rules_refused() {
        use crate::{Rule, lint::Level};
        let pkg = format!("{PKG}[package.metadata.dbmigrate.lint]\nrename = \"off\"\ndestructive = \"warning\"\n");
        let ws = "[workspace.metadata.dbmigrate.lint]\nrename = \"error\"\nmysql-multi-ddl = \"error\"\n";
        let config = config_of(&pkg, Some(ws)).expect("config");
        assert_eq!(
            config.lint,
            [(Rule::MysqlMultiDdl, Level::Error), (Rule::Rename, Level::Off), (Rule::Destructive, Level::Warning)]
        );
        let pkg = format!("{PKG}[package.metadata.dbmigrate.lint]\nrenames = \"off\"\n");
        let err = config_of(&pkg, None).expect_err("unknown rule");
        assert!(err.message.contains("unknown lint rule `renames`"), "{}", err.message);
        assert!(err.help.as_deref().is_some_and(|h| h.contains("not-null-without-default")), "{err:?}");
        let pkg = format!("{PKG}[package.metadata.dbmigrate.lint]\nrename = \"loud\"\n");
        assert!(config_of(&pkg, None).expect_err("bad level").message.contains("must be \"error\""));
    }

    #[test]
    fn dialects_are_listed_or_follow_the_default_database() {
        use dbmigrate_core::Dialect;
        assert_eq!(Config::default().target_dialects(), [Dialect::Sqlite]);
        let pkg = format!("{PKG}[package.metadata.dbmigrate]\ndefault-database = \"postgres://u@h/app\"\n");
        assert_eq!(config_of(&pkg, None).expect("config").target_dialects(), [Dialect::Postgres]);
        let pkg = format!("{PKG}[package.metadata.dbmigrate]\ndialects = [\"mariadb\", \"sqlite\", \"mysql\"]\n");
        assert_eq!(config_of(&pkg, None).expect("config").target_dialects(), [Dialect::Mysql, Dialect::Sqlite]);
        let pkg = format!("{PKG}[package.metadata.dbmigrate]\ndialects = [\"oracle\"]\n");
        let err = config_of(&pkg, None).expect_err("unknown dialect");
        assert!(err.message.contains("unknown dialect `oracle`"), "{}", err.message);
    }

    #[test]
    fn unknown_key_is_named() {
        let pkg = format!("{PKG}[package.metadata.dbmigrate]\nmigration = \"x\"\n");
        let err = config_of(&pkg, None).expect_err("unknown key");
        assert!(err.message.contains("unknown key `migration`"), "{err}");
        assert!(err.help.as_deref().is_some_and(|h| h.contains("migrations")));
    }

    #[test]
    fn allow_out_of_order_is_a_boolean_off_by_default() {
        assert!(!config_of(PKG, None).expect("config").allow_out_of_order);
        let pkg = format!("{PKG}[package.metadata.dbmigrate]\nallow-out-of-order = true\n");
        assert!(config_of(&pkg, None).expect("config").allow_out_of_order);
        let pkg = format!("{PKG}[package.metadata.dbmigrate]\nallow-out-of-order = \"yes\"\n");
        let err = config_of(&pkg, None).expect_err("a string");
        assert!(err.message.contains("must be true or false"), "{err}");
    }

    #[test]
    fn ddl_lock_timeout_is_seconds() {
        for (text, want) in [("5", 5), ("0", 0), ("\"30\"", 30)] {
            let pkg = format!("{PKG}[package.metadata.dbmigrate]\nddl-lock-timeout = {text}\n");
            assert_eq!(config_of(&pkg, None).expect("config").ddl_lock_timeout, Some(want), "{text}");
        }
        assert_eq!(config_of(PKG, None).expect("config").ddl_lock_timeout, None);
    }

    #[test]
    fn bad_values_are_rejected() {
        for bad in [
            "history-table = \"a; drop\"",
            "migrations = 3",
            "migrations = \"/abs\"",
            "ddl-lock-timeout = -1",
            "ddl-lock-timeout = \"5s\"",
        ] {
            let pkg = format!("{PKG}[package.metadata.dbmigrate]\n{bad}\n");
            assert!(config_of(&pkg, None).is_err(), "{bad}");
        }
    }

    /// The engine refuses history tables over 54 characters at `run`; the build must refuse
    /// them first, naming the limit.
    #[test]
    fn a_history_table_the_engine_refuses_is_refused() {
        let ok = format!("{PKG}[package.metadata.dbmigrate]\nhistory-table = \"{}\"\n", "h".repeat(54));
        assert!(config_of(&ok, None).is_ok());
        let long = format!("{PKG}[package.metadata.dbmigrate]\nhistory-table = \"{}\"\n", "h".repeat(60));
        let err = config_of(&long, None).expect_err("60 characters");
        assert_eq!(err.message, "`package.metadata.dbmigrate.history-table` is 60 characters long; the limit is 54");
    }
}
