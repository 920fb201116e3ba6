//! The no-op `run` that every deploy pays, made cheap.
//!
//! After a full, validated load the CLI remembers each migration's (version, name, refinery
//! checksum) together with a fingerprint of the migrations folder taken from file metadata
//! alone. When the fingerprint still matches, `run` asks the database one question
//! ([`Engine::is_up_to_date`]) instead of reading and hashing every file; any doubt (a
//! changed file, a racy timestamp, a cache that does not parse, a database that is not
//! exactly at the remembered set) falls back to the full, locked run.

use crate::workspace::Target;
use dbmigrate_runtime::{Engine, MigrationScript};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Files touched this recently may still change within the same timestamp tick (git's
/// "racily clean" problem), so a fingerprint that includes them is never stored or trusted.
const RACY: Duration = Duration::from_secs(2);
const HEADER: &str = "dbmigrate-uptodate v1";

/// The remembered migrations: (version, name, refinery checksum).
pub type Known = Vec<(i64, String, u64)>;

/// The remembered migrations, if the folder is unchanged since they were validated.
pub fn known(target: &Target) -> Option<Known> {
    let (stored, known) = read_file(&cache_path(target))?;
    (fingerprint(target)? == stored).then_some(known)
}

/// The newest version (`None` for an empty set) when the database is exactly at `known`;
/// `None` from the outer option means "don't know": do the full run.
pub fn check(known: &Known, engine: &mut Engine) -> Option<Option<i64>> {
    let borrowed: Vec<(i64, &str, u64)> = known.iter().map(|(v, n, c)| (*v, n.as_str(), *c)).collect();
    engine.is_up_to_date(&borrowed).ok()?.then(|| known.iter().map(|(v, _, _)| *v).max())
}

/// Remembers a validated set, unless the folder changed too recently to be sure of it.
/// Failing to write is not an error: the next run just takes the full path.
pub fn remember(target: &Target, scripts: &[MigrationScript<'_>]) {
    let Some(fingerprint) = fingerprint(target) else { return };
    let path = cache_path(target);
    if read_file(&path).is_some_and(|(f, _)| f == fingerprint) {
        return;
    }
    let mut text = format!("{HEADER} {fingerprint:016x}\n");
    for s in scripts {
        let Ok(checksum) = s.checksum() else { return };
        text.push_str(&format!("{} {} {checksum}\n", s.version, s.name));
    }
    if path.parent().is_some_and(|p| std::fs::create_dir_all(p).is_ok()) {
        let _ = crate::fsutil::write_atomic(&path, &text);
    }
}

fn read_file(path: &Path) -> Option<(u64, Known)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let fingerprint = lines.next()?.strip_prefix(HEADER)?.trim();
    let fingerprint = u64::from_str_radix(fingerprint, 16).ok()?;
    let mut known = Vec::new();
    for line in lines {
        let mut fields = line.split(' ');
        let (v, n, c) = (fields.next()?, fields.next()?, fields.next()?);
        known.push((v.parse().ok()?, n.to_owned(), c.parse().ok()?));
    }
    Some((fingerprint, known))
}

/// `<target-dir>/dbmigrate/uptodate-<package>-<hash of the crate folder>`.
fn cache_path(target: &Target) -> PathBuf {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let root = target.manifest.workspace_root().ok().flatten().map(|m| m.dir().to_owned());
        root.unwrap_or_else(|| target.dir().to_owned()).join("target")
    });
    let mut h = DefaultHasher::new();
    target.dir().hash(&mut h);
    target_dir.join("dbmigrate").join(format!("uptodate-{}-{:016x}", target.package, h.finish()))
}

/// A hash of everything the validated set depends on: the settings that choose the folder and
/// the history table, and every folder entry's name, size, modification and change times.
/// `None` when the folder cannot be read or something in it changed within [`RACY`].
fn fingerprint(target: &Target) -> Option<u64> {
    let dir = target.migrations_dir();
    let mut entries: Vec<(String, std::fs::Metadata)> = std::fs::read_dir(&dir)
        .ok()?
        .map(|e| e.ok().and_then(|e| Some((e.file_name().into_string().ok()?, e.metadata().ok()?))))
        .collect::<Option<_>>()?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let recent = SystemTime::now().checked_sub(RACY)?;
    let mut h = DefaultHasher::new();
    (&target.config.migrations, &target.config.history_table, dir.as_os_str()).hash(&mut h);
    for (name, meta) in &entries {
        let (modified, changed) = stamps(meta)?;
        if modified >= recent || changed >= recent {
            return None;
        }
        (name, meta.len(), meta.is_dir(), modified, changed).hash(&mut h);
    }
    Some(h.finish())
}

/// Modification and change times. The change time cannot be set back by a tool that restores
/// a file's modification time, so an edit stays visible.
fn stamps(meta: &std::fs::Metadata) -> Option<(SystemTime, SystemTime)> {
    let modified = meta.modified().ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let secs = u64::try_from(meta.ctime()).ok()?;
        let nanos = u32::try_from(meta.ctime_nsec()).ok()?;
        Some((modified, SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)))
    }
    #[cfg(not(unix))]
    Some((modified, modified))
}
