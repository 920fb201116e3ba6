//! `cargo dbmigrate`: see the crate documentation in `lib.rs`.

fn main() {
    std::process::exit(cargo_dbmigrate::main_entry());
}
