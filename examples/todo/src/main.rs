//! A to-do app that migrates its SQLite database at start-up with the migrations that
//! `dbmigrate-build` checked and embedded at build time.

include!(concat!(env!("OUT_DIR"), "/dbmigrate.rs"));

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "todo.db".to_owned());
    // Locked, one transaction per migration, refinery's history table: the same engine as
    // `cargo dbmigrate run`, so the app and the CLI always agree.
    let report = migrations::run(&format!("sqlite:{path}"))?;
    println!("{path}: applied {} migration(s) at start-up", report.migrations.len());
    let conn = rusqlite::Connection::open(&path)?;
    let lists: i64 = conn.query_row("SELECT count(*) FROM lists", [], |row| row.get(0))?;
    println!("{path}: {lists} list(s); {} migration(s) embedded", migrations::MIGRATIONS.len());
    // refinery's own runner over the same embedded files agrees that nothing is left.
    let mut conn = conn;
    let left = migrations::runner().run(&mut conn)?.applied_migrations().len();
    println!("{path}: refinery's runner found {left} migration(s) to apply");
    Ok(())
}
