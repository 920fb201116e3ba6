// Checks the SQL migrations and embeds them into the crate on every `cargo build`.
// Malformed, duplicated, out-of-order or edited released migrations fail the build.
fn main() {
    dbmigrate_build::embed();
}
