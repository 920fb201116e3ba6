//! What is recorded beside each backup (`<backup>.json`): whose database it is, the version it
//! was at, why it was taken, the tool that made it, and the file's size and SHA-256, so that a
//! restore can prove it is restoring exactly what was taken, into the database it came from.

use crate::CliError;
use camino::{Utf8Path, Utf8PathBuf};
use sha2::{Digest, Sha256};
use std::io::Read;

/// The manifest's format; a newer one is not read (its backup counts as foreign).
const FORMAT: u32 = 1;

/// Why a backup was taken; retention keeps the newest `keep` of each kind per source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Before a `run` or `down` that then succeeded (or is in progress).
    Deploy,
    /// Before a `run` or `down` that failed after changing something: kept, never rotated out
    /// by the deploys that follow.
    Failed,
    /// The state a `restore` replaced.
    PreRestore,
    /// The database a `database drop` or `reset` removed: kept, never rotated out.
    PreDrop,
}

/// The record beside a backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The source's key (`Source::key`): engine, host, port and database, or the SQLite path.
    pub source: String,
    pub engine: String,
    pub database: String,
    /// The version the database was at (`None`: nothing applied).
    pub version: Option<i64>,
    /// UTC, `YYYYMMDDTHHMMSSZ`.
    pub time: String,
    pub kind: Kind,
    /// The tool and its version, e.g. `pg_dump (PostgreSQL) 15.19`.
    pub tool: String,
    pub bytes: u64,
    /// SHA-256 of the backup file, hex.
    pub sha256: String,
}

/// `<backup>.json`.
pub fn path_of(backup: &Utf8Path) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{backup}.json"))
}

impl Manifest {
    /// The manifest of `backup`; `None` when there is none or it is not one this version reads.
    pub fn read(backup: &Utf8Path) -> Option<Self> {
        let text = std::fs::read_to_string(path_of(backup)).ok()?;
        serde_json::from_str::<Self>(&text).ok().filter(|m| m.format == FORMAT)
    }

    /// Writes it beside `backup`, atomically.
    pub fn write(&self, backup: &Utf8Path) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        crate::fsutil::write_atomic_private(path_of(backup).as_std_path(), &(text + "\n"))
    }

    /// A new record, for a backup taken now.
    pub fn new(
        source: &super::Source,
        version: Option<i64>,
        time: String,
        tool: String,
        bytes: u64,
        sha256: String,
    ) -> Self {
        let (engine, database) = (source.engine().to_owned(), source.database());
        Manifest {
            format: FORMAT,
            source: source.key(),
            engine,
            database,
            version,
            time,
            kind: Kind::Deploy,
            tool,
            bytes,
            sha256,
        }
    }
}

/// A writer that hashes what passes through it.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: std::io::Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing { inner, hasher: Sha256::new(), bytes: 0 }
    }

    /// The SHA-256 (hex) and length of everything written.
    pub fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.bytes)
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a file, hex, and its length.
pub fn sha256(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut total = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}
