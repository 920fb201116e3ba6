//! A crate's migration set: every file of the migrations folder, read once and validated.

use crate::cache::{Cache, Entry, Hashed};
use crate::hash::{ContentHash, normalize};
use crate::lint::Context;
use crate::{Finding, Rule};
use dbmigrate_core::sql::Emptiness;
use dbmigrate_core::{FileKind, MigrationFileName, Stamp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One migration: its up file and, when there is one, its down file. The texts are held
/// beside the model, in [`MigrationSet::texts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// The version, unique in the set.
    pub version: i64,
    /// The name after `__`.
    pub name: String,
    /// The up file's name, e.g. `V1__a.sql`.
    pub up_file: String,
    /// The hash of the normalised up SQL.
    pub up_hash: ContentHash,
    /// The down file's name, when there is one.
    pub down_file: Option<String>,
    /// The hash of the normalised down SQL.
    pub down_hash: Option<ContentHash>,
    /// Whether a file on disk differs from its normalised text (BOM or CR), so that code
    /// embedding it must embed the normalised text rather than the raw file.
    pub raw_differs: bool,
}

/// The normalised texts (no BOM, LF line ends) of a set's files, by file name.
///
/// [`MigrationSet::load`] (the CLI) holds every file's text. The build script's
/// [`MigrationSet::load_cached`] needs a text only to write a normalised copy of a file whose
/// raw text differs from it, so it holds exactly those: a file the cache covers is not even read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Texts(BTreeMap<String, String>);

impl Texts {
    /// The normalised text of `file`, if it was kept.
    pub fn get(&self, file: &str) -> Option<&str> {
        self.0.get(file).map(String::as_str)
    }

    /// The up SQL of `m`, if it was kept.
    pub fn up(&self, m: &Migration) -> Option<&str> {
        self.get(&m.up_file)
    }

    /// The down SQL of `m`: `None` without a down file, or when it was not kept.
    pub fn down(&self, m: &Migration) -> Option<&str> {
        self.get(m.down_file.as_deref()?)
    }
}

/// The migrations of one folder, in version order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationSet {
    /// The folder, as given to [`MigrationSet::load`].
    pub dir: PathBuf,
    /// The folder as shown in messages (relative to the crate, forward slashes).
    pub display_dir: String,
    /// The migrations, sorted by version.
    pub migrations: Vec<Migration>,
    /// Their texts (all of them, or only the ones the build needs: see [`Texts`]).
    pub texts: Texts,
    /// The lint findings of every file, released or not, in file order (empty when loaded
    /// without a lint context); [`crate::check`] keeps the unreleased ones.
    pub lints: Vec<Finding>,
}

/// A file of the folder, with its stamp when the cache is in use.
struct Listed {
    file: String,
    stamp: Option<Stamp>,
}

/// A file name that parsed, with the file it came from.
struct Named {
    parsed: MigrationFileName,
    listed: Listed,
}

/// A file to read, with the cache's result when its stamp still matches.
struct FileJob {
    file: String,
    stamp: Option<Stamp>,
    cached: Option<(Hashed, Vec<Finding>)>,
}

/// One migration to read: its parsed up file name, its up file and its down file.
struct Job {
    parsed: MigrationFileName,
    up: FileJob,
    down: Option<FileJob>,
}

/// A file that was read or found in the cache.
struct ReadFile {
    file: String,
    hashed: Hashed,
}

/// What reading one migration gave: the migration and its kept texts, findings, cache entries.
#[derive(Default)]
struct Read {
    migration: Option<Migration>,
    texts: Vec<(String, String)>,
    findings: Vec<Finding>,
    entries: Vec<Entry>,
    lints: Vec<Finding>,
}

impl MigrationSet {
    /// Reads `crate_root/rel_dir`, keeping every text. Returns the valid migrations and every
    /// finding; a set with error findings must not be built or applied.
    pub fn load(crate_root: &Path, rel_dir: &str) -> (Self, Vec<Finding>) {
        let (set, findings, _) = Self::load_with(crate_root, rel_dir, None, None);
        (set, findings)
    }

    /// [`MigrationSet::load`], also linting every file for `lint` (into [`MigrationSet::lints`]).
    pub fn load_linted(crate_root: &Path, rel_dir: &str, lint: &Context) -> (Self, Vec<Finding>) {
        let (set, findings, _) = Self::load_with(crate_root, rel_dir, None, Some(lint));
        (set, findings)
    }

    /// The build script's load: the same validation as [`MigrationSet::load`], but a file whose
    /// stamp matches its entry in `cache` is not read, and only the texts that need a
    /// normalised copy are kept. Also returns the entries for the next cache.
    /// The cache must have been read for the same lint context ([`Cache::read`]).
    pub fn load_cached(
        crate_root: &Path,
        rel_dir: &str,
        cache: Cache,
        lint: &Context,
    ) -> (Self, Vec<Finding>, Vec<Entry>) {
        Self::load_with(crate_root, rel_dir, Some(cache), Some(lint))
    }

    fn load_with(
        crate_root: &Path,
        rel_dir: &str,
        cache: Option<Cache>,
        lint: Option<&Context>,
    ) -> (Self, Vec<Finding>, Vec<Entry>) {
        let display_dir = rel_dir.trim_end_matches('/').replace('\\', "/");
        let mut set = Self { dir: crate_root.join(rel_dir), display_dir, ..Self::default() };
        let mut findings = Vec::new();
        let files = match set.list_files(cache.is_some(), &mut findings) {
            Some(files) => files,
            None => return (set, findings, Vec::new()),
        };
        let (ups, downs) = set.parse_names(files, &mut findings);
        let entries = set.pair(ups, downs, cache, lint, &mut findings);
        (set, findings, entries)
    }

    /// The path shown for a file of this set.
    pub fn display(&self, file: &str) -> String {
        format!("{}/{file}", self.display_dir)
    }

    /// The migration with `version`.
    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.migrations.binary_search_by_key(&version, |m| m.version).ok().map(|i| &self.migrations[i])
    }

    /// The newest version, if any.
    pub fn newest(&self) -> Option<i64> {
        self.migrations.last().map(|m| m.version)
    }

    /// Whether `m`'s down file exists and holds something other than whitespace and comments
    /// (the engine's rule, [`dbmigrate_core::sql::is_blank`]): an empty down means the
    /// migration is irreversible. Needs the down text, which [`MigrationSet::load`] keeps.
    pub fn is_reversible(&self, m: &Migration) -> bool {
        self.texts.down(m).is_some_and(|sql| !dbmigrate_core::sql::is_blank(sql))
    }

    /// The files of the folder, sorted, with their stamps when `stamps`.
    fn list_files(&self, stamps: bool, findings: &mut Vec<Finding>) -> Option<Vec<Listed>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) => {
                let finding = Finding::error(
                    Rule::NoMigrationsFolder,
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
            let link = entry.file_type().is_ok_and(|t| t.is_symlink());
            // A link counts as what it points to, so a linked folder is a subfolder like any.
            let is_dir = if link { entry.path().is_dir() } else { entry.file_type().is_ok_and(|t| t.is_dir()) };
            if is_dir {
                findings.push(
                    Finding::error(Rule::Subfolder, self.display(&name), "the migrations folder must be flat").help(
                        "refinery would run the SQL files inside it as migrations: move them up, or move the folder out",
                    ),
                );
            } else if link && name.to_ascii_lowercase().ends_with(".sql") {
                findings.push(symlink(self.display(&name)));
            } else {
                names.push(Listed { file: name, stamp: None });
                if stamps {
                    to_stat.push(entry);
                }
            }
        }
        if stamps {
            for (listed, stamp) in names.iter_mut().zip(stat_all(&to_stat)) {
                listed.stamp = stamp;
            }
        }
        names.sort_unstable_by(|a, b| a.file.cmp(&b.file));
        Some(names)
    }

    fn parse_names(&self, files: Vec<Listed>, findings: &mut Vec<Finding>) -> (BTreeMap<i64, Vec<Named>>, Vec<Named>) {
        let mut ups: BTreeMap<i64, Vec<_>> = BTreeMap::new();
        let mut downs = Vec::new();
        for listed in files {
            match MigrationFileName::parse(&listed.file) {
                Ok(None) => {}
                Ok(Some(parsed)) if parsed.kind == FileKind::Up => {
                    ups.entry(parsed.version).or_default().push(Named { parsed, listed })
                }
                Ok(Some(parsed)) => downs.push(Named { parsed, listed }),
                Err(e) => findings.push(malformed(self.display(&listed.file), e)),
            }
        }
        (ups, downs)
    }

    fn pair(
        &mut self,
        ups: BTreeMap<i64, Vec<Named>>,
        downs: Vec<Named>,
        mut cache: Option<Cache>,
        lint: Option<&Context>,
        findings: &mut Vec<Finding>,
    ) -> Vec<Entry> {
        let keep_all = cache.is_none();
        let mut downs: BTreeMap<(i64, String), Listed> =
            downs.into_iter().map(|n| ((n.parsed.version, n.parsed.name), n.listed)).collect();
        // Looked up here, in file order, where the cache's cursor makes each lookup O(1).
        let mut job = |Listed { file, stamp }: Listed| {
            let cached = cache.as_mut().zip(stamp).and_then(|(cache, stamp)| cache.get(&file, stamp));
            FileJob { file, stamp, cached }
        };
        // Duplicates are reported at their place among the reads, so findings keep version order.
        let mut jobs = Vec::with_capacity(ups.len());
        let mut duplicates = Vec::new();
        for (version, files) in ups {
            if files.len() > 1 {
                duplicates.push((jobs.len(), duplicate(&self.display_dir, version, &files)));
                for named in &files {
                    downs.remove(&(version, named.parsed.name.clone()));
                }
                continue;
            }
            let Some(Named { parsed, listed }) = files.into_iter().next() else { continue };
            let down = downs.remove(&(version, parsed.name.clone())).map(&mut job);
            jobs.push(Job { parsed, up: job(listed), down });
        }
        let results = self.read_all(jobs, keep_all, lint);
        let mut entries = Vec::with_capacity(2 * results.len());
        let mut duplicates = duplicates.into_iter().peekable();
        for (i, read) in results.into_iter().enumerate() {
            while let Some((_, finding)) = duplicates.next_if(|(at, _)| *at <= i) {
                findings.push(finding);
            }
            findings.extend(read.findings);
            entries.extend(read.entries);
            self.texts.0.extend(read.texts);
            self.lints.extend(read.lints);
            self.migrations.extend(read.migration);
        }
        findings.extend(duplicates.map(|(_, finding)| finding));
        for ((version, name), Listed { file, .. }) in downs {
            findings.push(orphan_down(self.display(&file), version, &name));
        }
        entries
    }

    /// Reads and hashes every migration the cache does not cover, on several threads for large
    /// sets: a build script runs unoptimised, and 10,000 files must stay well under a second.
    fn read_all(&self, jobs: Vec<Job>, keep_all: bool, lint: Option<&Context>) -> Vec<Read> {
        let read = |job| self.read_migration(job, keep_all, lint);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let uncached = |j: &&Job| j.up.cached.is_none() || j.down.as_ref().is_some_and(|d| d.cached.is_none());
        if threads < 2 || jobs.iter().filter(uncached).count() < 512 {
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

    fn read_migration(&self, Job { parsed, up, down }: Job, keep_all: bool, lint: Option<&Context>) -> Read {
        // No need to ask refinery: the name grammar is a strict subset of what refinery's
        // `Migration::unapplied` accepts with `int8-versions` (tested in `refinery_accepts_*`),
        // and leaving refinery-core out keeps every user's build-dependency tree small.
        let mut read = Read::default();
        let version = parsed.version;
        let Some(up) = self.read_sql(up, version, keep_all, lint, &mut read) else { return read };
        // The shown paths are built only for a finding: most migrations have none, and a
        // `format!` per file is a measurable part of a warm build of 10,000.
        if up.hashed.emptiness != Emptiness::Fine {
            read.findings.extend(empty_up(up.hashed.emptiness, self.display(&up.file), version));
        }
        let down = match down {
            Some(job) => match self.read_sql(job, version, keep_all, lint, &mut read) {
                Some(down) => Some(down),
                None => {
                    // No migration, so no texts or lints; the up file's cache entry stays valid.
                    read.texts.clear();
                    read.lints.clear();
                    return read;
                }
            },
            None => None,
        };
        if down.as_ref().is_none_or(|d| d.hashed.emptiness != Emptiness::Fine) {
            let down_state = down.as_ref().map(|d| (d.hashed.emptiness, self.display(&d.file)));
            let missing_down = self.display(&dbmigrate_core::file_name::down_file(version, &parsed.name));
            read.findings.extend(no_down(down_state, self.display(&up.file), &missing_down, version));
        }
        read.migration = Some(Migration {
            version,
            name: parsed.name,
            up_file: up.file,
            up_hash: up.hashed.hash,
            down_hash: down.as_ref().map(|d| d.hashed.hash),
            raw_differs: up.hashed.raw_differs || down.as_ref().is_some_and(|d| d.hashed.raw_differs),
            down_file: down.map(|d| d.file),
        });
        read
    }

    /// A file's hash, and its text when kept: from the cache when it covers the file and the
    /// text is not needed, else read as normalised text. Records the file's cache entry and
    /// kept text in `read`; with a lint context, also the file's lint findings (from the cache
    /// when it covers the file).
    fn read_sql(
        &self,
        job: FileJob,
        version: i64,
        keep_all: bool,
        lint: Option<&Context>,
        read: &mut Read,
    ) -> Option<ReadFile> {
        let FileJob { file, stamp, cached } = job;
        let (hashed, text, lints) = match cached.filter(|(h, _)| !h.raw_differs) {
            Some((hashed, lints)) => (hashed, None, lints),
            None => {
                let (normalized, raw_differs) = self.read_text(&file, version, &mut read.findings)?;
                let emptiness = dbmigrate_core::sql::emptiness(&normalized);
                let hashed = Hashed { hash: ContentHash::of_normalized(&normalized), raw_differs, emptiness };
                let down = file.ends_with(".down.sql");
                let lints = lint.map(|cx| crate::lint::lint_file(&normalized, down, cx)).unwrap_or_default();
                (hashed, (keep_all || raw_differs).then_some(normalized), lints)
            }
        };
        if !lints.is_empty() {
            let shown = self.display(&file);
            read.lints.extend(lints.iter().map(|f| Finding { file: Some(shown.clone()), ..f.clone() }.about(version)));
        }
        if let Some(stamp) = stamp {
            read.entries.push(Entry { file: file.clone(), stamp, hashed, lint: lints });
        }
        if let Some(text) = text {
            read.texts.push((file.clone(), text));
        }
        Some(ReadFile { file, hashed })
    }

    /// Reads a file as normalised text, and whether the raw text differed.
    fn read_text(&self, file: &str, version: i64, findings: &mut Vec<Finding>) -> Option<(String, bool)> {
        #[cfg(test)]
        READS.with(|r| r.set(r.get() + 1));
        let bytes = match std::fs::read(self.dir.join(file)) {
            Ok(bytes) => bytes,
            Err(e) => {
                let message = format!("cannot read the file: {e}");
                findings.push(Finding::error(Rule::Unreadable, self.display(file), message).about(version));
                return None;
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            findings.push(
                Finding::error(Rule::NotUtf8, self.display(file), "the file is not valid UTF-8")
                    .about(version)
                    .help("save it as UTF-8"),
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

fn malformed(shown: String, e: dbmigrate_core::NameError) -> Finding {
    let finding = Finding::error(Rule::MalformedName, shown, format!("malformed migration file name: {e}"));
    match e.suggestion {
        Some(s) => finding.help(format!("rename it to `{s}`")),
        None => {
            finding.help("name it `V<version>__<name>.sql` (or `.down.sql`), e.g. with `cargo dbmigrate new <name>`")
        }
    }
}

fn orphan_down(shown: String, version: i64, name: &str) -> Finding {
    let up = dbmigrate_core::file_name::up_file(version, name);
    Finding::error(Rule::OrphanDown, shown, format!("down file without its up file `{up}`"))
        .about(version)
        .help(format!("add `{up}`, or delete the down file if the migration is gone"))
}

fn duplicate(display_dir: &str, version: i64, files: &[Named]) -> Finding {
    let display = |file: &str| format!("{display_dir}/{file}");
    let names: Vec<String> = files.iter().map(|n| format!("`{}`", n.listed.file)).collect();
    let first = &files[0].listed.file;
    Finding::error(
        Rule::DuplicateVersion,
        display(first),
        format!("version {version} is used by {} files: {}", files.len(), names.join(", ")),
    )
    .about(version)
    .help(format!(
        "give all but one a fresh version with `cargo dbmigrate renumber {}`",
        display(&files[files.len() - 1].listed.file)
    ))
}

/// An up file with nothing to run would be recorded as applied without doing anything: an
/// error when it is empty or the unedited template of `new`, a warning when it holds comments.
fn empty_up(emptiness: Emptiness, file: String, version: i64) -> Option<Finding> {
    let message = "the migration has no statements: it would be recorded as applied and do nothing";
    let finding = match emptiness {
        Emptiness::Fine => return None,
        Emptiness::CommentsOnly => Finding::warning(Rule::EmptyUp, file, message),
        Emptiness::Unwritten => Finding::error(Rule::EmptyUp, file, message)
            .help("write the SQL it should run (the file `cargo dbmigrate new` writes holds only comments)"),
    };
    Some(
        finding
            .help("if it must stay empty, say why on a line of its own: `-- dbmigrate:empty <reason>`")
            .about(version),
    )
}

/// A migration that `down` cannot revert: no down file, or one with only comments. Reported
/// for every migration here; [`crate::check`] keeps it for unreleased ones only.
fn no_down(down: Option<(Emptiness, String)>, up_file: String, down_file: &str, version: i64) -> Option<Finding> {
    let finding = match down {
        None => Finding::warning(
            Rule::NoDown,
            up_file,
            "the migration has no down file: `cargo dbmigrate down` cannot revert it",
        )
        .help(format!("add `{down_file}` with the SQL that undoes it, unless it is irreversible on purpose")),
        Some((Emptiness::Fine, _)) => return None,
        Some((_, file)) => Finding::warning(
            Rule::NoDown,
            file,
            "the down file has no statements: `cargo dbmigrate down` cannot revert the migration",
        )
        .help("write the SQL that undoes the up file, unless the migration is irreversible on purpose"),
    };
    Some(finding.about(version))
}

/// Migrations are real files: a link's target can change (or point out of the folder, even
/// at `/etc/passwd`) without the folder changing, so the build's cache, the CLI's no-op check
/// and refinery's own scan could each see another text.
fn symlink(file: String) -> Finding {
    Finding::error(Rule::Symlink, file, "a migration file must be a regular file, not a symbolic link")
        .help("replace the link with a copy of the file it points to")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set and its findings, less the `no-down` warnings most fixtures here would get.
    fn set_of(files: &[(&str, &str)]) -> (MigrationSet, Vec<Finding>) {
        let (set, findings) = load_of(files);
        (set, findings.into_iter().filter(|f| f.rule != Rule::NoDown).collect())
    }

    fn load_of(files: &[(&str, &str)]) -> (MigrationSet, Vec<Finding>) {
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
        findings.iter().map(|f| f.rule.as_str()).collect()
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
        let (_, findings) = set_of(&[("V1__a.sql", "SELECT 1;"), ("V1__b.down.sql", "")]);
        assert_eq!(codes(&findings), ["orphan-down"]);
        assert_eq!(findings[0].file.as_deref(), Some("migrations/V1__b.down.sql"));
    }

    #[test]
    fn an_up_file_with_nothing_to_run_is_an_error_unless_it_says_why() {
        let template = "-- add users\n-- Created 2026-12-01T00:00:00Z by cargo dbmigrate new.\n\n";
        let files =
            [("V1__a.sql", template), ("V2__b.sql", "-- dbmigrate:empty squashed\n"), ("V3__c.sql", "-- no-op\n")];
        let (_, findings) = set_of(&files);
        assert_eq!(codes(&findings), ["empty-up", "empty-up"]);
        assert!(findings[0].is_error() && findings[0].version == Some(1), "{findings:?}");
        assert!(!findings[1].is_error() && findings[1].version == Some(3), "a comment-only no-op only warns");
    }

    #[cfg(unix)]
    #[test]
    fn linked_files_are_errors_and_linked_folders_are_subfolders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let migrations = dir.path().join("migrations");
        std::fs::create_dir_all(&migrations).expect("mkdir");
        std::fs::write(dir.path().join("outside.sql"), "SELECT 1;").expect("write");
        std::fs::create_dir(dir.path().join("elsewhere")).expect("mkdir");
        std::os::unix::fs::symlink(dir.path().join("outside.sql"), migrations.join("V1__a.sql")).expect("link");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), migrations.join("more")).expect("link");
        let (_, findings) = MigrationSet::load(dir.path(), "migrations");
        let mut found = codes(&findings);
        found.sort_unstable();
        assert_eq!(found, ["subfolder", "symlink"]);
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
        assert_eq!(set.texts.up(&set.migrations[0]), Some("select 1;\n"));
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

    /// Whether the engine could revert it; the `no-down` warning must say the same.
    fn reversible(down: &str) -> bool {
        let (set, findings) = load_of(&[("V1__a.sql", "select 1;"), ("V1__a.down.sql", down)]);
        let reversible = set.is_reversible(&set.migrations[0]);
        assert_eq!(codes(&findings), if reversible { vec![] } else { vec!["no-down"] }, "{findings:?}");
        reversible
    }

    #[test]
    fn irreversible_when_down_is_empty_or_comments() {
        assert!(!reversible("  \n-- nothing\n/* x */\n"));
        assert!(!reversible(""));
        assert!(reversible("-- c\ndrop table a;"));
        let (set, findings) = load_of(&[("V1__a.sql", "select 1;")]);
        assert!(!set.is_reversible(&set.migrations[0]));
        assert_eq!(codes(&findings), ["no-down"]);
        assert_eq!(findings[0].file.as_deref(), Some("migrations/V1__a.sql"));
        assert!(findings[0].help[0].contains("migrations/V1__a.down.sql"), "{findings:?}");
    }

    /// MySQL runs `/*! … */`, so the engine sends such a down file; the build must agree
    /// that the migration can be reverted (the runtime's `reversibility` test says the same).
    #[test]
    fn a_mysql_executable_comment_is_a_statement() {
        assert!(reversible("/*!40101 SET x=1 */"));
    }
}
