//! The engine: takes the lock, reads the history in one round trip, plans,
//! then runs each migration with its history change in one transaction
//! (on MySQL/MariaDB, where DDL commits implicitly, behind a progress marker that commits
//! with that DDL; statement by statement with the marker for a file that asks to run outside
//! a transaction).
//!
//! Every migration's lock waits are bounded by the DDL lock timeout, so DDL queued
//! behind an application's transaction gives up instead of stalling every query on
//! the table behind it.
//!
//! One connection serves a whole run, so session settings made by a
//! migration (`SET timezone = ...`) stay in force for the later ones; the
//! set-up SQL runs once on it, before any transaction.

use std::time::{Duration, Instant};

use crate::backend::{self, Backend, DbError, LockGuard, Transactions};
use crate::ddl_lock::{self, Scope};
use crate::error::{Anomaly, Direction, Error, Result};
use crate::history::{AppliedRow, Audit, HistoryState, RecordedDown, Table};
use crate::hooks::{Cause, Event, Hooks, MigrateError, Planned};
use crate::plan::{self, Checks, Fix, Goal, Scripts};
use crate::script::{MigrationScript, Reversibility};
use crate::url::{DatabaseUrl, Dialect, SqliteMode};
use dbmigrate_core::sql::{is_blank, line_of, wants_no_transaction};

/// How the engine behaves; `Options::default()` matches refinery.
#[derive(Debug, Clone)]
pub struct Options {
    /// History table name (`[A-Za-z_][A-Za-z0-9_]*`).
    pub table: String,
    /// SQL run on the migration connection before anything else.
    pub setup_sql: Option<String>,
    /// How long to wait for the migration lock (and for SQLite's busy lock).
    pub lock_timeout: Duration,
    /// The bound on a server's TCP connect, TLS handshake, authentication and history and
    /// lock reads (not on migration statements); a url's `connect_timeout` wins over it.
    pub connect_timeout: Duration,
    /// How long a migration's statement may wait for a lock another session holds
    /// (PostgreSQL `lock_timeout`, MySQL/MariaDB `lock_wait_timeout` and
    /// `innodb_lock_wait_timeout`) before it gives up, transiently; zero waits without limit.
    pub ddl_lock_timeout: Duration,
    /// Run a whole `migrate` in one transaction (not on MySQL/MariaDB,
    /// where DDL commits implicitly).
    pub single_transaction: bool,
    /// Apply pending migrations older than the newest applied one.
    pub allow_out_of_order: bool,
    /// Refuse to run when an applied migration differs from its script.
    pub abort_divergent: bool,
    /// Refuse to run when an applied migration has no script.
    pub abort_missing: bool,
    /// The caller only reads (status, history): a missing SQLite file is an error
    /// ([`Error::NoSqliteFile`]) instead of a new empty database. Servers ignore it.
    pub read_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            table: dbmigrate_core::DEFAULT_HISTORY_TABLE.to_string(),
            setup_sql: None,
            lock_timeout: Duration::from_secs(60),
            connect_timeout: crate::DEFAULT_CONNECT_TIMEOUT,
            ddl_lock_timeout: Duration::from_secs(5),
            single_transaction: false,
            allow_out_of_order: false,
            abort_divergent: true,
            abort_missing: true,
            read_only: false,
        }
    }
}

/// One migration applied, reverted or stamped by a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    pub name: String,
    pub duration: Duration,
    /// Applied (up) or reverted (down): a redo does both.
    pub direction: Direction,
}

/// What a `migrate` or `stamp` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub direction: Direction,
    /// Highest applied version before and after.
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub migrations: Vec<Applied>,
}

/// The migration lock, held until dropped: other migrators (`migrate`, `stamp`, `repair`) wait.
pub struct MigrationLock {
    _guard: LockGuard,
}

impl std::fmt::Debug for MigrationLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MigrationLock")
    }
}

/// The state of one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationState {
    Applied,
    Pending,
    /// Applied, but the script was edited since (its checksum differs).
    Divergent,
    /// Applied under another name than the script's (the history was written elsewhere).
    Renamed,
    /// Applied, but the history row has no checksum to compare with.
    NoChecksum,
    /// The history holds several rows for the version.
    Duplicate,
    /// Applied, but there is no script for it.
    Missing,
    /// Started outside a transaction (MySQL/MariaDB, or a no-transaction file) and not
    /// finished; needs `repair`.
    Dirty,
    /// Applied from the text before a `release --rehash`; the next run updates the row's
    /// checksum to the file's ([`MigrationStatus::rehash`] holds the reason).
    Rehashed,
    /// Applied under another version before `renumber` (same name, same text); the next run
    /// moves the row to this version ([`MigrationStatus::previous_version`]).
    Renumbered,
}

/// One line of `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: i64,
    pub name: String,
    pub state: MigrationState,
    pub applied_on: Option<String>,
    /// `None` for a missing script.
    pub reversibility: Option<Reversibility>,
    /// For a dirty migration, how many of its statements completed.
    pub statements_done: Option<u64>,
    /// For a renumbered migration, the version the history still records it under.
    pub previous_version: Option<i64>,
    /// For a rehashed migration, the reason recorded in the lock.
    pub rehash: Option<String>,
}

/// How `repair` resolves a dirty or doubtful migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairAction {
    /// Record it as applied (the schema has been fixed forward by hand).
    AsApplied,
    /// Record it as not applied (its changes have been undone by hand).
    AsPending,
}

/// What `repair` changed in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepairChange {
    /// The history already recorded the version as asked: nothing was written.
    Nothing,
    /// A row was written for a version the history did not hold.
    Recorded,
    /// The version's row now holds the file's name and checksum; it differed as said.
    Rewritten(Anomaly),
    /// The version's row was deleted.
    Removed,
}

/// What `repair` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub change: RepairChange,
    /// A dirty marker for the version was cleared.
    pub marker_cleared: bool,
}

/// One thing to send, in order.
enum Step {
    Begin,
    Commit,
    /// Migration SQL; `line` is where `sql` starts in its file; `single`
    /// when it is one statement, so an error without a position is on `line`.
    Sql {
        sql: String,
        line: usize,
        single: bool,
    },
    /// Migration SQL that commits implicitly (MySQL/MariaDB DDL): it commits the transaction
    /// open before it and leaves none open after it; `done` counts the statements persisted
    /// once it has run.
    Implicit {
        sql: String,
        line: usize,
        done: usize,
    },
    /// History or marker bookkeeping.
    Record(String),
    /// The DDL lock timeout, set (or reset) for what follows.
    Setting(String),
    /// The history row of an applied migration, rendered when it is sent so
    /// `applied_on` is the time it was really applied.
    Insert {
        version: i64,
        name: String,
        checksum: u64,
    },
}

/// Where a failed piece of SQL sits in its file.
struct Location<'a> {
    sql: &'a str,
    line: usize,
    single: bool,
}

/// The steps of one migration.
struct Job {
    version: i64,
    name: String,
    file: String,
    direction: Direction,
    steps: Vec<Step>,
    /// Run behind a progress marker: a failure after the first statement leaves it dirty.
    tracked: bool,
    /// Time spent splitting the script into steps before the run, part of its duration.
    split: Duration,
}

/// A migration engine bound to one database connection.
pub struct Engine {
    url: DatabaseUrl,
    options: Options,
    table: Table,
    conn: Box<dyn Backend>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("url", &self.url).field("table", &self.table.name()).finish_non_exhaustive()
    }
}

impl Engine {
    /// Connects and runs the set-up SQL.
    pub fn connect(url: &DatabaseUrl, options: Options) -> Result<Self> {
        let table = Table::new(&options.table)?;
        let (setup, read_only) = (options.setup_sql.as_deref(), options.read_only);
        let conn = backend::connect(url, setup, options.lock_timeout, options.connect_timeout, read_only)?;
        // Where DDL commits implicitly, one transaction cannot make a run all-or-nothing: say
        // so rather than silently run without one.
        if options.single_transaction && conn.transactions() == Transactions::Tracked {
            return Err(Error::SingleTransactionUnsupported);
        }
        Ok(Engine { url: url.clone(), options, table, conn })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    fn dialect(&self) -> Dialect {
        self.url.dialect()
    }

    /// Applies or reverts migrations toward `goal`: takes the lock, reads the history in one
    /// round trip, plans (refusing before anything is sent when it must), calls
    /// [`Hooks::before_apply`] when something will change, then runs each migration, reporting
    /// progress to [`Hooks::on_event`]. A failure says what was committed before it.
    pub fn migrate<H: Hooks + ?Sized>(
        &mut self,
        scripts: &[MigrationScript<'_>],
        goal: Goal,
        hooks: &mut H,
    ) -> Result<Report, MigrateError<H::Error>> {
        let scripts = plan::index(scripts)?;
        let _lock = self.lock_or_wait(hooks)?;
        let found = self.load(false)?.unwrap_or_default();
        refuse_dirty(&found, &scripts)?;
        // Rows recorded before a rehash or a renumber are the files' migrations: the plan is
        // made against the history as it reads once they are corrected.
        let fixes = plan::fixes(&scripts, &found)?;
        let state = plan::fixed(&found, &fixes);
        let recorded = self.recorded(&scripts, &state, goal)?;
        let jobs = self.jobs(&scripts, &state, goal, &recorded)?;
        if !jobs.is_empty() {
            // Refused before the hook, so no backup is taken for a run that cannot write.
            if self.url.sqlite_mode() == Some(SqliteMode::ReadOnly) {
                return Err(Error::ReadOnlyUrl { changes: jobs.len() }.into());
            }
            let planned = Planned {
                direction: goal.direction(),
                current: plan::newest(&state.rows),
                migrations: jobs.iter().map(|j| (j.version, j.name.clone())).collect(),
            };
            hooks.before_apply(&planned).map_err(|e| MigrateError { cause: Cause::Hook(e), applied: Vec::new() })?;
            // The history (and side) tables are created only now, under the lock: a hook that
            // refuses (a backup that cannot be taken) leaves the database exactly as it was.
            self.load(true)?;
        }
        self.apply_fixes(&fixes, hooks)?;
        // A redo ends with its migrations applied again.
        let direction = if goal.is_redo() { Direction::Up } else { goal.direction() };
        self.execute(jobs, &state, direction, hooks)
    }

    /// Corrects the history rows of rehashed and renumbered migrations, each with its audit row
    /// in one transaction, and reports each to the hooks.
    fn apply_fixes<H: Hooks + ?Sized>(&mut self, fixes: &[Fix], hooks: &mut H) -> Result<()> {
        for (fix, job) in fixes.iter().zip(self.fix_jobs(fixes)) {
            self.run_job(&job, false)?;
            hooks.on_event(&match fix {
                Fix::Rehash { version, name, reason, .. } => {
                    Event::Rehashed { version: *version, name: name.clone(), reason: reason.clone() }
                }
                Fix::Renumber { from, to, name, .. } => Event::Renumbered { from: *from, to: *to, name: name.clone() },
            });
        }
        Ok(())
    }

    /// One job per correction: the audit table ensured, then the row and its audit together.
    fn fix_jobs(&self, fixes: &[Fix]) -> Vec<Job> {
        fixes
            .iter()
            .map(|fix| {
                let (from, to, name, old, checksum, action, reason) = match fix {
                    Fix::Rehash { version, name, reason, old, checksum } => {
                        (*version, *version, name, old, *checksum, "rehash", reason.as_str())
                    }
                    Fix::Renumber { from, to, name, old, checksum } => {
                        (*from, *to, name, old, *checksum, "renumber", "renumbered with the same name and text")
                    }
                };
                let audit =
                    Audit { version: to, previous_version: from, action, previous_checksum: old, checksum, reason };
                let steps = vec![
                    Step::Record(self.table.ensure_audit_sql(self.dialect())),
                    Step::Record(self.table.ensure_downs_sql(self.dialect())),
                    Step::Begin,
                    Step::Record(self.table.rewrite_sql(from, to, checksum)),
                    // The recorded way back follows its row.
                    Step::Record(self.table.move_down_sql(from, to, checksum)),
                    Step::Record(self.table.audit_sql(&audit)),
                    Step::Commit,
                ];
                let file = crate::script::file_name(to, name);
                Job {
                    version: to,
                    name: name.clone(),
                    file,
                    direction: Direction::Up,
                    steps,
                    tracked: false,
                    split: Duration::ZERO,
                }
            })
            .collect()
    }

    /// Takes the migration lock; when another migrator holds it, says so once
    /// ([`Event::WaitingForLock`], naming the holder where the backend can tell) and waits.
    /// The first try does not wait (on MySQL/MariaDB `GET_LOCK` waits at least 1 s).
    fn lock_or_wait<H: Hooks + ?Sized>(&mut self, hooks: &mut H) -> Result<LockGuard> {
        match self.conn.lock(&self.table, Duration::ZERO) {
            Err(Error::LockTimeout { .. }) if !self.options.lock_timeout.is_zero() => {
                let holder = self.conn.lock_holder(&self.table);
                hooks.on_event(&Event::WaitingForLock { holder });
                self.conn.lock(&self.table, self.options.lock_timeout)
            }
            taken => taken,
        }
    }

    /// The SQL `migrate` would send toward `goal`, in order; changes nothing.
    pub fn dry_run(&mut self, scripts: &[MigrationScript<'_>], goal: Goal) -> Result<Vec<String>> {
        let scripts = plan::index(scripts)?;
        let (found, mut out) = self.load_for_dry_run()?;
        refuse_dirty(&found, &scripts)?;
        let fixes = plan::fixes(&scripts, &found)?;
        let state = plan::fixed(&found, &fixes);
        let recorded = self.recorded(&scripts, &state, goal)?;
        let jobs = self.jobs(&scripts, &state, goal, &recorded)?;
        out.extend(self.fix_jobs(&fixes).iter().flat_map(|j| &j.steps).map(|step| self.render_step(step)));
        out.extend(self.render(&jobs));
        Ok(out)
    }

    /// Takes the migration lock on its own connection, waiting up to the lock timeout, for
    /// work that must not overlap a migration (restoring a backup).
    pub fn lock(&self) -> Result<MigrationLock> {
        Ok(MigrationLock { _guard: self.conn.lock(&self.table, self.options.lock_timeout)? })
    }

    /// The down texts recorded at apply time, read only when reverting may need one.
    fn recorded(&mut self, scripts: &Scripts<'_, '_>, state: &HistoryState, goal: Goal) -> Result<Vec<RecordedDown>> {
        if goal.direction() == Direction::Up || !plan::wants_recorded(scripts, state)? {
            return Ok(Vec::new());
        }
        self.conn.recorded_downs(&self.table).map_err(|e| e.into_error("could not read the recorded down scripts"))
    }

    /// What `goal` runs against `state`, refused before anything is sent when it must be: a
    /// redo's up half is planned with its down half, so neither starts unless both can run.
    fn jobs(
        &self,
        scripts: &Scripts<'_, '_>,
        state: &HistoryState,
        goal: Goal,
        recorded: &[RecordedDown],
    ) -> Result<Vec<Job>> {
        refuse_dirty(state, scripts)?;
        if goal.direction() == Direction::Up {
            let chosen = plan::plan(scripts, state, goal, self.checks())?;
            return chosen.iter().map(|s| self.up_job(s)).collect();
        }
        let reverts = plan::plan_down(scripts, state, goal, recorded)?;
        let mut jobs: Vec<Job> = reverts.iter().map(|r| self.down_job(r)).collect::<Result<_>>()?;
        if goal.is_redo() {
            for r in reverts.iter().rev() {
                jobs.push(self.up_job(r.script)?);
            }
        }
        Ok(jobs)
    }

    /// Whether the database is exactly at `known` — each (version, name, refinery checksum)
    /// applied as recorded, nothing applied beyond it, nothing dirty — in one history read and
    /// without the lock. It is the no-op check of a deploy: a history row is committed with its
    /// migration, so `true` is never wrong; `false` only means "do the full, locked run".
    pub fn is_up_to_date(&mut self, known: &[(i64, &str, u64)]) -> Result<bool> {
        let asked = self.conn.matches_history(&self.table, known);
        let context = || format!("could not read the history table {}", self.table.name());
        if let Some(answer) = asked.map_err(|e| e.into_error(context()))? {
            return Ok(answer);
        }
        let Some(state) = self.load(false)? else { return Ok(known.is_empty()) };
        if state.dirty.is_some() || state.rows.len() != known.len() {
            return Ok(false);
        }
        let rows: std::collections::HashMap<i64, &AppliedRow> = state.rows.iter().map(|r| (r.version, r)).collect();
        Ok(known.iter().all(|(version, name, checksum)| {
            rows.get(version).is_some_and(|r| r.name == *name && r.checksum_u64() == Some(*checksum))
        }))
    }

    /// Every migration known to the scripts or the history, by version.
    pub fn status(&mut self, scripts: &[MigrationScript<'_>]) -> Result<Vec<MigrationStatus>> {
        let scripts = plan::index(scripts)?;
        let state = self.load(false)?.unwrap_or_default();
        status_of(&scripts, &state)
    }

    /// History rows in the order they were applied.
    pub fn history(&mut self) -> Result<Vec<AppliedRow>> {
        Ok(self.load(false)?.unwrap_or_default().rows)
    }

    /// The highest applied version.
    pub fn current_version(&mut self) -> Result<Option<i64>> {
        Ok(plan::newest(&self.history()?))
    }

    /// Records pending migrations up to `up_to` as applied without running them.
    pub fn stamp(&mut self, scripts: &[MigrationScript<'_>], up_to: i64) -> Result<Report> {
        let scripts = plan::index(scripts)?;
        let _lock = self.conn.lock(&self.table, self.options.lock_timeout)?;
        let state = self.load(true)?.unwrap_or_default();
        refuse_dirty(&state, &scripts)?;
        let pending = plan::plan_up(&scripts, &state, up_to, self.checks())?;
        let mut steps = vec![Step::Begin];
        for s in &pending {
            steps.push(insert_step(s)?);
        }
        steps.push(Step::Commit);
        let job = Job {
            version: up_to,
            name: "stamp".into(),
            file: "stamp".into(),
            direction: Direction::Up,
            steps,
            tracked: false,
            split: Duration::ZERO,
        };
        self.run_job(&job, false)?;
        let migrations = pending
            .iter()
            .map(|s| Applied {
                version: s.version,
                name: s.name.to_string(),
                duration: Duration::ZERO,
                direction: Direction::Up,
            })
            .collect();
        Ok(self.report(&state, Direction::Up, migrations))
    }

    /// Resolves a dirty or doubtful migration by recording it as applied or pending, and says
    /// exactly what it changed ([`RepairChange::Nothing`] when the history already said so).
    pub fn repair(&mut self, scripts: &[MigrationScript<'_>], version: i64, action: RepairAction) -> Result<Repaired> {
        let scripts = plan::index(scripts)?;
        let _lock = self.conn.lock(&self.table, self.options.lock_timeout)?;
        let state = self.load(true)?.unwrap_or_default();
        let marked = state.dirty.as_ref().is_some_and(|d| d.version == version);
        let rows: Vec<&AppliedRow> = state.rows.iter().filter(|r| r.version == version).collect();
        let script = scripts.get(&version).copied();
        let (change, mut steps) = self.repair_steps(script, &rows, version, action)?;
        if change == RepairChange::Nothing && !marked {
            return Ok(Repaired { change, marker_cleared: false });
        }
        steps.insert(0, Step::Begin);
        // The side table exists wherever there is a marker (on every backend).
        if marked {
            steps.push(Step::Record(self.table.mark_clear_sql(version)));
        }
        steps.push(Step::Commit);
        if matches!(change, RepairChange::Rewritten(_)) {
            // Created before the transaction: DDL commits implicitly on MySQL/MariaDB.
            steps.insert(0, Step::Record(self.table.ensure_audit_sql(self.dialect())));
        }
        let file = script.map_or_else(|| format!("version {version}"), MigrationScript::file_name);
        let job = Job {
            version,
            name: "repair".into(),
            file,
            direction: Direction::Up,
            steps,
            tracked: false,
            split: Duration::ZERO,
        };
        self.run_job(&job, false)?;
        Ok(Repaired { change, marker_cleared: marked })
    }

    /// The history writes `repair` makes for one version (without the transaction around them).
    fn repair_steps(
        &self,
        script: Option<&MigrationScript<'_>>,
        rows: &[&AppliedRow],
        version: i64,
        action: RepairAction,
    ) -> Result<(RepairChange, Vec<Step>)> {
        if action == RepairAction::AsPending {
            return Ok(match rows {
                [] => (RepairChange::Nothing, Vec::new()),
                _ => (RepairChange::Removed, vec![Step::Record(self.table.delete_sql(version))]),
            });
        }
        let s = script.ok_or(Error::UnknownVersion(version))?;
        if rows.is_empty() {
            return Ok((RepairChange::Recorded, vec![insert_step(s)?]));
        }
        let Some(anomaly) = plan::check_rows(s, rows)? else { return Ok((RepairChange::Nothing, Vec::new())) };
        // Recorded under another name, without a checksum, or from an edited text: the row is
        // made to say that this file, as it is now, is applied, keeping when it was.
        let checksum = s.checksum()?;
        let mut steps = match anomaly {
            Anomaly::Duplicate(_) => vec![Step::Record(self.table.delete_sql(version)), insert_step(s)?],
            _ => vec![Step::Record(self.table.rerecord_sql(version, &s.name, checksum))],
        };
        let audit = Audit {
            version,
            previous_version: version,
            action: "repair",
            previous_checksum: &rows[0].checksum,
            checksum,
            reason: "repair --as applied",
        };
        steps.push(Step::Record(self.table.audit_sql(&audit)));
        Ok((RepairChange::Rewritten(anomaly), steps))
    }

    fn checks(&self) -> Checks {
        Checks {
            abort_divergent: self.options.abort_divergent,
            abort_missing: self.options.abort_missing,
            allow_out_of_order: self.options.allow_out_of_order,
        }
    }

    fn load(&mut self, create: bool) -> Result<Option<HistoryState>> {
        self.conn
            .load(&self.table, create)
            .map_err(|e| e.into_error(format!("could not read the history table {}", self.table.name())))
    }

    fn load_for_dry_run(&mut self) -> Result<(HistoryState, Vec<String>)> {
        match self.load(false)? {
            Some(state) => Ok((state, Vec::new())),
            None => {
                let mut out = vec![self.table.create_sql(self.dialect())];
                if self.tracked_ddl() {
                    out.push(self.table.create_side_sql());
                }
                Ok((HistoryState::default(), out))
            }
        }
    }

    /// Per-migration transactions, unless the whole run is one or the script
    /// asks to run outside of any.
    fn wrap(&self, sql: &str, record: Vec<Step>) -> Result<Vec<Step>> {
        let mut steps = Vec::new();
        let own_tx = !self.options.single_transaction && !wants_no_transaction(sql);
        if own_tx {
            steps.push(Step::Begin);
            steps.extend(self.job_lock_timeout(Scope::Transaction));
        }
        if !is_blank(sql) {
            steps.extend(self.statements(sql));
        }
        steps.extend(record);
        if own_tx {
            steps.push(Step::Commit);
        }
        Ok(steps)
    }

    /// Statement by statement when the backend splits the script (for exact error lines);
    /// otherwise the file goes in one call and the database reports lines itself.
    fn statements(&self, sql: &str) -> Vec<Step> {
        match self.conn.split(sql) {
            Some(stmts) => {
                stmts.into_iter().map(|st| Step::Sql { sql: st.sql.to_string(), line: st.line, single: true }).collect()
            }
            None => vec![Step::Sql { sql: sql.to_string(), line: 1, single: false }],
        }
    }

    /// Where DDL commits implicitly, or for a no-transaction file: statement by statement with a
    /// progress marker; the history change and the marker's removal share a transaction.
    fn tracked(&self, version: i64, direction: Direction, sql: &str, record: Vec<Step>) -> Vec<Step> {
        let mut steps = Vec::new();
        if !self.tracked_ddl() {
            // MySQL/MariaDB create it with the history table; here only a no-transaction file needs it.
            steps.push(Step::Record(self.table.ensure_side_sql(self.dialect())));
        }
        steps.push(Step::Record(self.table.mark_start_sql(version, direction)));
        let timeout = self.job_lock_timeout(Scope::Session);
        let reset = timeout.as_ref().and(ddl_lock::reset_sql(self.dialect()));
        steps.extend(timeout);
        let statements = match self.conn.split_tracked(sql) {
            Some(stmts) => {
                stmts.into_iter().map(|st| Step::Sql { sql: st.sql.to_string(), line: st.line, single: true }).collect()
            }
            None if is_blank(sql) => Vec::new(),
            None => vec![Step::Sql { sql: sql.to_string(), line: 1, single: false }],
        };
        for (i, st) in statements.into_iter().enumerate() {
            steps.push(st);
            steps.push(Step::Record(self.table.mark_progress_sql(version, i + 1)));
        }
        steps.extend(reset.map(|sql| Step::Setting(sql.to_string())));
        steps.push(Step::Begin);
        steps.extend(record);
        steps.push(Step::Record(self.table.mark_clear_sql(version)));
        steps.push(Step::Commit);
        steps
    }

    /// MySQL/MariaDB: one commit per migration beyond the script's own implicit ones. The
    /// statements run inside transactions; each one that commits implicitly (DDL) is preceded,
    /// in the transaction it commits, by the marker saying how many statements are behind it,
    /// so the marker always commits together with what it counts. The history change and the
    /// marker's removal share the last transaction with the statements after the last DDL. A
    /// file without DDL has no marker at all: it is one transaction. After a kill the marker
    /// counts the statements before the last DDL that started (that DDL may have completed);
    /// after a failure, exactly what persisted (see [`Engine::fail_folded`]). Returns the
    /// steps and whether they write a marker.
    fn folded(&self, version: i64, direction: Direction, sql: &str, record: Vec<Step>) -> (Vec<Step>, bool) {
        let mut steps = Vec::new();
        let (mut open, mut marked) = (false, false);
        for (i, st) in crate::split::split_mysql(sql).into_iter().enumerate() {
            if !open {
                steps.push(Step::Begin);
                open = true;
            }
            if !crate::split::mysql_commits_implicitly(st.sql) {
                steps.push(Step::Sql { sql: st.sql.to_string(), line: st.line, single: true });
                continue;
            }
            steps.push(Step::Record(match marked {
                false => self.table.mark_start_at_sql(version, direction, i),
                true => self.table.mark_progress_sql(version, i),
            }));
            steps.push(Step::Implicit { sql: st.sql.to_string(), line: st.line, done: i + 1 });
            (open, marked) = (false, true);
        }
        if !open {
            steps.push(Step::Begin);
        }
        steps.extend(record);
        if marked {
            steps.push(Step::Record(self.table.mark_clear_sql(version)));
        }
        steps.push(Step::Commit);
        (steps, marked)
    }

    fn job(&self, s: &MigrationScript<'_>, direction: Direction, sql: &str, record: Vec<Step>) -> Result<Job> {
        let file = match direction {
            Direction::Up => s.file_name(),
            Direction::Down => dbmigrate_core::file_name::down_file(s.version, &s.name),
        };
        if self.single_tx() && wants_no_transaction(sql) {
            return Err(Error::NoTransactionConflict(file));
        }
        let started = Instant::now();
        let (steps, tracked) = if self.tracked_ddl() && !wants_no_transaction(sql) {
            self.folded(s.version, direction, sql, record)
        } else if self.tracked_ddl() || (!self.single_tx() && wants_no_transaction(sql)) {
            (self.tracked(s.version, direction, sql, record), true)
        } else {
            (self.wrap(sql, record)?, false)
        };
        let split = started.elapsed();
        Ok(Job { version: s.version, name: s.name.to_string(), file, direction, steps, tracked, split })
    }

    /// Applies `s` and records, with its history row, the down text that undoes this very up
    /// text, so it can be reverted after the file is edited.
    fn up_job(&self, s: &MigrationScript<'_>) -> Result<Job> {
        let record = vec![
            insert_step(s)?,
            Step::Record(self.table.forget_down_sql(s.version)),
            Step::Record(self.table.record_down_sql(self.dialect(), s.version, s.checksum()?, s.down.as_deref())),
        ];
        self.job(s, Direction::Up, &s.up, record)
    }

    fn down_job(&self, r: &plan::Revert<'_, '_>) -> Result<Job> {
        let v = r.script.version;
        let record = vec![Step::Record(self.table.delete_sql(v)), Step::Record(self.table.forget_down_sql(v))];
        self.job(r.script, Direction::Down, &r.down, record)
    }

    /// Whether DDL commits implicitly, so migrations are tracked by a progress marker.
    fn tracked_ddl(&self) -> bool {
        self.conn.transactions() == Transactions::Tracked
    }

    /// The DDL lock timeout for one migration's statements (PostgreSQL; MySQL/MariaDB set it
    /// once for the run's session, see [`Engine::run_settings`]).
    fn job_lock_timeout(&self, scope: Scope) -> Option<Step> {
        if self.tracked_ddl() {
            return None;
        }
        ddl_lock::set_sql(self.dialect(), self.options.ddl_lock_timeout, scope).map(Step::Setting)
    }

    /// What is sent once before the first job: the whole run's transaction in single-transaction
    /// mode, and the DDL lock timeout where it is a session setting (MySQL/MariaDB) or must
    /// follow that transaction's start.
    fn run_settings(&self, jobs: &[Job]) -> Vec<String> {
        let mut out = Vec::new();
        if jobs.is_empty() {
            return out;
        }
        // Every job writes or deletes a recorded down text. Created before any transaction:
        // DDL commits implicitly on MySQL/MariaDB.
        out.push(self.table.ensure_downs_sql(self.dialect()));
        if self.single_tx() {
            out.push(self.conn.begin_sql().to_string());
            out.extend(ddl_lock::set_sql(self.dialect(), self.options.ddl_lock_timeout, Scope::Transaction));
        } else if self.tracked_ddl() {
            out.extend(ddl_lock::set_sql(self.dialect(), self.options.ddl_lock_timeout, Scope::Session));
        }
        out
    }

    /// Single-transaction mode, where DDL is transactional (ignored where it is not).
    fn single_tx(&self) -> bool {
        // `connect` refused single-transaction mode where DDL commits implicitly.
        self.options.single_transaction
    }

    fn render(&self, jobs: &[Job]) -> Vec<String> {
        let mut out: Vec<String> = ddl_lock::watch_client_sql(self.dialect())
            .filter(|_| !jobs.is_empty())
            .map(str::to_string)
            .into_iter()
            .collect();
        out.extend(self.run_settings(jobs));
        out.extend(jobs.iter().flat_map(|j| &j.steps).map(|step| self.render_step(step)));
        if self.single_tx() && !jobs.is_empty() {
            out.push("COMMIT".to_string());
        }
        out
    }

    fn render_step(&self, step: &Step) -> String {
        match step {
            Step::Begin => self.conn.begin_sql().to_string(),
            Step::Commit => "COMMIT".to_string(),
            Step::Sql { sql, .. } | Step::Implicit { sql, .. } | Step::Record(sql) | Step::Setting(sql) => sql.clone(),
            Step::Insert { version, name, checksum } => self.table.insert_sql(*version, name, *checksum),
        }
    }

    /// Runs the jobs in order. A failure carries the migrations committed before it: none in
    /// single-transaction mode, where it rolls everything back.
    fn execute<H: Hooks + ?Sized>(
        &mut self,
        jobs: Vec<Job>,
        state: &HistoryState,
        direction: Direction,
        hooks: &mut H,
    ) -> Result<Report, MigrateError<H::Error>> {
        let single = self.single_tx() && !jobs.is_empty();
        if let Some(sql) = ddl_lock::watch_client_sql(self.dialect()).filter(|_| !jobs.is_empty()) {
            // Best effort: a server before PostgreSQL 14 does not know the setting.
            let _ = self.conn.execute(sql);
        }
        for sql in self.run_settings(&jobs) {
            let context = match () {
                () if sql.contains(self.table.downs()) => "could not create the table of recorded down scripts",
                () if single => "could not begin the transaction",
                () => "could not set the ddl lock timeout",
            };
            self.send_control(&sql, context)?;
        }
        let total = jobs.len();
        let newest = plan::newest(&state.rows);
        let mut done = Vec::new();
        for (index, job) in jobs.iter().enumerate() {
            if !single && !hooks.keep_going() {
                return Err(MigrateError { cause: Cause::Engine(Error::Interrupted), applied: done });
            }
            let (version, name) = (job.version, job.name.clone());
            hooks.on_event(&Event::Started { version, name: name.clone(), direction: job.direction, index, total });
            let start = Instant::now();
            if let Err(e) = self.run_job(job, single) {
                let applied = if single { Vec::new() } else { done };
                return Err(MigrateError { cause: Cause::Engine(e), applied });
            }
            let duration = job.split + start.elapsed();
            hooks.on_event(&Event::Finished { version, name: name.clone(), direction: job.direction, duration });
            // A redo re-applies what it just reverted: that is not out of order.
            let redone = done.iter().any(|a: &Applied| a.version == version && a.direction == Direction::Down);
            if let Some(newest) = newest.filter(|n| job.direction == Direction::Up && version < *n && !redone) {
                hooks.on_event(&Event::OutOfOrder { version, name: name.clone(), newest });
            }
            done.push(Applied { version, name, duration, direction: job.direction });
        }
        if single {
            self.send_control("COMMIT", "could not commit the transaction")?;
        }
        Ok(self.report(state, direction, done))
    }

    fn report(&self, state: &HistoryState, direction: Direction, done: Vec<Applied>) -> Report {
        let before = plan::newest(&state.rows);
        let mut versions: Vec<i64> = state.rows.iter().map(|r| r.version).collect();
        // In order: a redo reverts, then applies the same versions again.
        for a in &done {
            match a.direction {
                Direction::Up => versions.push(a.version),
                Direction::Down => versions.retain(|v| *v != a.version),
            }
        }
        Report { direction, before, after: versions.into_iter().max(), migrations: done }
    }

    fn send_control(&mut self, sql: &str, context: &str) -> Result<()> {
        self.conn.execute(sql).map_err(|e| e.into_error(context))
    }

    /// Runs one job's steps; on failure rolls back whatever transaction is
    /// open (the job's own, or the whole run's when `outer_tx`).
    fn run_job(&mut self, job: &Job, outer_tx: bool) -> Result<()> {
        let mut in_tx = outer_tx;
        // Statements run outside a transaction persist whatever fails next.
        let mut outside_done = 0;
        // Where the backend can tell (SQLite): whether any of them persisted something. A
        // no-transaction file that fails inside its own transaction may have left nothing.
        let mut kept = false;
        let mut steps = job.steps.iter().peekable();
        while let Some(step) = steps.next() {
            let result = match step {
                Step::Begin | Step::Record(_) | Step::Insert { .. } if self.tracked_ddl() => {
                    // Open from the start: a failure after the BEGIN stops the batch before its COMMIT.
                    in_tx |= matches!(step, Step::Begin);
                    self.send_batch(step, &mut steps).map(|committed| in_tx &= !committed)
                }
                // The transaction's own settings go with its BEGIN, in the same round trip.
                Step::Begin => match steps.next_if(|s| matches!(s, Step::Setting(_))) {
                    Some(Step::Setting(set)) => self.conn.execute(&format!("{};\n{set}", self.conn.begin_sql())),
                    _ => self.conn.execute(self.conn.begin_sql()),
                }
                .map(|()| in_tx = true),
                Step::Commit => self.conn.execute("COMMIT").map(|()| in_tx = false),
                Step::Record(sql) | Step::Setting(sql) => self.conn.execute(sql),
                Step::Insert { version, name, checksum } => {
                    let sql = self.table.insert_sql(*version, name, *checksum);
                    self.conn.execute(&sql)
                }
                Step::Sql { sql, line, single } => {
                    let before = if in_tx { None } else { self.conn.footprint() };
                    if let Err(e) = self.conn.execute(sql) {
                        let at = Location { sql, line: *line, single: *single };
                        return Err(self.fail_sql(job, e, at, in_tx, outside_done, before.map(|_| kept)));
                    }
                    if let Some(before) = before {
                        kept |= persisted(sql, before, self.conn.footprint());
                    }
                    outside_done += usize::from(!in_tx);
                    Ok(())
                }
                Step::Implicit { sql, line, done } => {
                    if let Err(e) = self.conn.execute(sql) {
                        let at = Location { sql, line: *line, single: true };
                        return Err(self.fail_folded(job, e, at, outside_done));
                    }
                    // Its implicit commit also persisted the marker and the DML before it.
                    (in_tx, outside_done) = (false, *done);
                    Ok(())
                }
            };
            if let Err(mut e) = result {
                if in_tx {
                    let _ = self.conn.execute("ROLLBACK");
                }
                e.transient &= outside_done == 0;
                let context = match step {
                    Step::Begin => format!("could not begin the transaction for {}", job.file),
                    Step::Commit => format!("could not commit {}", job.file),
                    Step::Setting(_) => format!("could not set the ddl lock timeout for {}", job.file),
                    _ => format!("could not record {} in the history", job.file),
                };
                return Err(e.into_error(context));
            }
        }
        Ok(())
    }

    /// MySQL/MariaDB (multi-statement): bookkeeping steps in a row go in one round trip, with
    /// the BEGIN before them and the COMMIT after them. Returns whether it committed; an error
    /// in any statement stops the rest, the COMMIT included.
    fn send_batch<'j>(
        &mut self,
        first: &Step,
        rest: &mut std::iter::Peekable<impl Iterator<Item = &'j Step>>,
    ) -> Result<bool, DbError> {
        let mut sql = self.render_step(first);
        let mut committed = false;
        while let Some(next) = rest.next_if(|s| matches!(s, Step::Record(_) | Step::Insert { .. } | Step::Commit)) {
            sql.push_str(";\n");
            sql.push_str(&self.render_step(next));
            if matches!(next, Step::Commit) {
                committed = true;
                break;
            }
        }
        self.conn.execute(&sql).map(|()| committed)
    }

    /// Builds the error for a failed migration statement and undoes what can
    /// be undone: the open transaction, or where DDL is tracked, a marker with
    /// nothing persisted behind it.
    /// `kept`: whether the statements run outside the engine's transaction persisted anything,
    /// where the backend can tell (see [`persisted`]).
    fn fail_sql(
        &mut self,
        job: &Job,
        mut e: DbError,
        at: Location<'_>,
        in_tx: bool,
        outside_done: usize,
        kept: Option<bool>,
    ) -> Error {
        // Only a folded job runs MySQL/MariaDB migration SQL inside a transaction.
        if self.tracked_ddl() && in_tx {
            return self.fail_folded(job, e, at, outside_done);
        }
        if in_tx {
            let _ = self.conn.execute("ROLLBACK");
        }
        // Outside a transaction, what ran before the failing statement persists (or may,
        // when the whole file went in one call).
        let partial = match kept {
            // The file's own transaction, left open by the failure, would only roll back when the
            // connection closes: rolled back now, what it did is certainly gone.
            // A whole file sent in one call may have persisted statements before the one that
            // failed, and the footprint cannot tell which: dirty, as before.
            Some(kept) => kept || !at.single || (self.own_transaction_open() && self.conn.execute("ROLLBACK").is_err()),
            None => !in_tx && (outside_done > 0 || !at.single),
        };
        if kept.is_some() && !partial {
            e.message
                .push_str("; nothing of the file persisted (its own transaction rolled back), so it is still pending");
        }
        let dirty = match job.tracked {
            true if partial => true,
            // Nothing ran: the marker goes, unless the connection is gone, and then it stays
            // and the error says so.
            true => self.conn.execute(&self.table.mark_clear_sql(job.version)).is_err(),
            false => false,
        };
        // A no-transaction file's session-wide lock timeout must not outlive it on this connection.
        if let Some(reset) = ddl_lock::reset_sql(self.dialect()).filter(|_| job.tracked) {
            let _ = self.conn.execute(reset);
        }
        self.migration_error(job, e, at, partial, dirty)
    }

    fn own_transaction_open(&mut self) -> bool {
        self.conn.footprint().is_some_and(|f| f.in_transaction)
    }

    /// A failed statement of a folded MySQL/MariaDB job (see [`Engine::folded`]), with the
    /// statements `persisted` by the DDL that ran. Whether a failing DDL's own implicit commit
    /// happened is not known (a syntax error stops it before), so after the rollback the
    /// committed marker is read back: it counts what that commit persisted. The marker is
    /// then set to the larger of the two, or goes when that is zero.
    fn fail_folded(&mut self, job: &Job, e: DbError, at: Location<'_>, persisted: usize) -> Error {
        let _ = self.conn.execute("ROLLBACK");
        let v = job.version;
        let fix = match self.load(false) {
            Ok(Some(state)) => match state.dirty.filter(|d| d.version == v).map(|d| d.done as usize) {
                None => Ok(false),
                Some(marked) => match marked.max(persisted) {
                    0 => self.conn.execute(&self.table.mark_clear_sql(v)).map(|()| false),
                    n if n == marked => Ok(true),
                    n => self.conn.execute(&self.table.mark_progress_sql(v, n)).map(|()| true),
                },
            },
            // The connection is gone: a marker, if this job writes one, may have committed.
            _ => Ok(job.tracked),
        };
        let dirty = fix.unwrap_or(true);
        if let Some(reset) = ddl_lock::reset_sql(self.dialect()) {
            let _ = self.conn.execute(reset);
        }
        self.migration_error(job, e, at, dirty, dirty)
    }

    /// The error of a failed statement; `partial` when what ran before it persisted.
    fn migration_error(&self, job: &Job, e: DbError, at: Location<'_>, partial: bool, dirty: bool) -> Error {
        let line = match e.offset {
            Some(off) => Some(at.line + line_of(at.sql, off) - 1),
            None if at.single => Some(at.line),
            None => None,
        };
        if !partial && !dirty && ddl_lock::timed_out(e.code.as_deref()) {
            return Error::LockWait {
                file: job.file.clone(),
                direction: job.direction,
                line,
                waited_ms: u32::try_from(self.options.ddl_lock_timeout.as_millis()).unwrap_or(u32::MAX),
                message: e.message,
                code: e.code,
            };
        }
        Error::Migration {
            file: job.file.clone(),
            direction: job.direction,
            line,
            message: e.message,
            code: e.code,
            dirty,
            transient: e.transient && !partial && !dirty,
        }
    }
}

/// Whether `sql`, run outside the engine's transaction between the footprints `before` and
/// `after`, persisted something: a statement in autocommit mode that changed the schema or a
/// row, or the end of the file's own transaction unless it is a `ROLLBACK`. A statement inside
/// that transaction persists nothing until it commits.
fn persisted(sql: &str, before: backend::Footprint, after: Option<backend::Footprint>) -> bool {
    match after {
        None => true,
        Some(a) if a.in_transaction => false,
        Some(_) if before.in_transaction => {
            let rest = &sql[dbmigrate_core::sql::skip_trivia(sql, 0)..];
            !rest.get(..8).is_some_and(|w| w.eq_ignore_ascii_case("ROLLBACK"))
        }
        Some(a) => a.schema_version != before.schema_version || a.changes != before.changes,
    }
}

fn insert_step(s: &MigrationScript<'_>) -> Result<Step> {
    Ok(Step::Insert { version: s.version, name: s.name.to_string(), checksum: s.checksum()? })
}

fn refuse_dirty(state: &HistoryState, scripts: &Scripts<'_, '_>) -> Result<()> {
    match &state.dirty {
        None => Ok(()),
        Some(d) => Err(Error::Dirty {
            version: d.version,
            file: scripts.get(&d.version).map_or_else(|| format!("version {}", d.version), |s| s.file_name()),
            direction: d.direction,
            done: d.done,
        }),
    }
}

fn status_of(scripts: &Scripts<'_, '_>, found: &HistoryState) -> Result<Vec<MigrationStatus>> {
    let fixes = plan::fixes(scripts, found)?;
    let state = &plan::fixed(found, &fixes);
    let mut out = Vec::new();
    let dirty = state.dirty.as_ref().map(|d| d.version);
    let grouped = plan::by_version(&state.rows);
    for (v, s) in scripts {
        let rows = grouped.get(v).map(Vec::as_slice).unwrap_or_default();
        let row = rows.first().copied();
        let st = match row {
            _ if dirty == Some(*v) => MigrationState::Dirty,
            None => MigrationState::Pending,
            Some(_) => match plan::check_rows(s, rows)? {
                None => MigrationState::Applied,
                Some(Anomaly::Renamed(_)) => MigrationState::Renamed,
                Some(Anomaly::NoChecksum) => MigrationState::NoChecksum,
                Some(Anomaly::Duplicate(_)) => MigrationState::Duplicate,
                Some(_) => MigrationState::Divergent,
            },
        };
        out.push(MigrationStatus {
            version: *v,
            name: s.name.to_string(),
            state: st,
            applied_on: row.map(|r| r.applied_on.clone()),
            reversibility: Some(s.reversibility()),
            statements_done: state.dirty.as_ref().filter(|d| d.version == *v).map(|d| d.done),
            previous_version: None,
            rehash: None,
        });
        if let Some(status) = out.last_mut() {
            pending_fix(status, &fixes);
        }
    }
    for r in grouped.values().map(|rows| rows[0]).filter(|r| !scripts.contains_key(&r.version)) {
        out.push(MigrationStatus {
            version: r.version,
            name: r.name.clone(),
            state: if dirty == Some(r.version) { MigrationState::Dirty } else { MigrationState::Missing },
            applied_on: Some(r.applied_on.clone()),
            reversibility: None,
            statements_done: state.dirty.as_ref().filter(|d| d.version == r.version).map(|d| d.done),
            previous_version: None,
            rehash: None,
        });
    }
    out.sort_by_key(|s| s.version);
    Ok(out)
}

/// Marks a migration whose history row the next run corrects.
fn pending_fix(status: &mut MigrationStatus, fixes: &[Fix]) {
    if status.state != MigrationState::Applied {
        return;
    }
    for fix in fixes {
        match fix {
            Fix::Rehash { version, reason, .. } if *version == status.version => {
                status.state = MigrationState::Rehashed;
                status.rehash = Some(reason.clone());
            }
            Fix::Renumber { from, to, .. } if *to == status.version => {
                status.state = MigrationState::Renumbered;
                status.previous_version = Some(*from);
            }
            _ => {}
        }
    }
}
