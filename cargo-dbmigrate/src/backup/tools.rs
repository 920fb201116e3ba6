//! Finding and running the database's own dump and restore tools, with errors that name the
//! tool, its command line, the file and the fix.

use crate::CliError;
use cargo_util::ProcessBuilder;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};

/// An external tool, resolved to a path.
#[derive(Debug, Clone)]
pub struct Tool {
    /// What the user knows it as (`pg_dump`).
    pub name: String,
    pub path: PathBuf,
}

/// How to find a tool: a configured path or name, else the first candidate on PATH.
pub struct Want<'a> {
    pub configured: Option<&'a camino::Utf8Path>,
    pub candidates: &'a [&'a str],
    /// The config key that overrides it (`pg-dump`).
    pub key: &'a str,
    /// The package that provides it (`postgresql-client`).
    pub package: &'a str,
}

impl Want<'_> {
    pub fn find(&self) -> Result<Tool, CliError> {
        let names: Vec<&Path> = match self.configured {
            Some(p) => vec![p.as_std_path()],
            None => self.candidates.iter().map(Path::new).collect(),
        };
        for name in &names {
            if let Some(path) = on_path(name) {
                return Ok(Tool { name: name.display().to_string(), path });
            }
        }
        let wanted = names.iter().map(|n| format!("`{}`", n.display())).collect::<Vec<_>>().join(" or ");
        Err(CliError::failure(format!("{wanted} was not found, so no backup can be taken or restored; nothing was changed"))
            .hint(format!(
                "install {} (e.g. `apt-get install {}`), or set `{} = \"/path/to/{}\"` in `[package.metadata.dbmigrate.backup]`",
                self.package, self.package, self.key, self.candidates[0]
            ))
            .hint("or pass --no-backup to migrate without a backup"))
    }
}

/// `name` itself when it is a path, else the first match on PATH.
fn on_path(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 || name.is_absolute() {
        return name.is_file().then(|| name.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

/// Whether `p` is a file this process may run.
#[cfg(unix)]
pub fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
pub fn is_executable(p: &Path) -> bool {
    p.is_file()
}

impl Tool {
    /// A command for the tool with the given environment. Secrets travel only in `env`
    /// (`PGPASSWORD`, `MYSQL_PWD`), which the command line shown in errors leaves out.
    pub fn command(&self, env: &[(String, String)]) -> ProcessBuilder {
        let mut cmd = ProcessBuilder::new(&self.path);
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd
    }

    /// `cmd` as a std command with no stdin, for piping one tool into another.
    pub fn spawnable(cmd: &ProcessBuilder) -> Command {
        let mut command = cmd.build_command();
        command.stdin(Stdio::null());
        command
    }

    /// Runs `cmd` to completion; a failure is an error naming the command, its stderr and `file`.
    pub fn run(&self, cmd: &ProcessBuilder, what: &str, file: &Path) -> Result<Output, CliError> {
        let out = Self::spawnable(cmd).output().map_err(|e| self.spawn_error(cmd, &e))?;
        if out.status.success() {
            return Ok(out);
        }
        Err(self.failed(cmd, what, file, &String::from_utf8_lossy(&out.stderr)))
    }

    pub fn spawn_error(&self, cmd: &ProcessBuilder, e: &std::io::Error) -> CliError {
        CliError::failure(format!("could not start {}: {e}", shown(cmd))).hint(
            "check that the tool is installed and executable, or set its path in `[package.metadata.dbmigrate.backup]`",
        )
    }

    /// `pg_dump failed writing <file>: <its stderr>`, with the command line and a hint for the
    /// common causes.
    pub fn failed(&self, cmd: &ProcessBuilder, what: &str, file: &Path, stderr: &str) -> CliError {
        let detail = stderr.trim().lines().filter(|l| !l.trim().is_empty()).take(6).collect::<Vec<_>>().join("; ");
        let detail = if detail.is_empty() { "it exited with an error and printed nothing".to_owned() } else { detail };
        let err = CliError::failure(format!("`{}` failed {what} `{}`: {detail}", self.name, file.display()))
            .hint(format!("the command was {}", shown(cmd)));
        let lower = detail.to_ascii_lowercase();
        if lower.contains("no space left") {
            err.hint("the disk is full: free space in the backup folder or set `dir` in `[package.metadata.dbmigrate.backup]`")
        } else if lower.contains("permission denied") || lower.contains("access denied") {
            err.hint("the database user needs the right to read every object (or the folder is not writable)")
        } else {
            err
        }
    }
}

/// The command line for messages: ProcessBuilder's quoting, with long arguments (inline SQL)
/// shortened so that the line stays readable.
fn shown(cmd: &ProcessBuilder) -> String {
    let mut short = ProcessBuilder::new(cmd.get_program());
    for arg in cmd.get_args() {
        match arg.to_str() {
            Some(text) if text.chars().count() > 60 => {
                short.arg(format!("{}…", text.chars().take(40).collect::<String>()))
            }
            _ => short.arg(arg),
        };
    }
    short.to_string()
}

impl Tool {
    /// Runs `cmd` with its stdout written into `out` by this process, not by the tool: when
    /// this process dies (a CI job cancelled, a SIGKILL), the tool's next write fails on the
    /// closed pipe and it ends, instead of writing on into a backup folder nobody watches.
    /// The file's SHA-256 is computed on the way, so it is never read again for it. Returns
    /// the tool's exit status, its stderr, and what was written.
    ///
    /// With `first_byte`, a tool that has written nothing by then is stopped: for a tool with no
    /// connect timeout of its own (mariadb-dump), whose first line comes right after it logged
    /// in, so a server that accepts and never answers cannot hang the backup.
    pub fn output_into(
        &self,
        cmd: &ProcessBuilder,
        out: &Path,
        first_byte: Option<std::time::Duration>,
    ) -> Result<(ExitStatus, String, Dumped), CliError> {
        let spawned = Self::spawnable(cmd).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
        let mut child = spawned.map_err(|e| self.spawn_error(cmd, &e))?;
        let errors = drain(child.stderr.take());
        let stdout = child.stdout.take();
        let child = std::sync::Arc::new(std::sync::Mutex::new(child));
        let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let fired =
            first_byte.map(|bound| watchdog(std::sync::Arc::clone(&child), std::sync::Arc::clone(&started), bound));
        let copied = std::fs::OpenOptions::new().write(true).truncate(true).open(out).and_then(|file| {
            let mut hashing = super::manifest::Hashing::new(file);
            if let Some(stdout) = stdout {
                // A large buffer: `io::copy` into a wrapping writer would move 8 KiB a syscall.
                let mut reader = std::io::BufReader::with_capacity(1 << 20, stdout);
                if !std::io::BufRead::fill_buf(&mut reader)?.is_empty() {
                    started.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                std::io::copy(&mut reader, &mut hashing)?;
            }
            Ok(hashing.finish())
        });
        started.store(true, std::sync::atomic::Ordering::SeqCst);
        let status = child.lock().map_err(|_| CliError::failure("the dump tool's handle was lost"))?.wait();
        let status = status.map_err(|e| self.spawn_error(cmd, &e))?;
        if let Some(bound) = fired.and_then(|f| f.join().ok()).flatten() {
            return Err(CliError::failure(format!(
                "timed out after {}s waiting for {} to connect and start the dump; nothing was changed",
                bound.as_secs(),
                shown(cmd)
            ))
            .hint("check that the server answers, or raise --connect-timeout (or the URL's connect_timeout)"));
        }
        let stderr = String::from_utf8_lossy(&errors.join().unwrap_or_default()).into_owned();
        let (sha256, bytes) = copied.map_err(|e| {
            let err = CliError::failure(format!("cannot write the backup `{}`: {e}", out.display()));
            if e.kind() == std::io::ErrorKind::StorageFull {
                err.hint("the disk is full: free space, or set `dir` in `[package.metadata.dbmigrate.backup]`")
            } else {
                err
            }
        })?;
        Ok((status, stderr, Dumped { tool: self.version(), sha256, bytes }))
    }

    /// The first line of `<tool> --version`, e.g. `pg_dump (PostgreSQL) 15.19`; the path when
    /// it does not say.
    pub fn version(&self) -> String {
        let out = Command::new(&self.path).arg("--version").stdin(Stdio::null()).output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or_default().trim().to_owned());
        text.ok().filter(|t| !t.is_empty()).unwrap_or_else(|| self.path.display().to_string())
    }
}

/// Stops `child` if it has not `started` writing within `bound`; returns the bound when it did.
fn watchdog(
    child: std::sync::Arc<std::sync::Mutex<std::process::Child>>,
    started: std::sync::Arc<std::sync::atomic::AtomicBool>,
    bound: std::time::Duration,
) -> std::thread::JoinHandle<Option<std::time::Duration>> {
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + bound;
        while std::time::Instant::now() < deadline {
            if started.load(std::sync::atomic::Ordering::SeqCst) {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if started.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        let mut child = child.lock().ok()?;
        child.kill().ok().map(|()| bound)
    })
}

/// What a dump tool wrote, as recorded in the manifest.
#[derive(Debug, Clone)]
pub struct Dumped {
    /// The tool and its version.
    pub tool: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    pub bytes: u64,
}

/// Reads a child's stderr to the end on a thread of its own, so that a chatty child never
/// blocks on a full pipe while its stdin or stdout is being pumped.
pub fn drain(from: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(mut from) = from {
            let _ = from.read_to_end(&mut out);
        }
        out
    })
}

/// Copies `from` into `to`, all but the last `hold` bytes, which it returns: the caller sends
/// them only once it knows how the producer ended (a commit must not outrun a failure).
pub fn relay_holding_back(from: &mut impl Read, to: &mut impl Write, hold: usize) -> std::io::Result<Vec<u8>> {
    let mut pending = Vec::with_capacity(2 * hold);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(pending),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        pending.extend_from_slice(&buf[..n]);
        if pending.len() > 2 * hold {
            let cut = pending.len() - hold;
            to.write_all(&pending[..cut])?;
            pending.drain(..cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_holds_back_the_tail() {
        let script: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut sent = Vec::new();
        let tail = relay_holding_back(&mut script.as_slice(), &mut sent, 1000).expect("relay");
        assert!(tail.len() >= 1000, "{}", tail.len());
        sent.extend_from_slice(&tail);
        assert_eq!(sent, script);
        let mut none = Vec::new();
        assert_eq!(relay_holding_back(&mut &b"short"[..], &mut none, 1000).expect("relay"), b"short");
        assert!(none.is_empty());
    }
}
