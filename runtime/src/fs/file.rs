//! Open files: `File` and `OpenOptions`.
//!
//! A `File` is a shared descriptor ([`raw::fs::Handle`]) plus the bookkeeping that makes
//! dropped operations harmless. The file's position is the kernel's: cursor reads and writes
//! are `read(2)`/`write(2)` ops, seeks are `lseek(2)` ops, so `into_std` and `as_raw_fd` see the
//! position the user sees. Each op owns its buffer; the caller's slice is copied.
//!
//! Three kinds of in-flight op live in the `File`'s state:
//! - the *parked* cursor op: `poll_read`, `poll_write` and `poll_seek` have no future to keep
//!   it in, so it waits here for the caller's next poll. Only the next call of the same kind
//!   (for a write, with the same bytes) takes its result; any other call first waits for it
//!   and drops its result, as for an abandoned op;
//! - *abandoned* ops: the futures of `read_at`, `write_at`, ... that were dropped in flight;
//! - a read's *surplus*: bytes a cursor read took past what the caller's buffer held (or that
//!   a parked read brought in after its caller left). The position the user sees is the
//!   kernel's minus the undelivered surplus; the next `poll_read` delivers them, and a seek or
//!   a cursor write first moves the kernel's position back.
//!
//! Every new op first waits for the parked and abandoned ones ("settles" them), so a dropped op
//! never takes effect after a later one completed. Ops that do not wait for one another
//! (`read_at`s in flight together) never wait on each other either.

use std::fmt;
use std::future::Future;
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker, ready};

use futures::io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::{submit, unexpected, with_path};
use crate::raw::fs::{Done, Handle, Op, OpenFlags, Pending};

/// The most bytes one op reads or writes: a read into a huge buffer does not allocate its
/// size at once, and a write of one hands the kernel this much per system call (std's
/// `read_to_end` and `write_all` loop anyway). 2 MiB is Tokio's cap too.
const MAX_OP_BYTES: usize = 2 << 20;

/// Message of the panic when even `dup` fails in `into_std` (the process ran out of descriptors).
const INTO_STD_DUP: &str =
    "`File::into_std`: the descriptor is still shared and could not be duplicated (out of file descriptors?)";

/// An open file on the file system.
///
/// A `File` belongs to no instance: each operation runs on the instance that polls it, and
/// [`File::from_std`] works anywhere. Cursor I/O goes through futures-io's [`AsyncRead`],
/// [`AsyncWrite`] and [`AsyncSeek`] (use `futures::io::{AsyncReadExt, AsyncWriteExt,
/// AsyncSeekExt}`); positional I/O ([`read_at`](Self::read_at), [`write_at`](Self::write_at))
/// takes `&self`, and any number of those may be in flight on one `File` at once.
///
/// There is no write-behind: a write that returned `Ready(Ok(n))` has handed its `n` bytes to
/// the kernel, so `poll_flush` only waits for a write whose future was dropped in flight, and
/// dropping a `File` never loses a write that returned.
///
/// # Examples
/// ```
/// use futures::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let path = std::env::temp_dir().join(format!("runtime-file-doc-{}", std::process::id()));
///     let mut file = runtime::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).await?;
///     file.write_all(b"hello world").await?;
///     file.seek(SeekFrom::Start(6)).await?;
///     let mut word = String::new();
///     file.read_to_string(&mut word).await?;
///     assert_eq!(word, "world");
///     runtime::fs::remove_file(&path).await?;
///     Ok(())
/// }
/// ```
///
/// # Cancel safety
/// Dropping a pending operation never lets the kernel touch memory the caller owns. After it:
/// a read left the position unchanged or advanced it by at most the bytes it asked for; a seek
/// left it unchanged or at its target; a write of `L` bytes advanced it by some `k <= L`, and
/// exactly those `k` bytes are in the file. The dropped operation never takes effect after a
/// later operation on the same `File` has completed: that one waits for it first.
pub struct File {
    handle: Handle,
    /// The path it was opened with, for error messages; `None` from `from_std`.
    path: Option<Arc<Path>>,
    state: Mutex<State>,
    /// Wakes every task waiting for the state's ops to settle (see `poll_settle_shared`).
    waiters: Arc<Waiters>,
}

#[derive(Default)]
struct State {
    /// Ops whose futures were dropped while in flight.
    abandoned: Vec<Pending>,
    parked: Parked,
    /// Bytes a cursor read took from the kernel's position and did not deliver yet, from
    /// `surplus_at` on.
    surplus: Vec<u8>,
    surplus_at: usize,
    /// Tokio's `start_seek` target, until `poll_complete` takes it.
    #[cfg(feature = "tokio-io")]
    tokio_seek: Option<SeekFrom>,
}

/// The cursor op started by a `poll_*` call that returned `Pending`.
#[derive(Default)]
enum Parked {
    #[default]
    Idle,
    Read(Pending),
    Write {
        op: Pending,
        bytes: Arc<[u8]>,
    },
    Seek {
        op: Pending,
        to: SeekFrom,
    },
    /// Moves the kernel's position back over an undelivered surplus before a cursor write.
    Rewind(Pending),
}

impl State {
    fn surplus_len(&self) -> usize {
        self.surplus.len() - self.surplus_at
    }

    fn take_surplus(&mut self, buf: &mut [u8]) -> usize {
        let n = self.surplus_len().min(buf.len());
        buf[..n].copy_from_slice(&self.surplus[self.surplus_at..self.surplus_at + n]);
        self.surplus_at += n;
        if self.surplus_at == self.surplus.len() {
            self.surplus = Vec::new();
            self.surplus_at = 0;
        }
        n
    }

    /// Drives the parked and abandoned ops; `Ready` once none is left. A rewind's error is
    /// reported (the position would be wrong); other results belong to nobody and are dropped.
    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.abandoned.retain_mut(|op| Pin::new(op).poll(cx).is_pending());
        let parked = match &mut self.parked {
            Parked::Idle => Poll::Ready(Ok(())),
            Parked::Read(op) => Pin::new(op).poll(cx).map(|done| {
                if let Ok(Done::Read(bytes)) = done {
                    // The kernel's position moved past these: keep them for the next read.
                    self.surplus = bytes;
                    self.surplus_at = 0;
                }
                Ok(())
            }),
            Parked::Write { op, .. } | Parked::Seek { op, .. } => Pin::new(op).poll(cx).map(|_| Ok(())),
            Parked::Rewind(op) => Pin::new(op).poll(cx).map(|done| done.map(drop)),
        };
        let Poll::Ready(parked) = parked else { return Poll::Pending };
        self.parked = Parked::Idle;
        parked?;
        if self.abandoned.is_empty() { Poll::Ready(Ok(())) } else { Poll::Pending }
    }
}

/// The wakers of the tasks waiting, through `&File`, for the state's ops to settle: those ops
/// are polled with one waker that wakes them all, since any of them may poll next.
#[derive(Default)]
struct Waiters(Mutex<Vec<Waker>>);

impl Waiters {
    fn register(&self, waker: &Waker) {
        let mut wakers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// An op of a `&self` method in flight: if its future is dropped before the op ends, the op is
/// handed to the `File` as abandoned.
struct InFlight<'a> {
    file: &'a File,
    op: Option<Pending>,
}

impl Future for InFlight<'_> {
    type Output = io::Result<Done>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Done>> {
        let op = self.op.as_mut().expect("polled after completion");
        let done = ready!(Pin::new(op).poll(cx));
        self.op = None;
        Poll::Ready(done)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(op) = self.op.take() {
            self.file.lock().abandoned.push(op);
        }
    }
}

impl File {
    /// Opens `path` read-only.
    ///
    /// # Examples
    /// ```
    /// use futures::io::AsyncReadExt;
    ///
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut file = runtime::fs::File::open("Cargo.toml").await?;
    /// let mut contents = String::new();
    /// file.read_to_string(&mut contents).await?;
    /// assert!(contents.contains("[package]"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error (for example `NotFound`), naming `path`.
    ///
    /// # Panics
    /// When polled outside a runtime.
    pub fn open(path: impl AsRef<Path>) -> impl Future<Output = io::Result<File>> + Send {
        let flags = OpenFlags { read: true, ..OpenFlags::default() };
        open(flags, path.as_ref().to_owned())
    }

    /// Opens `path` write-only, creating it or cutting it to length 0.
    ///
    /// # Examples
    /// ```
    /// use futures::io::AsyncWriteExt;
    ///
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-file-create-{}", std::process::id()));
    /// let mut file = runtime::fs::File::create(&path).await?;
    /// file.write_all(b"new").await?;
    /// drop(file);
    /// assert_eq!(runtime::fs::read(&path).await?, b"new");
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
    pub fn create(path: impl AsRef<Path>) -> impl Future<Output = io::Result<File>> + Send {
        let flags = OpenFlags { write: true, create: true, truncate: true, ..OpenFlags::default() };
        open(flags, path.as_ref().to_owned())
    }

    /// Wraps a std file; its position is the std file's. Works outside a runtime too.
    ///
    /// # Examples
    /// ```
    /// let std = std::fs::File::open("Cargo.toml").unwrap();
    /// let file = runtime::fs::File::from_std(std);
    /// # drop(file);
    /// ```
    pub fn from_std(file: std::fs::File) -> File {
        File::new(file, None)
    }

    fn new(file: std::fs::File, path: Option<Arc<Path>>) -> File {
        File { handle: Arc::new(file), path, state: Mutex::default(), waiters: Arc::default() }
    }

    /// Waits for every op in flight, then gives the std file back, its position where this
    /// `File`'s was.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let file = runtime::fs::File::open("Cargo.toml").await?;
    /// let std: std::fs::File = file.into_std().await;
    /// assert!(std.metadata()?.is_file());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    /// When polled outside a runtime while an op is still to be waited for.
    pub async fn into_std(mut self) -> std::fs::File {
        // Nobody else can reach the state: `self` is ours.
        let _ = std::future::poll_fn(|cx| self.state.get_mut().unwrap_or_else(PoisonError::into_inner).poll_settle(cx))
            .await;
        let behind = self.state.get_mut().unwrap_or_else(PoisonError::into_inner).surplus_len();
        if behind > 0 {
            let back = SeekFrom::Current(-(behind as i64));
            // A failed seek leaves the position where the kernel has it; nothing to report to.
            let _ = submit("File::into_std", Op::Seek { file: self.handle.clone(), to: back }).await;
        }
        Arc::try_unwrap(self.handle).unwrap_or_else(|shared| shared.try_clone().expect(INTO_STD_DUP))
    }

    /// Reads up to `buf.len()` bytes at `offset`, without using or moving the file's position.
    ///
    /// Any number of `read_at` and `write_at` calls may be in flight on one `File` at once.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let file = runtime::fs::File::open("Cargo.toml").await?;
    /// let mut head = [0; 9];
    /// let n = file.read_at(&mut head, 0).await?;
    /// assert_eq!(&head[..n], b"[package]");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error, naming the file's path when it was opened by path.
    ///
    /// # Panics
    /// When polled outside a runtime.
    ///
    /// # Cancel safety
    /// The kernel reads into a buffer of the op's own, never into `buf`.
    pub async fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len().min(MAX_OP_BYTES);
        let op = Op::Read { file: self.handle.clone(), buf: Vec::new(), len, offset: Some(offset) };
        match self.run("File::read_at", op).await? {
            Done::Read(bytes) => Ok(copy_into(buf, &bytes)),
            other => unexpected(other),
        }
    }

    /// Writes up to `buf.len()` bytes at `offset`, without using or moving the file's position
    /// (in append mode, Linux appends whatever `offset` says).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-file-write-at-{}", std::process::id()));
    /// let file = runtime::fs::File::create(&path).await?;
    /// file.write_at(b"world", 6).await?;
    /// file.write_at(b"hello ", 0).await?;
    /// assert_eq!(runtime::fs::read(&path).await?, b"hello world");
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error, naming the file's path when it was opened by path.
    ///
    /// # Panics
    /// When polled outside a runtime.
    ///
    /// # Cancel safety
    /// The kernel writes from a copy of `buf`. A dropped `write_at` may still write; it does so
    /// before the next operation on this `File` completes.
    pub async fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let bytes: Arc<[u8]> = Arc::from(&buf[..buf.len().min(MAX_OP_BYTES)]);
        match self
            .run("File::write_at", Op::Write { file: self.handle.clone(), buf: bytes, offset: Some(offset) })
            .await?
        {
            Done::Written(n) => Ok(n),
            other => unexpected(other),
        }
    }

    /// Flushes the file's data and metadata to the storage device (`fsync`).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-file-sync-{}", std::process::id()));
    /// let file = runtime::fs::File::create(&path).await?;
    /// file.write_at(b"durable", 0).await?;
    /// file.sync_all().await?;
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error, naming the file's path when it was opened by path.
    ///
    /// # Panics
    /// When polled outside a runtime.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.unit("File::sync_all", Op::Sync { file: self.handle.clone(), data_only: false }).await
    }

    /// Flushes the file's data, and only the metadata needed to read it, to the device
    /// (`fdatasync`).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-file-sync-data-{}", std::process::id()));
    /// let file = runtime::fs::File::create(&path).await?;
    /// file.write_at(b"durable", 0).await?;
    /// file.sync_data().await?;
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error, naming the file's path when it was opened by path.
    ///
    /// # Panics
    /// When polled outside a runtime.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.unit("File::sync_data", Op::Sync { file: self.handle.clone(), data_only: true }).await
    }

    /// Cuts or extends (with zeros) the file to `size` bytes; the position does not move.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let path = std::env::temp_dir().join(format!("runtime-file-set-len-{}", std::process::id()));
    /// let file = runtime::fs::File::create(&path).await?;
    /// file.set_len(10).await?;
    /// assert_eq!(file.metadata().await?.len(), 10);
    /// runtime::fs::remove_file(&path).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error (`InvalidInput` for a file not open for writing), naming the file's path
    /// when it was opened by path.
    ///
    /// # Panics
    /// When polled outside a runtime.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.unit("File::set_len", Op::SetLen { file: self.handle.clone(), len: size }).await
    }

    /// The open file's metadata.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let file = runtime::fs::File::open("Cargo.toml").await?;
    /// assert!(file.metadata().await?.is_file());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error, naming the file's path when it was opened by path.
    ///
    /// # Panics
    /// When polled outside a runtime.
    pub async fn metadata(&self) -> io::Result<std::fs::Metadata> {
        match self.run("File::metadata", Op::Metadata { file: self.handle.clone() }).await? {
            Done::Metadata(metadata) => Ok(metadata),
            other => unexpected(other),
        }
    }

    async fn unit(&self, what: &'static str, op: Op) -> io::Result<()> {
        match self.run(what, op).await? {
            Done::Unit => Ok(()),
            other => unexpected(other),
        }
    }

    /// Settles the ops in flight, then runs `op`, handing it over as abandoned if dropped.
    async fn run(&self, what: &'static str, op: Op) -> io::Result<Done> {
        std::future::poll_fn(|cx| self.poll_settle_shared(cx)).await.map_err(|e| self.error(e))?;
        let op = submit(what, op);
        InFlight { file: self, op: Some(op) }.await.map_err(|e| self.error(e))
    }

    /// `State::poll_settle` through `&self`: several tasks may wait at once, so the ops are
    /// polled with a waker that wakes them all.
    fn poll_settle_shared(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.lock();
        if state.abandoned.is_empty() && matches!(state.parked, Parked::Idle) {
            return Poll::Ready(Ok(()));
        }
        self.waiters.register(cx.waker());
        let waker = Waker::from(self.waiters.clone());
        state.poll_settle(&mut Context::from_waker(&waker))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `e` naming this file's path, when it has one.
    fn error(&self, e: io::Error) -> io::Error {
        match &self.path {
            Some(path) => with_path(e, path),
            None => e,
        }
    }

    /// Splits `self` into the parts a `poll_*` method uses: the state (no lock needed: `&mut`),
    /// the handle, and the path for errors.
    fn parts(self: Pin<&mut Self>) -> (&mut State, &Handle, Option<&Arc<Path>>) {
        let this = self.get_mut();
        (this.state.get_mut().unwrap_or_else(PoisonError::into_inner), &this.handle, this.path.as_ref())
    }
}

/// Copies what fits of `bytes` into `buf`.
fn copy_into(buf: &mut [u8], bytes: &[u8]) -> usize {
    let n = bytes.len().min(buf.len());
    buf[..n].copy_from_slice(&bytes[..n]);
    n
}

/// `e` naming `path`, when there is one.
fn path_error(e: io::Error, path: Option<&Arc<Path>>) -> io::Error {
    match path {
        Some(path) => with_path(e, path),
        None => e,
    }
}

/// Hands a cursor read's bytes to the caller, keeping what does not fit as the surplus.
fn deliver(state: &mut State, buf: &mut [u8], done: io::Result<Done>) -> io::Result<usize> {
    match done? {
        Done::Read(bytes) => {
            let n = copy_into(buf, &bytes);
            if n < bytes.len() {
                state.surplus = bytes;
                state.surplus_at = n;
            }
            Ok(n)
        }
        other => unexpected(other),
    }
}

impl AsyncRead for File {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let (state, handle, path) = self.parts();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if state.surplus_len() > 0 {
            return Poll::Ready(Ok(state.take_surplus(buf)));
        }
        if let Parked::Read(op) = &mut state.parked {
            let done = ready!(Pin::new(op).poll(cx));
            state.parked = Parked::Idle;
            return Poll::Ready(deliver(state, buf, done).map_err(|e| path_error(e, path)));
        }
        ready!(state.poll_settle(cx)).map_err(|e| path_error(e, path))?;
        if state.surplus_len() > 0 {
            return Poll::Ready(Ok(state.take_surplus(buf)));
        }
        let len = buf.len().min(MAX_OP_BYTES);
        let mut op = submit("File::poll_read", Op::Read { file: handle.clone(), buf: Vec::new(), len, offset: None });
        match Pin::new(&mut op).poll(cx) {
            Poll::Ready(done) => Poll::Ready(deliver(state, buf, done).map_err(|e| path_error(e, path))),
            Poll::Pending => {
                state.parked = Parked::Read(op);
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let (state, handle, path) = self.parts();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = buf.len().min(MAX_OP_BYTES);
        if let Parked::Write { op, bytes } = &mut state.parked
            && **bytes == buf[..len]
        {
            // The caller polls again with the same bytes: this is its write.
            let done = ready!(Pin::new(op).poll(cx));
            state.parked = Parked::Idle;
            return Poll::Ready(written(done).map_err(|e| path_error(e, path)));
        }
        ready!(state.poll_settle(cx)).map_err(|e| path_error(e, path))?;
        let behind = state.surplus_len();
        if behind > 0 {
            // Write where the user's position is, not past the bytes read ahead.
            state.surplus = Vec::new();
            state.surplus_at = 0;
            let back = SeekFrom::Current(-(behind as i64));
            state.parked = Parked::Rewind(submit("File::poll_write", Op::Seek { file: handle.clone(), to: back }));
            ready!(state.poll_settle(cx)).map_err(|e| path_error(e, path))?;
        }
        let bytes: Arc<[u8]> = Arc::from(&buf[..len]);
        let mut op = submit("File::poll_write", Op::Write { file: handle.clone(), buf: bytes.clone(), offset: None });
        match Pin::new(&mut op).poll(cx) {
            Poll::Ready(done) => Poll::Ready(written(done).map_err(|e| path_error(e, path))),
            Poll::Pending => {
                state.parked = Parked::Write { op, bytes };
                Poll::Pending
            }
        }
    }

    /// Waits for a write whose future was dropped in flight (and any other op left behind);
    /// otherwise immediate: a write that returned has reached the kernel.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (state, _, path) = self.parts();
        state.poll_settle(cx).map_err(|e| path_error(e, path))
    }

    /// As `poll_flush`; the descriptor is closed when the `File` is dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

fn written(done: io::Result<Done>) -> io::Result<usize> {
    match done? {
        Done::Written(n) => Ok(n),
        other => unexpected(other),
    }
}

impl AsyncSeek for File {
    fn poll_seek(self: Pin<&mut Self>, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        let (state, handle, path) = self.parts();
        if let Parked::Seek { op, to } = &mut state.parked
            && *to == pos
        {
            let done = ready!(Pin::new(op).poll(cx));
            state.parked = Parked::Idle;
            return Poll::Ready(position(done).map_err(|e| path_error(e, path)));
        }
        ready!(state.poll_settle(cx)).map_err(|e| path_error(e, path))?;
        let behind = state.surplus_len();
        let target = match pos {
            SeekFrom::Current(delta) if behind > 0 => {
                let Some(delta) = i64::try_from(behind).ok().and_then(|behind| delta.checked_sub(behind)) else {
                    let e = io::Error::new(io::ErrorKind::InvalidInput, "seek offset out of range");
                    return Poll::Ready(Err(path_error(e, path)));
                };
                SeekFrom::Current(delta)
            }
            other => other,
        };
        state.surplus = Vec::new();
        state.surplus_at = 0;
        let mut op = submit("File::poll_seek", Op::Seek { file: handle.clone(), to: target });
        match Pin::new(&mut op).poll(cx) {
            Poll::Ready(done) => Poll::Ready(position(done).map_err(|e| path_error(e, path))),
            Poll::Pending => {
                state.parked = Parked::Seek { op, to: pos };
                Poll::Pending
            }
        }
    }
}

fn position(done: io::Result<Done>) -> io::Result<u64> {
    match done? {
        Done::Position(at) => Ok(at),
        other => unexpected(other),
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for File {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        let n = ready!(AsyncRead::poll_read(self, cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for File {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self, cx)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let (state, _, _) = self.parts();
        state.tokio_seek = Some(position);
        Ok(())
    }

    /// Without a `start_seek`, reports the current position, as Tokio's own files do.
    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let target = self.as_mut().parts().0.tokio_seek.unwrap_or(SeekFrom::Current(0));
        let at = ready!(AsyncSeek::poll_seek(self.as_mut(), cx, target));
        self.parts().0.tokio_seek = None;
        Poll::Ready(at)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.handle.as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.handle.as_fd()
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("std", &*self.handle).field("path", &self.path).finish_non_exhaustive()
    }
}

/// Options for opening a file: which access, whether to create or cut it. Mirrors
/// `std::fs::OpenOptions`; every option starts off.
///
/// # Examples
/// ```
/// use futures::io::AsyncWriteExt;
///
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("runtime-open-options-{}", std::process::id()));
/// let mut log = runtime::fs::OpenOptions::new().append(true).create(true).open(&path).await?;
/// log.write_all(b"one line\n").await?;
/// runtime::fs::remove_file(&path).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    flags: OpenFlags,
}

impl OpenOptions {
    /// Every option off (and mode `0o666` before the umask).
    ///
    /// # Examples
    /// ```
    /// let options = runtime::fs::OpenOptions::new();
    /// # drop(options);
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Open for reading.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let file = runtime::fs::OpenOptions::new().read(true).open("Cargo.toml").await?;
    /// # drop(file);
    /// # Ok(())
    /// # }
    /// ```
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.flags.read = read;
        self
    }

    /// Open for writing.
    ///
    /// # Examples
    /// ```
    /// let mut options = runtime::fs::OpenOptions::new();
    /// options.write(true);
    /// ```
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.flags.write = write;
        self
    }

    /// Every write goes to the end of the file (implies writing).
    ///
    /// # Examples
    /// ```
    /// let mut options = runtime::fs::OpenOptions::new();
    /// options.append(true);
    /// ```
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.flags.append = append;
        self
    }

    /// Cut an existing file to length 0 (needs writing).
    ///
    /// # Examples
    /// ```
    /// let mut options = runtime::fs::OpenOptions::new();
    /// options.write(true).truncate(true);
    /// ```
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.flags.truncate = truncate;
        self
    }

    /// Create the file if it does not exist (needs writing or appending).
    ///
    /// # Examples
    /// ```
    /// let mut options = runtime::fs::OpenOptions::new();
    /// options.write(true).create(true);
    /// ```
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.flags.create = create;
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (needs writing or appending).
    ///
    /// # Examples
    /// ```
    /// let mut options = runtime::fs::OpenOptions::new();
    /// options.write(true).create_new(true);
    /// ```
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.flags.create_new = create_new;
        self
    }

    /// Permission bits of a created file, before the umask (default `0o666`).
    ///
    /// # Examples
    /// ```
    /// let mut options = runtime::fs::OpenOptions::new();
    /// options.write(true).create(true).mode(0o600);
    /// ```
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.flags.mode = mode;
        self
    }

    /// Opens `path` with these options.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let file = runtime::fs::OpenOptions::new().read(true).open("Cargo.toml").await?;
    /// assert!(file.metadata().await?.is_file());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error (`NotFound`, `AlreadyExists` with `create_new`, `PermissionDenied`, ...),
    /// or std's `InvalidInput` for options that do not go together (no access, `truncate`
    /// without writing), naming `path`.
    ///
    /// # Panics
    /// When polled outside a runtime.
    pub fn open(&self, path: impl AsRef<Path>) -> impl Future<Output = io::Result<File>> + Send {
        open(self.flags, path.as_ref().to_owned())
    }
}

/// Opens `path` with `flags`.
async fn open(flags: OpenFlags, path: PathBuf) -> io::Result<File> {
    match submit("OpenOptions::open", Op::Open { path: path.clone(), flags }).await.map_err(|e| with_path(e, &path))? {
        Done::File(file) => Ok(File::new(file, Some(Arc::from(path)))),
        other => unexpected(other),
    }
}
