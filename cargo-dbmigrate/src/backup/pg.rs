//! PostgreSQL: `pg_dump -Fc`, checked with `pg_restore --list`, restored through
//! `pg_restore | psql --single-transaction` after dropping the database's objects, so objects
//! created after the backup go too (`pg_restore --clean` only drops what the dump holds).

use super::BackupConfig;
use super::conn::ServerConn;
use super::tools::{Tool, Want};
use crate::CliError;
use std::path::Path;
use std::process::Stdio;

fn pg_dump(config: &BackupConfig) -> Result<Tool, CliError> {
    Want {
        configured: config.pg_dump.as_deref(),
        candidates: &["pg_dump"],
        key: "pg-dump",
        package: "postgresql-client",
    }
    .find()
}

fn pg_restore(config: &BackupConfig) -> Result<Tool, CliError> {
    let configured = config.pg_restore.as_deref();
    Want { configured, candidates: &["pg_restore"], key: "pg-restore", package: "postgresql-client" }.find()
}

fn psql(config: &BackupConfig) -> Result<Tool, CliError> {
    Want { configured: config.psql.as_deref(), candidates: &["psql"], key: "psql", package: "postgresql-client" }.find()
}

/// `pg_dump -Fc` into `out`. pg_dump itself refuses a server newer than it; that refusal is
/// reported as such, before anything changed.
pub fn dump(conn: &ServerConn, config: &BackupConfig, out: &Path) -> Result<(), CliError> {
    let tool = pg_dump(config)?;
    // Also check pg_restore now: a backup that cannot be verified or restored is no backup.
    pg_restore(config)?;
    let mut cmd = tool.command(&conn.pg_env());
    cmd.args(&["--format=custom", "--no-password", "--file"]).arg(out);
    let output = Tool::spawnable(&cmd).output().map_err(|e| tool.spawn_error(&cmd, &e))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("server version mismatch") {
        let detail = stderr.lines().find(|l| l.contains("server version:")).unwrap_or_default();
        let detail = detail.trim_start_matches("pg_dump: detail: ").trim();
        return Err(CliError::failure(format!(
            "`{}` is older than the PostgreSQL server ({detail}), so it cannot back it up; nothing was changed",
            tool.path.display()
        ))
        .hint("install the postgresql-client of the server's major version (or newer), or set `pg-dump = \"/usr/lib/postgresql/<major>/bin/pg_dump\"` in `[package.metadata.dbmigrate.backup]`"));
    }
    Err(tool.failed(&cmd, "writing", out, &stderr))
}

/// `pg_restore --list`: the archive's table of contents reads back.
pub fn verify(config: &BackupConfig, path: &Path) -> Result<(), CliError> {
    let tool = pg_restore(config)?;
    let mut cmd = tool.command(&[]);
    cmd.arg("--list").arg(path);
    let out = tool.run(&cmd, "verifying", path)?;
    if out.stdout.is_empty() {
        return Err(CliError::failure(format!(
            "the backup `{}` lists no contents; nothing was changed",
            path.display()
        )));
    }
    Ok(())
}

/// Drops every user schema but `public` (the dump recreates them), and every object in
/// `public` that no extension owns: the dump does not recreate `public` itself, and objects
/// created after the backup must go too (`pg_restore --clean` only drops what the dump holds).
const CLEAN: &str = r"DO $dbm$ DECLARE r record; BEGIN
FOR r IN SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname NOT IN ('information_schema', 'public') LOOP
  EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
END LOOP;
FOR r IN SELECT c.oid, c.relname, CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
    WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'i', 'a'))
LOOP
  EXECUTE format('DROP %s IF EXISTS public.%I CASCADE', r.kind, r.relname);
END LOOP;
FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
LOOP
  EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', r.sig);
END LOOP;
FOR r IN SELECT t.typname, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END AS kind FROM pg_type t
  WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('d', 'e', 'r', 'c') AND (t.typtype <> 'c' OR
    (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
LOOP
  EXECUTE format('DROP %s IF EXISTS public.%I CASCADE', r.kind, r.typname);
END LOOP;
END $dbm$";

/// Cleans the database and replays the archive in one transaction: a failed restore leaves
/// the database as it was.
pub fn restore(conn: &ServerConn, config: &BackupConfig, path: &Path) -> Result<(), CliError> {
    let reader = pg_restore(config)?;
    let client = psql(config)?;
    let mut produce = reader.command(&[]);
    produce.arg("--file=-").arg(path);
    let spawned = Tool::spawnable(&produce).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut producer = spawned.map_err(|e| reader.spawn_error(&produce, &e))?;
    let Some(stdout) = producer.stdout.take() else {
        return Err(CliError::failure("could not read pg_restore's output"));
    };
    let mut consume = client.command(&conn.pg_env());
    consume
        .args(&["--no-psqlrc", "--quiet", "--no-password", "--single-transaction", "--set=ON_ERROR_STOP=1"])
        .args(&["--command", CLEAN, "--file=-"]);
    let applied = consume.build_command().stdin(Stdio::from(stdout)).stdout(Stdio::null()).output();
    let applied = applied.map_err(|e| client.spawn_error(&consume, &e));
    let produced = producer.wait_with_output().map_err(|e| reader.spawn_error(&produce, &e))?;
    if !produced.status.success() {
        return Err(reader.failed(&produce, "reading", path, &String::from_utf8_lossy(&produced.stderr)));
    }
    let applied = applied?;
    if !applied.status.success() {
        return Err(client
            .failed(&consume, "restoring", path, &String::from_utf8_lossy(&applied.stderr))
            .hint("the restore ran in one transaction and was rolled back: the database is as it was before it"));
    }
    Ok(())
}
