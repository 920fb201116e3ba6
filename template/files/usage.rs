include!(concat!(env!("OUT_DIR"), "/dbmigrate.rs"));
// then, at start-up: migrations::run(&database_url)?;
