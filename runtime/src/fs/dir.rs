//! Directory listing: `ReadDir` and `DirEntry`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use super::{IntoResult, blocking, with_path};
use crate::raw;

/// How many entries one blocking job reads: one thread hop per this many entries, few enough
/// that a huge directory does not sit in memory.
const ENTRIES_PER_JOB: usize = 64;

/// What one blocking job gives back: the listing (`None` once it ended) and the entries read.
type Batch = (Option<std::fs::ReadDir>, Vec<io::Result<std::fs::DirEntry>>);

/// The entries of a directory, made by [`read_dir`](super::read_dir): a stream of
/// `io::Result<DirEntry>`, read in batches on the blocking pool.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
///
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let entries: Vec<runtime::fs::DirEntry> = runtime::fs::read_dir(".").await?.try_collect().await?;
/// assert!(entries.iter().any(|entry| entry.file_name() == "Cargo.toml"));
/// # Ok(())
/// # }
/// ```
///
/// # Panics
/// Polled outside a runtime, when it needs to read more entries.
///
/// # Cancel safety
/// Dropping it while a batch is being read lets that read finish on the pool and drops it.
pub struct ReadDir {
    path: PathBuf,
    ready: VecDeque<io::Result<std::fs::DirEntry>>,
    state: State,
}

enum State {
    Idle(Option<std::fs::ReadDir>),
    Reading(raw::task::JoinHandle<io::Result<Batch>>),
}

impl ReadDir {
    pub(super) fn new(path: PathBuf, entries: std::fs::ReadDir) -> ReadDir {
        ReadDir { path, ready: VecDeque::new(), state: State::Idle(Some(entries)) }
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<DirEntry>>> {
        let this = self.get_mut();
        loop {
            if let Some(entry) = this.ready.pop_front() {
                let entry =
                    entry.map(|inner| DirEntry { inner: Arc::new(inner) }).map_err(|e| with_path(e, &this.path));
                return Poll::Ready(Some(entry));
            }
            match &mut this.state {
                State::Idle(None) => return Poll::Ready(None),
                State::Idle(listing) => {
                    let mut listing = listing.take().expect("matched Some");
                    let job = move || {
                        let batch: Vec<_> = listing.by_ref().take(ENTRIES_PER_JOB).collect();
                        let more = batch.len() == ENTRIES_PER_JOB;
                        Ok((more.then_some(listing), batch))
                    };
                    let spawned = crate::with_instance("runtime::fs::ReadDir", |instance| {
                        raw::task::spawn_blocking_on(&**instance, job)
                    });
                    match spawned {
                        Ok(join) => this.state = State::Reading(join),
                        Err(_) => return Poll::Ready(Some(Err(io::Error::other(raw::fs::STOPPED)))),
                    }
                }
                State::Reading(join) => {
                    let outcome = std::task::ready!(join.poll_outcome(cx));
                    match outcome.into_result() {
                        Ok((listing, batch)) => {
                            this.ready.extend(batch);
                            this.state = State::Idle(listing);
                        }
                        Err(e) => {
                            this.state = State::Idle(None);
                            return Poll::Ready(Some(Err(with_path(e, &this.path))));
                        }
                    }
                }
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("path", &self.path).finish_non_exhaustive()
    }
}

/// One entry of a [`ReadDir`].
///
/// # Examples
/// ```
/// use futures::StreamExt;
///
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let mut entries = runtime::fs::read_dir(".").await?;
/// if let Some(entry) = entries.next().await {
///     let entry = entry?;
///     println!("{:?} {:?}", entry.path(), entry.file_type().await?);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DirEntry {
    inner: Arc<std::fs::DirEntry>,
}

impl DirEntry {
    /// The entry's full path: the directory's path joined with [`file_name`](Self::file_name).
    ///
    /// # Examples
    /// ```
    /// use futures::StreamExt;
    ///
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let entry = runtime::fs::read_dir("src").await?.next().await.unwrap()?;
    /// assert!(entry.path().starts_with("src"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> PathBuf {
        self.inner.path()
    }

    /// The entry's name within its directory.
    ///
    /// # Examples
    /// ```
    /// use futures::StreamExt;
    ///
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let entry = runtime::fs::read_dir("src").await?.next().await.unwrap()?;
    /// assert_eq!(Some(entry.file_name().as_os_str()), entry.path().file_name());
    /// # Ok(())
    /// # }
    /// ```
    pub fn file_name(&self) -> OsString {
        self.inner.file_name()
    }

    /// The entry's metadata; a symlink is not followed.
    ///
    /// # Examples
    /// ```
    /// use futures::StreamExt;
    ///
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let entry = runtime::fs::read_dir("src").await?.next().await.unwrap()?;
    /// let _len = entry.metadata().await?.len();
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error (`NotFound` when the entry was removed since), naming the entry's path.
    ///
    /// # Panics
    /// When polled outside a runtime.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let inner = self.inner.clone();
        blocking("runtime::fs::DirEntry::metadata", move || inner.metadata().map_err(|e| with_path(e, &inner.path())))
            .await
    }

    /// The entry's type; a symlink is not followed.
    ///
    /// # Examples
    /// ```
    /// use futures::StreamExt;
    ///
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let entry = runtime::fs::read_dir("src").await?.next().await.unwrap()?;
    /// let kind = entry.file_type().await?;
    /// assert!(kind.is_file() || kind.is_dir() || kind.is_symlink());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error, naming the entry's path, where the platform must ask the file system.
    ///
    /// # Panics
    /// When polled outside a runtime.
    pub async fn file_type(&self) -> io::Result<FileType> {
        let inner = self.inner.clone();
        blocking("runtime::fs::DirEntry::file_type", move || inner.file_type().map_err(|e| with_path(e, &inner.path())))
            .await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.inner.path()).finish()
    }
}
