//! Finding the crate a command works on.
//!
//! Inner-loop commands (`new`, `check`, `run`) read `Cargo.toml` directly, walking up from the
//! current folder; `cargo metadata` is spawned only when `-p` or a virtual workspace needs it.

use crate::CliError;
use camino::{Utf8Path, Utf8PathBuf};
use dbmigrate_build::internal::{Config, Manifest};
use std::path::{Path, PathBuf};

/// The crate a command works on, with its settings.
#[derive(Debug)]
pub struct Target {
    /// Its manifest, parsed.
    pub manifest: Manifest,
    /// Its `package.name`.
    pub package: String,
    /// Its `[package.metadata.dbmigrate]` settings.
    pub config: Config,
    /// Its folder: UTF-8, since every path shown in a message or JSON derives from it.
    root: Utf8PathBuf,
}

impl Target {
    /// Where the tool keeps its caches for this crate: `<target-dir>/dbmigrate` (respecting
    /// `CARGO_TARGET_DIR`), and a file-name stem `<package>-<hash of the crate folder>` that
    /// keeps two crates of one name (or two test fixtures) from taking turns.
    pub fn cache_place(&self) -> (PathBuf, String) {
        let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
            let root = self.manifest.workspace_root().ok().flatten().map(|m| m.dir().to_owned());
            root.unwrap_or_else(|| self.dir().as_std_path().to_owned()).join("target")
        });
        let crate_dir = dbmigrate_core::stable_hash::fnv1a(self.dir().as_str().as_bytes());
        (target_dir.join("dbmigrate"), format!("{}-{crate_dir:016x}", self.package))
    }

    /// The crate's folder.
    pub fn dir(&self) -> &Utf8Path {
        &self.root
    }

    /// The migrations folder.
    pub fn migrations_dir(&self) -> Utf8PathBuf {
        self.root.join(&self.config.migrations)
    }
}

/// Which crate to work on: `--manifest-path` and `-p`, when given.
#[derive(Debug, Clone, Copy, Default)]
pub struct Selector<'a> {
    pub manifest_path: Option<&'a Path>,
    pub package: Option<&'a str>,
}

/// Finds the crate named by `--manifest-path` / `-p`, or the one around the current folder.
pub fn locate(selector: Selector<'_>) -> Result<Target, CliError> {
    let manifest = locate_manifest(selector)?;
    let package = manifest.package_name().unwrap_or_default().to_owned();
    let config = manifest.config()?;
    // The build script embeds migrations by path, which needs UTF-8 too: refuse early, clearly.
    let root = Utf8PathBuf::from_path_buf(manifest.dir().to_owned()).map_err(|dir| {
        CliError::usage(format!("the crate's folder `{}` is not valid UTF-8", dir.display()))
            .hint("move the crate to a folder whose path is UTF-8")
    })?;
    Ok(Target { manifest, package, config, root })
}

/// [`locate`] without reading the settings: `check` reports bad settings as a finding, as the
/// build does.
pub fn locate_manifest(selector: Selector<'_>) -> Result<Manifest, CliError> {
    let manifest_path = match selector.manifest_path {
        Some(path) => checked_manifest_path(path)?,
        None => find_manifest()?,
    };
    if let Some(spec) = selector.package {
        return by_package(&manifest_path, spec);
    }
    let manifest = Manifest::read(&manifest_path)?;
    if manifest.package_name().is_none() {
        return only_member(&manifest_path);
    }
    Ok(manifest)
}

fn checked_manifest_path(path: &Path) -> Result<PathBuf, CliError> {
    if path.file_name().is_none_or(|n| n != "Cargo.toml") {
        return Err(CliError::usage(format!(
            "the manifest-path must be a path to a Cargo.toml file: `{}`",
            path.display()
        )));
    }
    if !path.is_file() {
        return Err(CliError::usage(format!("manifest path `{}` does not exist", path.display())));
    }
    Ok(std::path::absolute(path).unwrap_or_else(|_| path.to_owned()))
}

fn find_manifest() -> Result<PathBuf, CliError> {
    let cwd = std::env::current_dir().map_err(|e| CliError::failure(format!("cannot read the current folder: {e}")))?;
    cwd.ancestors().map(|dir| dir.join("Cargo.toml")).find(|p| p.is_file()).ok_or_else(|| {
        CliError::usage(format!("could not find `Cargo.toml` in `{}` or any parent folder", cwd.display()))
            .hint("run the command inside a Cargo project, or pass --manifest-path")
    })
}

fn metadata(manifest_path: &Path) -> Result<cargo_metadata::Metadata, CliError> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    if let Some(cargo) = std::env::var_os("CARGO") {
        cmd.cargo_path(cargo);
    }
    cmd.manifest_path(manifest_path)
        .no_deps()
        .exec()
        .map_err(|e| CliError::failure(format!("`cargo metadata` failed for `{}`: {e}", manifest_path.display())))
}

fn member_names(meta: &cargo_metadata::Metadata) -> Vec<String> {
    let mut names: Vec<String> = meta.workspace_packages().iter().map(|p| p.name.to_string()).collect();
    names.sort();
    names
}

fn by_package(manifest_path: &Path, spec: &str) -> Result<Manifest, CliError> {
    let meta = metadata(manifest_path)?;
    let found = meta.workspace_packages().into_iter().find(|p| p.name.as_str() == spec);
    match found {
        Some(package) => Ok(Manifest::read(package.manifest_path.as_std_path())?),
        None => Err(CliError::usage(format!("package `{spec}` is not a member of the workspace"))
            .hint(format!("the members are: {}", member_names(&meta).join(", ")))),
    }
}

fn only_member(manifest_path: &Path) -> Result<Manifest, CliError> {
    let meta = metadata(manifest_path)?;
    let members = meta.workspace_packages();
    match members.as_slice() {
        [one] => Ok(Manifest::read(one.manifest_path.as_std_path())?),
        _ => Err(CliError::usage(format!(
            "`{}` is a virtual workspace manifest; select a crate to work on",
            manifest_path.display()
        ))
        .hint(format!("pass -p with one of: {}", member_names(&meta).join(", ")))),
    }
}
