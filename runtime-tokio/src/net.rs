//! `runtime_raw::net` on Tokio's sockets.
//!
//! Each object carries its instance's [`Owner`] and checks it before every asynchronous
//! operation: Tokio fails a wait for readiness once its driver is gone, but not an operation
//! that its cached readiness lets through at once (a `try_send_to` on a writable socket, an
//! accept with a connection queued), and the API promises that every operation fails.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use runtime_raw::BoxFuture;
use runtime_raw::net::AsSocket;
use tokio::io::Interest;

/// The error of every asynchronous operation on an I/O object whose instance has stopped (the
/// same words as the native backend's).
const SHUT_DOWN: &str = "the runtime instance this I/O object belongs to has shut down; \
     I/O objects work only while the `enter` (or `#[runtime::main]`) that made them is running";

/// Whether the instance that made an I/O object has stopped: one flag per instance, shared by
/// every object it made (an `Arc`, so that an object keeps none of the instance's driver).
#[derive(Debug, Clone, Default)]
pub(crate) struct Owner(Arc<AtomicBool>);

impl Owner {
    /// Marks the instance stopped: every later operation fails.
    pub(crate) fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// `Err` once the instance has stopped.
    fn check(&self) -> io::Result<()> {
        if self.0.load(Ordering::Acquire) { Err(io::Error::other(SHUT_DOWN)) } else { Ok(()) }
    }

    /// An operation's error, or ours when the instance stopped meanwhile (Tokio's own, from a
    /// wait its driver's shutdown ended, says only that "a Tokio 1.x context" is shutting down).
    fn error(&self, e: io::Error) -> io::Error {
        self.check().err().unwrap_or(e)
    }
}

#[derive(Debug)]
pub(crate) struct TcpStream {
    pub(crate) io: tokio::net::TcpStream,
    pub(crate) owner: Owner,
}

#[derive(Debug)]
pub(crate) struct TcpListener {
    pub(crate) io: tokio::net::TcpListener,
    pub(crate) owner: Owner,
}

#[derive(Debug)]
pub(crate) struct UdpSocket {
    pub(crate) io: tokio::net::UdpSocket,
    pub(crate) owner: Owner,
}

macro_rules! as_socket {
    ($($ty:ty),*) => {$(
        impl AsSocket for $ty {
            #[cfg(unix)]
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.io)
            }

            #[cfg(windows)]
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                std::os::windows::io::AsSocket::as_socket(&self.io)
            }
        }
    )*};
}

as_socket!(TcpStream, TcpListener, UdpSocket);

/// What `ready` waits for when reading: Tokio's readable interest resolves on data and end of
/// stream only; the error readiness is added so that `readable()` also resolves on a pending
/// error, which the `try_*` that follows then returns (see [`try_op!`]).
const READ: Interest = Interest::READABLE.add(Interest::ERROR);
/// As [`READ`], for writing.
const WRITE: Interest = Interest::WRITABLE.add(Interest::ERROR);

fn interest(direction: runtime_raw::net::Direction) -> Interest {
    match direction {
        runtime_raw::net::Direction::Read => READ,
        runtime_raw::net::Direction::Write => WRITE,
    }
}

/// A `try_*` operation: `$op` is Tokio's own `try_*` call, which makes its system call only on
/// the direction's readiness (and, on `WouldBlock`, clears it). Tokio's `try_io` cannot take a
/// combined interest (it would never run), so an error that only the error readiness announced
/// (a UDP port-unreachable comes without readable readiness) is taken here, as the system call
/// would have returned it; with none pending, that readiness is cleared too.
macro_rules! try_op {
    ($self:ident, $op:expr) => {{
        $self.owner.check()?;
        match $op {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                $self.io.try_io(Interest::ERROR, || Err($self.io.take_error()?.unwrap_or(e)))
            }
            result => result,
        }
    }};
}

/// A byte stream's reads and writes (TCP or Unix), as Tokio's own `poll_read` does them, after
/// the owner check.
macro_rules! stream_io {
    ($($name:ident),*) => {$(
impl runtime_raw::net::Stream for $name {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.owner.check()?;
        loop {
            ready!(self.io.poll_read_ready(cx)).map_err(|e| self.owner.error(e))?;
            match self.io.try_read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_read_vectored(&self, cx: &mut Context<'_>, bufs: &mut [IoSliceMut<'_>]) -> Poll<io::Result<usize>> {
        self.owner.check()?;
        loop {
            ready!(self.io.poll_read_ready(cx)).map_err(|e| self.owner.error(e))?;
            match self.io.try_read_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.owner.check()?;
        loop {
            ready!(self.io.poll_write_ready(cx)).map_err(|e| self.owner.error(e))?;
            match self.io.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.owner.check()?;
        loop {
            ready!(self.io.poll_write_ready(cx)).map_err(|e| self.owner.error(e))?;
            match self.io.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn ready(&self, direction: runtime_raw::net::Direction) -> BoxFuture<'_, io::Result<()>> {
        checked(&self.owner, async move { self.io.ready(interest(direction)).await.map(drop) })
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_op!(self, self.io.try_read(buf))
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        try_op!(self, self.io.try_write(buf))
    }
}
    )*};
}

stream_io!(TcpStream);
#[cfg(unix)]
stream_io!(UnixStream);

impl runtime_raw::net::TcpStream for TcpStream {
    fn into_std(self: Box<Self>) -> io::Result<std::net::TcpStream> {
        self.io.into_std()
    }

    fn peek<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
        checked(&self.owner, self.io.peek(buf))
    }
}

impl runtime_raw::net::TcpListener for TcpListener {
    fn accept(&self) -> runtime_raw::net::Accept<'_> {
        Box::pin(async move {
            self.owner.check()?;
            let (io, addr) = self.io.accept().await.map_err(|e| self.owner.error(e))?;
            let stream = TcpStream { io, owner: self.owner.clone() };
            Ok((Box::new(stream) as Box<dyn runtime_raw::net::TcpStream>, addr))
        })
    }

    fn into_std(self: Box<Self>) -> io::Result<std::net::TcpListener> {
        self.io.into_std()
    }
}

/// A Tokio datagram operation, after the owner check.
fn checked<'a, T: 'a>(
    owner: &'a Owner,
    op: impl Future<Output = io::Result<T>> + Send + 'a,
) -> BoxFuture<'a, io::Result<T>> {
    Box::pin(async move {
        owner.check()?;
        op.await.map_err(|e| owner.error(e))
    })
}

impl runtime_raw::net::UdpSocket for UdpSocket {
    fn send_to<'a>(&'a self, buf: &'a [u8], addr: SocketAddr) -> BoxFuture<'a, io::Result<usize>> {
        checked(&self.owner, self.io.send_to(buf, addr))
    }

    fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        checked(&self.owner, self.io.recv_from(buf))
    }

    fn peek_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        checked(&self.owner, self.io.peek_from(buf))
    }

    fn send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>> {
        checked(&self.owner, self.io.send(buf))
    }

    fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
        checked(&self.owner, self.io.recv(buf))
    }

    fn poll_try_send_to(&self, cx: &mut Context<'_>, buf: &[u8], addr: SocketAddr) -> Poll<Option<io::Result<usize>>> {
        try_now(&self.owner, cx, || self.io.try_send_to(buf, addr))
    }

    fn poll_try_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Option<io::Result<(usize, SocketAddr)>>> {
        try_now(&self.owner, cx, || self.io.try_recv_from(buf))
    }

    fn poll_try_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Option<io::Result<usize>>> {
        try_now(&self.owner, cx, || self.io.try_send(buf))
    }

    fn poll_try_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Option<io::Result<usize>>> {
        try_now(&self.owner, cx, || self.io.try_recv(buf))
    }

    fn ready(&self, direction: runtime_raw::net::Direction) -> BoxFuture<'_, io::Result<()>> {
        checked(&self.owner, async move { self.io.ready(interest(direction)).await.map(drop) })
    }

    fn try_send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        try_op!(self, self.io.try_send_to(buf, addr))
    }

    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        try_op!(self, self.io.try_recv_from(buf))
    }

    fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        try_op!(self, self.io.try_send(buf))
    }

    fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_op!(self, self.io.try_recv(buf))
    }

    fn into_std(self: Box<Self>) -> io::Result<std::net::UdpSocket> {
        self.io.into_std()
    }
}

/// A Tokio `try_*` call as a fast path, after the owner check (Tokio's `try_*` methods check
/// only the cached readiness, which its driver's shutdown leaves as it was): the task's Tokio
/// budget is spent only when the operation ran.
fn try_now<T>(owner: &Owner, cx: &mut Context<'_>, op: impl FnOnce() -> io::Result<T>) -> Poll<Option<io::Result<T>>> {
    if let Err(e) = owner.check() {
        return Poll::Ready(Some(Err(e)));
    }
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
pub(crate) struct UnixStream {
    pub(crate) io: tokio::net::UnixStream,
    pub(crate) owner: Owner,
}

#[derive(Debug)]
#[cfg(unix)]
pub(crate) struct UnixListener {
    pub(crate) io: tokio::net::UnixListener,
    pub(crate) owner: Owner,
}

#[derive(Debug)]
#[cfg(unix)]
pub(crate) struct UnixDatagram {
    pub(crate) io: tokio::net::UnixDatagram,
    pub(crate) owner: Owner,
}

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

    use tokio::io::Interest;

    use super::{UnixDatagram, UnixListener, UnixStream, checked, interest, try_now};

    impl runtime_raw::net::unix::UnixStream for UnixStream {
        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.io.local_addr().map(Into::into)
        }

        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.io.peer_addr().map(Into::into)
        }

        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixStream> {
            self.io.into_std()
        }
    }

    impl runtime_raw::net::unix::UnixListener for UnixListener {
        fn accept(&self) -> Accept<'_> {
            Box::pin(async move {
                self.owner.check()?;
                let (io, addr) = self.io.accept().await.map_err(|e| self.owner.error(e))?;
                let stream = UnixStream { io, owner: self.owner.clone() };
                Ok((Box::new(stream) as Box<dyn runtime_raw::net::unix::UnixStream>, addr.into()))
            })
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.io.local_addr().map(Into::into)
        }

        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixListener> {
            self.io.into_std()
        }
    }

    impl runtime_raw::net::unix::UnixDatagram for UnixDatagram {
        fn send_to<'a>(&'a self, buf: &'a [u8], path: &'a Path) -> BoxFuture<'a, io::Result<usize>> {
            checked(&self.owner, async move {
                // socket2 reads a leading '\0' as a Linux abstract name; Tokio's `send_to` refuses it.
                let addr = socket2::SockAddr::unix(path)?;
                let socket = socket2::SockRef::from(&self.io);
                self.io.async_io(tokio::io::Interest::WRITABLE, || socket.send_to(buf, &addr)).await
            })
        }

        fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
            checked(&self.owner, async move {
                let (n, addr) = self.io.recv_from(buf).await?;
                Ok((n, addr.into()))
            })
        }

        fn send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>> {
            checked(&self.owner, self.io.send(buf))
        }

        fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
            checked(&self.owner, self.io.recv(buf))
        }

        fn poll_try_recv_from(
            &self,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<Option<io::Result<(usize, SocketAddr)>>> {
            try_now(&self.owner, cx, || self.io.try_recv_from(buf).map(|(n, addr)| (n, addr.into())))
        }

        fn poll_try_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Option<io::Result<usize>>> {
            try_now(&self.owner, cx, || self.io.try_send(buf))
        }

        fn poll_try_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Option<io::Result<usize>>> {
            try_now(&self.owner, cx, || self.io.try_recv(buf))
        }

        fn ready(&self, direction: runtime_raw::net::Direction) -> BoxFuture<'_, io::Result<()>> {
            checked(&self.owner, async move { self.io.ready(interest(direction)).await.map(drop) })
        }

        fn try_send_to(&self, buf: &[u8], path: &Path) -> io::Result<usize> {
            // As in `send_to`: socket2 reads a leading '\0' as a Linux abstract name.
            let addr = socket2::SockAddr::unix(path)?;
            let socket = socket2::SockRef::from(&self.io);
            try_op!(self, self.io.try_io(Interest::WRITABLE, || socket.send_to(buf, &addr)))
        }

        fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
            try_op!(self, self.io.try_recv_from(buf).map(|(n, addr)| (n, addr.into())))
        }

        fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
            try_op!(self, self.io.try_send(buf))
        }

        fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
            try_op!(self, self.io.try_recv(buf))
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.io.local_addr().map(Into::into)
        }

        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.io.peer_addr().map(Into::into)
        }

        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixDatagram> {
            self.io.into_std()
        }
    }
}
