//! MySQL/MariaDB backups: `mariadb-dump` (or `mysqldump`) in one consistent snapshot, checked by
//! its completion trailer, and restored so that a damaged dump never touches the database.
//!
//! DDL is not transactional here, so a restore cannot be one transaction; instead:
//!
//! 1. the trailer is checked again (a truncated file fails here);
//! 2. the dump is replayed into a scratch database `<db>_dbm_restore_<pid>` with the original's
//!    character set, stopping at the first error: a damaged body fails here, and until now the
//!    original was only read;
//! 3. the scratch copy's triggers, routines, events and views are read back as `CREATE`
//!    statements with the dump tool, and its triggers dropped (a table cannot leave its
//!    database with triggers);
//! 4. ONE `RENAME TABLE` (atomic) moves every table and view of the original to a spare name
//!    `_dbm_old_<pid>_<n>` in the original and every table of the scratch copy in;
//! 5. the spare-named objects (with their triggers) and the original's routines and events are
//!    dropped, and the definitions of step 3 run in the original;
//! 6. the scratch database is dropped, on every path.
//!
//! Limits: between 4 and 5 the tables are the backup's but its triggers, views, routines and
//! events are not yet back (a failure there says so); events are live in the scratch copy
//! while it exists; a foreign key from another database to a table of this one ends up pointing
//! at a dropped table; the restore needs the right to create and drop `<db>_dbm_restore_*`.
//! Client errors are reported without the text they quote, which would be rows of the backup.

use super::BackupConfig;
use super::conn::ServerConn;
use super::tools::{Dumped, Tool, Want};
use crate::CliError;
use cargo_util::ProcessBuilder;
use std::io::{Read, Seek, SeekFrom};
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

pub fn dump(conn: &ServerConn, config: &BackupConfig, out: &Path) -> Result<Dumped, CliError> {
    let tool = dumper(config)?;
    client(config)?;
    let mut cmd = tool.command(&conn.mysql_env());
    cmd.args(&conn.mysql_args())
        .args(&["--single-transaction", "--routines", "--triggers", "--events", "--hex-blob"])
        .arg("--")
        .arg(&conn.database);
    // mariadb-dump has no connect timeout: its first line (written once it is logged in) must
    // come within the same bound.
    let bound = std::time::Duration::from_secs(conn.connect_timeout.max(1));
    match tool.output_into(&cmd, out, Some(bound))? {
        (status, _, dumped) if status.success() => Ok(dumped),
        (_, stderr, _) => Err(tool.failed(&cmd, "writing", out, &stderr)),
    }
}

/// The dump ends with `-- Dump completed on …` only when the tool finished.
pub fn verify(path: &Path) -> Result<(), CliError> {
    if completed(path)? {
        return Ok(());
    }
    Err(CliError::failure(format!(
        "the backup `{}` has no `-- Dump completed` trailer: the dump stopped early; nothing was changed",
        path.display()
    ))
    .hint("check the disk space of the backup folder and the dump user's privileges"))
}

/// Whether the last bytes hold the trailer.
fn completed(path: &Path) -> Result<bool, CliError> {
    let fail = |e: std::io::Error| CliError::failure(format!("cannot read the backup `{}`: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(fail)?;
    let len = file.metadata().map_err(fail)?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(256))).map_err(fail)?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(fail)?;
    Ok(String::from_utf8_lossy(&tail).contains("-- Dump completed"))
}

/// Puts the dump back without risking the database on a damaged file: checked, replayed into a
/// scratch database, and only then swapped in (see the module docs).
pub fn restore(conn: &ServerConn, config: &BackupConfig, path: &Path) -> Result<(), CliError> {
    if !completed(path)? {
        let message = format!("the backup `{}` has no `-- Dump completed` trailer: it is truncated", path.display());
        return Err(damaged(not_changed(CliError::failure(message), &conn.database)));
    }
    let server = Server { conn, client: client(config)?, dumper: dumper(config)?, path };
    let unchanged = |e: CliError| not_changed(e, &conn.database);
    let scratch = Scratch::create(&server).map_err(unchanged)?;
    server.replay(&scratch.name, path).map_err(|e| damaged(unchanged(e)))?;
    let definitions = server.definitions(&scratch.name).map_err(unchanged)?;
    let old = server.swap(&scratch.name).map_err(unchanged)?;
    server.finish(&old, &definitions).map_err(|e| half_done(e, &conn.database))
}

/// `, the database was not changed`: only for failures before the swap, which is one statement.
fn not_changed(mut e: CliError, database: &str) -> CliError {
    e.message.push_str(&format!("; the database `{database}` was not changed"));
    e
}

fn damaged(e: CliError) -> CliError {
    e.hint("the backup is damaged or incomplete: restore another one (`cargo dbmigrate backups` lists them)")
}

/// After the swap the database WAS changed: its tables and rows are the backup's, but what the
/// swap cannot carry (views, triggers, routines, events) may be missing, and the old tables may
/// still be there under spare names. Say so, and how to finish.
fn half_done(mut e: CliError, database: &str) -> CliError {
    e.message.push_str(&format!(
        "; the tables and rows of `{database}` are already the backup's, but its views, triggers, routines \
         or events may be missing, and the replaced tables may remain as `_dbm_old_*`"
    ));
    e.hint("fix the cause and run the same `cargo dbmigrate restore` again: the backup itself replayed without error")
}

/// The tools and connection a restore works with.
struct Server<'a> {
    conn: &'a ServerConn,
    client: Tool,
    dumper: Tool,
    /// The backup, for messages.
    path: &'a Path,
}

/// What the database holds, by name: tables (and sequences) and views move with `RENAME TABLE`;
/// the other objects are dropped and created.
#[derive(Default)]
struct Objects {
    tables: Vec<String>,
    views: Vec<String>,
    triggers: Vec<String>,
    /// `(PROCEDURE | FUNCTION | PACKAGE | EVENT, name)`.
    others: Vec<(String, String)>,
}

/// Every object of the current database as `kind<TAB>HEX(name)` (hex: any name survives the
/// client's batch output).
const LIST_OBJECTS: &str = "\
SELECT IF(table_type = 'VIEW', 'VIEW', 'TABLE'), HEX(table_name) FROM information_schema.tables \
 WHERE table_schema = DATABASE() \
UNION ALL SELECT 'TRIGGER', HEX(trigger_name) FROM information_schema.triggers WHERE trigger_schema = DATABASE() \
UNION ALL SELECT routine_type, HEX(routine_name) FROM information_schema.routines WHERE routine_schema = DATABASE() \
UNION ALL SELECT 'EVENT', HEX(event_name) FROM information_schema.events WHERE event_schema = DATABASE()";

impl Server<'_> {
    /// The client, connected (within the bound), with `database` as the current database.
    fn command(&self, tool: &Tool, database: &str) -> ProcessBuilder {
        let mut cmd = tool.command(&self.conn.mysql_env());
        cmd.args(&self.conn.mysql_client_args()).arg(format!("--database={database}"));
        cmd
    }

    /// Runs one statement (or a few short ones) and returns the rows, tab-separated.
    fn query(&self, database: &str, sql: &str) -> Result<String, CliError> {
        let mut cmd = self.command(&self.client, database);
        cmd.args(&["--batch", "--skip-column-names", "--execute", sql]);
        let out = Tool::spawnable(&cmd).output().map_err(|e| self.client.spawn_error(&cmd, &e))?;
        if !out.status.success() {
            return Err(self.client.failed(&cmd, "restoring", self.path, &redact(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Replays the backup into `database`, stopping at the first error. Nothing is sent before
    /// the file, so the client's `at line N` is the file's line.
    fn replay(&self, database: &str, path: &Path) -> Result<(), CliError> {
        let file = std::fs::File::open(path)
            .map_err(|e| CliError::failure(format!("cannot read the backup `{}`: {e}", path.display())))?;
        self.feed(database, file, "replaying")
    }

    /// Sends `input` to the client on stdin (scripts can be long, and may use `DELIMITER`).
    fn feed(&self, database: &str, mut input: impl Read, what: &str) -> Result<(), CliError> {
        let cmd = self.command(&self.client, database);
        let spawned = cmd.build_command().stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
        let mut child = spawned.map_err(|e| self.client.spawn_error(&cmd, &e))?;
        let fed = child.stdin.take().map(|mut stdin| std::io::copy(&mut input, &mut stdin));
        let out = child.wait_with_output().map_err(|e| self.client.spawn_error(&cmd, &e))?;
        if !out.status.success() {
            return Err(self.client.failed(&cmd, what, self.path, &redact(&out.stderr)));
        }
        match fed {
            Some(Err(e)) => Err(CliError::failure(format!(
                "could not send the backup `{}` to `{}`: {e}",
                self.path.display(),
                self.client.name
            ))),
            _ => Ok(()),
        }
    }

    fn objects(&self, database: &str) -> Result<Objects, CliError> {
        let mut objects = Objects::default();
        for line in self.query(database, LIST_OBJECTS)?.lines() {
            let Some((kind, name)) = line.split_once('\t').and_then(|(k, h)| Some((k, unhex(h)?))) else {
                continue;
            };
            match kind {
                "TABLE" => objects.tables.push(name),
                "VIEW" => objects.views.push(name),
                "TRIGGER" => objects.triggers.push(name),
                _ => objects.others.push((kind.to_owned(), name)),
            }
        }
        Ok(objects)
    }

    /// The `CREATE` statements of the scratch copy's triggers, routines, events and views, as
    /// the dump tool writes them (sql_mode, character sets, definer; views in dependency-safe
    /// two steps), to run in the original once the tables are in.
    fn definitions(&self, scratch: &str) -> Result<Vec<u8>, CliError> {
        let dump = |args: &[&str], names: &[String], what: &str| {
            let mut cmd = self.dumper.command(&self.conn.mysql_env());
            cmd.args(&self.conn.mysql_args()).args(&["--no-data", "--skip-comments"]).args(args);
            cmd.arg("--").arg(scratch).args(names);
            self.dumper.run(&cmd, what, self.path).map(|out| out.stdout)
        };
        let others = ["--no-create-info", "--triggers", "--routines", "--events"];
        let mut script = dump(&others, &[], "reading the definitions restored from")?;
        let views = self.objects(scratch)?.views;
        if !views.is_empty() {
            script.extend(dump(&["--skip-triggers"], &views, "reading the views restored from")?);
        }
        Ok(script)
    }

    /// In ONE `RENAME TABLE` (atomic): every table and view of the original to a spare name in
    /// the original, every table of the scratch copy into the original. Triggers cannot leave
    /// their database, so the scratch copy's are dropped first (they are in `definitions`).
    /// Returns the original's objects under their spare names, to drop.
    fn swap(&self, scratch: &str) -> Result<Objects, CliError> {
        let new = self.objects(scratch)?;
        let drop_triggers: String =
            new.triggers.iter().map(|t| format!("DROP TRIGGER IF EXISTS {};\n", ident(t))).collect();
        if !drop_triggers.is_empty() {
            self.feed(scratch, drop_triggers.as_bytes(), "restoring")?;
        }
        let database = &self.conn.database;
        let mut old = self.objects(database)?;
        let taken: Vec<&String> = old.tables.iter().chain(&old.views).chain(&new.tables).collect();
        let spare = spare_names(old.tables.len() + old.views.len(), &taken);
        let (db, sc) = (ident(database), ident(scratch));
        let mut renames: Vec<String> = Vec::new();
        for (name, spare) in old.tables.iter().chain(&old.views).zip(&spare) {
            renames.push(format!("{db}.{} TO {db}.{}", ident(name), ident(spare)));
        }
        renames.extend(new.tables.iter().map(|t| format!("{sc}.{} TO {db}.{}", ident(t), ident(t))));
        if !renames.is_empty() {
            self.feed(database, format!("RENAME TABLE {};\n", renames.join(",\n")).as_bytes(), "restoring")?;
        }
        let (tables, views) = spare.split_at(old.tables.len());
        (old.tables, old.views) = (tables.to_vec(), views.to_vec());
        Ok(old)
    }

    /// Drops the original's old objects (their triggers go with their tables), then creates
    /// the backup's views, triggers, routines and events.
    fn finish(&self, old: &Objects, definitions: &[u8]) -> Result<(), CliError> {
        let mut script = String::from("SET FOREIGN_KEY_CHECKS = 0;\n");
        for table in &old.tables {
            script.push_str(&format!("DROP TABLE IF EXISTS {};\n", ident(table)));
        }
        for view in &old.views {
            script.push_str(&format!("DROP VIEW IF EXISTS {};\n", ident(view)));
        }
        for (kind, name) in &old.others {
            script.push_str(&format!("DROP {kind} IF EXISTS {};\n", ident(name)));
        }
        let input = script.as_bytes().chain(definitions);
        self.feed(&self.conn.database, input, "restoring the views, triggers, routines and events of")
    }
}

/// The scratch database a restore replays into; dropped when done, on every path.
struct Scratch<'a> {
    server: &'a Server<'a>,
    name: String,
}

impl<'a> Scratch<'a> {
    /// `<db>_dbm_restore_<pid>` (shortened to MySQL's 64 characters), with the original's
    /// character set and collation, which routines and tables without their own inherit.
    fn create(server: &'a Server<'a>) -> Result<Self, CliError> {
        let database = &server.conn.database;
        let suffix = format!("_dbm_restore_{}", std::process::id());
        let keep = 64usize.saturating_sub(suffix.chars().count());
        let name = format!("{}{suffix}", database.chars().take(keep).collect::<String>());
        let sql = "SELECT default_character_set_name, default_collation_name FROM information_schema.schemata \
                   WHERE schema_name = DATABASE()";
        let charset = server.query(database, sql)?;
        let mut create = format!("CREATE DATABASE {}", ident(&name));
        if let Some((set, collation)) = charset.trim().split_once('\t') {
            create.push_str(&format!(" CHARACTER SET {set} COLLATE {collation}"));
        }
        server.query(database, &create)?;
        Ok(Scratch { server, name })
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {}", ident(&self.name));
        let _ = self.server.query(&self.server.conn.database, &drop);
    }
}

/// `count` names for the original's objects during the swap, `_dbm_old_<pid>_<n>`, none of
/// them in `taken`.
fn spare_names(count: usize, taken: &[&String]) -> Vec<String> {
    let pid = std::process::id();
    (0..)
        .map(|n| format!("_dbm_old_{pid}_{n}"))
        .filter(|name| !taken.iter().any(|t| t.eq_ignore_ascii_case(name)))
        .take(count)
        .collect()
}

/// A quoted identifier.
fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn unhex(hex: &str) -> Option<String> {
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// The client's error without the text it quotes. On a bad statement the client echoes the
/// statement and then prints `ERROR 1064 (42000) at line 57: … near '<text>'`: both hold rows of
/// the backup, and messages end up in CI logs. Keep only the client's own error line (the last
/// one of its exact shape; the echo comes first), up to its first quoted text.
fn redact(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = match text.lines().rfind(|l| is_client_error(l)) {
        Some(line) => vec![line],
        None => text.lines().filter(|l| !l.trim().is_empty()).take(3).collect(),
    };
    let cut: Vec<String> = lines
        .iter()
        .map(|line| match opening_quote(line) {
            Some(at) => {
                format!("{} '…' (the quoted text is left out: it may hold rows of the backup)", line[..at].trim_end())
            }
            None => (*line).to_owned(),
        })
        .collect();
    cut.join("; ")
}

/// `ERROR 1064 (42000) at line 57: …`, `ERROR 2002 (HY000): …` or `ERROR at line 3: …`.
fn is_client_error(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("ERROR ") else { return false };
    let rest = match after_digits(rest) {
        Some(r) => match r.strip_prefix(" (").and_then(|r| r.get(5..)).and_then(|r| r.strip_prefix(')')) {
            Some(r) => r.strip_prefix(' ').and_then(after_line).unwrap_or(r),
            None => return false,
        },
        None => match after_line(rest) {
            Some(r) => r,
            None => return false,
        },
    };
    rest.starts_with(':')
}

/// The text after `at line <digits>`.
fn after_line(s: &str) -> Option<&str> {
    s.strip_prefix("at line ").and_then(after_digits)
}

/// The text after one or more leading digits.
fn after_digits(s: &str) -> Option<&str> {
    let end = s.find(|c: char| !c.is_ascii_digit())?;
    (end > 0).then(|| &s[end..])
}

/// Where the first quoted text starts: a quote not inside a word (`can't` is no quote).
fn opening_quote(line: &str) -> Option<usize> {
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        if matches!(c, '\'' | '"') && !previous.is_alphanumeric() {
            return Some(at);
        }
        previous = c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_keeps_the_code_and_line_but_not_the_data() {
        let stderr = b"ERROR 1064 (42000) at line 57: You have an error in your SQL syntax; check the manual \
that corresponds to your MariaDB server version for the right syntax to use near '\xff(1,'secret@example.com'),\n\
(2,'other secret')' at line 1\n";
        let shown = redact(stderr);
        assert!(shown.starts_with("ERROR 1064 (42000) at line 57: You have an error"), "{shown}");
        let echoed = b"--------------\nINSERT INTO t VALUES\nERROR 1 (HY000): secret'\n--------------\n\n\
ERROR at line 3: ASCII '\\0' appeared in the statement. Query: 'INSERT secret'.\n";
        assert_eq!(
            redact(echoed),
            "ERROR at line 3: ASCII '\u{2026}' (the quoted text is left out: it may hold rows of the backup)"
        );
        assert!(is_client_error("ERROR 2002 (HY000): x") && is_client_error("ERROR 1064 (42000) at line 5: x"));
        assert!(!is_client_error("ERROR 12 (HY0) at line 5: x") && !is_client_error("ERROR: x"));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(!redact(b"ERROR 1062 (23000) at line 9: Duplicate entry 'a@b.c' for key 'PRIMARY'\n").contains("a@b"));
        assert!(
            redact(b"ERROR 2002 (HY000): Can't connect to server on '10.0.0.1'\n")
                .starts_with("ERROR 2002 (HY000): Can't connect to server on '…'")
        );
        assert_eq!(redact(b"mariadb: unknown option\n"), "mariadb: unknown option");
    }

    #[test]
    fn names() {
        assert_eq!(ident("a`b"), "`a``b`");
        assert_eq!(unhex("615F62").as_deref(), Some("a_b"));
        assert_eq!(unhex("6"), None);
        let taken = format!("_dbm_old_{}_0", std::process::id());
        assert_eq!(spare_names(1, &[&taken]), [format!("_dbm_old_{}_1", std::process::id())]);
    }
}
