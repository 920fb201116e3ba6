//! What identifies one version of a file without reading it, and when that identification cannot be trusted yet.
//!
//! A stamp is what a `stat` tells: length, modification time in nanoseconds and, on Unix, the
//! inode change time, which no tool can set back. The "racily clean" problem (as in git): a
//! file edited twice within one tick of the file system's clock keeps its modification time,
//! and if the length stays the same the stamp cannot tell the two texts apart. So a stamp whose
//! modification time is within [`RACY`] of the moment it is recorded or compared is never
//! trusted: such a file is read again until it is older.

use std::fs::Metadata;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How close to "now" a modification time must not be for a stamp to count: larger than the
/// coarsest common timestamp tick (2 s on FAT).
pub const RACY: Duration = Duration::from_secs(2);

/// One version of a file, as `stat` describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// The length in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime: i128,
    /// Inode change time on Unix (0 elsewhere): changes with every write and every `touch`.
    pub ctime: i128,
}

impl Stamp {
    /// The size of [`Stamp::to_le_bytes`].
    pub const BYTES: usize = 40;

    /// The stamp of a regular file's metadata (from `symlink_metadata` or a `DirEntry`); `None`
    /// for folders and symlinks, whose own metadata does not change when their contents or
    /// target do, and for times before the epoch.
    pub fn of(metadata: &Metadata) -> Option<Self> {
        if !metadata.file_type().is_file() {
            return None;
        }
        let mtime = epoch_nanos(metadata.modified().ok()?)?;
        #[cfg(unix)]
        let ctime = {
            use std::os::unix::fs::MetadataExt;
            i128::from(metadata.ctime()) * 1_000_000_000 + i128::from(metadata.ctime_nsec())
        };
        #[cfg(not(unix))]
        let ctime = 0;
        Some(Self { len: metadata.len(), mtime, ctime })
    }

    /// Whether the file was modified within [`RACY`] of `at` (nanoseconds since the epoch), or
    /// later: then a second edit may not show in the stamp, and it must not be trusted.
    pub fn is_racy(&self, at: i128) -> bool {
        self.mtime + RACY.as_nanos() as i128 > at
    }

    /// The stamp as bytes, for files that keep stamps: length, mtime, ctime, little-endian.
    pub fn to_le_bytes(&self) -> [u8; Self::BYTES] {
        let mut out = [0; Self::BYTES];
        out[..8].copy_from_slice(&self.len.to_le_bytes());
        out[8..24].copy_from_slice(&self.mtime.to_le_bytes());
        out[24..].copy_from_slice(&self.ctime.to_le_bytes());
        out
    }

    /// The stamp written by [`Stamp::to_le_bytes`].
    pub fn from_le_bytes(bytes: [u8; Self::BYTES]) -> Self {
        let mut len = [0; 8];
        let (mut mtime, mut ctime) = ([0; 16], [0; 16]);
        len.copy_from_slice(&bytes[..8]);
        mtime.copy_from_slice(&bytes[8..24]);
        ctime.copy_from_slice(&bytes[24..]);
        Self { len: u64::from_le_bytes(len), mtime: i128::from_le_bytes(mtime), ctime: i128::from_le_bytes(ctime) }
    }
}

/// `time` in nanoseconds since the epoch; `None` before it.
pub fn epoch_nanos(time: SystemTime) -> Option<i128> {
    i128::try_from(time.duration_since(UNIX_EPOCH).ok()?.as_nanos()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i128 = 1_000_000_000;

    #[test]
    fn racy_within_two_seconds_of_the_comparison() {
        let stamp = Stamp { len: 1, mtime: 100 * SECOND, ctime: 0 };
        assert!(stamp.is_racy(100 * SECOND));
        assert!(stamp.is_racy(102 * SECOND - 1));
        assert!(!stamp.is_racy(102 * SECOND));
        assert!(stamp.is_racy(50 * SECOND), "a modification time in the future is racy too");
    }

    #[test]
    fn bytes_round_trip() {
        let stamp = Stamp { len: 7, mtime: -3, ctime: i128::MAX };
        assert_eq!(Stamp::from_le_bytes(stamp.to_le_bytes()), stamp);
    }

    #[test]
    fn files_have_stamps_and_folders_do_not() {
        let dir = std::env::temp_dir().join(format!("dbmigrate-core-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("V1__a.sql");
        std::fs::write(&file, "select 1;").expect("write");
        let stamp = Stamp::of(&std::fs::metadata(&file).expect("stat")).expect("a file has a stamp");
        assert_eq!(stamp.len, 9);
        let now = epoch_nanos(SystemTime::now()).expect("after the epoch");
        assert!(stamp.is_racy(now), "a file written just now is racy");
        assert_eq!(Stamp::of(&std::fs::metadata(&dir).expect("stat")), None);
        std::fs::remove_dir_all(&dir).expect("rm");
    }
}
