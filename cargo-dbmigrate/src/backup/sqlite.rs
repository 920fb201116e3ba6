//! SQLite: the online backup API, which copies a consistent snapshot page by page and is
//! correct in WAL mode (a file copy is not: committed pages may still be in the -wal file).

use super::tools::Dumped;
use crate::CliError;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// How long to wait for a writer holding the database.
const BUSY: Duration = Duration::from_secs(60);

fn sql_error(what: &str, path: &Path, e: &rusqlite::Error) -> CliError {
    let err = CliError::failure(format!("sqlite backup: cannot {what} `{}`: {e}", path.display()));
    if e.to_string().contains("full") {
        err.hint("the disk is full: free space, or set `dir` in `[package.metadata.dbmigrate.backup]`")
    } else {
        err
    }
}

/// Copies `db` into the (empty) file `out`.
pub fn dump(db: &Path, out: &Path) -> Result<Dumped, CliError> {
    let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| sql_error("open the database", db, &e))?;
    src.busy_timeout(BUSY).map_err(|e| sql_error("set a busy timeout on", db, &e))?;
    let mut dst = Connection::open(out).map_err(|e| sql_error("create", out, &e))?;
    copy(&src, &mut dst).map_err(|e| sql_error("copy the database into", out, &e))?;
    dst.close().map_err(|(_, e)| sql_error("close", out, &e))?;
    // SQLite wrote the pages itself, so the file is read once more for its checksum.
    let (sha256, bytes) = super::manifest::sha256(out)
        .map_err(|e| CliError::failure(format!("cannot read the backup `{}`: {e}", out.display())))?;
    Ok(Dumped { tool: format!("sqlite {}", rusqlite::version()), sha256, bytes })
}

/// One step of all pages (-1) copies the database as one consistent snapshot; a busy
/// database is retried until the busy timeout.
fn copy(src: &Connection, dst: &mut Connection) -> rusqlite::Result<()> {
    let backup = Backup::new(src, dst)?;
    let deadline = std::time::Instant::now() + BUSY;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            _ if std::time::Instant::now() > deadline => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    None,
                ));
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// `PRAGMA integrity_check` on the copy.
pub fn verify(path: &Path) -> Result<(), CliError> {
    let result = integrity(path)?;
    if result != "ok" {
        return Err(CliError::failure(format!(
            "the backup `{}` failed its integrity check ({result})",
            path.display()
        ))
        .hint("run `PRAGMA integrity_check` on the database itself: it may be damaged"));
    }
    Ok(())
}

/// What `PRAGMA integrity_check` says of a file (`ok` when it is sound).
fn integrity(path: &Path) -> Result<String, CliError> {
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| sql_error("open", path, &e))?;
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| sql_error("check", path, &e))
}

/// Copies the (verified) backup back over the database through the backup API, which writes
/// the destination in one transaction: open readers and WAL files stay consistent, and a copy
/// that fails half way is rolled back. Renaming a file over the database instead would pair
/// the new file with the old one's `-wal` and `-shm` files.
pub fn restore(db: &Path, backup: &Path) -> Result<(), CliError> {
    let src = Connection::open_with_flags(backup, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| sql_error("open the backup", backup, &e))?;
    let mut dst = Connection::open(db).map_err(|e| sql_error("open the database", db, &e))?;
    dst.busy_timeout(BUSY).map_err(|e| sql_error("set a busy timeout on", db, &e))?;
    copy(&src, &mut dst).map_err(|e| {
        sql_error("restore into", db, &e)
            .hint("the copy runs in one transaction, rolled back on failure: the database is unchanged")
    })?;
    dst.close().map_err(|(_, e)| sql_error("close", db, &e))
}
