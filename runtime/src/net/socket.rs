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

/// Tokio's I/O traits on a stream type whose `inner` is a `raw::net::Stream` (feature
/// `tokio-io`).
#[cfg(feature = "tokio-io")]
macro_rules! tokio_io {
    ($($ty:ty),*) => {$(
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let n = futures::ready!(self.inner.poll_read(cx, buf.initialize_unfilled()))?;
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
