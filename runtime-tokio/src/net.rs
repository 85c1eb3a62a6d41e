//! `runtime_raw::net` on Tokio's sockets.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::task::{Context, Poll, ready};

use runtime_raw::BoxFuture;
use runtime_raw::net::AsSocket;

#[derive(Debug)]
pub(crate) struct TcpStream(pub(crate) tokio::net::TcpStream);

#[derive(Debug)]
pub(crate) struct TcpListener(pub(crate) tokio::net::TcpListener);

#[derive(Debug)]
pub(crate) struct UdpSocket(pub(crate) tokio::net::UdpSocket);

macro_rules! as_socket {
    ($($ty:ty),*) => {$(
        impl AsSocket for $ty {
            #[cfg(unix)]
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.0)
            }

            #[cfg(windows)]
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                std::os::windows::io::AsSocket::as_socket(&self.0)
            }
        }
    )*};
}

as_socket!(TcpStream, TcpListener, UdpSocket);

/// A byte stream's reads and writes (TCP or Unix), as Tokio's own `poll_read` does them.
macro_rules! stream_io {
    ($($name:ident),*) => {$(
impl runtime_raw::net::Stream for $name {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}
    )*};
}

stream_io!(TcpStream);
#[cfg(unix)]
stream_io!(UnixStream);

impl runtime_raw::net::TcpStream for TcpStream {
    fn into_std(self: Box<Self>) -> io::Result<std::net::TcpStream> {
        self.0.into_std()
    }
}

impl runtime_raw::net::TcpListener for TcpListener {
    fn accept(&self) -> runtime_raw::net::Accept<'_> {
        Box::pin(async move {
            let (stream, addr) = self.0.accept().await?;
            Ok((Box::new(TcpStream(stream)) as Box<dyn runtime_raw::net::TcpStream>, addr))
        })
    }

    fn into_std(self: Box<Self>) -> io::Result<std::net::TcpListener> {
        self.0.into_std()
    }
}

impl runtime_raw::net::UdpSocket for UdpSocket {
    fn send_to<'a>(&'a self, buf: &'a [u8], addr: SocketAddr) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.0.send_to(buf, addr))
    }

    fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        Box::pin(self.0.recv_from(buf))
    }

    fn peek_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        Box::pin(self.0.peek_from(buf))
    }

    fn send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.0.send(buf))
    }

    fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.0.recv(buf))
    }

    fn poll_try_send_to(&self, cx: &mut Context<'_>, buf: &[u8], addr: SocketAddr) -> Poll<Option<io::Result<usize>>> {
        try_now(cx, || self.0.try_send_to(buf, addr))
    }

    fn poll_try_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Option<io::Result<(usize, SocketAddr)>>> {
        try_now(cx, || self.0.try_recv_from(buf))
    }

    fn poll_try_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Option<io::Result<usize>>> {
        try_now(cx, || self.0.try_send(buf))
    }

    fn poll_try_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Option<io::Result<usize>>> {
        try_now(cx, || self.0.try_recv(buf))
    }

    fn into_std(self: Box<Self>) -> io::Result<std::net::UdpSocket> {
        self.0.into_std()
    }
}

/// A Tokio `try_*` call as a fast path: the task's Tokio budget is spent only when the
/// operation ran (Tokio's `try_*` methods check the cached readiness before any system call).
fn try_now<T>(cx: &mut Context<'_>, op: impl FnOnce() -> io::Result<T>) -> Poll<Option<io::Result<T>>> {
    let coop = ready!(tokio::task::coop::poll_proceed(cx));
    match op() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Ready(None),
        result => {
            coop.made_progress();
            Poll::Ready(Some(result))
        }
    }
}

#[derive(Debug)]
#[cfg(unix)]
pub(crate) struct UnixStream(pub(crate) tokio::net::UnixStream);

#[derive(Debug)]
#[cfg(unix)]
pub(crate) struct UnixListener(pub(crate) tokio::net::UnixListener);

#[derive(Debug)]
#[cfg(unix)]
pub(crate) struct UnixDatagram(pub(crate) tokio::net::UnixDatagram);

#[cfg(unix)]
as_socket!(UnixStream, UnixListener, UnixDatagram);

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::unix::net::SocketAddr;
    use std::path::Path;

    use runtime_raw::BoxFuture;
    use runtime_raw::net::unix::Accept;

    use std::task::{Context, Poll};

    use super::{UnixDatagram, UnixListener, UnixStream, try_now};

    impl runtime_raw::net::unix::UnixStream for UnixStream {
        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.0.local_addr().map(Into::into)
        }

        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.0.peer_addr().map(Into::into)
        }

        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixStream> {
            self.0.into_std()
        }
    }

    impl runtime_raw::net::unix::UnixListener for UnixListener {
        fn accept(&self) -> Accept<'_> {
            Box::pin(async move {
                let (stream, addr) = self.0.accept().await?;
                Ok((Box::new(UnixStream(stream)) as Box<dyn runtime_raw::net::unix::UnixStream>, addr.into()))
            })
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.0.local_addr().map(Into::into)
        }

        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixListener> {
            self.0.into_std()
        }
    }

    impl runtime_raw::net::unix::UnixDatagram for UnixDatagram {
        fn send_to<'a>(&'a self, buf: &'a [u8], path: &'a Path) -> BoxFuture<'a, io::Result<usize>> {
            Box::pin(async move {
                // socket2 reads a leading '\0' as a Linux abstract name; Tokio's `send_to` refuses it.
                let addr = socket2::SockAddr::unix(path)?;
                let socket = socket2::SockRef::from(&self.0);
                self.0.async_io(tokio::io::Interest::WRITABLE, || socket.send_to(buf, &addr)).await
            })
        }

        fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
            Box::pin(async move {
                let (n, addr) = self.0.recv_from(buf).await?;
                Ok((n, addr.into()))
            })
        }

        fn send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>> {
            Box::pin(self.0.send(buf))
        }

        fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
            Box::pin(self.0.recv(buf))
        }

        fn poll_try_recv_from(
            &self,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<Option<io::Result<(usize, SocketAddr)>>> {
            try_now(cx, || self.0.try_recv_from(buf).map(|(n, addr)| (n, addr.into())))
        }

        fn poll_try_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Option<io::Result<usize>>> {
            try_now(cx, || self.0.try_send(buf))
        }

        fn poll_try_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Option<io::Result<usize>>> {
            try_now(cx, || self.0.try_recv(buf))
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.0.local_addr().map(Into::into)
        }

        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.0.peer_addr().map(Into::into)
        }

        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixDatagram> {
            self.0.into_std()
        }
    }
}
