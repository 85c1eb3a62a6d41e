//! The I/O objects a backend provides behind the facade's `TcpListener`, `TcpStream` and
//! `UdpSocket`.
//!
//! Each is an object-safe trait with only the operations that need the backend's reactor;
//! socket options, addresses and `shutdown` are plain system calls that the facade makes on the
//! descriptor itself. Operations that many tasks may await at once on one object return a
//! boxed future per call, so that each waiting task has its own waiter and all are woken.
//!
//! Readiness (`ready`) and the `try_*` operations are what the facade's `readable`, `writable`
//! and `try_read`-style methods are made of: `ready` waits, as one of any number of waiters,
//! until the backend has seen the object ready for a [`Direction`] (or closed, or in error);
//! a `try_*` runs its system call only when the backend's last known readiness allows it, never
//! registers a waiter, and on `WouldBlock` forgets that readiness, so that the next `ready`
//! waits for a fresh event. Their defaults fail with [`UNSUPPORTED`] (the datagram `try_*`
//! forms use the `poll_try_*` fast paths instead): a backend overrides `ready` and the `try_*`
//! methods together, or none of them.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use crate::BoxFuture;

/// Message of the error of the default [`Stream::ready`], [`Stream::try_read`] and the other
/// readiness operations, for a backend that does not provide them.
pub const UNSUPPORTED: &str = "this runtime backend does not support readiness operations \
     (readable, writable, try_read, try_write, peek): use the awaiting forms (read, write, recv, ...)";

/// Which readiness an operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Readable: data, a connection or a datagram to take, end of stream, hang-up or error.
    Read,
    /// Writable: room to send, hang-up or error.
    Write,
}

fn unsupported() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, UNSUPPORTED)
}

/// What the default datagram `try_*` methods make of a `poll_try_*` fast path, polled once with
/// a waker that does nothing (the fast path registers none): anything but a result is
/// `WouldBlock`.
fn try_once<T>(poll: impl FnOnce(&mut Context<'_>) -> Poll<Option<io::Result<T>>>) -> io::Result<T> {
    match poll(&mut Context::from_waker(std::task::Waker::noop())) {
        Poll::Ready(Some(result)) => result,
        Poll::Ready(None) | Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

/// Gives the facade the OS socket, for options and addresses.
pub trait AsSocket {
    /// The socket's file descriptor.
    #[cfg(unix)]
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_>;

    /// The socket's handle.
    #[cfg(windows)]
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_>;
}

/// A connected byte stream (TCP or Unix). One reader and one writer may wait at the same time.
pub trait Stream: AsSocket + fmt::Debug + Send + Sync {
    /// Reads into `buf`, registering `cx` for read readiness when none is available.
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Vectored read; by default reads into the first non-empty buffer.
    fn poll_read_vectored(&self, cx: &mut Context<'_>, bufs: &mut [IoSliceMut<'_>]) -> Poll<io::Result<usize>> {
        let buf = bufs.iter_mut().find(|b| !b.is_empty()).map_or(&mut [][..], |b| &mut **b);
        self.poll_read(cx, buf)
    }

    /// Writes from `buf`, registering `cx` for write readiness when the socket is full.
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;

    /// Vectored write; by default writes the first non-empty buffer.
    fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let buf = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &**b);
        self.poll_write(cx, buf)
    }

    /// Waits, as one of any number of waiters, until the backend has seen the stream ready for
    /// `direction`, closed or in error. By default an `Unsupported` error ([`UNSUPPORTED`]).
    fn ready(&self, direction: Direction) -> BoxFuture<'_, io::Result<()>> {
        let _ = direction;
        Box::pin(std::future::ready(Err(unsupported())))
    }

    /// Reads now if the last known readiness allows, else `WouldBlock`; never registers a
    /// waiter, and a `WouldBlock` from the system call clears that readiness. By default an
    /// `Unsupported` error.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let _ = buf;
        Err(unsupported())
    }

    /// Writes now, as for [`try_read`](Self::try_read). By default an `Unsupported` error.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let _ = buf;
        Err(unsupported())
    }
}

/// A connected TCP stream.
pub trait TcpStream: Stream {
    /// Deregisters the stream and gives the socket back (left in non-blocking mode).
    ///
    /// # Errors
    /// The backend could not deregister it.
    fn into_std(self: Box<Self>) -> io::Result<std::net::TcpStream>;

    /// Reads into `buf` without taking the data from the queue, as one of any number of
    /// waiters. By default an `Unsupported` error ([`UNSUPPORTED`]).
    fn peek<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
        let _ = buf;
        Box::pin(std::future::ready(Err(unsupported())))
    }
}

/// The future of one [`TcpListener::accept`] call.
pub type Accept<'a> = BoxFuture<'a, io::Result<(Box<dyn TcpStream>, SocketAddr)>>;

/// A listening TCP socket. Any number of tasks may await `accept` at once.
pub trait TcpListener: AsSocket + fmt::Debug + Send + Sync {
    /// Accepts one connection.
    fn accept(&self) -> Accept<'_>;

    /// Deregisters the listener and gives the socket back (left in non-blocking mode).
    ///
    /// # Errors
    /// The backend could not deregister it.
    fn into_std(self: Box<Self>) -> io::Result<std::net::TcpListener>;
}

/// A UDP socket. Any number of tasks may await each operation at once.
pub trait UdpSocket: AsSocket + fmt::Debug + Send + Sync {
    /// Sends one datagram to `addr`.
    fn send_to<'a>(&'a self, buf: &'a [u8], addr: SocketAddr) -> BoxFuture<'a, io::Result<usize>>;

    /// Receives one datagram.
    fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>>;

    /// Receives one datagram without removing it from the queue.
    fn peek_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>>;

    /// Sends one datagram to the connected peer.
    fn send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>>;

    /// Receives one datagram from the connected peer.
    fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>>;

    /// The fast path of [`send_to`](Self::send_to): sends now, if the socket's last known
    /// readiness says it may, without waiting and without allocating.
    ///
    /// `Ready(Some(result))` when the operation ran to a result; `Ready(None)` when it would
    /// have to wait (the caller then awaits `send_to`, which registers it); `Pending` only when
    /// the task has used up its poll budget, after arranging to be polled again. The default
    /// has no fast path.
    fn poll_try_send_to(&self, cx: &mut Context<'_>, buf: &[u8], addr: SocketAddr) -> Poll<Option<io::Result<usize>>> {
        let _ = (cx, buf, addr);
        Poll::Ready(None)
    }

    /// The fast path of [`recv_from`](Self::recv_from), as for
    /// [`poll_try_send_to`](Self::poll_try_send_to).
    fn poll_try_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Option<io::Result<(usize, SocketAddr)>>> {
        let _ = (cx, buf);
        Poll::Ready(None)
    }

    /// The fast path of [`send`](Self::send), as for [`poll_try_send_to`](Self::poll_try_send_to).
    fn poll_try_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Option<io::Result<usize>>> {
        let _ = (cx, buf);
        Poll::Ready(None)
    }

    /// The fast path of [`recv`](Self::recv), as for [`poll_try_send_to`](Self::poll_try_send_to).
    fn poll_try_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Option<io::Result<usize>>> {
        let _ = (cx, buf);
        Poll::Ready(None)
    }

    /// Waits, as one of any number of waiters, until the backend has seen the socket ready for
    /// `direction` or in error. By default an `Unsupported` error ([`UNSUPPORTED`]).
    fn ready(&self, direction: Direction) -> BoxFuture<'_, io::Result<()>> {
        let _ = direction;
        Box::pin(std::future::ready(Err(unsupported())))
    }

    /// Sends now if the last known readiness allows, else `WouldBlock`; never registers a
    /// waiter, and a `WouldBlock` from the system call clears that readiness. By default
    /// [`poll_try_send_to`](Self::poll_try_send_to) once.
    fn try_send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        try_once(|cx| self.poll_try_send_to(cx, buf, addr))
    }

    /// Receives now, as for [`try_send_to`](Self::try_send_to).
    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        try_once(|cx| self.poll_try_recv_from(cx, buf))
    }

    /// Sends to the connected peer now, as for [`try_send_to`](Self::try_send_to).
    fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        try_once(|cx| self.poll_try_send(cx, buf))
    }

    /// Receives from the connected peer now, as for [`try_send_to`](Self::try_send_to).
    fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_once(|cx| self.poll_try_recv(cx, buf))
    }

    /// Deregisters the socket and gives it back (left in non-blocking mode).
    ///
    /// # Errors
    /// The backend could not deregister it.
    fn into_std(self: Box<Self>) -> io::Result<std::net::UdpSocket>;
}

/// Unix domain sockets. Paths starting with `'\0'` name Linux abstract sockets.
#[cfg(unix)]
pub mod unix {
    use std::io;
    use std::os::unix::net::SocketAddr;
    use std::path::Path;

    use super::{AsSocket, Direction, Stream, try_once, unsupported};
    use crate::BoxFuture;

    /// A connected Unix stream.
    pub trait UnixStream: Stream {
        /// This end's address.
        ///
        /// # Errors
        /// The OS's.
        fn local_addr(&self) -> io::Result<SocketAddr>;

        /// The peer's address.
        ///
        /// # Errors
        /// The OS's.
        fn peer_addr(&self) -> io::Result<SocketAddr>;

        /// Deregisters the stream and gives it back (left in non-blocking mode).
        ///
        /// # Errors
        /// The backend could not deregister it.
        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixStream>;
    }

    /// The future of one [`UnixListener::accept`] call.
    pub type Accept<'a> = BoxFuture<'a, io::Result<(Box<dyn UnixStream>, SocketAddr)>>;

    /// A listening Unix socket. Any number of tasks may await `accept` at once.
    pub trait UnixListener: AsSocket + std::fmt::Debug + Send + Sync {
        /// Accepts one connection.
        fn accept(&self) -> Accept<'_>;

        /// The address the listener is bound to.
        ///
        /// # Errors
        /// The OS's.
        fn local_addr(&self) -> io::Result<SocketAddr>;

        /// Deregisters the listener and gives it back (left in non-blocking mode).
        ///
        /// # Errors
        /// The backend could not deregister it.
        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixListener>;
    }

    /// A Unix datagram socket. Any number of tasks may await each operation at once.
    pub trait UnixDatagram: AsSocket + std::fmt::Debug + Send + Sync {
        /// Sends one datagram to the socket at `path`.
        fn send_to<'a>(&'a self, buf: &'a [u8], path: &'a Path) -> BoxFuture<'a, io::Result<usize>>;

        /// Receives one datagram.
        fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>>;

        /// Sends one datagram to the connected peer.
        fn send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>>;

        /// Receives one datagram from the connected peer.
        fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>>;

        /// The fast path of [`recv_from`](Self::recv_from), as for
        /// [`UdpSocket::poll_try_send_to`](crate::net::UdpSocket::poll_try_send_to). The default
        /// has no fast path.
        fn poll_try_recv_from(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<Option<io::Result<(usize, SocketAddr)>>> {
            let _ = (cx, buf);
            std::task::Poll::Ready(None)
        }

        /// The fast path of [`send`](Self::send), as for
        /// [`UdpSocket::poll_try_send_to`](crate::net::UdpSocket::poll_try_send_to).
        fn poll_try_send(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<Option<io::Result<usize>>> {
            let _ = (cx, buf);
            std::task::Poll::Ready(None)
        }

        /// The fast path of [`recv`](Self::recv), as for
        /// [`UdpSocket::poll_try_send_to`](crate::net::UdpSocket::poll_try_send_to).
        fn poll_try_recv(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<Option<io::Result<usize>>> {
            let _ = (cx, buf);
            std::task::Poll::Ready(None)
        }

        /// Waits, as one of any number of waiters, until the backend has seen the socket ready
        /// for `direction` or in error. By default an `Unsupported` error
        /// ([`UNSUPPORTED`](super::UNSUPPORTED)).
        fn ready(&self, direction: Direction) -> BoxFuture<'_, io::Result<()>> {
            let _ = direction;
            Box::pin(std::future::ready(Err(unsupported())))
        }

        /// Sends to the socket at `path` now if the last known readiness allows, else
        /// `WouldBlock`; never registers a waiter, and a `WouldBlock` from the system call
        /// clears that readiness. By default an `Unsupported` error.
        fn try_send_to(&self, buf: &[u8], path: &Path) -> io::Result<usize> {
            let _ = (buf, path);
            Err(unsupported())
        }

        /// Receives now, as for [`try_send_to`](Self::try_send_to); by default
        /// [`poll_try_recv_from`](Self::poll_try_recv_from) once.
        fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
            try_once(|cx| self.poll_try_recv_from(cx, buf))
        }

        /// Sends to the connected peer now, as for [`try_send_to`](Self::try_send_to); by
        /// default [`poll_try_send`](Self::poll_try_send) once.
        fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
            try_once(|cx| self.poll_try_send(cx, buf))
        }

        /// Receives from the connected peer now, as for [`try_send_to`](Self::try_send_to); by
        /// default [`poll_try_recv`](Self::poll_try_recv) once.
        fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
            try_once(|cx| self.poll_try_recv(cx, buf))
        }

        /// This socket's address.
        ///
        /// # Errors
        /// The OS's.
        fn local_addr(&self) -> io::Result<SocketAddr>;

        /// The connected peer's address.
        ///
        /// # Errors
        /// The OS's.
        fn peer_addr(&self) -> io::Result<SocketAddr>;

        /// Deregisters the socket and gives it back (left in non-blocking mode).
        ///
        /// # Errors
        /// The backend could not deregister it.
        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixDatagram>;
    }
}
