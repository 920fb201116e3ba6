//! A crate that builds, rebuilds only when its migrations change, survives a CRLF checkout of a
//! released file, and applies its embedded migrations to SQLite with refinery.

use super::{check_json, fixture};
use dbmigrate_tests::{Fixture, text};

const MAIN: &str = r#"include!(concat!(env!("OUT_DIR"), "/dbmigrate.rs"));

fn main() {
    let path = std::env::args().nth(1).expect("database path");
    let mut conn = rusqlite::Connection::open(path).expect("open");
    migrations::runner().run(&mut conn).expect("migrate");
    let mut stmt = conn.prepare("SELECT version, name FROM refinery_schema_history ORDER BY version").expect("query");
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).expect("rows");
    for row in rows {
        let (version, name) = row.expect("row");
        println!("applied {version} {name}");
    }
    for m in migrations::MIGRATIONS {
        println!("embedded {} {} down={}", m.version, m.name, migrations::down_sql(m.version).is_some());
    }
}
"#;

fn run(f: &Fixture) -> String {
    let out = f.cargo(&["run", "--quiet", "--", "app.db"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn builds_rebuilds_on_new_files_and_applies_to_sqlite() {
    let f = fixture(
        "guard-life",
        &[
            ("V1__users.sql", "create table users (id integer primary key);\n"),
            ("V1__users.down.sql", "drop table users;\n"),
            ("V2__posts.sql", "create table posts (id integer primary key);\n"),
        ],
    );
    let manifest = f.read("Cargo.toml");
    f.write("Cargo.toml", &format!("{manifest}rusqlite = \"0.41\"\n"));
    f.write("src/main.rs", MAIN);
    let out = f.build();
    assert!(out.status.success(), "{}", text(&out));

    // Nothing changed: the build script does not run again.
    let again = text(&f.cargo(&["build", "-v"]));
    assert!(again.contains("Fresh guard-life"), "{again}");
    assert!(!again.contains("build-script-build`"), "the build script ran again:\n{again}");

    assert_eq!(run(&f), "applied 1 users\napplied 2 posts\nembedded 1 users down=true\nembedded 2 posts down=false\n");
    f.cli().arg("release").assert().success();
    assert_eq!(check_json(&f).0, 0);

    // A Windows checkout of a released file (BOM, CRLF) is not an edit, and refinery's checksum
    // of the embedded text does not change; a new file is picked up without touching anything else.
    let crlf = format!("\u{feff}{}", f.read("migrations/V1__users.sql").replace('\n', "\r\n"));
    f.write("migrations/V1__users.sql", &crlf);
    f.write("migrations/V3__tags.sql", "create table tags (id integer primary key);\n");
    assert_eq!(
        run(&f),
        "applied 1 users\napplied 2 posts\napplied 3 tags\n\
         embedded 1 users down=true\nembedded 2 posts down=false\nembedded 3 tags down=false\n"
    );
    assert_eq!(check_json(&f).0, 0);
}
