//! The build-script entry point: validate, then embed the migrations with refinery.
//!
//! ```no_run
//! // in build.rs's `fn main`:
//! dbmigrate_build::embed();
//! ```
//! and in the crate: `include!(concat!(env!("OUT_DIR"), "/dbmigrate.rs"));`, then
//! `migrations::runner().run(&mut conn)?;`.

use crate::check::{Checked, check, check_manifest, config_finding};
use crate::{Finding, Manifest};
use std::path::{Path, PathBuf};

/// The file written to `OUT_DIR`.
pub const OUT_FILE: &str = "dbmigrate.rs";

/// Checks and embeds the crate's migrations with the settings of its `Cargo.toml`. Problems fail
/// the build through `cargo::error=` lines; it never panics.
pub fn embed() {
    Embed::new().run();
}

/// Options for [`embed`].
#[derive(Clone, Debug, Default)]
pub struct Embed {
    migrations_dir: Option<String>,
}

/// What the build script prints and writes, computed without touching the environment.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    /// The `cargo::` lines, in order.
    pub directives: Vec<String>,
    /// The Rust source for `OUT_DIR/dbmigrate.rs`, when there are no errors.
    pub code: Option<String>,
    /// Normalised copies of files whose raw text has a BOM or CR: (path in OUT_DIR, text).
    pub normalized: Vec<(PathBuf, String)>,
}

impl Embed {
    /// The defaults: everything from `[package.metadata.dbmigrate]`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this folder (relative to the crate) instead of the configured one.
    #[must_use]
    pub fn migrations_dir(mut self, dir: impl Into<String>) -> Self {
        self.migrations_dir = Some(dir.into());
        self
    }

    /// Runs inside a build script: prints the directives and writes `OUT_DIR/dbmigrate.rs`.
    /// Returns whether the migrations were embedded.
    pub fn run(&self) -> bool {
        let (Some(crate_root), Some(out_dir)) = (std::env::var_os("CARGO_MANIFEST_DIR"), std::env::var_os("OUT_DIR"))
        else {
            println!(
                "cargo::error=dbmigrate_build::embed() must run inside a build script (CARGO_MANIFEST_DIR and OUT_DIR are unset)"
            );
            return false;
        };
        let generated = self.generate(Path::new(&crate_root), Path::new(&out_dir));
        let mut ok = generated.code.is_some();
        for (path, text) in &generated.normalized {
            ok &= write(path, text);
        }
        if let Some(code) = &generated.code {
            ok &= write(&Path::new(&out_dir).join(OUT_FILE), code);
        }
        let mut out = String::new();
        generated.directives.iter().for_each(|d| {
            out.push_str(d);
            out.push('\n');
        });
        print!("{out}");
        ok
    }

    /// Validates the crate at `crate_root` and computes everything [`Embed::run`] would print
    /// and write, for `out_dir`.
    pub fn generate(&self, crate_root: &Path, out_dir: &Path) -> Generated {
        let checked = self.check(crate_root);
        let mut directives = rerun_lines(crate_root, &checked);
        for finding in &checked.findings {
            directives.extend(directive_lines(finding));
        }
        if checked.has_errors() {
            return Generated { directives, ..Generated::default() };
        }
        let normalized_dir = out_dir.join("dbmigrate-normalized");
        let mut normalized = Vec::new();
        let code = match source(&checked, &normalized_dir, &mut normalized) {
            Ok(code) => Some(code),
            Err(finding) => {
                directives.extend(directive_lines(&finding));
                None
            }
        };
        Generated { directives, code, normalized }
    }

    fn check(&self, crate_root: &Path) -> Checked {
        let manifest_path = crate_root.join("Cargo.toml");
        let Some(dir) = &self.migrations_dir else { return check_manifest(&manifest_path) };
        match Manifest::read(&manifest_path).and_then(|m| m.config()) {
            Ok(mut config) => {
                config.migrations.clone_from(dir);
                Checked { manifests: vec![manifest_path], ..check(crate_root, &config) }
            }
            Err(e) => Checked { findings: vec![config_finding(&e, crate_root)], ..Checked::default() },
        }
    }
}

fn write(path: &Path, text: &str) -> bool {
    let result = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(path, text));
    if let Err(e) = result {
        println!("cargo::error=cannot write `{}`: {e}", path.display());
        return false;
    }
    true
}

/// What Cargo must watch. Once one rerun line is printed Cargo watches only what is listed:
/// the folder (scanned recursively, so added and removed files count), the lock, the manifests
/// the settings came from. The build script reads no environment variables of its own beyond
/// the ones Cargo sets for every build script.
fn rerun_lines(crate_root: &Path, checked: &Checked) -> Vec<String> {
    let mut paths: Vec<PathBuf> = vec![checked.set.dir.clone()];
    // A listed path that does not exist makes Cargo rerun the script on every build; a lock
    // created later is still noticed, since it lives in the (recursively scanned) folder.
    if checked.lock_path().is_file() {
        paths.push(checked.lock_path());
    }
    paths.extend(checked.manifests.iter().cloned());
    if checked.manifests.is_empty() {
        paths.push(crate_root.join("Cargo.toml"));
    }
    paths.iter().map(|p| format!("cargo::rerun-if-changed={}", p.display())).collect()
}

/// A finding as `cargo::error=`/`cargo::warning=` lines. Cargo prefixes each line with
/// `error: <package>@<version>: `, so the gutter-and-arrow layout of the CLI's renderer turns
/// into noise here; instead the first line is `file: message` and each help is a line of its own.
pub fn directive_lines(finding: &Finding) -> Vec<String> {
    let kind = if finding.is_error() { "error" } else { "warning" };
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let mut lines = vec![format!("cargo::{kind}={}", one_line(&finding.to_string()))];
    if let Some((number, text)) = &finding.line {
        lines.push(format!("cargo::{kind}=  {number} | {}", one_line(text)));
    }
    lines.extend(finding.help.iter().map(|h| format!("cargo::{kind}=  help: {}", one_line(h))));
    lines
}

/// The generated module. Written with `push_str` rather than `format!`: the build script runs
/// unoptimised, and this loop runs once per migration.
fn source(
    checked: &Checked,
    normalized_dir: &Path,
    normalized: &mut Vec<(PathBuf, String)>,
) -> Result<String, Box<Finding>> {
    let dir = std::path::absolute(&checked.set.dir).unwrap_or_else(|_| checked.set.dir.clone());
    let mut table = String::with_capacity(320 * checked.set.migrations.len());
    for m in &checked.set.migrations {
        let base = if m.raw_differs { normalized_dir } else { dir.as_path() };
        let up = utf8_path(checked, base, &m.up_file)?;
        table.push_str("        MigrationInfo { version: ");
        table.push_str(&m.version.to_string());
        table.push_str(", name: \"");
        table.push_str(&m.name); // `[a-z0-9_]+`: nothing to escape
        table.push_str("\", up_hash: \"");
        table.push_str(&m.up_hash.to_string());
        table.push_str(if m.down_file.is_some() {
            "\", has_down: true, up: include_str!("
        } else {
            "\", has_down: false, up: include_str!("
        });
        push_literal(&mut table, &up);
        table.push_str("), down: ");
        match (&m.down_file, &m.down_sql) {
            (Some(file), Some(sql)) => {
                let down = utf8_path(checked, base, file)?;
                table.push_str("Some(include_str!(");
                push_literal(&mut table, &down);
                table.push_str(")) },\n");
                if m.raw_differs {
                    normalized.push((base.join(file), sql.clone()));
                }
            }
            _ => table.push_str("None },\n"),
        }
        if m.raw_differs {
            // Normalised copies, so refinery's checksums never depend on how git checked the
            // files out (BOM, CRLF).
            normalized.push((base.join(&m.up_file), m.up_sql.clone()));
        }
    }
    let mut code = TEMPLATE.replace("{dir}", &checked.set.display_dir).replace("{table}\n", &table);
    let deps = dependency_names(&checked.manifests);
    if deps.iter().any(|d| d == "dbmigrate-runtime") {
        code.truncate(code.trim_end().len() - 1); // reopen `mod migrations`
        code.push_str(&runtime_source(&checked.config));
        if deps.iter().any(|d| d == "tokio") {
            code.push_str(ASYNC_TEMPLATE);
        }
        code.push_str("}\n");
    }
    Ok(code)
}

/// The package names of the crate's `[dependencies]` (a renamed dependency counts by its
/// package). With `dbmigrate-runtime` the module gets a safe `run` (a locked,
/// one-transaction-per-migration apply); with `tokio` also `run_async`.
fn dependency_names(manifests: &[PathBuf]) -> Vec<String> {
    let Some(Ok(manifest)) = manifests.first().map(|p| Manifest::read(p)) else { return Vec::new() };
    let Some(deps) = manifest.doc.get("dependencies").and_then(|d| d.as_table_like()) else { return Vec::new() };
    deps.iter()
        .map(|(key, dep)| dep.get("package").and_then(|p| p.as_str()).unwrap_or(key).to_owned())
        .collect()
}

fn runtime_source(config: &crate::Config) -> String {
    let mut setup = String::new();
    match &config.setup_sql {
        Some(sql) => {
            setup.push_str("Some(");
            push_literal(&mut setup, sql);
            setup.push_str(".into())");
        }
        None => setup.push_str("None"),
    }
    RUNTIME_TEMPLATE.replace("{table}", &config.history_table).replace("{setup}", &setup)
}

const ASYNC_TEMPLATE: &str = r#"
    /// [`run`] for async applications. The engine uses its own blocking connection, on tokio's
    /// blocking pool, so it works whatever driver the application uses (tokio-postgres,
    /// mysql_async, sqlx) and never blocks the async executor.
    pub async fn run_async(
        database_url: &str,
    ) -> ::core::result::Result<::dbmigrate_runtime::Report, ::dbmigrate_runtime::Error> {
        let url = ::std::string::String::from(database_url);
        match ::tokio::task::spawn_blocking(move || run(&url)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => ::std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(::dbmigrate_runtime::Error::Aborted("the migration task was cancelled".into())),
        }
    }
"#;

const RUNTIME_TEMPLATE: &str = r#"
    /// The migrations as the engine's input.
    pub fn scripts() -> ::std::vec::Vec<::dbmigrate_runtime::MigrationScript<'static>> {
        MIGRATIONS
            .iter()
            .map(|m| ::dbmigrate_runtime::MigrationScript::new(m.version, m.name, m.up, m.down))
            .collect()
    }

    /// The engine settings from `[package.metadata.dbmigrate]` (history table, set-up SQL).
    pub fn options() -> ::dbmigrate_runtime::Options {
        ::dbmigrate_runtime::Options {
            table: "{table}".into(),
            setup_sql: {setup},
            ..::dbmigrate_runtime::Options::default()
        }
    }

    /// Applies every pending migration to `database_url` (`sqlite:PATH`, `postgres://…`,
    /// `mysql://…`; a relative SQLite path is relative to the current folder), safely: one
    /// migrator at a time, each migration and its history row in one transaction, the same
    /// history table as refinery and `cargo dbmigrate`. Errors never contain the password.
    pub fn run(database_url: &str) -> ::core::result::Result<::dbmigrate_runtime::Report, ::dbmigrate_runtime::Error> {
        let base = ::std::env::current_dir().unwrap_or_default();
        let url = ::dbmigrate_runtime::DatabaseUrl::parse(database_url, &base)?;
        let mut engine = ::dbmigrate_runtime::Engine::connect(&url, options())?;
        engine.run(&scripts(), ::dbmigrate_runtime::Target::Latest, &mut |_| {})
    }
"#;

/// `base/file` as UTF-8, which `include_str!` needs.
fn utf8_path(checked: &Checked, base: &Path, file: &str) -> Result<String, Box<Finding>> {
    base.join(file).into_os_string().into_string().map_err(|_| {
        Box::new(
            Finding::error(
                "non-utf8-path",
                checked.set.display(file),
                "the path is not valid UTF-8, so it cannot be embedded",
            )
            .help("move the crate to a folder whose path is UTF-8"),
        )
    })
}

/// A Rust string literal of `text`; escaping only when needed (Windows paths, quotes).
fn push_literal(out: &mut String, text: &str) {
    if text.contains(|c: char| c == '"' || c == '\\' || c.is_control()) {
        out.push_str(&format!("{text:?}"));
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

const TEMPLATE: &str = r#"// @generated by dbmigrate-build from `{dir}`. Do not edit: change the migrations instead.

/// The crate's SQL migrations, checked and embedded at build time by `dbmigrate_build::embed()`.
#[allow(dead_code)]
pub mod migrations {
    /// One embedded migration.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct MigrationInfo {
        /// The version (the number after `V`).
        pub version: i64,
        /// The name (after `__`).
        pub name: &'static str,
        /// SHA-256 of the up SQL, hex.
        pub up_hash: &'static str,
        /// Whether the migration has a down file.
        pub has_down: bool,
        /// The up SQL.
        pub up: &'static str,
        /// The down SQL.
        pub down: Option<&'static str>,
    }

    // A crate built without refinery's `int8-versions` feature computes different checksums
    // and rejects 14-digit timestamp versions.
    const _: () = assert!(
        ::core::mem::size_of::<::refinery::SchemaVersion>() == 8,
        "enable refinery's `int8-versions` feature: refinery = {{ version = \"0.10\", features = [\"int8-versions\", ...] }}"
    );

    /// Every migration, in version order.
    pub const MIGRATIONS: &[MigrationInfo] = &[
{table}
    ];

    /// A refinery runner holding every migration.
    pub fn runner() -> ::refinery::Runner {
        let migrations: ::std::vec::Vec<::refinery::Migration> = MIGRATIONS
            .iter()
            .map(|m| {
                ::refinery::Migration::unapplied(&::std::format!("V{}__{}", m.version, m.name), m.up)
                    .expect("dbmigrate-build checked this migration's name")
            })
            .collect();
        ::refinery::Runner::new(&migrations)
    }

    /// The down SQL of `version`, if it has one.
    pub fn down_sql(version: i64) -> ::core::option::Option<&'static str> {
        let i = MIGRATIONS.binary_search_by_key(&version, |m| m.version).ok()?;
        MIGRATIONS[i].down
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"app\"\n").expect("write");
        std::fs::create_dir(dir.path().join("migrations")).expect("mkdir");
        for (name, text) in files {
            std::fs::write(dir.path().join("migrations").join(name), text).expect("write");
        }
        dir
    }

    #[test]
    fn embeds_in_version_order_with_normalised_copies() {
        let dir =
            krate(&[("V10__b.sql", "select 2;\r\n"), ("V2__a.sql", "select 1;"), ("V2__a.down.sql", "select 0;")]);
        let out = dir.path().join("out");
        let generated = Embed::new().generate(dir.path(), &out);
        let code = generated.code.expect("code");
        let a = code.find("version: 2,").expect("v2");
        let b = code.find("version: 10,").expect("v10");
        assert!(a < b);
        assert!(code.contains("down: Some(include_str!("), "{code}");
        assert_eq!(generated.normalized, [(out.join("dbmigrate-normalized/V10__b.sql"), "select 2;\n".to_owned())]);
        assert!(generated.directives[0].starts_with("cargo::rerun-if-changed="));
        assert!(generated.directives.iter().all(|d| d.starts_with("cargo::rerun-if-changed=")));
    }

    #[test]
    fn errors_become_directives_and_no_code() {
        let dir = krate(&[("V1_x.sql", "")]);
        let generated = Embed::new().generate(dir.path(), &dir.path().join("out"));
        assert!(generated.code.is_none());
        let errors: Vec<&String> = generated.directives.iter().filter(|d| d.starts_with("cargo::error=")).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("migrations/V1_x.sql: malformed migration file name"));
        assert_eq!(errors[1], "cargo::error=  help: rename it to `V1__x.sql`");
    }

    #[test]
    fn migrations_dir_overrides_the_config() {
        let dir = krate(&[]);
        std::fs::create_dir(dir.path().join("sql")).expect("mkdir");
        std::fs::write(dir.path().join("sql/V1__a.sql"), "select 1;").expect("write");
        let generated = Embed::new().migrations_dir("sql").generate(dir.path(), &dir.path().join("out"));
        assert!(generated.code.expect("code").contains("V1__a.sql"));
    }
}
