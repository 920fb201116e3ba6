//! Backups of the same database at the same version within one second (two quick deploys, a
//! benchmark re-creating its database) get distinct names at once: the name's time has
//! seconds only, and waiting for the next second was the ~1 s stall of a fast SQLite run.

use super::{V2, applied_v1, backups};
use crate::db::{assert_code, json};
use dbmigrate_tests::{Backend, dbm};
use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYYMMDDTHHMMSSZ` of `secs` since the epoch (UTC), as backup names spell it.
fn stamp(secs: u64) -> String {
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[test]
fn a_taken_name_gets_a_counter_instead_of_a_wait() {
    let (fixture, db) = applied_v1(Backend::Sqlite, "samesec");
    let first = backups(fixture.path());
    let name = first[0]["id"].as_str().expect("a backup id").to_owned();
    let database = name.rsplitn(3, '-').nth(2).expect("<database>-<version>-<time>.sqlite").to_owned();
    // Every name the next backup (of version 1) could take in the next two minutes is taken.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let dir = fixture.path().join(".dbmigrate/backups");
    for secs in now - 5..now + 120 {
        std::fs::write(dir.join(format!("{database}-1-{}.sqlite", stamp(secs))), "decoy").expect("decoy");
    }
    fixture.write(&format!("migrations/{}", V2.0), V2.1);
    let out = dbm(fixture.path(), &db.url, &["run", "--format", "json"]);
    assert_code(&out, 0);
    assert_eq!(db.versions(), vec![1, 2]);
    let taken = json(&out)["backup"].as_str().expect("a backup path").to_owned();
    let id = taken.rsplit('/').next().unwrap_or_default();
    assert!(id.starts_with(&format!("{database}-1-")) && id.ends_with("Z-2.sqlite"), "{id}");
    assert!(backups(fixture.path()).iter().any(|b| b["id"] == id), "the counted name is listed");
}
