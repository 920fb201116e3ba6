//! Setting a crate up for migrations: every change is planned first as (path, old text, new
//! text), so a dry run can show a diff, a second run can say nothing changed, and each file is
//! written atomically.

use super::{Note, Notify};
use crate::workspace::Target;
use crate::{CliError, fsutil};
use dbmigrate_template as template;
use std::path::{Path, PathBuf};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};

/// A database driver to enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// SQLite through rusqlite, bundled (no system library needed)
    Sqlite,
    /// PostgreSQL through the `postgres` crate
    Postgres,
    /// MySQL or MariaDB through the `mysql` crate
    Mysql,
}

impl Driver {
    fn runtime_feature(self) -> &'static str {
        match self {
            Driver::Sqlite => "sqlite",
            Driver::Postgres => "postgres",
            Driver::Mysql => "mysql",
        }
    }

    fn refinery_feature(self) -> &'static str {
        match self {
            Driver::Sqlite => "rusqlite-bundled",
            Driver::Postgres => "postgres",
            Driver::Mysql => "mysql",
        }
    }
}

/// Where the crate gets dbmigrate-build and dbmigrate-runtime from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// crates.io, by this binary's version.
    Registry,
    /// Local folders (a checkout of this repository), by path.
    Local { build: PathBuf, runtime: PathBuf },
}

impl Source {
    /// The crates of the checkout whose root is `root`.
    pub fn checkout(root: &Path) -> Self {
        Source::Local { build: root.join("build-support"), runtime: root.join("runtime") }
    }
}

/// What to set up.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The drivers to enable in refinery and the runtime; the first decides the default
    /// database.
    pub drivers: Vec<Driver>,
    /// Where dbmigrate-build and dbmigrate-runtime come from.
    pub source: Source,
}

/// The checkout of this repository that this binary was built from, when it is still on disk:
/// its crates are not on crates.io before publication, so a crate set up by a binary built
/// from a checkout (`cargo install --path`) builds only against that checkout. A binary built
/// from the registry's package has no such folder beside it.
pub fn built_from_checkout() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let doc = |rel: &str| std::fs::read_to_string(root.join(rel)).ok()?.parse::<DocumentMut>().ok();
    let named = |rel: &str, name: &str| {
        doc(rel).is_some_and(|d| d.get("package").and_then(|p| p.get("name")).and_then(Item::as_str) == Some(name))
    };
    let workspace = doc("Cargo.toml").is_some_and(|d| d.contains_key("workspace"));
    let found = workspace
        && named("build-support/Cargo.toml", "dbmigrate-build")
        && named("runtime/Cargo.toml", "dbmigrate-runtime");
    found.then(|| root.canonicalize().unwrap_or_else(|_| root.to_owned()))
}

/// The `default-database` written for a new crate: SQLite's file beside the crate, or a local
/// server's database named after the crate, as its stock administrator (`postgres`, `root`).
pub fn default_database(driver: Driver, package: &str) -> String {
    let name = package.replace('-', "_");
    match driver {
        Driver::Sqlite => dbmigrate_build::internal::Config::default().default_database,
        Driver::Postgres => format!("postgres://postgres@localhost/{name}"),
        Driver::Mysql => format!("mysql://root@localhost/{name}"),
    }
}

/// One planned file change.
#[derive(Debug)]
pub struct Change {
    pub path: PathBuf,
    /// `None`: the file is new.
    pub old: Option<String>,
    pub new: String,
}

/// Everything `init` would do to a crate.
#[derive(Debug)]
pub struct Plan {
    /// The files to write; none that would stay the same.
    pub changes: Vec<Change>,
    /// The migrations folder, and whether it must be created.
    pub migrations: PathBuf,
    pub create_dir: bool,
    /// The build script, and whether it needs the call added by hand.
    pub build_rs: PathBuf,
    pub manual: bool,
    /// Whether dbmigrate-build or dbmigrate-runtime is added by path (a new dependency).
    pub adds_local: bool,
}

impl Plan {
    /// Whether the crate is already set up.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && !self.create_dir && !self.manual
    }
}

/// Plans the changes that set `target` up; writes nothing.
pub fn plan(target: &Target, setup: &Setup) -> Result<Plan, CliError> {
    let root = target.dir().as_std_path();
    let migrations = target.migrations_dir().into_std_path_buf();
    let (manifest, adds_local, database) = manifest_change(target, setup)?;
    let mut changes = vec![manifest, gitattributes_change(&migrations)?];
    changes.extend(gitignore_change(root, &database)?);
    let build_rs = root.join(build_script_path(&target.manifest.doc));
    let manual = match build_rs_change(&build_rs)? {
        BuildRs::Change(change) => {
            changes.push(change);
            false
        }
        BuildRs::Done => false,
        BuildRs::Manual => true,
    };
    changes.retain(|c| c.old.as_deref() != Some(c.new.as_str()));
    let create_dir = !migrations.is_dir();
    Ok(Plan { changes, migrations, create_dir, build_rs, manual, adds_local })
}

/// Creates the folder and writes every change, each file atomically.
pub fn apply(plan: &Plan, notify: &mut Notify<'_>) -> Result<(), CliError> {
    if plan.create_dir {
        std::fs::create_dir_all(&plan.migrations)
            .map_err(|e| CliError::failure(format!("cannot create `{}`: {e}", plan.migrations.display())))?;
        notify(Note::Wrote { path: &plan.migrations, created: true });
    }
    for change in &plan.changes {
        fsutil::write_atomic(&change.path, &change.new)?;
        notify(Note::Wrote { path: &change.path, created: change.old.is_none() });
    }
    Ok(())
}

/// Where the crate's build script lives (`package.build`, else `build.rs`).
fn build_script_path(doc: &DocumentMut) -> PathBuf {
    let custom = doc.get("package").and_then(|p| p.get("build")).and_then(Item::as_str);
    PathBuf::from(custom.unwrap_or("build.rs"))
}

/// The manifest's change, whether it adds a dependency by path, and the crate's default
/// database once set up.
fn manifest_change(target: &Target, setup: &Setup) -> Result<(Change, bool, String), CliError> {
    let old = target.manifest.doc.to_string();
    let mut doc = target.manifest.doc.clone();
    let version = env!("CARGO_PKG_VERSION");
    let (build_dep, runtime_path) = match &setup.source {
        Source::Local { build, runtime } => {
            let mut t = InlineTable::new();
            t.insert("path", absolute(build).display().to_string().into());
            (Item::Value(t.into()), Some(absolute(runtime)))
        }
        Source::Registry => (value(version), None),
    };
    let adds_local = runtime_path.is_some()
        && !(has_dep(&doc, "build-dependencies", "dbmigrate-build")
            && has_dep(&doc, "dependencies", "dbmigrate-runtime"));
    // An async app gets `migrations::run_async` too; the choice is written down, so the build
    // never has to guess it from the manifest.
    let tokio = depends_on(&doc, "tokio");
    let mut runtime_features: Vec<&str> = setup.drivers.iter().map(|d| d.runtime_feature()).collect();
    let mut build_features = vec!["runtime"];
    if tokio {
        runtime_features.push("tokio");
        build_features.push("runtime-async");
    }
    let build_deps = table(&mut doc, "build-dependencies", &target.manifest.path)?;
    add_features(build_deps.entry("dbmigrate-build").or_insert(build_dep), &build_features);
    let features: Vec<&str> =
        std::iter::once("int8-versions").chain(setup.drivers.iter().map(|d| d.refinery_feature())).collect();
    let deps = table(&mut doc, "dependencies", &target.manifest.path)?;
    add_runtime(deps, version, runtime_path.as_deref(), &runtime_features);
    add_refinery(deps, &features);
    let first = setup.drivers.first().copied().unwrap_or(Driver::Sqlite);
    let database = add_metadata(&mut doc, &target.manifest.path, &default_database(first, &target.package))?
        .unwrap_or_else(|| target.config.default_database.clone());
    let change = Change { path: target.manifest.path.clone(), old: Some(old), new: doc.to_string() };
    Ok((change, adds_local, database))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Whether the manifest's table `table` already names `dependency`.
fn has_dep(doc: &DocumentMut, table: &str, dependency: &str) -> bool {
    doc.get(table).and_then(Item::as_table_like).is_some_and(|t| t.contains_key(dependency))
}

/// The top-level table `name`, created (after the existing ones) when absent.
fn table<'a>(doc: &'a mut DocumentMut, name: &str, path: &Path) -> Result<&'a mut Table, CliError> {
    let item = doc.entry(name).or_insert_with(|| Item::Table(Table::new()));
    item.as_table_mut().ok_or_else(|| CliError::failure(format!("`{name}` in `{}` is not a table", path.display())))
}

/// Adds dbmigrate-runtime (the safe runner behind the generated `migrations::run`) with the
/// driver features, or adds missing features to the one already there.
fn add_runtime(deps: &mut Table, version: &str, path: Option<&Path>, features: &[&str]) {
    let entry = deps.entry("dbmigrate-runtime").or_insert_with(|| {
        let mut t = InlineTable::new();
        match path {
            Some(path) => t.insert("path", path.display().to_string().into()),
            None => t.insert("version", version.into()),
        };
        Item::Value(t.into())
    });
    add_features(entry, features);
}

/// Adds refinery with `features`, or adds the missing features to the one already there.
fn add_refinery(deps: &mut Table, features: &[&str]) {
    let entry = deps.entry("refinery").or_insert_with(|| {
        let mut t = InlineTable::new();
        t.insert("version", "0.10".into());
        Item::Value(t.into())
    });
    add_features(entry, features);
}

/// Whether the crate depends on package `name`, in `[dependencies]` or a
/// `[target.'cfg(..)'.dependencies]` (a renamed dependency counts by its package).
fn depends_on(doc: &DocumentMut, name: &str) -> bool {
    let targets = doc.get("target").and_then(Item::as_table_like);
    let target_deps = targets.into_iter().flat_map(|t| t.iter()).filter_map(|(_, t)| t.get("dependencies"));
    let mut tables = doc.get("dependencies").into_iter().chain(target_deps).filter_map(Item::as_table_like);
    tables.any(|deps| deps.iter().any(|(key, dep)| dep.get("package").and_then(Item::as_str).unwrap_or(key) == name))
}

/// Adds the missing `features` to a dependency, turning a bare version string into an inline
/// table first.
fn add_features(entry: &mut Item, features: &[&str]) {
    if let Some(version) = entry.as_str().map(str::to_owned) {
        let mut t = InlineTable::new();
        t.insert("version", version.into());
        *entry = Item::Value(t.into());
    }
    let Some(t) = entry.as_table_like_mut() else { return };
    let list = t.entry("features").or_insert(Item::Value(Array::new().into()));
    if let Some(array) = list.as_array_mut() {
        for feature in features {
            if !array.iter().any(|v| v.as_str() == Some(feature)) {
                array.push(*feature);
            }
        }
    }
}

/// Adds `[package.metadata.dbmigrate]` with `database` as the default database, unless the
/// crate has one; returns the database when it wrote it.
fn add_metadata(doc: &mut DocumentMut, path: &Path, database: &str) -> Result<Option<String>, CliError> {
    let package = table(doc, "package", path)?;
    let metadata = package.entry("metadata").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let Some(metadata) = metadata.as_table_like_mut() else { return Ok(None) };
    if metadata.contains_key("dbmigrate") {
        return Ok(None);
    }
    let defaults = dbmigrate_build::internal::Config::default();
    let mut t = Table::new();
    t.insert("migrations", value(defaults.migrations));
    t.insert("database-url-env", value(defaults.database_url_env));
    t.insert("default-database", value(database));
    metadata.insert("dbmigrate", Item::Table(t));
    Ok(Some(database.to_owned()))
}

fn gitattributes_change(migrations: &Path) -> Result<Change, CliError> {
    ensure_line(migrations.join(".gitattributes"), template::GITATTRIBUTES_LINE.trim())
}

/// In a git checkout, keeps the backups (which hold every row of the database) and the
/// embedded default SQLite database (with its journal, WAL and lock files) out of commits:
/// `/.dbmigrate/` and `/dev.db*` in the crate's `.gitignore`.
fn gitignore_change(root: &Path, default_database: &str) -> Result<Option<Change>, CliError> {
    if !root.ancestors().any(|dir| dir.join(".git").exists()) {
        return Ok(None);
    }
    let mut lines = vec![crate::backup::config::GITIGNORE_LINE.to_owned()];
    // Only a plain relative file (`sqlite:dev.db`), not `sqlite::memory:` or an absolute path.
    let file = default_database.strip_prefix("sqlite:").filter(|f| !f.is_empty() && !f.contains(':'));
    if let Some(file) = file.filter(|f| !Path::new(f).is_absolute() && !f.starts_with("//")) {
        lines.push(format!("/{file}*"));
    }
    let path = root.join(".gitignore");
    let mut change = ensure_line(path.clone(), &lines[0])?;
    for line in &lines[1..] {
        change.new = ensure_line_in(std::mem::take(&mut change.new), line);
    }
    Ok(Some(change))
}

/// `path` with `line` appended unless a line already says it.
fn ensure_line(path: PathBuf, line: &str) -> Result<Change, CliError> {
    let old = read_optional(&path)?;
    let new = ensure_line_in(old.clone().unwrap_or_default(), line);
    Ok(Change { path, old, new })
}

/// `text` with `line` appended unless a line already says it.
fn ensure_line_in(mut text: String, line: &str) -> String {
    if !text.lines().any(|l| l.trim() == line) {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(line);
        text.push('\n');
    }
    text
}

enum BuildRs {
    Change(Change),
    Done,
    Manual,
}

fn build_rs_change(path: &Path) -> Result<BuildRs, CliError> {
    let Some(old) = read_optional(path)? else {
        return Ok(BuildRs::Change(Change { path: path.to_owned(), old: None, new: template::BUILD_RS.to_owned() }));
    };
    if old.contains("dbmigrate_build::") {
        return Ok(BuildRs::Done);
    }
    Ok(match insert_call(&old) {
        Some(new) => BuildRs::Change(Change { path: path.to_owned(), old: Some(old), new }),
        None => BuildRs::Manual,
    })
}

/// Inserts the call as the first statement of `fn main`'s body. A statement at the start of a
/// block is valid whatever the function returns; anything but exactly one top-level
/// `fn main(` is left to the user.
pub fn insert_call(source: &str) -> Option<String> {
    let mut found = source.match_indices("fn main(");
    let (at, _) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let line_start = source[..at].rfind('\n').map_or(0, |n| n + 1);
    if !matches!(source[line_start..at].trim(), "" | "pub") {
        return None;
    }
    let brace = at + source[at..].find('{')?;
    let signature = &source[at..brace];
    if signature.contains(';') || signature.contains('}') {
        return None;
    }
    let call = template::BUILD_CALL.trim();
    let (head, tail) = source.split_at(brace + 1);
    let tail = tail.strip_prefix('\n').unwrap_or(tail);
    Some(format!("{head}\n    {call}\n{tail}"))
}

fn read_optional(path: &Path) -> Result<Option<String>, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::failure(format!("cannot read `{}`: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_goes_first_in_plain_main() {
        let new = insert_call("fn main() {\n    println!(\"hi\");\n}\n").expect("plain main");
        assert_eq!(new, "fn main() {\n    dbmigrate_build::embed();\n    println!(\"hi\");\n}\n");
        let new = insert_call("fn main() -> Result<(), Box<dyn std::error::Error>> {\n    Ok(())\n}\n");
        assert!(new.expect("result main").contains("{\n    dbmigrate_build::embed();\n    Ok(())"));
        assert!(insert_call("fn main() {}\n").is_some());
    }

    #[test]
    fn unusual_build_scripts_are_left_to_the_user() {
        assert_eq!(insert_call("use x::y;\nx::main!();\n"), None);
        assert_eq!(insert_call("fn main() { a() }\nmod m { fn main() {} }\n"), None);
    }

    #[test]
    fn tokio_is_found_in_target_tables_and_by_package() {
        let has = |toml: &str| depends_on(&toml.parse().expect("toml"), "tokio");
        assert!(has("[dependencies]\ntokio = \"1\"\n"));
        assert!(has("[target.'cfg(unix)'.dependencies]\ntokio = { version = \"1\" }\n"));
        assert!(has("[dependencies]\nrt = { package = \"tokio\", version = \"1\" }\n"));
        assert!(!has("[dev-dependencies]\ntokio = \"1\"\n[dependencies]\ntokio-util = \"0.7\"\n"));
    }
}
