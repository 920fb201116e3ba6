//! The replayed schema of a crate's migrations and its loaded desired schema, kept under the
//! target dir so a second `diff` (or `check --schema`, `schema dump`) skips what is unchanged.
//!
//! A cache file is trusted only when its key — a SHA-256 over everything the schema depends
//! on — equals the key computed now; any read problem is a miss, and a miss reads and rewrites.

use crate::workspace::Target;
use dbmigrate_runtime::schema::Schema;
use dbmigrate_runtime::{DatabaseUrl, Dialect, MigrationScript};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Bumped whenever what the cache holds, or how the schema is read, changes shape.
const FORMAT: u32 = 1;

/// The first line of a cache file, before its key.
const HEADER: &str = "dbmigrate replay cache";

/// What replaying the migrations gave.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Replayed {
    pub schema: Schema,
    /// The dump `schema dump` writes, where it is read from the database itself (SQLite).
    pub dump: Option<String>,
}

/// Where a crate's replayed (or desired) schema is cached, and the key it must carry to be used.
#[derive(Debug)]
pub struct Key {
    digest: String,
    path: PathBuf,
}

impl Key {
    /// The key of replaying `scripts` for `target` in `dialect` on `dev_url`.
    pub fn new(
        target: &Target,
        dialect: Dialect,
        dev_url: Option<&DatabaseUrl>,
        scripts: &[MigrationScript<'_>],
    ) -> Key {
        let mut h = common(target, dialect, dev_url);
        for s in scripts {
            field(&mut h, s.version.to_string().as_bytes());
            field(&mut h, s.name.as_bytes());
            field(&mut h, &Sha256::digest(s.up.as_bytes()));
        }
        let digest = hex(&h.finalize());
        Key { digest, path: cache_path(target, dialect, "cache") }
    }

    /// The key of loading the desired-schema file whose text is `sql` for `target` in
    /// `dialect` on `dev_url` (the same settings as a replay: MySQL loads it through the engine).
    pub fn desired(target: &Target, dialect: Dialect, dev_url: Option<&DatabaseUrl>, sql: &str) -> Key {
        let mut h = common(target, dialect, dev_url);
        field(&mut h, b"desired");
        field(&mut h, &Sha256::digest(sql.as_bytes()));
        let digest = hex(&h.finalize());
        Key { digest, path: cache_path(target, dialect, "desired.cache") }
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cached value, if the file holds one under this key.
    pub fn read<T: DeserializeOwned>(&self) -> Option<T> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let (first, body) = text.split_once('\n')?;
        if first != self.header() {
            return None;
        }
        serde_json::from_str(body).ok()
    }

    /// Stores `value` under this key, atomically (a temporary file and a rename).
    pub fn write<T: Serialize>(&self, value: &T) -> Result<(), String> {
        let body = serde_json::to_string(value).map_err(|e| e.to_string())?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        crate::fsutil::write_atomic_private(&self.path, &format!("{}\n{body}", self.header())).map_err(|e| e.message)
    }

    fn header(&self) -> String {
        format!("{HEADER} {}", self.digest)
    }
}

/// The hash over what every cached schema depends on: format, tool, binary, dialect, server
/// and the connection settings.
fn common(target: &Target, dialect: Dialect, dev_url: Option<&DatabaseUrl>) -> Sha256 {
    let mut h = Sha256::new();
    field(&mut h, format!("{FORMAT} {}", env!("CARGO_PKG_VERSION")).as_bytes());
    // The binary itself: a rebuilt tool (same version, other introspection) reads again.
    field(&mut h, exe_identity().as_bytes());
    field(&mut h, dialect.as_str().as_bytes());
    // The server matters (its version shapes the catalog); its password is never stored.
    field(&mut h, dev_url.map(ToString::to_string).unwrap_or_default().as_bytes());
    field(&mut h, target.config.history_table.as_bytes());
    match &target.config.setup_sql {
        Some(sql) => field(&mut h, format!("setup {sql}").as_bytes()),
        None => field(&mut h, b"no setup"),
    }
    h
}

/// Adds one field, length-prefixed so no two different field lists hash the same bytes.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The running binary's size and modification time, or nothing when they cannot be read.
fn exe_identity() -> String {
    let meta = std::env::current_exe().and_then(std::fs::metadata);
    let Ok(meta) = meta else { return String::new() };
    let modified = meta.modified().ok().and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok());
    format!("{} {}", meta.len(), modified.map(|d| d.as_nanos()).unwrap_or_default())
}

/// `<target-dir>/dbmigrate/replay/<package>-<hash of the crate folder>-<dialect>.<ext>`.
fn cache_path(target: &Target, dialect: Dialect, ext: &str) -> PathBuf {
    let (dir, stem) = target.cache_place();
    dir.join("replay").join(format!("{stem}-{dialect}.{ext}"))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbmigrate_runtime::schema::{Column, ForeignKey, Table};

    #[test]
    fn a_schema_with_non_string_keyed_maps_round_trips_through_the_cache_format() {
        let fk = ForeignKey { columns: vec!["a".into()], ref_table: "t".into(), ..ForeignKey::default() };
        let mut table = Table { name: "t".into(), ..Table::default() };
        table.columns.push(Column { name: "a".into(), decl_type: "INTEGER".into(), ..Column::default() });
        table.unique_names.insert(vec!["a".into(), "b".into()], "t_ab".into());
        table.foreign_key_names.insert(fk.clone(), "t_fk".into());
        table.foreign_keys.insert(fk);
        let mut schema = Schema::default();
        schema.tables.insert("t".into(), table);
        schema.enums.insert("mood".into(), vec!["ok".into()]);
        let replayed = Replayed { schema, dump: Some("CREATE TABLE t (a INTEGER);".into()) };
        let text = serde_json::to_string(&replayed).expect("serialise");
        assert_eq!(serde_json::from_str::<Replayed>(&text).expect("parse"), replayed);
    }
}
