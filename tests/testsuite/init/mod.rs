//! `cargo dbmigrate init`.

mod builds;
mod custom_build_rs;
mod defaults;
mod dry_run;
mod existing_build_rs;
mod fresh;
mod readme_path;
mod second_run;
mod unknown_package;
mod workspace_package;
