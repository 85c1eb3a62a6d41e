//! The file-system contract: self-contained operations that own everything they touch.
//!
//! The facade's `runtime::fs` turns each call into one [`Op`] and hands it to [`submit`]. An op
//! owns its descriptor (a shared [`Handle`]) and its buffer (a `Vec<u8>` moved in, handed back
//! in the [`Done`]); the caller's memory is copied into or out of it by the facade. So whatever
//! executes an op (a backend's io_uring, a blocking-pool thread) never touches memory the
//! caller owns, and an op whose future was dropped may run on to its end safely: its descriptor
//! is closed and its buffer freed only when the last owner, the op itself, is done.
//!
//! A backend may execute ops itself by overriding [`Instance::file_op`]; it may take some and
//! refuse others (an opcode its kernel lacks), which then run on the instance's blocking pool
//! through [`Op::run_blocking`], with the same results and error kinds.
//!
//! Ops that carry no path in their name ([`Op::Read`], [`Op::Write`], ...) act on an open file;
//! the facade adds the path to path ops' errors, so an op reports the OS's error as it is.
//!
//! [`Instance::file_op`]: crate::Instance::file_op

use std::fmt;
use std::fs;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::task::{JoinHandle, Outcome};
use crate::{BoxFuture, Instance};

/// An open file shared by its `File` and the ops in flight on it: the descriptor is closed when
/// the last of them drops it, never while the kernel may still use it.
pub type Handle = Arc<fs::File>;

/// How to open a file: the fields of `std::fs::OpenOptions`, readable by a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFlags {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Every write goes to the end of the file.
    pub append: bool,
    /// Cut the file to length 0 when opening it.
    pub truncate: bool,
    /// Create the file if it does not exist.
    pub create: bool,
    /// Create the file, failing if it exists.
    pub create_new: bool,
    /// Permission bits of a created file, before the umask (Unix; default `0o666`).
    pub mode: u32,
}

/// `mode` of a created file when none is given: std's default, before the umask.
pub const DEFAULT_MODE: u32 = 0o666;

impl Default for OpenFlags {
    fn default() -> OpenFlags {
        OpenFlags {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: DEFAULT_MODE,
        }
    }
}

impl OpenFlags {
    /// The same options for `std::fs::OpenOptions`.
    pub fn to_std(&self) -> fs::OpenOptions {
        let mut options = fs::OpenOptions::new();
        options
            .read(self.read)
            .write(self.write)
            .append(self.append)
            .truncate(self.truncate)
            .create(self.create)
            .create_new(self.create_new);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, self.mode);
        options
    }
}

/// One self-contained file-system operation.
#[derive(Debug)]
#[non_exhaustive]
pub enum Op {
    /// Opens `path`: [`Done::File`].
    Open {
        /// What to open.
        path: PathBuf,
        /// How.
        flags: OpenFlags,
    },
    /// Reads up to `len` bytes into `buf` (cleared first, grown as needed) at `offset`, or at
    /// the file's own position (advancing it) when `None`: [`Done::Read`] with the buffer, its
    /// length the bytes read.
    Read {
        /// The open file.
        file: Handle,
        /// Where the bytes go.
        buf: Vec<u8>,
        /// How many bytes to read at most.
        len: usize,
        /// Where to read, or `None` for the file's position.
        offset: Option<u64>,
    },
    /// Writes `buf` (one system call: possibly in part) at `offset`, or at the file's own
    /// position when `None` (the end, in append mode): [`Done::Written`].
    Write {
        /// The open file.
        file: Handle,
        /// The bytes, shared with the caller, who only reads them.
        buf: Arc<[u8]>,
        /// Where to write, or `None` for the file's position.
        offset: Option<u64>,
    },
    /// Moves the file's position: [`Done::Position`].
    Seek {
        /// The open file.
        file: Handle,
        /// Where to.
        to: SeekFrom,
    },
    /// `fsync`, or `fdatasync` when `data_only`: [`Done::Unit`].
    Sync {
        /// The open file.
        file: Handle,
        /// Only the data and what is needed to read it back.
        data_only: bool,
    },
    /// Truncates or extends the file to `len` bytes: [`Done::Unit`].
    SetLen {
        /// The open file.
        file: Handle,
        /// The new length.
        len: u64,
    },
    /// The open file's metadata: [`Done::Metadata`].
    Metadata {
        /// The open file.
        file: Handle,
    },
    /// The whole contents of the file at `path`: [`Done::Read`].
    ReadFile {
        /// What to read.
        path: PathBuf,
    },
    /// Creates or truncates the file at `path` and writes all of `data` to it: [`Done::Unit`].
    WriteFile {
        /// What to write.
        path: PathBuf,
        /// The whole contents.
        data: Vec<u8>,
    },
    /// Creates the directory `path` (not its parents): [`Done::Unit`].
    CreateDir {
        /// The new directory.
        path: PathBuf,
    },
    /// Removes the file (or symlink) `path`: [`Done::Unit`].
    RemoveFile {
        /// What to remove.
        path: PathBuf,
    },
    /// Removes the empty directory `path`: [`Done::Unit`].
    RemoveDir {
        /// What to remove.
        path: PathBuf,
    },
    /// Renames `from` to `to`, replacing `to`: [`Done::Unit`].
    Rename {
        /// The old name.
        from: PathBuf,
        /// The new name.
        to: PathBuf,
    },
    /// Makes `dst` a new name of the file `src`: [`Done::Unit`].
    HardLink {
        /// The existing file.
        src: PathBuf,
        /// The new name.
        dst: PathBuf,
    },
}

/// What an [`Op`] gave back.
#[derive(Debug)]
#[non_exhaustive]
pub enum Done {
    /// [`Op::Open`]'s file.
    File(fs::File),
    /// The bytes of [`Op::Read`] or [`Op::ReadFile`].
    Read(Vec<u8>),
    /// How many bytes [`Op::Write`] wrote.
    Written(usize),
    /// The position [`Op::Seek`] reached.
    Position(u64),
    /// [`Op::Metadata`]'s metadata.
    Metadata(fs::Metadata),
    /// The op succeeded and has nothing to give.
    Unit,
}

/// Message of the error an op reports when its instance stopped before running it.
pub const STOPPED: &str = "the runtime instance stopped before the file operation ran";

/// Message of the panic when a [`Pending`] is polled again after it gave its result.
const POLLED_AFTER_COMPLETION: &str = "a file operation's `Pending` was polled after it gave its result";

/// Message of the panic when a backend answers an op with a [`Done`] of another op.
pub const WRONG_DONE: &str = "a backend answered a file operation with the result of another kind of operation";

impl Op {
    /// Runs the op on this thread, blocking it: what the blocking pool does with an op that the
    /// backend did not take, and the reference for what a backend's own execution must give.
    ///
    /// # Errors
    /// The OS's error, as std reports it.
    pub fn run_blocking(self) -> io::Result<Done> {
        match self {
            Op::Open { path, flags } => flags.to_std().open(path).map(Done::File),
            Op::Read { file, mut buf, len, offset } => {
                if buf.capacity() >= len {
                    buf.clear();
                    buf.resize(len, 0);
                } else {
                    // Zeroed by the allocator: no pass over the bytes.
                    buf = vec![0; len];
                }
                let n = match offset {
                    Some(offset) => read_at(&file, &mut buf, offset)?,
                    None => (&*file).read(&mut buf)?,
                };
                buf.truncate(n);
                Ok(Done::Read(buf))
            }
            Op::Write { file, buf, offset } => match offset {
                Some(offset) => write_at(&file, &buf, offset).map(Done::Written),
                None => (&*file).write(&buf).map(Done::Written),
            },
            Op::Seek { file, to } => (&*file).seek(to).map(Done::Position),
            Op::Sync { file, data_only: true } => file.sync_data().map(|()| Done::Unit),
            Op::Sync { file, data_only: false } => file.sync_all().map(|()| Done::Unit),
            Op::SetLen { file, len } => file.set_len(len).map(|()| Done::Unit),
            Op::Metadata { file } => file.metadata().map(Done::Metadata),
            Op::ReadFile { path } => fs::read(path).map(Done::Read),
            Op::WriteFile { path, data } => fs::write(path, data).map(|()| Done::Unit),
            Op::CreateDir { path } => fs::create_dir(path).map(|()| Done::Unit),
            Op::RemoveFile { path } => fs::remove_file(path).map(|()| Done::Unit),
            Op::RemoveDir { path } => fs::remove_dir(path).map(|()| Done::Unit),
            Op::Rename { from, to } => fs::rename(from, to).map(|()| Done::Unit),
            Op::HardLink { src, dst } => fs::hard_link(src, dst).map(|()| Done::Unit),
        }
    }
}

#[cfg(unix)]
fn read_at(file: &fs::File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(unix)]
fn write_at(file: &fs::File, buf: &[u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::write_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &fs::File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(windows)]
fn write_at(file: &fs::File, buf: &[u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_write(file, buf, offset)
}

/// Hands `op` to `instance`: to the backend if it takes it, else to its blocking pool.
///
/// The returned future is the op in flight. Dropping it does not stop the op: it runs on, and
/// what it owns is released when it ends. Awaiting it elsewhere (another task, another instance)
/// is fine.
pub fn submit(instance: &dyn Instance, op: Op) -> Pending {
    match instance.file_op(op) {
        Ok(future) => Pending(Flight::Backend(future)),
        Err(op) => match crate::task::spawn_blocking_on(instance, move || op.run_blocking()) {
            Ok(join) => Pending(Flight::Pool(join)),
            Err(_) => Pending(Flight::Refused),
        },
    }
}

/// An [`Op`] in flight: resolves to its result. See [`submit`].
pub struct Pending(Flight);

enum Flight {
    Backend(BoxFuture<'static, io::Result<Done>>),
    Pool(JoinHandle<io::Result<Done>>),
    Refused,
    Finished,
}

impl Future for Pending {
    type Output = io::Result<Done>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Done>> {
        let out = match &mut self.0 {
            Flight::Backend(future) => future.as_mut().poll(cx),
            Flight::Pool(join) => join.poll_outcome(cx).map(|outcome| match outcome {
                Outcome::Value(result) => result,
                Outcome::Panicked(payload) => std::panic::resume_unwind(payload),
                Outcome::Cancelled | Outcome::Shutdown => Err(io::Error::other(STOPPED)),
            }),
            Flight::Refused => Poll::Ready(Err(io::Error::other(STOPPED))),
            Flight::Finished => panic!("{POLLED_AFTER_COMPLETION}"),
        };
        if out.is_ready() {
            self.0 = Flight::Finished;
        }
        out
    }
}

impl Pending {
    /// Whether the op's result has been taken.
    pub fn is_finished(&self) -> bool {
        matches!(self.0, Flight::Finished)
    }
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.0 {
            Flight::Backend(_) => "backend",
            Flight::Pool(_) => "blocking pool",
            Flight::Refused => "refused",
            Flight::Finished => "finished",
        };
        f.debug_tuple("Pending").field(&state).finish()
    }
}
