//! MySQL/MariaDB: `mariadb-dump` (or `mysqldump`) in one consistent snapshot, checked by its
//! completion trailer; restored by dropping the database's objects and replaying the dump
//! through the `mariadb` (or `mysql`) client. DDL is not transactional here, so this is the
//! only way back from a half-applied migration.

use super::BackupConfig;
use super::conn::ServerConn;
use super::tools::{Tool, Want};
use crate::CliError;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Stdio;

fn dumper(config: &BackupConfig) -> Result<Tool, CliError> {
    let configured = config.mysqldump.as_deref();
    Want { configured, candidates: &["mariadb-dump", "mysqldump"], key: "mysqldump", package: "mariadb-client" }.find()
}

fn client(config: &BackupConfig) -> Result<Tool, CliError> {
    Want {
        configured: config.mysql.as_deref(),
        candidates: &["mariadb", "mysql"],
        key: "mysql",
        package: "mariadb-client",
    }
    .find()
}

pub fn dump(conn: &ServerConn, config: &BackupConfig, out: &Path) -> Result<(), CliError> {
    let tool = dumper(config)?;
    client(config)?;
    let mut cmd = tool.command(&conn.mysql_env());
    cmd.args(&conn.mysql_args())
        .args(&["--single-transaction", "--routines", "--triggers", "--events", "--hex-blob"])
        .arg(format!("--result-file={}", out.display()))
        .arg("--")
        .arg(&conn.database);
    tool.run(&cmd, "writing", out).map(drop)
}

/// The dump ends with `-- Dump completed on …` only when the tool finished.
pub fn verify(path: &Path) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::failure(format!("cannot read the backup `{}`: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(fail)?;
    let len = file.metadata().map_err(fail)?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(256))).map_err(fail)?;
    let mut tail = String::new();
    file.read_to_string(&mut tail).map_err(fail)?;
    if !tail.contains("-- Dump completed") {
        return Err(CliError::failure(format!(
            "the backup `{}` has no `-- Dump completed` trailer: the dump stopped early; nothing was changed",
            path.display()
        ))
        .hint("check the disk space of the backup folder and the dump user's privileges"));
    }
    Ok(())
}

/// One `DROP …;` line per table, view, sequence, routine and event of the current database.
const LIST_DROPS: &str = "\
SELECT CONCAT('DROP ', CASE table_type WHEN 'VIEW' THEN 'VIEW' WHEN 'SEQUENCE' THEN 'SEQUENCE' ELSE 'TABLE' END, \
 ' IF EXISTS `', REPLACE(table_name, '`', '``'), '`;') FROM information_schema.tables WHERE table_schema = DATABASE() \
UNION ALL SELECT CONCAT('DROP ', routine_type, ' IF EXISTS `', REPLACE(routine_name, '`', '``'), '`;') \
 FROM information_schema.routines WHERE routine_schema = DATABASE() \
UNION ALL SELECT CONCAT('DROP EVENT IF EXISTS `', REPLACE(event_name, '`', '``'), '`;') \
 FROM information_schema.events WHERE event_schema = DATABASE()";

pub fn restore(conn: &ServerConn, config: &BackupConfig, path: &Path) -> Result<(), CliError> {
    let tool = client(config)?;
    let base = |tool: &Tool| {
        let mut cmd = tool.command(&conn.mysql_env());
        cmd.args(&conn.mysql_args()).arg(format!("--database={}", conn.database));
        cmd
    };
    let mut list = base(&tool);
    list.args(&["--batch", "--skip-column-names", "--execute", LIST_DROPS]);
    let drops = tool.run(&list, "listing the objects to replace from", path)?.stdout;
    let mut file = std::fs::File::open(path)
        .map_err(|e| CliError::failure(format!("cannot read the backup `{}`: {e}", path.display())))?;
    let replay = base(&tool);
    let spawned = replay.build_command().stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let mut child = spawned.map_err(|e| tool.spawn_error(&replay, &e))?;
    let fed = child.stdin.take().map(|mut stdin| {
        stdin.write_all(b"SET FOREIGN_KEY_CHECKS = 0;\n")?;
        stdin.write_all(&drops)?;
        std::io::copy(&mut file, &mut stdin).map(drop)
    });
    let out = child.wait_with_output().map_err(|e| tool.spawn_error(&replay, &e))?;
    if !out.status.success() {
        return Err(tool.failed(&replay, "restoring", path, &String::from_utf8_lossy(&out.stderr)).hint(
            "MySQL/MariaDB cannot restore in one transaction: fix the cause and run `cargo dbmigrate restore` again",
        ));
    }
    if let Some(Err(e)) = fed {
        return Err(CliError::failure(format!(
            "could not send the backup `{}` to `{}`: {e}",
            path.display(),
            tool.name
        )));
    }
    Ok(())
}
