//! The one JSON document every command prints with `--format json`: an envelope
//! (`format_version`, `command`, `ok`) around the command's data, the same on success and failure.

use crate::CliError;
use crate::ops::session::Chosen;
use serde_json::{Map, Value, json};
use std::sync::Mutex;

/// Bumped when a key changes meaning or disappears; new keys do not bump it.
pub const FORMAT_VERSION: u32 = 1;

/// The commands that talk to a database: their document always has a `database` key.
const DATABASE_COMMANDS: &[&str] = &[
    "run",
    "down",
    "redo",
    "status",
    "current",
    "history",
    "show",
    "stamp",
    "repair",
    "backups",
    "restore",
    "database create",
    "database drop",
    "database reset",
];

/// The database the command chose, remembered when the choice is announced, so that a failure
/// after it (connection, refusal) still names the database in its document.
static TARGET: Mutex<Option<Value>> = Mutex::new(None);

/// Remembers the database this process works on, for the `database` key.
pub fn remember_target(chosen: &Chosen) {
    if let Ok(mut target) = TARGET.lock() {
        *target = Some(crate::render::notes::target_json(chosen));
    }
}

/// The document of a command that succeeded, with `data`'s keys beside the envelope's.
pub fn success(command: &str, data: Value) -> Value {
    envelope(command, true, data)
}

/// The document of a command that failed: the error, its hints and exit code, and whatever
/// data the command had when it failed (`error.data`).
pub fn failure(command: &str, error: &CliError) -> Value {
    let mut doc = envelope(command, false, error.data.clone().unwrap_or(Value::Null));
    if let Some(object) = doc.as_object_mut() {
        object.insert("error".into(), json!(error.message));
        object.insert("hints".into(), json!(error.hints));
        object.insert("exit_code".into(), json!(error.code));
    }
    doc
}

/// Prints a success document on stdout, on one line.
pub fn print(command: &str, data: Value) {
    crate::shell::outln!("{}", success(command, data));
}

fn envelope(command: &str, ok: bool, data: Value) -> Value {
    let mut object = Map::new();
    object.insert("format_version".into(), json!(FORMAT_VERSION));
    object.insert("command".into(), json!(command));
    object.insert("ok".into(), json!(ok));
    if DATABASE_COMMANDS.contains(&command) {
        let remembered = TARGET.lock().ok().and_then(|t| t.clone());
        object.insert("database".into(), remembered.unwrap_or(Value::Null));
    }
    if let Value::Object(data) = data {
        // The command's own `database` (e.g. `backups --database-url`) wins over the remembered one.
        object.extend(data);
    }
    Value::Object(object)
}

/// A duration as whole milliseconds, the unit of every `*_ms` key.
pub fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keeps_the_envelope_and_the_data() {
        let mut error = CliError::failure("boom").hint("try again");
        error.data = Some(json!({ "migrations": [] }));
        let doc = failure("new", &error);
        assert_eq!(doc["format_version"], 1);
        assert_eq!(doc["command"], "new");
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["error"], "boom");
        assert_eq!(doc["hints"], json!(["try again"]));
        assert_eq!(doc["exit_code"], 101);
        assert_eq!(doc["migrations"], json!([]));
        assert!(doc.get("database").is_none(), "{doc}");
    }

    #[test]
    fn durations_are_whole_milliseconds() {
        assert_eq!(millis(std::time::Duration::from_micros(2_575_590)), 2575);
    }
}
