//! The file system, mirroring `std::fs`, without blocking the runtime's workers.
//!
//! Every function returns a future that runs its work on the instance that polls it: on
//! `Native`, on io_uring where the kernel allows it, else on its blocking pool; on Tokio, on
//! Tokio's blocking pool. Results and error kinds are std's on every path, and every error about
//! a path names it: `No such file or directory (os error 2): /etc/nope`.
//!
//! A [`File`] keeps no buffer: a write that returned `Ready(Ok(n))` has handed its `n` bytes to
//! the kernel (no write-behind), so dropping a `File` never loses a write that returned.
//!
//! # Examples
//! ```
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let dir = std::env::temp_dir().join(format!("runtime-fs-doc-{}", std::process::id()));
//!     runtime::fs::create_dir_all(&dir).await?;
//!     let path = dir.join("hello.txt");
//!     runtime::fs::write(&path, "hello").await?;
//!     assert_eq!(runtime::fs::read_to_string(&path).await?, "hello");
//!     runtime::fs::remove_dir_all(&dir).await?;
//!     Ok(())
//! }
//! ```
//!
//! # Cancel safety
//! Dropping any future of this module never lets the kernel touch memory the caller owns: ops
//! read into and write from buffers they own, copied to or from the caller's. A dropped
//! operation on a [`File`] may still complete, but never after a later operation on the same
//! `File` has completed (see [`File`]). A dropped [`write()`], [`copy`] or [`create_dir_all`] may
//! have partly happened.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

use crate::raw;
use crate::raw::fs::{Done, Op};

mod dir;
mod file;

pub use dir::{DirEntry, ReadDir};
pub use file::{File, OpenOptions};

/// An I/O error about one or two paths: the OS's error, then the path(s).
#[derive(Debug)]
struct PathError {
    source: io::Error,
    paths: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.paths)
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `e`, with the same kind, its message naming `path`.
pub(crate) fn with_path(e: io::Error, path: &Path) -> io::Error {
    let paths = path.display().to_string();
    io::Error::new(e.kind(), PathError { source: e, paths })
}

/// `e`, with the same kind, its message naming both paths.
fn with_paths(e: io::Error, from: &Path, to: &Path) -> io::Error {
    let paths = format!("{} -> {}", from.display(), to.display());
    io::Error::new(e.kind(), PathError { source: e, paths })
}

/// Hands `op` to the instance running on this thread.
///
/// Panics (naming `what`) when none runs.
fn submit(what: &'static str, op: Op) -> raw::fs::Pending {
    crate::with_instance(what, |instance| raw::fs::submit(&**instance, op))
}

/// Runs `f` on the current instance's blocking pool.
///
/// Panics (naming `what`) when no runtime runs on this thread.
pub(crate) async fn blocking<T, F>(what: &'static str, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let spawned = crate::with_instance(what, |instance| raw::task::spawn_blocking_on(&**instance, f));
    let Ok(mut join) = spawned else {
        return Err(io::Error::other(raw::fs::STOPPED));
    };
    std::future::poll_fn(|cx| join.poll_outcome(cx)).await.into_result()
}

/// What a blocking job's outcome means to a file operation.
trait IntoResult<T> {
    fn into_result(self) -> io::Result<T>;
}

impl<T> IntoResult<T> for raw::task::Outcome<io::Result<T>> {
    fn into_result(self) -> io::Result<T> {
        match self {
            raw::task::Outcome::Value(result) => result,
            raw::task::Outcome::Panicked(payload) => std::panic::resume_unwind(payload),
            raw::task::Outcome::Cancelled | raw::task::Outcome::Shutdown => Err(io::Error::other(raw::fs::STOPPED)),
        }
    }
}

/// Runs a path op that answers [`Done::Unit`], naming `path` in its error.
async fn unit_op(what: &'static str, op: Op, path: &Path) -> io::Result<()> {
    match submit(what, op).await.map_err(|e| with_path(e, path))? {
        Done::Unit => Ok(()),
        other => unexpected(other),
    }
}

/// A backend answered an op with another op's result: a bug in the backend.
fn unexpected<T>(done: Done) -> T {
    panic!("{}: {done:?}", raw::fs::WRONG_DONE)
}

/// Reads the whole file at `path`.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let manifest = runtime::fs::read("Cargo.toml").await?;
/// assert!(!manifest.is_empty());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error (for example `NotFound`, or `IsADirectory` where the platform reports it),
/// naming `path`.
///
/// # Panics
/// When polled outside a runtime.
///
/// # Cancel safety
/// Dropping the future may leave the file open until the read in flight ends.
pub fn read(path: impl AsRef<Path>) -> impl Future<Output = io::Result<Vec<u8>>> + Send {
    let path = path.as_ref().to_owned();
    async move {
        match submit("runtime::fs::read", Op::ReadFile { path: path.clone() }).await.map_err(|e| with_path(e, &path))? {
            Done::Read(bytes) => Ok(bytes),
            other => unexpected(other),
        }
    }
}

/// Reads the whole file at `path` as UTF-8.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let manifest = runtime::fs::read_to_string("Cargo.toml").await?;
/// assert!(manifest.contains("[package]"));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// As [`read`]; `InvalidData` when the contents are not UTF-8, naming `path`.
///
/// # Panics
/// When polled outside a runtime.
///
/// # Cancel safety
/// As [`read`].
pub fn read_to_string(path: impl AsRef<Path>) -> impl Future<Output = io::Result<String>> + Send {
    let path = path.as_ref().to_owned();
    async move {
        let bytes = read(&path).await?;
        String::from_utf8(bytes).map_err(|e| with_path(io::Error::new(io::ErrorKind::InvalidData, e), &path))
    }
}

/// Creates or truncates the file at `path` and writes all of `contents` to it.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("runtime-fs-write-{}", std::process::id()));
/// runtime::fs::write(&path, b"bytes").await?;
/// assert_eq!(runtime::fs::read(&path).await?, b"bytes");
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming `path`.
///
/// # Panics
/// When polled outside a runtime.
///
/// # Cancel safety
/// A dropped `write` may have partly happened: the file may exist, truncated or partly written.
pub fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> impl Future<Output = io::Result<()>> + Send {
    let path = path.as_ref().to_owned();
    let data = contents.as_ref().to_vec();
    async move { unit_op("runtime::fs::write", Op::WriteFile { path: path.clone(), data }, &path).await }
}

/// Copies the contents and permissions of the file `from` to `to`, returning the bytes copied.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let to = std::env::temp_dir().join(format!("runtime-fs-copy-{}", std::process::id()));
/// let n = runtime::fs::copy("Cargo.toml", &to).await?;
/// assert_eq!(n, runtime::fs::metadata("Cargo.toml").await?.len());
/// runtime::fs::remove_file(&to).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming both paths.
///
/// # Panics
/// When polled outside a runtime.
///
/// # Cancel safety
/// A dropped `copy` may have partly happened.
pub fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> impl Future<Output = io::Result<u64>> + Send {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    blocking("runtime::fs::copy", move || std::fs::copy(&from, &to).map_err(|e| with_paths(e, &from, &to)))
}

/// Renames `from` to `to`, replacing `to` if it exists.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir();
/// let (a, b) = (dir.join(format!("runtime-fs-a-{}", std::process::id())), dir.join(format!("runtime-fs-b-{}", std::process::id())));
/// runtime::fs::write(&a, "x").await?;
/// runtime::fs::rename(&a, &b).await?;
/// assert_eq!(runtime::fs::read(&b).await?, b"x");
/// runtime::fs::remove_file(&b).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming both paths.
///
/// # Panics
/// When polled outside a runtime.
pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> + Send {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    async move {
        let op = Op::Rename { from: from.clone(), to: to.clone() };
        match submit("runtime::fs::rename", op).await.map_err(|e| with_paths(e, &from, &to))? {
            Done::Unit => Ok(()),
            other => unexpected(other),
        }
    }
}

/// Makes `dst` a new name (a hard link) of the file `src`.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir();
/// let (a, b) = (dir.join(format!("runtime-fs-l1-{}", std::process::id())), dir.join(format!("runtime-fs-l2-{}", std::process::id())));
/// runtime::fs::write(&a, "x").await?;
/// runtime::fs::hard_link(&a, &b).await?;
/// assert_eq!(runtime::fs::read(&b).await?, b"x");
/// runtime::fs::remove_file(&a).await?;
/// runtime::fs::remove_file(&b).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming both paths.
///
/// # Panics
/// When polled outside a runtime.
pub fn hard_link(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> + Send {
    let (src, dst) = (src.as_ref().to_owned(), dst.as_ref().to_owned());
    async move {
        let op = Op::HardLink { src: src.clone(), dst: dst.clone() };
        match submit("runtime::fs::hard_link", op).await.map_err(|e| with_paths(e, &src, &dst))? {
            Done::Unit => Ok(()),
            other => unexpected(other),
        }
    }
}

/// Creates the directory `path`; its parent must exist.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("runtime-fs-mkdir-{}", std::process::id()));
/// runtime::fs::create_dir(&dir).await?;
/// runtime::fs::remove_dir(&dir).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error (`AlreadyExists`, `NotFound` for a missing parent, ...), naming `path`.
///
/// # Panics
/// When polled outside a runtime.
pub fn create_dir(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> + Send {
    let path = path.as_ref().to_owned();
    async move { unit_op("runtime::fs::create_dir", Op::CreateDir { path: path.clone() }, &path).await }
}

/// Creates the directory `path` and every missing parent.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let top = std::env::temp_dir().join(format!("runtime-fs-mkdirs-{}", std::process::id()));
/// runtime::fs::create_dir_all(top.join("a/b")).await?;
/// runtime::fs::remove_dir_all(&top).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming `path`.
///
/// # Panics
/// When polled outside a runtime.
///
/// # Cancel safety
/// A dropped `create_dir_all` may have created some of the directories.
pub fn create_dir_all(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> + Send {
    let path = path.as_ref().to_owned();
    blocking("runtime::fs::create_dir_all", move || std::fs::create_dir_all(&path).map_err(|e| with_path(e, &path)))
}

/// Removes the empty directory `path`.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("runtime-fs-rmdir-{}", std::process::id()));
/// runtime::fs::create_dir(&dir).await?;
/// runtime::fs::remove_dir(&dir).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error (`DirectoryNotEmpty`, `NotFound`, ...), naming `path`.
///
/// # Panics
/// When polled outside a runtime.
pub fn remove_dir(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> + Send {
    let path = path.as_ref().to_owned();
    async move { unit_op("runtime::fs::remove_dir", Op::RemoveDir { path: path.clone() }, &path).await }
}

/// Removes the directory `path` and everything in it.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let top = std::env::temp_dir().join(format!("runtime-fs-rmrf-{}", std::process::id()));
/// runtime::fs::create_dir_all(top.join("a")).await?;
/// runtime::fs::write(top.join("a/f"), "x").await?;
/// runtime::fs::remove_dir_all(&top).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming `path`.
///
/// # Panics
/// When polled outside a runtime.
///
/// # Cancel safety
/// A dropped `remove_dir_all` may have removed part of the tree.
pub fn remove_dir_all(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> + Send {
    let path = path.as_ref().to_owned();
    blocking("runtime::fs::remove_dir_all", move || std::fs::remove_dir_all(&path).map_err(|e| with_path(e, &path)))
}

/// Removes the file (or symlink) `path`.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("runtime-fs-rm-{}", std::process::id()));
/// runtime::fs::write(&path, "x").await?;
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error (`NotFound`, `IsADirectory`, ...), naming `path`.
///
/// # Panics
/// When polled outside a runtime.
pub fn remove_file(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> + Send {
    let path = path.as_ref().to_owned();
    async move { unit_op("runtime::fs::remove_file", Op::RemoveFile { path: path.clone() }, &path).await }
}

/// The metadata of `path`, following symlinks.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// assert!(runtime::fs::metadata("Cargo.toml").await?.is_file());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming `path`.
///
/// # Panics
/// When polled outside a runtime.
pub fn metadata(path: impl AsRef<Path>) -> impl Future<Output = io::Result<std::fs::Metadata>> + Send {
    let path = path.as_ref().to_owned();
    blocking("runtime::fs::metadata", move || std::fs::metadata(&path).map_err(|e| with_path(e, &path)))
}

/// The metadata of `path` itself: a symlink is not followed.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// assert!(runtime::fs::symlink_metadata("Cargo.toml").await?.is_file());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming `path`.
///
/// # Panics
/// When polled outside a runtime.
pub fn symlink_metadata(path: impl AsRef<Path>) -> impl Future<Output = io::Result<std::fs::Metadata>> + Send {
    let path = path.as_ref().to_owned();
    blocking("runtime::fs::symlink_metadata", move || std::fs::symlink_metadata(&path).map_err(|e| with_path(e, &path)))
}

/// The absolute form of `path`, with every symlink resolved.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// assert!(runtime::fs::canonicalize(".").await?.is_absolute());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming `path`.
///
/// # Panics
/// When polled outside a runtime.
pub fn canonicalize(path: impl AsRef<Path>) -> impl Future<Output = io::Result<PathBuf>> + Send {
    let path = path.as_ref().to_owned();
    blocking("runtime::fs::canonicalize", move || std::fs::canonicalize(&path).map_err(|e| with_path(e, &path)))
}

/// The target of the symlink `path`.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// // A regular file is not a link.
/// assert!(runtime::fs::read_link("Cargo.toml").await.is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error (`InvalidInput` when `path` is not a symlink), naming `path`.
///
/// # Panics
/// When polled outside a runtime.
pub fn read_link(path: impl AsRef<Path>) -> impl Future<Output = io::Result<PathBuf>> + Send {
    let path = path.as_ref().to_owned();
    blocking("runtime::fs::read_link", move || std::fs::read_link(&path).map_err(|e| with_path(e, &path)))
}

/// Sets the permissions of `path`.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("runtime-fs-perm-{}", std::process::id()));
/// runtime::fs::write(&path, "x").await?;
/// let mut perm = runtime::fs::metadata(&path).await?.permissions();
/// perm.set_readonly(true);
/// runtime::fs::set_permissions(&path, perm).await?;
/// assert!(runtime::fs::metadata(&path).await?.permissions().readonly());
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error, naming `path`.
///
/// # Panics
/// When polled outside a runtime.
pub fn set_permissions(
    path: impl AsRef<Path>,
    perm: std::fs::Permissions,
) -> impl Future<Output = io::Result<()>> + Send {
    let path = path.as_ref().to_owned();
    blocking("runtime::fs::set_permissions", move || {
        std::fs::set_permissions(&path, perm).map_err(|e| with_path(e, &path))
    })
}

/// The entries of the directory `path`, as a stream.
///
/// # Examples
/// ```
/// use futures::StreamExt;
///
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let mut entries = runtime::fs::read_dir(".").await?;
/// let mut names = Vec::new();
/// while let Some(entry) = entries.next().await {
///     names.push(entry?.file_name());
/// }
/// assert!(names.iter().any(|name| name == "Cargo.toml"));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The OS's error (`NotFound`, `NotADirectory`, ...), naming `path`.
///
/// # Panics
/// When polled outside a runtime.
pub fn read_dir(path: impl AsRef<Path>) -> impl Future<Output = io::Result<ReadDir>> + Send {
    let path = path.as_ref().to_owned();
    async move {
        let dir = path.clone();
        let entries =
            blocking("runtime::fs::read_dir", move || std::fs::read_dir(&dir).map_err(|e| with_path(e, &dir))).await?;
        Ok(ReadDir::new(path, entries))
    }
}
