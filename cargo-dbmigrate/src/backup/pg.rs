//! PostgreSQL: `pg_dump -Fc`, verified by reading the whole archive back, and restored in one
//! transaction that is committed only once `pg_restore` has read the archive to its end.
//!
//! The restore drops the database's objects first, so objects created after the backup go too
//! (`pg_restore --clean` only drops what the dump holds). psql runs without
//! `--single-transaction`, which would commit whatever had arrived when `pg_restore` died: this
//! module writes the `BEGIN` itself, pumps `pg_restore --single-transaction`'s script through
//! (that flag also keeps large objects from committing on their own), and holds back the
//! script's last bytes, its `COMMIT`, until `pg_restore` has exited 0.

use super::BackupConfig;
use super::conn::ServerConn;
use super::tools::{self, Dumped, Tool, Want};
use crate::CliError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ExitStatus, Stdio};

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

/// Where Debian and Ubuntu install PostgreSQL versions side by side, as `<major>/bin`.
const INSTALLS: &str = "/usr/lib/postgresql";

/// Replaces [`INSTALLS`], for the search of a newer pg_dump or pg_restore only.
pub const INSTALLS_ENV: &str = "DBMIGRATE_PG_INSTALLS";

fn installs_root() -> PathBuf {
    std::env::var_os(INSTALLS_ENV).filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from(INSTALLS), PathBuf::from)
}

/// The installed copies of `name` (`pg_dump`) with their major version, oldest first.
fn installed(name: &str) -> Vec<(u32, Tool)> {
    let Ok(entries) = std::fs::read_dir(installs_root()) else { return Vec::new() };
    let mut found: Vec<(u32, Tool)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = major(entry.file_name().to_str()?)?;
            let path = entry.path().join("bin").join(name);
            tools::is_executable(&path).then(|| (major, Tool { name: name.to_owned(), path }))
        })
        .collect();
    found.sort_by_key(|(major, _)| *major);
    found
}

/// `15` of `15.20 (Debian 15.20-0+deb12u1)`; `9` of `9.6`.
fn major(version: &str) -> Option<u32> {
    let digits: String = version.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// pg_dump's refusal of a server newer than itself, with both versions as it printed them.
#[derive(Debug, PartialEq)]
struct TooOld {
    server: String,
    dumper: String,
}

impl TooOld {
    /// From `pg_dump: detail: server version: 15.2 (…); pg_dump version: 14.11 (…)`.
    fn parse(stderr: &str) -> Option<Self> {
        if !stderr.contains("server version mismatch") {
            return None;
        }
        let detail = stderr.lines().find(|l| l.contains("server version:")).unwrap_or_default();
        let field = |key: &str| {
            let value = detail.split(';').find_map(|part| part.split_once(key)).map(|(_, v)| v.trim());
            value.filter(|v| !v.is_empty()).unwrap_or("unknown").to_owned()
        };
        Some(TooOld { server: field("server version:"), dumper: field("pg_dump version:") })
    }

    /// The refusal; `searched` holds the installed pg_dumps looked at, `None` when `pg-dump`
    /// is configured (then nothing else is tried).
    fn refusal(&self, tool: &Tool, searched: Option<&[(u32, Tool)]>) -> CliError {
        let head = format!(
            "`{}` (pg_dump {}) is older than the PostgreSQL server ({}), so it cannot back it up",
            tool.path.display(),
            self.dumper,
            self.server
        );
        let want = major(&self.server).map_or_else(|| "of the server's version".to_owned(), |m| m.to_string());
        let err = match searched {
            None => CliError::failure(format!("{head}; nothing was changed"))
                .hint(format!("set `pg-dump` in `[package.metadata.dbmigrate.backup]` to a pg_dump {want} or newer")),
            Some(found) => {
                let versions: Vec<String> = found.iter().map(|(m, _)| m.to_string()).collect();
                let versions = if versions.is_empty() { "none".to_owned() } else { versions.join(", ") };
                let root = installs_root();
                CliError::failure(format!(
                    "{head}, and no pg_dump {want} or newer is installed in `{}/<major>/bin` (found: {versions}); nothing was changed",
                    root.display()
                ))
                .hint(format!("install the PostgreSQL {want} client (e.g. `apt-get install postgresql-client-{want}`), or set `pg-dump = \"/path/to/pg_dump\"` in `[package.metadata.dbmigrate.backup]`"))
            }
        };
        err.hint("or pass --no-backup to migrate without a backup")
    }
}

/// `pg_dump -Fc` into `out`. A pg_dump older than the server refuses it; then, unless `pg-dump`
/// is configured, an installed pg_dump of the server's major version or newer takes the backup
/// (its archive may be too new for PATH's pg_restore: [`reader`] handles that).
pub fn dump(conn: &ServerConn, config: &BackupConfig, out: &Path) -> Result<Dumped, CliError> {
    let tool = pg_dump(config)?;
    // Also check pg_restore now: a backup that cannot be verified or restored is no backup.
    pg_restore(config)?;
    let too_old = match dump_with(&tool, conn, out)? {
        Ok(dumped) => return Ok(dumped),
        Err(too_old) => too_old,
    };
    if config.pg_dump.is_some() {
        return Err(too_old.refusal(&tool, None));
    }
    let found = installed("pg_dump");
    let wanted = major(&too_old.server);
    // The oldest that is new enough: the closest match to the server.
    match found.iter().find(|(m, _)| wanted.is_some_and(|w| *m >= w)) {
        Some((_, newer)) => match dump_with(newer, conn, out)? {
            Ok(dumped) => Ok(dumped),
            Err(still) => Err(still.refusal(newer, Some(&found))),
        },
        None => Err(too_old.refusal(&tool, Some(&found))),
    }
}

/// Runs one pg_dump; `Err(TooOld)` inside when it refused the server as newer than itself.
fn dump_with(tool: &Tool, conn: &ServerConn, out: &Path) -> Result<Result<Dumped, TooOld>, CliError> {
    let mut cmd = tool.command(&conn.pg_env());
    cmd.args(&["--format=custom", "--no-password"]);
    // PGCONNECT_TIMEOUT bounds pg_dump's own connect.
    let (status, stderr, dumped) = tool.output_into(&cmd, out, None)?;
    if status.success() {
        return Ok(Ok(dumped));
    }
    TooOld::parse(&stderr).map(Err).ok_or_else(|| tool.failed(&cmd, "writing", out, &stderr))
}

/// A pg_restore that read the archive to its end; `installed` when it is not the configured
/// or PATH's one but a newer installed version (then its psql beside it restores too).
struct Reader {
    tool: Tool,
    installed: bool,
}

/// pg_restore could not read an archive to its end.
struct Unreadable {
    err: CliError,
    why: Why,
}

#[derive(Debug, PartialEq)]
enum Why {
    /// No pg_restore to run.
    NoTool,
    /// The archive is newer than pg_restore (`unsupported version (1.16) in file header`).
    TooNew,
    /// pg_restore read it and failed: the archive is damaged or incomplete.
    Damaged,
}

const NULL_DEVICE: &str = if cfg!(windows) { "NUL" } else { "/dev/null" };

/// A backup just written reads back with the pg_restore that will restore it: `--list` reads
/// its header and table of contents, which also finds that pg_restore (or an installed newer
/// one) for an archive newer than PATH's. Not every table's data: pg_dump exited 0, every byte
/// went through this process into the file and its SHA-256, and the full read comes before
/// any restore ([`restore`]), where it guards against what happened to the file since.
pub fn verify(config: &BackupConfig, path: &Path) -> Result<(), CliError> {
    reader_with(config, path, Read::Contents).map(drop).map_err(|u| match u.why {
        Why::Damaged => {
            u.err.hint("the backup just written does not read back (a full or failing disk?); it was not kept")
        }
        _ => u.err,
    })
}

/// How much of an archive to read.
#[derive(Clone, Copy)]
enum Read {
    /// The header and the table of contents (`--list`).
    Contents,
    /// Every entry, data included (`--file=/dev/null`).
    Everything,
}

/// The pg_restore that reads `path` to its end: the configured one or PATH's, else, when that
/// one is older than the archive and none is configured, the newest installed one that does.
fn reader(config: &BackupConfig, path: &Path) -> Result<Reader, Unreadable> {
    reader_with(config, path, Read::Everything)
}

fn reader_with(config: &BackupConfig, path: &Path, how: Read) -> Result<Reader, Unreadable> {
    let tool = pg_restore(config).map_err(|err| Unreadable { err, why: Why::NoTool })?;
    let first = match read_through(&tool, path, how) {
        Ok(()) => return Ok(Reader { tool, installed: false }),
        Err(unreadable) if unreadable.why != Why::TooNew => return Err(unreadable),
        Err(too_new) => too_new,
    };
    let hint = match config.pg_restore {
        Some(_) => {
            "the configured `pg-restore` is older than the pg_dump that wrote the archive: set it to a newer one"
                .to_owned()
        }
        None => {
            for (_, newer) in installed("pg_restore").into_iter().rev() {
                if read_through(&newer, path, how).is_ok() {
                    return Ok(Reader { tool: newer, installed: true });
                }
            }
            format!(
                "this pg_restore is older than the pg_dump that wrote the archive, and none in `{}/<major>/bin` reads it: install a newer postgresql-client, or set `pg-restore` in `[package.metadata.dbmigrate.backup]`",
                installs_root().display()
            )
        }
    };
    Err(Unreadable { err: first.err.hint(hint), why: Why::TooNew })
}

/// `pg_restore --file=/dev/null <archive>` decodes every entry, data included; `--list` only
/// the header and the table of contents.
fn read_through(tool: &Tool, path: &Path, how: Read) -> Result<(), Unreadable> {
    let mut cmd = tool.command(&[]);
    match how {
        Read::Contents => cmd.arg("--list").arg("--file").arg(NULL_DEVICE),
        Read::Everything => cmd.arg("--file").arg(NULL_DEVICE),
    };
    cmd.arg(path);
    let output = Tool::spawnable(&cmd).output();
    let output = output.map_err(|e| Unreadable { err: tool.spawn_error(&cmd, &e), why: Why::NoTool })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why = if stderr.contains("unsupported version") { Why::TooNew } else { Why::Damaged };
    Err(Unreadable { err: tool.failed(&cmd, "reading", path, &stderr), why })
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

/// Sent before the archive's script: quiet NOTICEs, open the transaction, clean.
fn opening() -> String {
    format!("SET client_min_messages = warning;\nBEGIN;\n{CLEAN};\n")
}

/// How much of pg_restore's script is held back until it has exited: far more than what
/// follows its final `COMMIT` (a few comment lines and `\unrestrict`).
const HOLD: usize = 64 * 1024;

/// What the database's state is after a failed restore, for the error message.
const UNSENT: &str = "the database is unchanged: nothing was sent to it";
const UNCOMMITTED: &str = "the database is unchanged: the restore's transaction was never committed";
const ROLLED_BACK: &str =
    "the database is unchanged: psql stopped at that error, so the server rolled the restore's transaction back";
const UNKNOWN: &str =
    "the database may or may not have been restored: psql ended while the restore's COMMIT was under way";

/// Verifies the archive to its end, then replays it into the cleaned database in one
/// transaction that is committed only if pg_restore exited 0. A failure says whether the
/// database changed.
pub fn restore(conn: &ServerConn, config: &BackupConfig, path: &Path) -> Result<(), CliError> {
    let reader = reader(config, path).map_err(|u| match u.why {
        Why::Damaged => stated(u.err, UNSENT)
            .hint("the backup is damaged or incomplete: restore another one (`cargo dbmigrate backups` lists them)"),
        _ => stated(u.err, UNSENT),
    })?;
    let beside = reader.tool.path.parent().map(|bin| bin.join("psql")).filter(|p| tools::is_executable(p));
    let client = match beside {
        Some(path) if reader.installed && config.psql.is_none() => Tool { name: "psql".to_owned(), path },
        _ => psql(config).map_err(|e| stated(e, UNSENT))?,
    };
    let mut consume = client.command(&conn.pg_env());
    // No --single-transaction: psql would append a COMMIT to whatever arrived.
    consume.args(&["--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--file=-"]);
    let spawned = consume.build_command().stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let mut applier = spawned.map_err(|e| stated(client.spawn_error(&consume, &e), UNSENT))?;
    let stderr = tools::drain(applier.stderr.take());
    let fed = match applier.stdin.take() {
        Some(mut stdin) => feed(&reader.tool, path, &mut stdin),
        None => Fed::Cut(CliError::failure("could not write to psql's input")),
    };
    // psql's input is closed here: without a COMMIT, the server rolls the transaction back.
    let status = applier.wait();
    let stderr = stderr.join().unwrap_or_default();
    let psql_error = || client.failed(&consume, "restoring", path, &psql_messages(&stderr));
    judge(fed, status, psql_error)
}

/// What reached psql.
enum Fed {
    /// The whole script, ending with its COMMIT.
    Commit,
    /// pg_restore failed (or its script did not end as expected): no COMMIT was sent.
    Failed(CliError),
    /// Passing the script on broke off, usually because psql stopped: no COMMIT was sent.
    Cut(CliError),
}

/// Writes the opening, pg_restore's script but its last bytes, and those (ending with the
/// COMMIT) only once pg_restore has exited 0.
fn feed(reader: &Tool, path: &Path, stdin: &mut ChildStdin) -> Fed {
    let cut =
        |e: std::io::Error| Fed::Cut(CliError::failure(format!("could not pass `{}` to psql: {e}", path.display())));
    if let Err(e) = stdin.write_all(opening().as_bytes()) {
        return cut(e);
    }
    let mut produce = reader.command(&[]);
    produce.args(&["--single-transaction", "--file=-"]).arg(path);
    let spawned = Tool::spawnable(&produce).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut producer = match spawned {
        Ok(child) => child,
        Err(e) => return Fed::Failed(reader.spawn_error(&produce, &e)),
    };
    let stderr = tools::drain(producer.stderr.take());
    let relayed = match producer.stdout.take() {
        Some(mut stdout) => tools::relay_holding_back(&mut stdout, stdin, HOLD),
        None => Err(std::io::Error::other("no output from pg_restore")),
    };
    if relayed.is_err() {
        // psql stopped taking input: pg_restore's output has nowhere to go.
        let _ = producer.kill();
    }
    let status = producer.wait();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    let tail = match (relayed, status) {
        (Err(e), _) => return cut(e),
        (Ok(tail), Ok(status)) if status.success() => tail,
        (Ok(_), _) => return Fed::Failed(reader.failed(&produce, "reading", path, &stderr)),
    };
    let Some(end) = commit_point(&tail) else {
        return Fed::Failed(CliError::failure(format!(
            "`pg_restore`'s script for `{}` does not end with its COMMIT, so it was not committed",
            path.display()
        )));
    };
    stdin.write_all(&tail[..end]).map_or_else(cut, |()| Fed::Commit)
}

/// Where pg_restore's script ends: just after the `COMMIT;` that `--single-transaction`
/// writes, when only comments and `\unrestrict` follow (those are left out, so that the
/// COMMIT is the last thing psql runs).
fn commit_point(tail: &[u8]) -> Option<usize> {
    const COMMIT: &[u8] = b"\nCOMMIT;\n";
    let end = tail.windows(COMMIT.len()).rposition(|w| w == COMMIT)? + COMMIT.len();
    let rest = std::str::from_utf8(&tail[end..]).ok()?;
    let trailer = |l: &str| l.is_empty() || l.starts_with("--") || l.starts_with("\\unrestrict ");
    rest.lines().map(str::trim).all(trailer).then_some(end)
}

/// The error for how the restore ended, with the database's state in it.
fn judge(fed: Fed, status: std::io::Result<ExitStatus>, psql_error: impl Fn() -> CliError) -> Result<(), CliError> {
    let code = status.as_ref().ok().and_then(ExitStatus::code);
    match fed {
        Fed::Commit if code == Some(0) => Ok(()),
        // ON_ERROR_STOP: the error came before or at the COMMIT, which then was not one.
        Fed::Commit if code == Some(3) => Err(stated(psql_error(), ROLLED_BACK)),
        Fed::Commit => Err(stated(psql_error(), UNKNOWN)
            .hint("check the database (`cargo dbmigrate status`, its data) and run the restore again if needed")),
        Fed::Failed(err) => Err(stated(err, UNCOMMITTED)),
        Fed::Cut(err) if code == Some(0) => Err(stated(err, UNCOMMITTED)),
        Fed::Cut(_) => Err(stated(psql_error(), UNCOMMITTED)),
    }
}

/// psql's messages without the warning about the script's own `BEGIN` inside ours.
fn psql_messages(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines().filter(|l| !l.contains("there is already a transaction in progress")).collect::<Vec<_>>().join("\n")
}

/// `err` with the database's state appended to its message.
fn stated(mut err: CliError, state: &str) -> CliError {
    err.message = format!("{}; {state}", err.message);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_old_names_both_versions() {
        let stderr = "pg_dump: error: aborting because of server version mismatch\n\
                      pg_dump: detail: server version: 15.20 (Debian 15.20-0+deb12u1); pg_dump version: 14.11\n";
        let parsed = TooOld::parse(stderr).expect("a mismatch");
        assert_eq!(parsed, TooOld { server: "15.20 (Debian 15.20-0+deb12u1)".into(), dumper: "14.11".into() });
        assert_eq!(major(&parsed.server), Some(15));
        assert_eq!(major("9.6"), Some(9));
        assert_eq!(TooOld::parse("pg_dump: error: connection refused"), None);
    }

    #[test]
    fn the_commit_is_the_last_thing_sent() {
        let script = b"COPY t FROM stdin;\nCOMMIT;\n\\.\n\n\nCOMMIT;\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict k3y\n\n";
        let end = commit_point(script).expect("a commit");
        assert!(script[..end].ends_with(b"\\.\n\n\nCOMMIT;\n"));
        // A COMMIT inside the data, with more script after it, is not the end.
        assert_eq!(commit_point(b"COPY t FROM stdin;\nCOMMIT;\n\\.\nCREATE INDEX i ON t (a);\n"), None);
        assert_eq!(commit_point(b"CREATE TABLE t ();\n"), None);
    }
}
