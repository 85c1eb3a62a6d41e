//! The child's standard streams, on the parent's side: non-blocking pipes on the reactor.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};

use super::sys;
use crate::raw;

/// Message of the panic of `as_fd` on a `ChildStdin` that `close` already closed.
const STDIN_CLOSED: &str = "`ChildStdin::as_fd`/`as_raw_fd` after `close()`: closing the child's stdin \
     closed its descriptor; take the descriptor before closing it";

/// Registers our end of a pipe, non-blocking, with `instance`'s reactor.
fn watch(instance: &Arc<dyn raw::Instance>, fd: OwnedFd) -> io::Result<Box<dyn raw::fd::Watched>> {
    sys::set_nonblocking(fd.as_fd())?;
    instance.watch_fd(fd)
}

/// The child's standard input, written by the parent: [`AsyncWrite`].
///
/// Dropping it, or [`close`](futures::AsyncWriteExt::close), closes the pipe: the child reads end
/// of file.
///
/// # Examples
/// ```
/// use futures::prelude::*;
/// use runtime::process::Command;
/// use std::process::Stdio;
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
///     let mut stdin = child.stdin.take().unwrap();
///     stdin.write_all(b"hello").await?;
///     stdin.close().await?;
///     let output = child.wait_with_output().await?;
///     assert_eq!(output.stdout, b"hello");
///     Ok(())
/// }
/// ```
pub struct ChildStdin {
    /// `None` once closed.
    inner: Option<Box<dyn raw::fd::Watched>>,
}

/// The child's standard output, read by the parent: [`AsyncRead`].
///
/// # Examples
/// ```
/// use futures::prelude::*;
/// use runtime::process::Command;
/// use std::process::Stdio;
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let mut child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
///     let mut out = String::new();
///     child.stdout.take().unwrap().read_to_string(&mut out).await?;
///     assert_eq!(out, "hi\n");
///     assert!(child.wait().await?.success());
///     Ok(())
/// }
/// ```
pub struct ChildStdout {
    inner: Box<dyn raw::fd::Watched>,
}

/// The child's standard error, read by the parent: [`AsyncRead`].
///
/// # Examples
/// ```
/// use futures::prelude::*;
/// use runtime::process::Command;
/// use std::process::Stdio;
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let mut child = Command::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::piped()).spawn()?;
///     let mut err = String::new();
///     child.stderr.take().unwrap().read_to_string(&mut err).await?;
///     assert_eq!(err, "oops\n");
///     child.wait().await?;
///     Ok(())
/// }
/// ```
pub struct ChildStderr {
    inner: Box<dyn raw::fd::Watched>,
}

impl ChildStdin {
    pub(crate) fn new(instance: &Arc<dyn raw::Instance>, pipe: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin { inner: Some(watch(instance, OwnedFd::from(pipe))?) })
    }
}

impl ChildStdout {
    pub(crate) fn new(instance: &Arc<dyn raw::Instance>, pipe: std::process::ChildStdout) -> io::Result<ChildStdout> {
        Ok(ChildStdout { inner: watch(instance, OwnedFd::from(pipe))? })
    }
}

impl ChildStderr {
    pub(crate) fn new(instance: &Arc<dyn raw::Instance>, pipe: std::process::ChildStderr) -> io::Result<ChildStderr> {
        Ok(ChildStderr { inner: watch(instance, OwnedFd::from(pipe))? })
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed")
}

impl AsyncWrite for ChildStdin {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &self.inner {
            Some(inner) => inner.poll_write_with(cx, &mut |mut pipe| pipe.write(buf)),
            None => Poll::Ready(Err(closed())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &self.inner {
            Some(inner) => inner.poll_write_with(cx, &mut |mut pipe| pipe.write_vectored(bufs)),
            None => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Nothing is buffered: a write that returned is in the pipe.
        Poll::Ready(Ok(()))
    }

    /// Closes the pipe, so that the child reads end of file.
    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner = None;
        Poll::Ready(Ok(()))
    }
}

macro_rules! reader {
    ($($ty:ident),*) => {$(
        impl AsyncRead for $ty {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.inner.poll_read_with(cx, &mut |mut pipe| pipe.read(buf))
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_read_with(cx, &mut |mut pipe| pipe.read_vectored(bufs))
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.file().as_fd()
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.file().as_raw_fd()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).field("fd", &self.as_raw_fd()).finish()
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let n = futures::ready!(AsyncRead::poll_read(self, cx, buf.initialize_unfilled()))?;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }
    )*};
}

reader!(ChildStdout, ChildStderr);

impl AsFd for ChildStdin {
    /// # Panics
    /// After [`close`](futures::AsyncWriteExt::close), which closed the descriptor.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_ref().expect(STDIN_CLOSED).file().as_fd()
    }
}

impl AsRawFd for ChildStdin {
    /// # Panics
    /// After [`close`](futures::AsyncWriteExt::close), which closed the descriptor.
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fd = self.inner.as_ref().map(|inner| inner.file().as_raw_fd());
        f.debug_struct("ChildStdin").field("fd", &fd).finish()
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for ChildStdin {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write_vectored(self, cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_close(self, cx)
    }
}
