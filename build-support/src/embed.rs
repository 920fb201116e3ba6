//! The build-script entry point: validate, then embed the migrations with refinery.
//!
//! ```no_run
//! // in build.rs's `fn main`:
//! dbmigrate_build::embed();
//! ```
//! and in the crate: `include!(concat!(env!("OUT_DIR"), "/dbmigrate.rs"));`, then
//! `migrations::run(&url)?;` (with [`Runtime`] helpers) or `migrations::runner().run(&mut conn)?;`.

use crate::cache::{CACHE_FILE, Cache};
use crate::check::{Checked, check_manifest_with, check_with, config_finding};
use crate::diagnostic::Severity;
use crate::{Finding, Manifest, MigrationSet, Rule};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
    runtime: Runtime,
}

/// Which helpers over dbmigrate-runtime the generated module gets. Chosen by this crate's
/// features (the [`Default`]) or by [`Embed::runtime`]; never guessed from the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// None: the module is the data and refinery's `runner()`, so the crate needs no
    /// dbmigrate-runtime. The default without features.
    Off,
    /// `run`, `scripts`, `options` and `SETTINGS`, over dbmigrate-runtime; `MigrationInfo` is
    /// its `EmbeddedMigration`. The default with the `runtime` feature.
    Blocking,
    /// Also `run_async`, which needs dbmigrate-runtime's `tokio` feature. The default with the
    /// `runtime-async` feature.
    Async,
}

impl Default for Runtime {
    fn default() -> Self {
        if cfg!(feature = "runtime-async") {
            Runtime::Async
        } else if cfg!(feature = "runtime") {
            Runtime::Blocking
        } else {
            Runtime::Off
        }
    }
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
    /// The hash cache for the next run ([`crate::cache`]): (path in OUT_DIR, bytes).
    pub cache: Option<(PathBuf, Vec<u8>)>,
}

impl Generated {
    /// Writes the normalised copies, the cache and the code into `out_dir`, reporting failures
    /// as `cargo::error=` lines. Returns whether the migrations were embedded.
    pub fn write(&self, out_dir: &Path) -> bool {
        let mut ok = self.code.is_some();
        for (path, text) in &self.normalized {
            ok &= write(path, text.as_bytes());
        }
        if let Some(code) = &self.code {
            ok &= write(&out_dir.join(OUT_FILE), code.as_bytes());
        }
        // Only an optimisation: a cache that cannot be written is no reason to fail the build.
        if let Some((path, bytes)) = &self.cache {
            let _ = std::fs::write(path, bytes);
        }
        ok
    }
}

impl Embed {
    /// The defaults: everything from `[package.metadata.dbmigrate]`, the runtime helpers from
    /// this crate's features.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this folder (relative to the crate) instead of the configured one.
    #[must_use]
    pub fn migrations_dir(mut self, dir: impl Into<String>) -> Self {
        self.migrations_dir = Some(dir.into());
        self
    }

    /// Generates these runtime helpers whatever this crate's features say: e.g. [`Runtime::Off`]
    /// for a crate that uses only refinery in a workspace where another crate turned the
    /// `runtime` feature on (Cargo unifies the features of a shared build-dependency).
    #[must_use]
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = runtime;
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
        let ok = generated.write(Path::new(&out_dir));
        let mut out = String::new();
        generated.directives.iter().for_each(|d| {
            out.push_str(d);
            out.push('\n');
        });
        print!("{out}");
        ok
    }

    /// Validates the crate at `crate_root` and computes everything [`Embed::run`] would print
    /// and write, for `out_dir`. For benchmarks and cargo-dbmigrate's tests; no stability.
    #[doc(hidden)]
    pub fn generate(&self, crate_root: &Path, out_dir: &Path) -> Generated {
        let cache_path = out_dir.join(CACHE_FILE);
        let mut entries = None;
        let checked = self.check(crate_root, &mut |root, rel_dir, lint| {
            let signature = lint.signature();
            let cache = Cache::read(&cache_path, &root.join(rel_dir), &signature);
            let (set, findings, new_entries) = MigrationSet::load_cached(root, rel_dir, cache, lint);
            entries = Some((new_entries, signature));
            (set, findings)
        });
        let cache = entries.map(|(entries, signature)| {
            (cache_path, Cache::encode(&checked.set.dir, &signature, entries, SystemTime::now()))
        });
        let mut directives = rerun_lines(crate_root, &checked);
        for finding in &checked.findings {
            directives.extend(directive_lines(finding));
        }
        if checked.has_errors() {
            return Generated { directives, cache, ..Generated::default() };
        }
        let normalized_dir = out_dir.join("dbmigrate-normalized");
        let mut normalized = Vec::new();
        let code = match source(&checked, self.runtime, &normalized_dir, &mut normalized) {
            Ok(code) => Some(code),
            Err(finding) => {
                directives.extend(directive_lines(&finding));
                None
            }
        };
        Generated { directives, code, normalized, cache }
    }

    fn check(&self, crate_root: &Path, load: crate::check::Load<'_>) -> Checked {
        let manifest_path = crate_root.join("Cargo.toml");
        let Some(dir) = &self.migrations_dir else { return check_manifest_with(&manifest_path, load) };
        match Manifest::read(&manifest_path).and_then(|m| m.config()) {
            Ok(mut config) => {
                config.migrations.clone_from(dir);
                Checked { manifests: vec![manifest_path], ..check_with(crate_root, &config, load) }
            }
            Err(e) => Checked { findings: vec![config_finding(&e, crate_root)], ..Checked::default() },
        }
    }
}

fn write(path: &Path, text: &[u8]) -> bool {
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
    if checked.release_log_path().is_file() {
        paths.push(checked.release_log_path());
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
/// An info (`not-checked`) prints nothing: a build is quiet about it, `cargo dbmigrate lint -v`
/// lists them.
pub fn directive_lines(finding: &Finding) -> Vec<String> {
    let kind = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => return Vec::new(),
    };
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
    runtime: Runtime,
    normalized_dir: &Path,
    normalized: &mut Vec<(PathBuf, String)>,
) -> Result<String, Box<Finding>> {
    let dir = std::path::absolute(&checked.set.dir).unwrap_or_else(|_| checked.set.dir.clone());
    // Every file name follows the grammar (`V`, digits, `__`, `[a-z0-9_]`, `.sql`), so only the
    // folders may need escaping: each is made a literal prefix once, not once per file.
    let Some(first) = checked.set.migrations.first() else { return Ok(finish(checked, String::new(), runtime)) };
    let dir_prefix = literal_prefix(checked, &dir, &first.up_file)?;
    let mut normalized_prefix = None;
    let mut table = String::with_capacity(300 * checked.set.migrations.len());
    for m in &checked.set.migrations {
        // A file whose raw text has a BOM or CR is embedded from a normalised copy, so
        // refinery's checksums never depend on how git checked the files out. The build's
        // cached load keeps exactly those files' texts.
        let mut embedded = |table: &mut String, file: &str| -> Result<(), Box<Finding>> {
            let prefix = match checked.set.texts.get(file) {
                Some(text) => {
                    normalized.push((normalized_dir.join(file), text.to_owned()));
                    if normalized_prefix.is_none() {
                        normalized_prefix = Some(literal_prefix(checked, normalized_dir, file)?);
                    }
                    normalized_prefix.as_deref().unwrap_or_default()
                }
                None => dir_prefix.as_str(),
            };
            table.push_str(prefix);
            table.push_str(file);
            table.push('"');
            Ok(())
        };
        table.push_str("        MigrationInfo { version: ");
        push_i64(&mut table, m.version);
        table.push_str(", name: \"");
        table.push_str(&m.name); // `[a-z0-9_]+`: nothing to escape
        table.push_str("\", up_hash: \"");
        m.up_hash.push_hex(&mut table);
        table.push_str(if m.down_file.is_some() {
            "\", has_down: true, up: include_str!("
        } else {
            "\", has_down: false, up: include_str!("
        });
        embedded(&mut table, &m.up_file)?;
        table.push_str("), down: ");
        match &m.down_file {
            Some(file) => {
                table.push_str("Some(include_str!(");
                embedded(&mut table, file)?;
                table.push_str("))");
            }
            None => table.push_str("None"),
        }
        // An unreleased migration edited after it was applied is reverted with its recorded down.
        table.push_str(if checked.release_log.contains(m.version) { ", released: true" } else { ", released: false" });
        // A database that applied the text before a rehash is updated, not refused, by `run`.
        match checked.release_log.rehash_reason(m.version) {
            Some(reason) => {
                table.push_str(", rehash: Some(");
                push_literal(&mut table, reason);
                table.push_str(") },\n");
            }
            None => table.push_str(", rehash: None },\n"),
        }
    }
    Ok(finish(checked, table, runtime))
}

/// The module around the table.
fn finish(checked: &Checked, table: String, runtime: Runtime) -> String {
    let mut code = HEAD_TEMPLATE.replace("{dir}", &checked.set.display_dir);
    code.push_str(if runtime == Runtime::Off { LOCAL_INFO_TEMPLATE } else { RUNTIME_INFO_TEMPLATE });
    code.push_str(&TEMPLATE.replace("{table}\n", &table));
    if runtime != Runtime::Off {
        code.push_str(&runtime_source(&checked.config));
    }
    if runtime == Runtime::Async {
        code.push_str(ASYNC_TEMPLATE);
    }
    code.push_str("}\n");
    code
}

/// Decimal digits without the formatting machinery (slow in an unoptimised build script).
fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // One `push_str` rather than a `push` per digit (each a UTF-8 encode in a debug build).
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// The opening of a string literal holding `dir` and a separator, e.g. `"/a/b/`; the file name
/// and the closing quote follow. `file` names the finding when the path is not UTF-8.
fn literal_prefix(checked: &Checked, dir: &Path, file: &str) -> Result<String, Box<Finding>> {
    let mut path = utf8_path(checked, dir, file)?;
    path.truncate(path.len() - file.len());
    let mut literal = String::with_capacity(path.len() + 2);
    push_literal(&mut literal, &path);
    literal.pop();
    Ok(literal)
}

/// The settings constant and the one-line calls into dbmigrate-runtime.
fn runtime_source(config: &crate::Config) -> String {
    let mut table = String::new();
    push_literal(&mut table, &config.history_table);
    let mut setup = String::new();
    match &config.setup_sql {
        Some(sql) => {
            setup.push_str("Some(");
            push_literal(&mut setup, sql);
            setup.push(')');
        }
        None => setup.push_str("None"),
    }
    let ddl = match config.ddl_lock_timeout {
        Some(seconds) => format!("Some({seconds})"),
        None => "None".to_owned(),
    };
    RUNTIME_TEMPLATE
        .replace("{history_table}", &table)
        .replace("{setup}", &setup)
        .replace("{ddl_lock_timeout}", &ddl)
        .replace("{allow_out_of_order}", if config.allow_out_of_order { "true" } else { "false" })
}

const ASYNC_TEMPLATE: &str = r#"
    /// [`run`] for async applications, on tokio's blocking pool: see
    /// `dbmigrate_runtime::run_embedded_async`.
    pub async fn run_async(
        database_url: &str,
    ) -> ::core::result::Result<::dbmigrate_runtime::Report, ::dbmigrate_runtime::Error> {
        ::dbmigrate_runtime::run_embedded_async(database_url, &SETTINGS, MIGRATIONS).await
    }
"#;

const RUNTIME_TEMPLATE: &str = r#"
    /// The engine settings from `[package.metadata.dbmigrate]` (history table, set-up SQL,
    /// DDL lock timeout, out-of-order).
    pub const SETTINGS: ::dbmigrate_runtime::EmbeddedSettings = ::dbmigrate_runtime::EmbeddedSettings {
        history_table: {history_table},
        setup_sql: {setup},
        ddl_lock_timeout_secs: {ddl_lock_timeout},
        allow_out_of_order: {allow_out_of_order},
    };

    /// The migrations as the engine's input.
    pub fn scripts() -> ::std::vec::Vec<::dbmigrate_runtime::MigrationScript<'static>> {
        ::dbmigrate_runtime::embedded_scripts(MIGRATIONS)
    }

    /// The engine options: [`SETTINGS`], everything else at its default.
    pub fn options() -> ::dbmigrate_runtime::Options {
        SETTINGS.options()
    }

    /// Applies every pending migration to `database_url` (`sqlite:PATH`, `postgres://…`,
    /// `mysql://…`; a relative SQLite path is relative to the current folder), safely: see
    /// `dbmigrate_runtime::run_embedded`.
    pub fn run(database_url: &str) -> ::core::result::Result<::dbmigrate_runtime::Report, ::dbmigrate_runtime::Error> {
        ::dbmigrate_runtime::run_embedded(database_url, &SETTINGS, MIGRATIONS)
    }
"#;

/// `base/file` as UTF-8, which `include_str!` needs.
fn utf8_path(checked: &Checked, base: &Path, file: &str) -> Result<String, Box<Finding>> {
    base.join(file).into_os_string().into_string().map_err(|_| {
        Box::new(
            Finding::error(
                Rule::NonUtf8Path,
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

const HEAD_TEMPLATE: &str = r#"// @generated by dbmigrate-build from `{dir}`. Do not edit: change the migrations instead.

/// The crate's SQL migrations, checked and embedded at build time by `dbmigrate_build::embed()`.
#[allow(dead_code)]
pub mod migrations {"#;

/// With the runtime helpers the table holds the runtime's own type, so it can be passed as is.
const RUNTIME_INFO_TEMPLATE: &str = r#"
    /// One embedded migration.
    pub use ::dbmigrate_runtime::EmbeddedMigration as MigrationInfo;
"#;

/// Without them the crate may depend on refinery alone, so the type is defined here.
const LOCAL_INFO_TEMPLATE: &str = r#"
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
        /// Whether the lock holds this version (it was released).
        pub released: bool,
        /// The reason of the newest `release --rehash` of this version, if any.
        pub rehash: Option<&'static str>,
    }
"#;

const TEMPLATE: &str = r#"
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
        let dir = krate(&[
            ("V10__b.sql", "select 2;\r\n"),
            ("V10__b.down.sql", "select 0;"),
            ("V2__a.sql", "select 1;"),
            ("V2__a.down.sql", "select 0;"),
        ]);
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
    fn a_rehash_in_the_lock_is_embedded_with_its_reason() {
        let dir = krate(&[("V1__a.sql", "select 1;"), ("V2__b.sql", "select 2;")]);
        let root = dir.path();
        let (set, _) = MigrationSet::load(root, "migrations");
        let mut log = crate::release_log::ReleaseLog::default();
        set.migrations.iter().for_each(|m| log.record(m));
        std::fs::write(root.join("migrations/V1__a.sql"), "select 1; -- fixed").expect("write");
        let (set, _) = MigrationSet::load(root, "migrations");
        log.rehash(&set.migrations[0], "a \"quoted\" comment fix");
        std::fs::write(root.join("migrations").join(crate::release_log::RELEASE_LOG_FILE), log.render())
            .expect("write");
        let blocking = code(&dir, Runtime::Blocking);
        assert!(blocking.contains(r#"rehash: Some("a \"quoted\" comment fix") },"#), "{blocking}");
        assert_eq!(blocking.matches("rehash: None },").count(), 1, "{blocking}");
        let local = code(&dir, Runtime::Off);
        assert!(local.contains("pub rehash: Option<&'static str>,"), "{local}");
    }

    #[test]
    fn whether_a_migration_is_released_is_embedded() {
        let dir = krate(&[("V1__a.sql", "select 1;")]);
        let root = dir.path();
        let (set, _) = MigrationSet::load(root, "migrations");
        let mut log = crate::release_log::ReleaseLog::default();
        set.migrations.iter().for_each(|m| log.record(m));
        std::fs::write(root.join("migrations").join(crate::release_log::RELEASE_LOG_FILE), log.render())
            .expect("write");
        std::fs::write(root.join("migrations/V2__b.sql"), "select 2;").expect("write");
        let blocking = code(&dir, Runtime::Blocking);
        assert_eq!(blocking.matches(", released: true, rehash: None },").count(), 1, "{blocking}");
        assert_eq!(blocking.matches(", released: false, rehash: None },").count(), 1, "{blocking}");
        assert!(code(&dir, Runtime::Off).contains("pub released: bool,"));
    }

    #[test]
    fn migrations_dir_overrides_the_config() {
        let dir = krate(&[]);
        std::fs::create_dir(dir.path().join("sql")).expect("mkdir");
        std::fs::write(dir.path().join("sql/V1__a.sql"), "select 1;").expect("write");
        let generated = Embed::new().migrations_dir("sql").generate(dir.path(), &dir.path().join("out"));
        assert!(generated.code.expect("code").contains("V1__a.sql"));
    }

    fn code(dir: &tempfile::TempDir, runtime: Runtime) -> String {
        Embed::new().runtime(runtime).generate(dir.path(), &dir.path().join("out")).code.expect("code")
    }

    #[test]
    fn without_runtime_helpers_nothing_names_the_runtime() {
        let dir = krate(&[("V1__a.sql", "select 1;")]);
        // The manifest's dependencies decide nothing: only the option does.
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"app\"\n[dependencies]\ndbmigrate-runtime = \"0.1\"\ntokio = \"1\"\n",
        )
        .expect("write");
        let code = code(&dir, Runtime::Off);
        assert!(!code.contains("dbmigrate_runtime"), "{code}");
        assert!(code.contains("pub struct MigrationInfo {"), "{code}");
        assert!(code.contains("pub fn runner() -> ::refinery::Runner"), "{code}");
        assert!(!code.contains("fn run("), "{code}");
    }

    #[test]
    fn runtime_helpers_are_one_line_calls() {
        let dir = krate(&[("V1__a.sql", "select 1;")]);
        let code = code(&dir, Runtime::Blocking);
        assert!(code.contains("pub use ::dbmigrate_runtime::EmbeddedMigration as MigrationInfo;"), "{code}");
        assert!(!code.contains("pub struct MigrationInfo"), "{code}");
        assert!(code.contains("::dbmigrate_runtime::run_embedded(database_url, &SETTINGS, MIGRATIONS)\n"), "{code}");
        assert!(code.contains("::dbmigrate_runtime::embedded_scripts(MIGRATIONS)\n"), "{code}");
        assert!(code.contains("history_table: \"refinery_schema_history\",\n        setup_sql: None,\n        ddl_lock_timeout_secs: None,\n        allow_out_of_order: false,\n"), "{code}");
        assert!(!code.contains("run_async"), "{code}");
        assert!(code.trim_end().ends_with("    }\n}"), "the module is closed once: {code}");
    }

    #[test]
    fn async_helpers_add_run_async() {
        let dir = krate(&[]);
        let code = code(&dir, Runtime::Async);
        assert!(code.contains("pub fn run(database_url: &str)"), "{code}");
        assert!(code.contains("::dbmigrate_runtime::run_embedded_async(database_url, &SETTINGS, MIGRATIONS).await\n"));
    }

    #[test]
    fn settings_are_embedded_as_literals() {
        let dir = krate(&[]);
        let manifest = "[package]\nname = \"app\"\n[package.metadata.dbmigrate]\nhistory-table = \"app_history\"\n\
                        setup-sql = 'SET sql_mode = \"ANSI\"'\nddl-lock-timeout = 9\nallow-out-of-order = true\n";
        std::fs::write(dir.path().join("Cargo.toml"), manifest).expect("write");
        let code = code(&dir, Runtime::Blocking);
        let expected = r#"history_table: "app_history",
        setup_sql: Some("SET sql_mode = \"ANSI\""),
        ddl_lock_timeout_secs: Some(9),
        allow_out_of_order: true,
"#;
        assert!(code.contains(expected), "{code}");
    }
}
