//! A crate's migration set: every file of the migrations folder, read once and validated.

use crate::Finding;
use crate::cache::{Cache, Entry, Hashed};
use crate::hash::{ContentHash, normalize};
use dbmigrate_core::{FileKind, MigrationFileName, Stamp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file of the folder: its name and, when the cache is in use, its stamp.
type Listed = (String, Option<Stamp>);

/// A parsed file name with the file it came from.
type Named = (MigrationFileName, Listed);

/// A file to read: name, stamp, and the cached result if the stamp still matches.
type FileJob = (String, Option<Stamp>, Option<Hashed>);

/// One migration to read: its parsed name, its up file and its down file.
type Job = (MigrationFileName, FileJob, Option<FileJob>);

/// What reading one migration gave: the migration, findings, and cache entries.
type Read<Sql> = (Option<Migration<Sql>>, Vec<Finding>, Vec<Entry>);

/// One migration: its up file and, when there is one, its down file.
///
/// `Sql` is how its text is held. The CLI ([`MigrationSet::load`]) holds the full normalised
/// text (`String`). The build script ([`MigrationSet::load_cached`]) needs a text only to
/// write a normalised copy of a file whose raw text differs from it, so it holds
/// `Option<String>`: `Some` exactly for such a file; a file the cache covers is not even read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration<Sql = String> {
    /// The version, unique in the set.
    pub version: i64,
    /// The name after `__`.
    pub name: String,
    /// The up file's name, e.g. `V1__a.sql`.
    pub up_file: String,
    /// The up SQL, normalised (no BOM, LF line ends).
    pub up_sql: Sql,
    /// The hash of the normalised up SQL.
    pub up_hash: ContentHash,
    /// The down file's name, when there is one.
    pub down_file: Option<String>,
    /// The down SQL, normalised.
    pub down_sql: Option<Sql>,
    /// The hash of the normalised down SQL.
    pub down_hash: Option<ContentHash>,
    /// Whether a file on disk differs from its normalised text (BOM or CR), so that code
    /// embedding it must embed the normalised text rather than the raw file.
    pub raw_differs: bool,
}

impl Migration {
    /// Whether the down file exists and holds something other than whitespace and comments
    /// (the engine's rule, [`dbmigrate_core::sql::is_blank`]): an empty down means the
    /// migration is irreversible.
    pub fn is_reversible(&self) -> bool {
        self.down_sql.as_deref().is_some_and(|sql| !dbmigrate_core::sql::is_blank(sql))
    }
}

/// How a loader holds a file's normalised text (see [`Migration`]): `String` or
/// `Option<String>`, nothing else (sealed).
pub trait Text: Sized + Send + Sync + sealed::Sealed {
    /// The text of a file that was read.
    fn read(normalized: String, raw_differs: bool) -> Self;
    /// The text of a file that was not read (its hash came from the cache), if allowed.
    fn unread() -> Option<Self>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for String {}
    impl Sealed for Option<String> {}
}

impl Text for String {
    fn read(normalized: String, _: bool) -> Self {
        normalized
    }
    fn unread() -> Option<Self> {
        None
    }
}

impl Text for Option<String> {
    fn read(normalized: String, raw_differs: bool) -> Self {
        raw_differs.then_some(normalized)
    }
    fn unread() -> Option<Self> {
        Some(None)
    }
}

/// The migrations of one folder, in version order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationSet<Sql = String> {
    /// The folder, as given to [`MigrationSet::load`].
    pub dir: PathBuf,
    /// The folder as shown in messages (relative to the crate, forward slashes).
    pub display_dir: String,
    /// The migrations, sorted by version.
    pub migrations: Vec<Migration<Sql>>,
}

impl MigrationSet {
    /// Reads `crate_root/rel_dir`. Returns the valid migrations and every finding; a set with
    /// error findings must not be built or applied.
    pub fn load(crate_root: &Path, rel_dir: &str) -> (Self, Vec<Finding>) {
        let (set, findings, _) = Self::load_with(crate_root, rel_dir, None);
        (set, findings)
    }
}

impl MigrationSet<Option<String>> {
    /// The build script's load: the same validation as [`MigrationSet::load`], but a file whose
    /// stamp (length, modification time) matches its entry in `cache` is not read, and only the
    /// texts that need a normalised copy are kept. Also returns the entries for the next cache.
    pub fn load_cached(crate_root: &Path, rel_dir: &str, cache: Cache) -> (Self, Vec<Finding>, Vec<Entry>) {
        Self::load_with(crate_root, rel_dir, Some(cache))
    }
}

impl<Sql: Text> MigrationSet<Sql> {
    fn load_with(crate_root: &Path, rel_dir: &str, cache: Option<Cache>) -> (Self, Vec<Finding>, Vec<Entry>) {
        let display_dir = rel_dir.trim_end_matches('/').replace('\\', "/");
        let mut set = Self { dir: crate_root.join(rel_dir), display_dir, migrations: Vec::new() };
        let mut findings = Vec::new();
        let files = match set.list_files(cache.is_some(), &mut findings) {
            Some(files) => files,
            None => return (set, findings, Vec::new()),
        };
        let (ups, downs) = set.parse_names(files, &mut findings);
        let entries = set.pair(ups, downs, cache, &mut findings);
        (set, findings, entries)
    }
}

impl<Sql> MigrationSet<Sql> {
    /// The path shown for a file of this set.
    pub fn display(&self, file: &str) -> String {
        format!("{}/{file}", self.display_dir)
    }

    /// The migration with `version`.
    pub fn get(&self, version: i64) -> Option<&Migration<Sql>> {
        self.migrations.binary_search_by_key(&version, |m| m.version).ok().map(|i| &self.migrations[i])
    }

    /// The newest version, if any.
    pub fn newest(&self) -> Option<i64> {
        self.migrations.last().map(|m| m.version)
    }
}

impl<Sql: Text> MigrationSet<Sql> {
    /// The files of the folder, sorted, with their stamps when `stamps`.
    fn list_files(&self, stamps: bool, findings: &mut Vec<Finding>) -> Option<Vec<Listed>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) => {
                let finding = Finding::error(
                    "no-migrations-folder",
                    self.display_dir.clone(),
                    format!("cannot read the migrations folder: {e}"),
                )
                .help("create it with `cargo dbmigrate init`, or set `migrations` in `[package.metadata.dbmigrate]`");
                findings.push(finding);
                return None;
            }
        };
        let mut names = Vec::new();
        let mut to_stat = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                findings
                    .push(Finding::error("subfolder", self.display(&name), "the migrations folder must be flat").help(
                    "refinery would run the SQL files inside it as migrations: move them up, or move the folder out",
                ));
            } else {
                names.push((name, None));
                if stamps {
                    to_stat.push(entry);
                }
            }
        }
        if stamps {
            for ((_, stamp), new) in names.iter_mut().zip(stat_all(&to_stat)) {
                *stamp = new;
            }
        }
        names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Some(names)
    }

    fn parse_names(&self, files: Vec<Listed>, findings: &mut Vec<Finding>) -> (BTreeMap<i64, Vec<Named>>, Vec<Named>) {
        let mut ups: BTreeMap<i64, Vec<_>> = BTreeMap::new();
        let mut downs = Vec::new();
        for file in files {
            match MigrationFileName::parse(&file.0) {
                Ok(None) => {}
                Ok(Some(parsed)) if parsed.kind == FileKind::Up => {
                    ups.entry(parsed.version).or_default().push((parsed, file))
                }
                Ok(Some(parsed)) => downs.push((parsed, file)),
                Err(e) => {
                    let mut finding = Finding::error(
                        "malformed-name",
                        self.display(&file.0),
                        format!("malformed migration file name: {e}"),
                    );
                    finding = match e.suggestion {
                        Some(s) => finding.help(format!("rename it to `{s}`")),
                        None => finding.help(
                            "name it `V<version>__<name>.sql` (or `.down.sql`), e.g. with `cargo dbmigrate new <name>`",
                        ),
                    };
                    findings.push(finding);
                }
            }
        }
        (ups, downs)
    }

    fn pair(
        &mut self,
        ups: BTreeMap<i64, Vec<Named>>,
        downs: Vec<Named>,
        mut cache: Option<Cache>,
        findings: &mut Vec<Finding>,
    ) -> Vec<Entry> {
        let mut downs: BTreeMap<(i64, String), Listed> =
            downs.into_iter().map(|(parsed, file)| ((parsed.version, parsed.name), file)).collect();
        // Looked up here, in file order, where the cache's cursor makes each lookup O(1).
        let mut job = |(file, stamp): Listed| {
            let cached = cache.as_mut().zip(stamp).and_then(|(cache, stamp)| cache.get(&file, stamp));
            (file, stamp, cached)
        };
        // Duplicates are reported at their place among the reads, so findings keep version order.
        let mut jobs = Vec::with_capacity(ups.len());
        let mut duplicates = Vec::new();
        for (version, files) in ups {
            if files.len() > 1 {
                duplicates.push((jobs.len(), duplicate(&self.display_dir, version, &files)));
                for (parsed, _) in &files {
                    downs.remove(&(version, parsed.name.clone()));
                }
                continue;
            }
            let Some((parsed, up_file)) = files.into_iter().next() else { continue };
            let down_file = downs.remove(&(version, parsed.name.clone()));
            jobs.push((parsed, job(up_file), down_file.map(&mut job)));
        }
        let results = self.read_all(jobs);
        let mut entries = Vec::with_capacity(2 * results.len());
        let mut duplicates = duplicates.into_iter().peekable();
        for (i, (migration, job_findings, job_entries)) in results.into_iter().enumerate() {
            while let Some((_, finding)) = duplicates.next_if(|(at, _)| *at <= i) {
                findings.push(finding);
            }
            findings.extend(job_findings);
            entries.extend(job_entries);
            self.migrations.extend(migration);
        }
        findings.extend(duplicates.map(|(_, finding)| finding));
        for ((version, name), (file, _)) in downs {
            let up = dbmigrate_core::file_name::up_file(version, &name);
            findings.push(
                Finding::error("orphan-down", self.display(&file), format!("down file without its up file `{up}`"))
                    .help(format!("add `{up}`, or delete the down file if the migration is gone")),
            );
        }
        entries
    }

    /// Reads and hashes every migration the cache does not cover, on several threads for large
    /// sets: a build script runs unoptimised, and 10,000 files must stay well under a second.
    fn read_all(&self, jobs: Vec<Job>) -> Vec<Read<Sql>> {
        let read = |(parsed, up, down)| {
            let mut findings = Vec::new();
            let mut entries = Vec::new();
            let migration = self.read_migration(parsed, up, down, &mut findings, &mut entries);
            (migration, findings, entries)
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let to_read =
            jobs.iter().filter(|(_, up, down)| up.2.is_none() || down.as_ref().is_some_and(|d| d.2.is_none()));
        if threads < 2 || to_read.count() < 512 {
            return jobs.into_iter().map(read).collect();
        }
        let per_thread = jobs.len().div_ceil(threads);
        let mut chunks = Vec::new();
        let mut jobs = jobs.into_iter();
        loop {
            let chunk: Vec<_> = jobs.by_ref().take(per_thread).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push(chunk);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| scope.spawn(move || chunk.into_iter().map(read).collect::<Vec<_>>()))
                .collect();
            // A reader thread only panics on a bug; losing its files then shows as findings-free
            // missing migrations, so re-raise instead.
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        })
    }

    fn read_migration(
        &self,
        parsed: MigrationFileName,
        up: FileJob,
        down: Option<FileJob>,
        findings: &mut Vec<Finding>,
        entries: &mut Vec<Entry>,
    ) -> Option<Migration<Sql>> {
        // No need to ask refinery: the name grammar is a strict subset of what refinery's
        // `Migration::unapplied` accepts with `int8-versions` (tested in `refinery_accepts_*`),
        // and leaving refinery-core out keeps every user's build-dependency tree small.
        let (up_file, up_hashed, up_sql) = self.read_sql(up, findings, entries)?;
        let (down_file, down_hashed, down_sql) = match down {
            Some(job) => {
                let (file, hashed, sql) = self.read_sql(job, findings, entries)?;
                (Some(file), Some(hashed), Some(sql))
            }
            None => (None, None, None),
        };
        Some(Migration {
            version: parsed.version,
            name: parsed.name,
            up_file,
            up_sql,
            up_hash: up_hashed.hash,
            down_file,
            down_sql,
            down_hash: down_hashed.map(|h| h.hash),
            raw_differs: up_hashed.raw_differs || down_hashed.is_some_and(|h| h.raw_differs),
        })
    }

    /// A file's hash and text: from the cache when it covers the file and the text is not
    /// needed, else read as normalised text. Records the file's cache entry.
    fn read_sql(
        &self,
        (file, stamp, cached): FileJob,
        findings: &mut Vec<Finding>,
        entries: &mut Vec<Entry>,
    ) -> Option<(String, Hashed, Sql)> {
        let (hashed, text) = match cached.filter(|h| !h.raw_differs).zip(Sql::unread()) {
            Some(hit) => hit,
            None => {
                let (normalized, raw_differs) = self.read_text(&file, findings)?;
                let hashed = Hashed { hash: ContentHash::of_normalized(&normalized), raw_differs };
                (hashed, Sql::read(normalized, raw_differs))
            }
        };
        if let Some(stamp) = stamp {
            entries.push(Entry { file: file.clone(), stamp, hashed });
        }
        Some((file, hashed, text))
    }

    /// Reads a file as normalised text, and whether the raw text differed.
    fn read_text(&self, file: &str, findings: &mut Vec<Finding>) -> Option<(String, bool)> {
        #[cfg(test)]
        READS.with(|r| r.set(r.get() + 1));
        let bytes = match std::fs::read(self.dir.join(file)) {
            Ok(bytes) => bytes,
            Err(e) => {
                findings.push(Finding::error("unreadable", self.display(file), format!("cannot read the file: {e}")));
                return None;
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            findings.push(
                Finding::error("not-utf8", self.display(file), "the file is not valid UTF-8").help("save it as UTF-8"),
            );
            return None;
        };
        let normalized = normalize(&text);
        let differs = normalized.len() != text.len();
        Some((normalized.into_owned(), differs))
    }
}

/// The stamps of `entries`, on several threads for large folders: a `stat` is a system call
/// per file, and the build script may have to stat 20,000 of them.
fn stat_all(entries: &[std::fs::DirEntry]) -> Vec<Option<Stamp>> {
    let stat = |entry: &std::fs::DirEntry| entry.metadata().ok().as_ref().and_then(Stamp::of);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if threads < 2 || entries.len() < 1024 {
        return entries.iter().map(stat).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = entries
            .chunks(entries.len().div_ceil(threads))
            .map(|chunk| scope.spawn(move || chunk.iter().map(stat).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

#[cfg(test)]
thread_local! {
    /// How many files this thread read, for the cache's tests.
    pub(crate) static READS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn duplicate(display_dir: &str, version: i64, files: &[Named]) -> Finding {
    let display = |file: &str| format!("{display_dir}/{file}");
    let names: Vec<String> = files.iter().map(|(_, (f, _))| format!("`{f}`")).collect();
    let first = &files[0].1.0;
    Finding::error(
        "duplicate-version",
        display(first),
        format!("version {version} is used by {} files: {}", files.len(), names.join(", ")),
    )
    .help(format!(
        "give all but one a fresh version with `cargo dbmigrate renumber {}`",
        display(&files[files.len() - 1].1.0)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(files: &[(&str, &str)]) -> (MigrationSet, Vec<Finding>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let migrations = dir.path().join("migrations");
        std::fs::create_dir(&migrations).expect("mkdir");
        for (name, text) in files {
            if let Some(sub) = name.strip_suffix('/') {
                std::fs::create_dir(migrations.join(sub)).expect("mkdir");
            } else {
                std::fs::write(migrations.join(name), text).expect("write");
            }
        }
        MigrationSet::load(dir.path(), "migrations")
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn loads_in_numeric_version_order_with_downs() {
        let (set, findings) = set_of(&[
            ("V10__b.sql", "select 2;"),
            ("V2__a.sql", "select 1;"),
            ("V2__a.down.sql", "select 0;"),
            ("README.md", "notes"),
        ]);
        assert!(findings.is_empty(), "{findings:?}");
        let versions: Vec<i64> = set.migrations.iter().map(|m| m.version).collect();
        assert_eq!(versions, [2, 10]);
        assert_eq!(set.migrations[0].down_file.as_deref(), Some("V2__a.down.sql"));
        assert_eq!(set.migrations[1].down_file, None);
    }

    #[test]
    fn duplicate_versions_compare_numerically() {
        let (set, findings) = set_of(&[("V1__a.sql", ""), ("V001__b.sql", "")]);
        assert_eq!(codes(&findings), ["duplicate-version"]);
        assert!(findings[0].message.contains("version 1 is used by 2 files"));
        assert!(set.migrations.is_empty());
    }

    #[test]
    fn down_without_up_is_an_error() {
        let (_, findings) = set_of(&[("V1__a.sql", ""), ("V1__b.down.sql", "")]);
        assert_eq!(codes(&findings), ["orphan-down"]);
        assert_eq!(findings[0].file.as_deref(), Some("migrations/V1__b.down.sql"));
    }

    #[test]
    fn subfolders_and_malformed_names_are_errors() {
        let (_, findings) = set_of(&[("nested/", ""), ("V1_x.sql", ""), ("v2__y.SQL", "")]);
        assert_eq!(codes(&findings), ["subfolder", "malformed-name", "malformed-name"]);
        assert_eq!(findings[1].help, ["rename it to `V1__x.sql`"]);
    }

    #[test]
    fn crlf_and_bom_are_normalised() {
        let (set, _) = set_of(&[("V1__a.sql", "\u{feff}select 1;\r\n"), ("V2__b.sql", "select 1;\n")]);
        assert_eq!(set.migrations[0].up_sql, "select 1;\n");
        assert_eq!(set.migrations[0].up_hash, set.migrations[1].up_hash);
        assert!(set.migrations[0].raw_differs && !set.migrations[1].raw_differs);
    }

    #[test]
    fn refinery_accepts_every_valid_name() {
        for file in ["V0__a.sql", "V007__x_1.sql", "V20261125143000__create_users.sql", "V9223372036854775807__max.sql"]
        {
            let parsed = MigrationFileName::parse(file).expect("valid").expect("sql");
            let m = refinery_core::Migration::unapplied(&parsed.refinery_stem(), "select 1;").expect(file);
            assert_eq!((m.version(), m.name()), (parsed.version, parsed.name.as_str()));
        }
    }

    #[test]
    fn missing_folder_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, findings) = MigrationSet::load(dir.path(), "migrations");
        assert_eq!(codes(&findings), ["no-migrations-folder"]);
    }

    fn down_of(sql: &str) -> Migration {
        let (set, findings) = set_of(&[("V1__a.sql", "select 1;"), ("V1__a.down.sql", sql)]);
        assert!(findings.is_empty(), "{findings:?}");
        set.migrations[0].clone()
    }

    #[test]
    fn irreversible_when_down_is_empty_or_comments() {
        assert!(!down_of("  \n-- nothing\n/* x */\n").is_reversible());
        assert!(down_of("-- c\ndrop table a;").is_reversible());
        let (set, _) = set_of(&[("V1__a.sql", "select 1;")]);
        assert!(!set.migrations[0].is_reversible());
    }

    /// MySQL runs `/*! … */`, so the engine sends such a down file; the build must agree
    /// that the migration can be reverted (the runtime's `reversibility` test says the same).
    #[test]
    fn a_mysql_executable_comment_is_a_statement() {
        assert!(down_of("/*!40101 SET x=1 */").is_reversible());
    }
}
