//! A database's whole schema as sorted text lines read from its catalog, without the engine's
//! tables, so two moments of one database can be compared (`cargo dbmigrate verify`).
//!
//! Each line is `<kind> <object>: <definition>`, e.g. `column users.phone: text null default
//! none`. The catalog is read through the drivers the engine already uses, in one round trip
//! per snapshot on the servers, rather than by spawning `pg_dump` or `mysqldump`: no tool has
//! to be installed, no text has to be normalised, and a snapshot costs milliseconds.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::url::{DatabaseUrl, Dialect};

/// One connection that reads schema snapshots of one database.
pub struct Snapshotter {
    conn: Conn,
    /// The engine's tables, never part of a snapshot.
    skip: Vec<String>,
}

enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(rusqlite::Connection),
    #[cfg(feature = "postgres")]
    Postgres(Box<crate::backend::postgres::PgBackend>),
    #[cfg(feature = "mysql")]
    Mysql(Box<crate::backend::mysql::MysqlBackend>),
}

impl std::fmt::Debug for Snapshotter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshotter").field("skip", &self.skip).finish_non_exhaustive()
    }
}

impl Snapshotter {
    /// Connects to `url`; `history` names the history table whose engine tables are skipped.
    pub fn connect(url: &DatabaseUrl, history: &str, connect_timeout: Duration) -> Result<Self> {
        let skip = crate::schema::engine_tables(history);
        let bound = crate::backend::bound(url, connect_timeout);
        let conn = match url.dialect() {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => Conn::Sqlite(open_sqlite(url)?),
            #[cfg(feature = "postgres")]
            Dialect::Postgres => Conn::Postgres(Box::new(crate::backend::postgres::PgBackend::connect(url, bound)?)),
            #[cfg(feature = "mysql")]
            Dialect::Mysql => Conn::Mysql(Box::new(crate::backend::mysql::MysqlBackend::connect(url, bound)?)),
            #[allow(unreachable_patterns)]
            other => return Err(Error::Unsupported(other.as_str())),
        };
        let _ = bound;
        Ok(Snapshotter { conn, skip })
    }

    /// The schema now: sorted, de-duplicated lines.
    pub fn snapshot(&mut self) -> Result<Vec<String>> {
        let skip = sql_list(&self.skip);
        let rows = match &mut self.conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(conn) => sqlite_rows(conn, &skip),
            #[cfg(feature = "postgres")]
            Conn::Postgres(conn) => conn.text_rows(&postgres_sql(&skip)),
            #[cfg(feature = "mysql")]
            Conn::Mysql(conn) => conn.text_rows(&mysql_sql(&skip)),
        }
        .map_err(|e| e.into_error("could not read the schema from the catalog"))?;
        let mut lines: Vec<String> = rows.iter().map(|r| line(r)).collect();
        lines.sort();
        lines.dedup();
        Ok(lines)
    }
}

/// `kind`, `object`, then the definition's parts, as one line with whitespace collapsed.
fn line(row: &[String]) -> String {
    let collapse = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let kind = row.first().map_or("", String::as_str);
    let object = row.get(1).map_or("", String::as_str);
    let definition: Vec<String> = row.iter().skip(2).map(|s| collapse(s)).filter(|s| !s.is_empty()).collect();
    format!("{kind} {object}: {}", definition.join(" "))
}

/// The object a line is about (`column users.phone`): the text before its first `: `.
pub fn object_of(line: &str) -> &str {
    line.split_once(": ").map_or(line, |(object, _)| object)
}

/// `'a', 'b'`: names as SQL string literals, for `NOT IN (…)`.
fn sql_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{}'", n.replace('\'', "''"))).collect();
    quoted.join(", ")
}

#[cfg(feature = "sqlite")]
fn open_sqlite(url: &DatabaseUrl) -> Result<rusqlite::Connection> {
    let Some(crate::url::SqliteTarget::File(path)) = url.sqlite_target() else {
        return Err(Error::Unsupported("a schema snapshot of sqlite::memory: (another connection sees nothing)"));
    };
    rusqlite::Connection::open(path).map_err(|e| Error::Connect {
        url: url.to_string(),
        message: e.to_string(),
        transient: false,
    })
}

/// SQLite: every object's `CREATE` text from `sqlite_master`, and each table's columns
/// (`pragma_table_xinfo`) and foreign keys, so a finding can name the column.
#[cfg(feature = "sqlite")]
fn sqlite_rows(
    conn: &rusqlite::Connection,
    skip: &str,
) -> std::result::Result<Vec<Vec<String>>, crate::backend::DbError> {
    let sql = format!(
        "SELECT m.type, m.name, 'on ' || m.tbl_name, coalesce(m.sql, '(automatic)') FROM sqlite_master m
           WHERE m.name NOT LIKE 'sqlite_%' AND m.tbl_name NOT IN ({skip})
         UNION ALL
         SELECT 'column', m.name || '.' || c.name, lower(c.type)
                || CASE WHEN c.\"notnull\" THEN ' not null' ELSE ' null' END
                || ' default ' || coalesce(c.dflt_value, 'none') || ' pk ' || c.pk || ' hidden ' || c.hidden, ''
           FROM sqlite_master m, pragma_table_xinfo(m.name) c
           WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT IN ({skip})
         UNION ALL
         SELECT 'foreign-key', m.name || '.' || f.\"from\",
                'references ' || f.\"table\" || '(' || coalesce(f.\"to\", '') || ') on update ' || f.on_update
                || ' on delete ' || f.on_delete, ''
           FROM sqlite_master m, pragma_foreign_key_list(m.name) f
           WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT IN ({skip})"
    );
    let fail = |e: rusqlite::Error| crate::backend::DbError::plain(e.to_string());
    let mut stmt = conn.prepare(&sql).map_err(fail)?;
    let rows = stmt
        .query_map([], |r| (0..4).map(|i| r.get::<_, Option<String>>(i).map(Option::unwrap_or_default)).collect())
        .map_err(fail)?;
    let mut rows = rows.collect::<rusqlite::Result<Vec<Vec<String>>>>().map_err(fail)?;
    for row in &mut rows {
        row[3] = normalize_sqlite_sql(&row[3]);
    }
    Ok(rows)
}

/// SQLite keeps each object's `CREATE` text as written: a down that rebuilds a table (the
/// 12-step way) writes it again with other spacing, comments, quotes or case. Outside string
/// literals, comments and identifier quotes are dropped, the rest lowercased, and whitespace
/// removed next to punctuation and collapsed elsewhere; literals are kept as they are.
fn normalize_sqlite_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                push_token(&mut out, &mut space, '\'');
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == '\'' && chars.peek() != Some(&'\'') {
                        break;
                    } else if d == '\'' {
                        out.push(chars.next().unwrap_or('\''));
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                chars.by_ref().take_while(|&d| d != '\n').for_each(drop);
                space = true;
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for d in chars.by_ref() {
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
                space = true;
            }
            '"' | '`' | '[' | ']' => {}
            c if c.is_whitespace() => space = true,
            c => push_token(&mut out, &mut space, c.to_ascii_lowercase()),
        }
    }
    out
}

/// Appends `c`, with one space before it when whitespace came before and neither side is
/// punctuation that needs none.
fn push_token(out: &mut String, space: &mut bool, c: char) {
    let tight = |x: char| matches!(x, '(' | ')' | ',' | ';');
    if *space && !out.is_empty() && !tight(c) && !out.ends_with(tight) {
        out.push(' ');
    }
    *space = false;
    out.push(c);
}

/// PostgreSQL: one statement over the catalog of every schema but the system's: schemas,
/// relations, columns, constraints, indexes, views, triggers, functions, types, sequences and
/// extensions, each definition as the server prints it (`pg_get_*def`).
#[cfg(feature = "postgres")]
fn postgres_sql(skip: &str) -> String {
    format!(
        "WITH ns AS (SELECT oid, nspname FROM pg_namespace
                     WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_toast%'
                       AND nspname NOT LIKE 'pg_temp%'),
              rel AS (SELECT c.oid, c.relkind,
                        CASE WHEN ns.nspname = 'public' THEN '' ELSE ns.nspname || '.' END || c.relname AS name
                      FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
                      WHERE c.relname NOT IN ({skip})
                        AND NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class o ON o.oid = i.indrelid
                                        WHERE i.indexrelid = c.oid AND o.relname IN ({skip}))
                        AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class o ON o.oid = d.refobjid
                                        WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass
                                          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                                          AND o.relname IN ({skip})))
         SELECT 'schema', nspname, '' FROM ns
         UNION ALL SELECT 'relation', name, relkind::text FROM rel WHERE relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
         UNION ALL SELECT 'column', rel.name || '.' || a.attname,
                concat_ws(' ', format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END,
                  'default ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), 'none'),
                  nullif(a.attidentity::text, ''), nullif(a.attgenerated::text, ''))
              FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid
              LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
              WHERE a.attnum > 0 AND NOT a.attisdropped AND rel.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
         UNION ALL SELECT 'constraint', coalesce(rel.name, t.oid::regtype::text) || '.' || co.conname,
                pg_get_constraintdef(co.oid)
              FROM pg_constraint co JOIN ns ON ns.oid = co.connamespace
              LEFT JOIN rel ON rel.oid = co.conrelid LEFT JOIN pg_type t ON t.oid = co.contypid
              WHERE co.conrelid = 0 OR rel.oid IS NOT NULL
         UNION ALL SELECT 'index', rel.name, pg_get_indexdef(rel.oid) FROM rel WHERE relkind IN ('i', 'I')
         UNION ALL SELECT 'view', rel.name, pg_get_viewdef(rel.oid) FROM rel WHERE relkind IN ('v', 'm')
         UNION ALL SELECT 'trigger', rel.name || '.' || tg.tgname, pg_get_triggerdef(tg.oid)
              FROM pg_trigger tg JOIN rel ON rel.oid = tg.tgrelid WHERE NOT tg.tgisinternal
         UNION ALL SELECT 'function', p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid))
              FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace WHERE p.prokind IN ('f', 'p')
         UNION ALL SELECT 'type', t.oid::regtype::text,
                concat_ws(' ', t.typtype::text,
                  (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
                  CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END)
              FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
              WHERE t.typtype IN ('e', 'd', 'r', 'm')
                 OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
         UNION ALL SELECT 'sequence', rel.name,
                concat_ws(' ', s.data_type::text, 'start', s.start_value, 'by', s.increment_by, 'min', s.min_value,
                  'max', s.max_value, 'cycle', s.cycle)
              FROM pg_sequences s JOIN ns ON ns.nspname = s.schemaname
              JOIN pg_class sc ON sc.relnamespace = ns.oid AND sc.relname = s.sequencename JOIN rel ON rel.oid = sc.oid
         UNION ALL SELECT 'extension', extname, extversion FROM pg_extension WHERE extname <> 'plpgsql'"
    )
}

/// MySQL/MariaDB: `information_schema` for the current database: tables, columns, indexes,
/// constraints, foreign keys, views, triggers and routines.
#[cfg(feature = "mysql")]
fn mysql_sql(skip: &str) -> String {
    format!(
        "SELECT 'table', TABLE_NAME, concat_ws(' ', TABLE_TYPE, ENGINE, TABLE_COLLATION)
           FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT IN ({skip})
         UNION ALL SELECT 'column', concat(TABLE_NAME, '.', COLUMN_NAME),
                concat_ws(' ', COLUMN_TYPE, IF(IS_NULLABLE = 'YES', 'null', 'not null'),
                  concat('default ', coalesce(COLUMN_DEFAULT, 'none')), EXTRA, COLLATION_NAME)
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT IN ({skip})
         UNION ALL SELECT 'index', concat(TABLE_NAME, '.', INDEX_NAME),
                concat_ws(' ', group_concat(concat(COLUMN_NAME, coalesce(concat('(', SUB_PART, ')'), '')) ORDER BY SEQ_IN_INDEX),
                  IF(max(NON_UNIQUE) = 0, 'unique', NULL), max(INDEX_TYPE))
           FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT IN ({skip})
           GROUP BY TABLE_NAME, INDEX_NAME
         UNION ALL SELECT 'constraint', concat(TABLE_NAME, '.', CONSTRAINT_NAME), CONSTRAINT_TYPE
           FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT IN ({skip})
         UNION ALL SELECT 'foreign-key', concat(r.TABLE_NAME, '.', r.CONSTRAINT_NAME),
                concat('references ', r.REFERENCED_TABLE_NAME, '(',
                  (SELECT group_concat(concat(k.COLUMN_NAME, '->', k.REFERENCED_COLUMN_NAME) ORDER BY k.ORDINAL_POSITION)
                     FROM information_schema.KEY_COLUMN_USAGE k
                    WHERE k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.TABLE_NAME = r.TABLE_NAME
                      AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME),
                  ') on update ', r.UPDATE_RULE, ' on delete ', r.DELETE_RULE)
           FROM information_schema.REFERENTIAL_CONSTRAINTS r WHERE r.CONSTRAINT_SCHEMA = DATABASE()
         UNION ALL SELECT 'view', TABLE_NAME, VIEW_DEFINITION
           FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()
         UNION ALL SELECT 'trigger', TRIGGER_NAME,
                concat_ws(' ', ACTION_TIMING, EVENT_MANIPULATION, 'on', EVENT_OBJECT_TABLE, ACTION_STATEMENT)
           FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
         UNION ALL SELECT 'routine', concat(ROUTINE_TYPE, ' ', ROUTINE_NAME),
                concat_ws(' ', md5(coalesce(ROUTINE_DEFINITION, '')), DTD_IDENTIFIER)
           FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"
    )
}

/// What separates two snapshots: the lines only `before` has, and the lines only `after` has.
pub fn compare(before: &[String], after: &[String]) -> (Vec<String>, Vec<String>) {
    let gone = before.iter().filter(|l| after.binary_search(l).is_err()).cloned().collect();
    let new = after.iter().filter(|l| before.binary_search(l).is_err()).cloned().collect();
    (gone, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_collapse_whitespace_and_name_their_object() {
        let row = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let l = line(&row(&["column", "users.phone", "text", "null", "default  none"]));
        assert_eq!(l, "column users.phone: text null default none");
        assert_eq!(object_of(&l), "column users.phone");
    }

    #[test]
    fn sqlite_text_is_compared_without_layout() {
        let written =
            "CREATE TABLE \"users\"(\n  id INTEGER PRIMARY KEY, -- the key\n  note TEXT DEFAULT 'A  b' /* x */\n)";
        let rebuilt = "create table users ( id integer primary key , note text default 'A  b' )";
        assert_eq!(normalize_sqlite_sql(written), normalize_sqlite_sql(rebuilt));
        assert_eq!(
            normalize_sqlite_sql(rebuilt),
            "create table users(id integer primary key,note text default 'A  b')"
        );
        assert_eq!(normalize_sqlite_sql("DEFAULT 'it''s'"), "default 'it''s'");
    }

    #[test]
    fn compare_gives_each_side_its_own_lines() {
        let a = vec!["a: 1".to_owned(), "b: 1".to_owned()];
        let b = vec!["b: 1".to_owned(), "c: 1".to_owned()];
        assert_eq!(compare(&a, &b), (vec!["a: 1".to_owned()], vec!["c: 1".to_owned()]));
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_snapshot_sees_a_column_and_skips_the_engine_tables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("s.db");
        let url = DatabaseUrl::parse(&format!("sqlite:{}", file.display()), dir.path()).expect("url");
        let conn = rusqlite::Connection::open(&file).expect("open");
        conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY); CREATE TABLE h (v INT);").expect("ddl");
        let mut snap = Snapshotter::connect(&url, "h", Duration::from_secs(1)).expect("connect");
        let before = snap.snapshot().expect("snapshot");
        let objects: Vec<&str> = before.iter().map(|l| object_of(l)).collect();
        assert_eq!(objects, ["column users.id", "table users"], "the history table `h` is skipped");
        conn.execute_batch("ALTER TABLE users ADD COLUMN phone TEXT").expect("alter");
        let (_, new) = compare(&before, &snap.snapshot().expect("snapshot"));
        assert!(new.iter().any(|l| object_of(l) == "column users.phone"), "{new:?}");
    }
}
