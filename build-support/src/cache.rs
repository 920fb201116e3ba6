//! The build script's cache of file hashes, kept in `OUT_DIR` between runs.
//!
//! A build script reruns whenever anything in the migrations folder changes, typically because
//! one migration was added. Reading and hashing every other file again (unoptimised, as build
//! scripts run) is most of the cost, so the hash of each file is kept, keyed by its
//! [`Stamp`] (length, modification and change times). A file whose stamp differs is read and
//! hashed again. Each entry also keeps the file's lint findings ([`crate::lint`]), valid for
//! the lint context (dialects, lock timeout) the cache was written under, so a warm build
//! re-lints only the files it reads again.
//!
//! An entry whose stamp is racy ([`Stamp::is_racy`]) at the moment the cache is written is
//! never stored, and never trusted when read: such a file is read again on every run until it
//! is older. The cache is only an optimisation: a cache that is missing, truncated, corrupt or
//! from another folder is ignored, never an error.

use crate::diagnostic::Severity;
use crate::hash::ContentHash;
use crate::{Finding, Rule};
use dbmigrate_core::Stamp;
use dbmigrate_core::sql::Emptiness;
use std::path::Path;
use std::time::SystemTime;

/// The file name in `OUT_DIR`.
pub const CACHE_FILE: &str = "dbmigrate-cache";

const MAGIC: &[u8; 16] = b"dbmigrate-cache4";

/// What the build needs from one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hashed {
    /// The hash of the normalised text.
    pub hash: ContentHash,
    /// Whether the raw text differs from its normalisation (BOM, CR).
    pub raw_differs: bool,
    /// Whether the text has nothing to run ([`dbmigrate_core::sql::emptiness`]).
    pub emptiness: Emptiness,
}

/// One file's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The file name in the migrations folder.
    pub file: String,
    /// Its stamp when it was read.
    pub stamp: Stamp,
    /// What was computed from it.
    pub hashed: Hashed,
    /// Its lint findings, without file or version.
    pub lint: Vec<Finding>,
}

/// The entries of one migrations folder, sorted by file name.
#[derive(Clone, Debug, Default)]
pub struct Cache {
    entries: Vec<Entry>,
    /// Where the next lookup probably is: files are looked up in nearly sorted order.
    cursor: usize,
}

impl Cache {
    /// Reads the cache for the folder `dir` linted under `lint` ([`crate::lint::Context::signature`]);
    /// empty when absent, corrupt, for another folder or another lint context.
    pub fn read(path: &Path, dir: &Path, lint: &str) -> Self {
        let entries = std::fs::read(path).map(|bytes| Self::read_bytes(&bytes, dir, lint)).unwrap_or_default();
        Self { entries, cursor: 0 }
    }

    /// The trusted entries of a cache file's bytes; none when corrupt or for another folder.
    fn read_bytes(bytes: &[u8], dir: &Path, lint: &str) -> Vec<Entry> {
        decode(bytes, dir, lint).unwrap_or_default()
    }

    /// The entry for `file` if its stamp is still `stamp`: its hashes and lint findings.
    pub fn get(&mut self, file: &str, stamp: Stamp) -> Option<(Hashed, Vec<Finding>)> {
        let next = self.entries.get(self.cursor).filter(|e| e.file == file).map(|_| self.cursor);
        let i = match next {
            Some(i) => i,
            None => self.entries.binary_search_by(|e| e.file.as_str().cmp(file)).ok()?,
        };
        self.cursor = i + 1;
        let entry = &self.entries[i];
        (entry.stamp == stamp).then(|| (entry.hashed, entry.lint.clone()))
    }

    /// The cache file holding `entries` (any order) for `dir` linted under `lint`, written
    /// `now`. Entries whose stamp is racy at `now` are left out.
    pub fn encode(dir: &Path, lint: &str, mut entries: Vec<Entry>, now: SystemTime) -> Vec<u8> {
        let now = dbmigrate_core::stamp::epoch_nanos(now).unwrap_or(0);
        entries.retain(|e| !e.stamp.is_racy(now));
        entries.sort_unstable_by(|a, b| a.file.cmp(&b.file));
        let dir = dir.to_string_lossy();
        let mut body = Vec::with_capacity(32 + dir.len() + entries.len() * 110);
        body.extend_from_slice(&now.to_le_bytes());
        push_bytes(&mut body, dir.as_bytes());
        push_bytes(&mut body, lint.as_bytes());
        body.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for e in &entries {
            push_bytes(&mut body, e.file.as_bytes());
            body.extend_from_slice(&e.stamp.to_le_bytes());
            body.extend_from_slice(e.hashed.hash.as_bytes());
            let emptiness = match e.hashed.emptiness {
                Emptiness::Fine => 0,
                Emptiness::CommentsOnly => 1,
                Emptiness::Unwritten => 2,
            };
            body.push(u8::from(e.hashed.raw_differs) | (emptiness << 1));
            encode_lint(&mut body, &e.lint);
        }
        let mut out = Vec::with_capacity(body.len() + 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&checksum(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }
}

/// A file's lint findings: count, then per finding rule code, severity, line, line text,
/// message and helps.
fn encode_lint(out: &mut Vec<u8>, lint: &[Finding]) {
    out.extend_from_slice(&(lint.len() as u32).to_le_bytes());
    for f in lint {
        push_bytes(out, f.rule.as_str().as_bytes());
        out.push(match f.severity {
            Severity::Warning => 0,
            Severity::Error => 1,
            Severity::Info => 2,
        });
        let (line, text) = f.line.as_ref().map_or((0, ""), |(n, t)| (*n, t.as_str()));
        out.extend_from_slice(&(line as u32).to_le_bytes());
        push_bytes(out, text.as_bytes());
        push_bytes(out, f.message.as_bytes());
        out.push(f.help.len().min(255) as u8);
        f.help.iter().take(255).for_each(|h| push_bytes(out, h.as_bytes()));
    }
}

fn decode_lint(r: &mut Reader<'_>) -> Option<Vec<Finding>> {
    let count = r.u32()?;
    let mut out = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let code = r.str()?;
        let rule = Rule::ALL.iter().copied().find(|x| x.as_str() == code)?;
        let [severity] = r.array::<1>()?;
        let line = r.u32()?;
        let text = r.str()?.to_owned();
        let mut f = Finding::error(rule, None, r.str()?);
        f.severity = match severity {
            1 => Severity::Error,
            2 => Severity::Info,
            _ => Severity::Warning,
        };
        if line > 0 {
            f = f.at_line(line, text);
        }
        let [helps] = r.array::<1>()?;
        for _ in 0..helps {
            f = f.help(r.str()?);
        }
        out.push(f);
    }
    Some(out)
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A cheap checksum (the build script is unoptimised, and a cryptographic hash is not needed
/// to notice a truncated or scribbled file): four lanes over 32-byte blocks taken as arrays, so
/// the loop runs few times and each step is a few plain operations (slicing and `try_into`
/// per word cost ~15x more in a debug build).
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let (words, rest) = bytes.as_chunks::<8>();
    let (blocks, words) = words.as_chunks::<4>();
    let (mut a, mut b, mut c, mut d) = (bytes.len() as u64, 1_u64, 2_u64, 3_u64);
    for [w, x, y, z] in blocks {
        a = (a ^ u64::from_le_bytes(*w)).rotate_left(23).wrapping_mul(K);
        b = (b ^ u64::from_le_bytes(*x)).rotate_left(23).wrapping_mul(K);
        c = (c ^ u64::from_le_bytes(*y)).rotate_left(23).wrapping_mul(K);
        d = (d ^ u64::from_le_bytes(*z)).rotate_left(23).wrapping_mul(K);
    }
    let mut h = a ^ b.rotate_left(16) ^ c.rotate_left(32) ^ d.rotate_left(48);
    for w in words {
        h = (h ^ u64::from_le_bytes(*w)).rotate_left(23).wrapping_mul(K);
    }
    for &byte in rest {
        h = (h ^ u64::from(byte)).rotate_left(23).wrapping_mul(K);
    }
    h.wrapping_mul(K)
}

/// A reader over the cache file's bytes; every read fails past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u32(&mut self) -> Option<usize> {
        usize::try_from(u32::from_le_bytes(self.array()?)).ok()
    }
    fn i128(&mut self) -> Option<i128> {
        Some(i128::from_le_bytes(self.array()?))
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()?;
        std::str::from_utf8(self.take(n)?).ok()
    }
}

fn decode(bytes: &[u8], dir: &Path, lint: &str) -> Option<Vec<Entry>> {
    let mut r = Reader(bytes);
    if r.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let sum = u64::from_le_bytes(r.array()?);
    if checksum(r.0) != sum {
        return None;
    }
    let written_at = r.i128()?;
    if r.str()? != dir.to_string_lossy() || r.str()? != lint {
        return None;
    }
    let count = usize::try_from(u64::from_le_bytes(r.array()?)).ok()?;
    let mut entries = Vec::with_capacity(count.min(bytes.len() / 90));
    for _ in 0..count {
        let file = r.str()?.to_owned();
        let stamp = Stamp::from_le_bytes(r.array()?);
        let hash = ContentHash::from_bytes(r.array()?);
        let [flags] = r.array::<1>()?;
        let emptiness = match flags >> 1 {
            0 => Emptiness::Fine,
            1 => Emptiness::CommentsOnly,
            2 => Emptiness::Unwritten,
            _ => return None,
        };
        let raw_differs = flags & 1 == 1;
        let lint = decode_lint(&mut r)?;
        // A racy entry is not trusted, whoever wrote it.
        if !stamp.is_racy(written_at) {
            entries.push(Entry { file, stamp, hashed: Hashed { hash, raw_differs, emptiness }, lint });
        }
    }
    let sorted = entries.windows(2).all(|w| w[0].file < w[1].file);
    (r.0.is_empty() && sorted).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MigrationSet;
    use std::io::Write;
    use std::time::{Duration, UNIX_EPOCH};

    const HOUR: Duration = Duration::from_secs(3600);

    fn cx() -> crate::lint::Context {
        crate::lint::Context { dialects: vec![dbmigrate_core::Dialect::Postgres], lock_timeout: true, guessed: false }
    }

    fn sig() -> String {
        cx().signature()
    }

    struct Crate {
        dir: tempfile::TempDir,
    }

    impl Crate {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir(dir.path().join("migrations")).expect("mkdir");
            Self { dir }
        }
        fn migrations(&self) -> std::path::PathBuf {
            self.dir.path().join("migrations")
        }
        fn cache_path(&self) -> std::path::PathBuf {
            self.dir.path().join(CACHE_FILE)
        }
        /// Writes `text` with the modification time `mtime`.
        fn write(&self, file: &str, text: &str, mtime: SystemTime) {
            let mut f = std::fs::File::create(self.migrations().join(file)).expect("create");
            f.write_all(text.as_bytes()).expect("write");
            f.set_modified(mtime).expect("set mtime");
        }
        /// A cached load writing the cache; returns the up hashes and how many files were read.
        fn load(&self) -> (Vec<ContentHash>, usize) {
            let cache = Cache::read(&self.cache_path(), &self.migrations(), &sig());
            let reads = crate::set::READS.with(|r| r.replace(0));
            let (set, findings, entries) = MigrationSet::load_cached(self.dir.path(), "migrations", cache, &cx());
            let reads = crate::set::READS.with(|r| r.replace(reads));
            // These fixtures have no down files on purpose: only `no-down` warnings are fine.
            assert!(findings.iter().all(|f| f.rule == crate::Rule::NoDown), "{findings:?}");
            let bytes = Cache::encode(&self.migrations(), &sig(), entries, SystemTime::now());
            std::fs::write(self.cache_path(), bytes).expect("write cache");
            (set.migrations.iter().map(|m| m.up_hash).collect(), reads)
        }
    }

    #[test]
    fn unchanged_files_are_hits_and_give_the_same_hashes() {
        let c = Crate::new();
        let old = SystemTime::now() - HOUR;
        c.write("V1__a.sql", "select 1;\n", old);
        c.write("V1__a.down.sql", "select 0;\n", old);
        c.write("V2__b.sql", "select 2;\r\n", old);
        let (cold, reads) = c.load();
        assert_eq!(reads, 3);
        let (warm, reads) = c.load();
        assert_eq!(warm, cold);
        // V2's raw text differs, so its normalised text is needed and it is always read.
        assert_eq!(reads, 1);
        assert_eq!(warm, [ContentHash::of("select 1;\n"), ContentHash::of("select 2;\n")]);
    }

    #[test]
    fn a_same_length_edit_with_another_mtime_is_rehashed() {
        let c = Crate::new();
        let old = SystemTime::now() - HOUR;
        c.write("V1__a.sql", "select 1;\n", old);
        c.load();
        c.write("V1__a.sql", "select 2;\n", old + Duration::from_secs(1));
        assert_eq!(c.load(), (vec![ContentHash::of("select 2;\n")], 1));
    }

    /// Even an mtime set back to the cached one: the inode change time gives it away.
    #[cfg(unix)]
    #[test]
    fn a_same_length_edit_with_the_same_mtime_is_rehashed() {
        let c = Crate::new();
        let old = SystemTime::now() - HOUR;
        c.write("V1__a.sql", "select 1;\n", old);
        c.load();
        std::thread::sleep(Duration::from_millis(20));
        c.write("V1__a.sql", "select 2;\n", old);
        assert_eq!(c.load(), (vec![ContentHash::of("select 2;\n")], 1));
    }

    #[test]
    fn racy_entries_are_neither_stored_nor_trusted() {
        let c = Crate::new();
        let now = SystemTime::now();
        c.write("V1__a.sql", "select 1;\n", now);
        c.load();
        assert!(Cache::read(&c.cache_path(), &c.migrations(), &sig()).entries.is_empty(), "a racy entry was stored");
        // A cache written by someone else with a racy entry: not trusted either.
        let meta = std::fs::metadata(c.migrations().join("V1__a.sql")).expect("stat");
        let stamp = Stamp::of(&meta).expect("stamp");
        let wrong = Hashed { hash: ContentHash::of("select 9;\n"), raw_differs: false, emptiness: Emptiness::Fine };
        let entry = Entry { file: "V1__a.sql".into(), stamp, hashed: wrong, lint: Vec::new() };
        let mut bytes = Cache::encode(&c.migrations(), &sig(), vec![entry], now + HOUR);
        // Rewrite the write time to `now`, keeping the checksum valid.
        let at = MAGIC.len() + 8;
        bytes[at..at + 16].copy_from_slice(&now.duration_since(UNIX_EPOCH).expect("epoch").as_nanos().to_le_bytes());
        let sum = checksum(&bytes[at..]);
        bytes[MAGIC.len()..at].copy_from_slice(&sum.to_le_bytes());
        assert!(Cache::read_bytes(&bytes, &c.migrations(), &sig()).is_empty());
        std::fs::write(c.cache_path(), &bytes).expect("write");
        assert_eq!(c.load(), (vec![ContentHash::of("select 1;\n")], 1));
        // The same entry from a cache written long after the file's mtime is trusted, which
        // shows that the check above is what kept the wrong hash out.
        let entry = Entry { file: "V1__a.sql".into(), stamp, hashed: wrong, lint: Vec::new() };
        let bytes = Cache::encode(&c.migrations(), &sig(), vec![entry], now + HOUR);
        assert_eq!(Cache::read_bytes(&bytes, &c.migrations(), &sig()).len(), 1);
    }

    /// A warm load gives the same lint findings without reading the files; a changed file is
    /// re-linted alone; another lint context trusts nothing.
    #[test]
    fn lint_findings_are_cached_per_file() {
        let c = Crate::new();
        let old = SystemTime::now() - HOUR;
        c.write("V1__a.sql", "DROP TABLE a;\n", old);
        c.write("V2__b.sql", "select 2;\n", old);
        let lints = |cx: &crate::lint::Context| {
            let cache = Cache::read(&c.cache_path(), &c.migrations(), &cx.signature());
            let reads = crate::set::READS.with(|r| r.replace(0));
            let (set, _, entries) = MigrationSet::load_cached(c.dir.path(), "migrations", cache, cx);
            let reads = crate::set::READS.with(|r| r.replace(reads));
            let bytes = Cache::encode(&c.migrations(), &cx.signature(), entries, SystemTime::now());
            std::fs::write(c.cache_path(), bytes).expect("write cache");
            let found: Vec<(String, usize)> = set
                .lints
                .iter()
                .map(|f| (f.file.clone().unwrap_or_default(), f.line.as_ref().map_or(0, |l| l.0)))
                .collect();
            (found, reads)
        };
        let want = vec![("migrations/V1__a.sql".to_owned(), 1)];
        assert_eq!(lints(&cx()), (want.clone(), 2));
        assert_eq!(lints(&cx()), (want, 0));
        c.write("V2__b.sql", "select 2;\nALTER TABLE b RENAME TO c;\n", old + Duration::from_secs(1));
        let (found, reads) = lints(&cx());
        assert_eq!((found.len(), reads), (2, 1), "{found:?}");
        let mysql =
            crate::lint::Context { dialects: vec![dbmigrate_core::Dialect::Mysql], lock_timeout: true, guessed: false };
        assert_eq!(lints(&mysql).1, 2, "another context re-lints everything");
    }

    /// The checksum reads 32-byte blocks, then 8-byte words, then single bytes: a change in
    /// any byte of any of the three parts changes it.
    #[test]
    fn the_checksum_covers_every_byte() {
        let bytes: Vec<u8> = (0..75u8).collect();
        let sum = checksum(&bytes);
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x10;
            assert_ne!(checksum(&changed), sum, "byte {i}");
        }
        assert_ne!(checksum(&bytes[..74]), sum, "a shorter text");
    }

    #[test]
    fn a_corrupt_truncated_or_foreign_cache_is_ignored() {
        let c = Crate::new();
        let old = SystemTime::now() - HOUR;
        c.write("V1__a.sql", "select 1;\n", old);
        c.write("V2__b.sql", "select 2;\n", old);
        c.load();
        let good = std::fs::read(c.cache_path()).expect("read");
        assert_eq!(Cache::read_bytes(&good, &c.migrations(), &sig()).len(), 2);
        let mut flipped = good.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 1;
        let broken: [&[u8]; 5] =
            [b"", b"garbage", &good[..good.len() - 1], &flipped, &[good.as_slice(), b"x"].concat()];
        for bytes in broken {
            assert!(Cache::read_bytes(bytes, &c.migrations(), &sig()).is_empty());
            std::fs::write(c.cache_path(), bytes).expect("write");
            assert_eq!(c.load(), (vec![ContentHash::of("select 1;\n"), ContentHash::of("select 2;\n")], 2));
        }
        assert!(Cache::read_bytes(&good, &c.dir.path().join("elsewhere"), &sig()).is_empty());
        // A cache that is a folder, not a file.
        std::fs::remove_file(c.cache_path()).expect("rm");
        std::fs::create_dir(c.cache_path()).expect("mkdir");
        assert_eq!(Cache::read(&c.cache_path(), &c.migrations(), &sig()).entries.len(), 0);
    }
}
