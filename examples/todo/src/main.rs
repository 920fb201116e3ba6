//! A to-do app that migrates its SQLite database at start-up with the migrations that
//! `dbmigrate-build` checked and embedded at build time.

include!(concat!(env!("OUT_DIR"), "/dbmigrate.rs"));

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "todo.db".to_owned());
    let mut conn = rusqlite::Connection::open(&path)?;
    let report = migrations::runner().run(&mut conn)?;
    println!("{path}: applied {} migration(s) at start-up", report.applied_migrations().len());
    let lists: i64 = conn.query_row("SELECT count(*) FROM lists", [], |row| row.get(0))?;
    println!("{path}: {lists} list(s); {} migration(s) embedded", migrations::MIGRATIONS.len());
    Ok(())
}
