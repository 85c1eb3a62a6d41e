//! Options and addresses, read and set on the OS socket directly (they need no reactor).

use std::io;
use std::net::SocketAddr;

use socket2::SockRef;

use crate::raw::net::AsSocket;

/// Runs `f` on a `socket2` view of the backend object's socket.
pub(crate) fn with_socket<R>(object: &dyn AsSocket, f: impl FnOnce(SockRef<'_>) -> io::Result<R>) -> io::Result<R> {
    #[cfg(unix)]
    let borrowed = object.as_fd();
    #[cfg(windows)]
    let borrowed = object.as_socket();
    f(SockRef::from(&borrowed))
}

fn ip_addr(addr: socket2::SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket address"))
}

pub(crate) fn local_addr(object: &dyn AsSocket) -> io::Result<SocketAddr> {
    with_socket(object, |s| ip_addr(s.local_addr()?))
}

pub(crate) fn peer_addr(object: &dyn AsSocket) -> io::Result<SocketAddr> {
    with_socket(object, |s| ip_addr(s.peer_addr()?))
}

#[cfg(unix)]
macro_rules! impl_fd {
    ($($ty:ty),*) => {$(
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&self.inner.as_fd())
            }
        }
    )*};
}

#[cfg(windows)]
macro_rules! impl_fd {
    ($($ty:ty),*) => {$(
        impl std::os::windows::io::AsSocket for $ty {
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                self.inner.as_socket()
            }
        }

        impl std::os::windows::io::AsRawSocket for $ty {
            fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
                std::os::windows::io::AsRawSocket::as_raw_socket(&self.inner.as_socket())
            }
        }
    )*};
}

pub(crate) use impl_fd;

/// How many bytes of a Tokio `ReadBuf` a stream's next read may fill (feature `tokio-io`).
///
/// Tokio's traits hand over uninitialised memory, which safe code must zero before a read goes
/// into it, and callers such as hyper (through hyper-util's `TokioIo`) offer their whole buffer,
/// 8 KiB and more, afresh on every read, though most reads bring a request of a few hundred
/// bytes or nothing at all. Zeroing all of it on every read cost 4.5% of the CPU of a hyper
/// server at 512 connections (`memset` in `perf`). So a read offers only this window: it
/// doubles while reads fill it (bulk transfers soon read as much as before) and halves when
/// reads bring less than a quarter of it. A short read is always allowed by the traits.
#[cfg(feature = "tokio-io")]
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadWindow(u32);

#[cfg(feature = "tokio-io")]
impl ReadWindow {
    const MIN: u32 = 1024;
    const MAX: u32 = 1 << 20;

    pub(super) const fn new() -> ReadWindow {
        ReadWindow(ReadWindow::MIN)
    }

    pub(super) fn get(self) -> usize {
        self.0 as usize
    }

    /// After a read of `n` bytes into a window of `window` bytes.
    pub(super) fn update(&mut self, window: usize, n: usize) {
        if n == window {
            // Filled: there may be more. A window the caller's room cut short tells nothing.
            if window == self.get() {
                self.0 = (self.0 * 2).min(ReadWindow::MAX);
            }
        } else if n < self.get() / 4 {
            self.0 = (self.0 / 2).max(ReadWindow::MIN);
        }
    }
}

/// Tokio's I/O traits on a stream type whose `inner` is a `raw::net::Stream` and that has a
/// `read_window: ReadWindow` (feature `tokio-io`).
#[cfg(feature = "tokio-io")]
macro_rules! tokio_io {
    ($($ty:ty),*) => {$(
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let this = self.get_mut();
                // Only the window is zeroed (safe code may not read into uninitialised memory),
                // not the whole of what the caller offers; see `ReadWindow`.
                let window = this.read_window.get().min(buf.remaining());
                let n = futures::ready!(this.inner.poll_read(cx, buf.initialize_unfilled_to(window)))?;
                this.read_window.update(window, n);
                buf.advance(n);
                std::task::Poll::Ready(Ok(()))
            }
        }

        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready($crate::net::socket::with_socket(&*self.inner, |s| {
                    s.shutdown(std::net::Shutdown::Write)
                }))
            }
        }
    )*};
}

#[cfg(feature = "tokio-io")]
pub(crate) use tokio_io;

/// futures-io's `AsyncRead`/`AsyncWrite` on a stream type whose `inner` is a
/// `raw::net::Stream`, and on its reference.
macro_rules! stream_io {
    ($($ty:ty),*) => {$(
        impl futures::io::AsyncRead for $ty {
            fn poll_read(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &mut [u8]) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_read_vectored(cx, bufs)
            }
        }

        impl futures::io::AsyncWrite for $ty {
            fn poll_write(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
                // Writes go straight to the socket: nothing is buffered here.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready($crate::net::socket::with_socket(&*self.inner, |s| {
                    s.shutdown(std::net::Shutdown::Write)
                }))
            }
        }
    )*};
}

pub(crate) use stream_io;

/// `OwnedReadHalf`/`OwnedWriteHalf` for a stream type, in the module that invokes it.
macro_rules! owned_halves {
    ($stream:ident, $split:literal) => {
        #[doc = concat!("The reading half of a [`", $split, "`].")]
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            stream: std::sync::Arc<$stream>,
        }

        #[doc = concat!("The writing half of a [`", $split, "`]; dropping it shuts the write direction down.")]
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            stream: std::sync::Arc<$stream>,
        }

        impl AsRef<$stream> for OwnedReadHalf {
            fn as_ref(&self) -> &$stream {
                &self.stream
            }
        }

        impl AsRef<$stream> for OwnedWriteHalf {
            fn as_ref(&self) -> &$stream {
                &self.stream
            }
        }

        impl futures::io::AsyncRead for OwnedReadHalf {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.stream.inner.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.stream.inner.poll_read_vectored(cx, bufs)
            }
        }

        impl futures::io::AsyncWrite for OwnedWriteHalf {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.stream.inner.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.stream.inner.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.stream.shutdown(std::net::Shutdown::Write))
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                // The peer sees end of stream, as with Tokio's owned halves; a closed socket is fine.
                let _ = self.stream.shutdown(std::net::Shutdown::Write);
            }
        }
    };
}

pub(crate) use owned_halves;

#[cfg(all(test, feature = "tokio-io"))]
mod tests {
    use super::ReadWindow;

    /// Full reads double the window up to its cap; reads that bring little halve it down to its
    /// floor; a read cut short by the caller's buffer changes nothing.
    #[test]
    fn the_read_window_follows_what_reads_bring() {
        let mut window = ReadWindow::new();
        assert_eq!(window.get(), 1024);
        for _ in 0..40 {
            let w = window.get();
            window.update(w, w);
        }
        assert_eq!(window.get(), 1 << 20, "bulk reads grow it to its cap");
        window.update(100, 100);
        assert_eq!(window.get(), 1 << 20, "a read limited by the caller's room is not a full window");
        for _ in 0..40 {
            let w = window.get();
            window.update(w, 10);
        }
        assert_eq!(window.get(), 1024, "small reads shrink it to its floor");
        let w = window.get();
        window.update(w, 0);
        assert_eq!(window.get(), 1024, "nor below");
    }
}
