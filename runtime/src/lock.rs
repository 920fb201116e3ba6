//! Names and keys for the migration lock. They must be the same in every
//! binary (CLI, application) so they use a fixed hash, not std's.

fn fnv1a(text: &str) -> u64 {
    dbmigrate_core::stable_hash::fnv1a(text.as_bytes())
}

/// The PostgreSQL advisory lock key for a history table (locks are per
/// database already).
pub(crate) fn advisory_key(table: &str) -> i64 {
    i64::from_ne_bytes(fnv1a(&format!("dbmigrate:{table}")).to_ne_bytes())
}

/// The MySQL `GET_LOCK` name: lock names are server-wide, so it includes the
/// database; MySQL allows 64 characters, longer names are hashed.
pub(crate) fn mysql_lock_name(database: &str, table: &str) -> String {
    let full = format!("dbmigrate:{database}:{table}");
    if full.len() <= 64 { full } else { format!("dbmigrate:{:016x}", fnv1a(&full)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable() {
        assert_eq!(advisory_key("refinery_schema_history"), advisory_key("refinery_schema_history"));
        assert_ne!(advisory_key("a"), advisory_key("b"));
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(mysql_lock_name("db", "t"), "dbmigrate:db:t");
        assert!(mysql_lock_name(&"x".repeat(80), "t").len() <= 64);
    }
}
