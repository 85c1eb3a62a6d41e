//! TCP and UDP on mio sockets registered with the instance's reactor.

use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use mio::Interest;
use runtime_raw::BoxFuture;
use runtime_raw::net::{Accept, AsSocket};

use crate::reactor::{Direction, Reactor, Registration, ScheduledIo};

/// Runs `op` until it stops returning `WouldBlock`, waiting in the reader or writer slot.
fn poll_io<T>(
    registration: &Registration,
    cx: &mut Context<'_>,
    direction: Direction,
    mut op: impl FnMut() -> io::Result<T>,
) -> Poll<io::Result<T>> {
    ready!(crate::coop::poll_proceed(cx));
    loop {
        let event = ready!(registration.io().poll_ready(cx, direction))?;
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => registration.io().clear(event),
            result => return Poll::Ready(result),
        }
    }
}

/// One of many tasks waiting to run `op` on a shared object: each has its own waiter entry,
/// removed when the future completes or is dropped.
struct Keyed<'a, F> {
    io: &'a ScheduledIo,
    direction: Direction,
    key: Option<u64>,
    op: F,
}

impl<'a, F> Keyed<'a, F> {
    fn new(io: &'a ScheduledIo, direction: Direction, op: F) -> Self {
        Keyed { io, direction, key: None, op }
    }
}

impl<T, F: FnMut() -> io::Result<T> + Unpin> Future for Keyed<'_, F> {
    type Output = io::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let this = &mut *self;
        ready!(crate::coop::poll_proceed(cx));
        loop {
            let event = match ready!(this.io.poll_ready_keyed(cx, this.direction, &mut this.key)) {
                Ok(event) => event,
                Err(e) => {
                    this.io.forget(&mut this.key);
                    return Poll::Ready(Err(e));
                }
            };
            match (this.op)() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.io.clear(event),
                result => {
                    this.io.forget(&mut this.key);
                    return Poll::Ready(result);
                }
            }
        }
    }
}

impl<F> Drop for Keyed<'_, F> {
    fn drop(&mut self) {
        self.io.forget(&mut self.key);
    }
}

macro_rules! socket_object {
    ($name:ident, $mio:ty, $field:ident) => {
        impl AsSocket for $name {
            #[cfg(unix)]
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.$field)
            }

            #[cfg(windows)]
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                std::os::windows::io::AsSocket::as_socket(&self.$field)
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                // Before the descriptor closes, so that it cannot be reused under our token.
                self.registration.deregister(&mut self.$field);
            }
        }
    };
}

#[derive(Debug)]
pub(crate) struct TcpStream {
    registration: Registration,
    stream: mio::net::TcpStream,
}

socket_object!(TcpStream, mio::net::TcpStream, stream);

impl TcpStream {
    pub(crate) fn from_std(reactor: &Arc<Reactor>, stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(reactor, mio::net::TcpStream::from_std(stream))
    }

    fn from_mio(reactor: &Arc<Reactor>, mut stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let registration = reactor.register(&mut stream, Interest::READABLE | Interest::WRITABLE)?;
        Ok(TcpStream { registration, stream })
    }
}

/// Connects to `addr` without blocking: starts the connect, then waits for writability.
pub(crate) async fn connect(reactor: &Arc<Reactor>, addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::from_mio(reactor, mio::net::TcpStream::connect(addr)?)?;
    loop {
        let event = std::future::poll_fn(|cx| stream.registration.io().poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = stream.stream.take_error()? {
            return Err(e);
        }
        match stream.stream.peer_addr() {
            Ok(_) => return Ok(stream),
            // Writable before the handshake finished: wait for the next event.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => stream.registration.io().clear(event),
            Err(e) => return Err(e),
        }
    }
}

impl runtime_raw::net::TcpStream for TcpStream {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        poll_io(&self.registration, cx, Direction::Read, || (&self.stream).read(buf))
    }

    fn poll_read_vectored(&self, cx: &mut Context<'_>, bufs: &mut [IoSliceMut<'_>]) -> Poll<io::Result<usize>> {
        poll_io(&self.registration, cx, Direction::Read, || (&self.stream).read_vectored(bufs))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        poll_io(&self.registration, cx, Direction::Write, || (&self.stream).write(buf))
    }

    fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        poll_io(&self.registration, cx, Direction::Write, || (&self.stream).write_vectored(bufs))
    }
}

#[derive(Debug)]
pub(crate) struct TcpListener {
    registration: Registration,
    reactor: Arc<Reactor>,
    listener: mio::net::TcpListener,
}

socket_object!(TcpListener, mio::net::TcpListener, listener);

impl TcpListener {
    pub(crate) fn new(reactor: &Arc<Reactor>, listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        let mut listener = mio::net::TcpListener::from_std(listener);
        let registration = reactor.register(&mut listener, Interest::READABLE)?;
        Ok(TcpListener { registration, reactor: reactor.clone(), listener })
    }
}

impl runtime_raw::net::TcpListener for TcpListener {
    fn accept(&self) -> Accept<'_> {
        Box::pin(async move {
            let (stream, peer) = Keyed::new(self.registration.io(), Direction::Read, || self.listener.accept()).await?;
            let stream = TcpStream::from_mio(&self.reactor, stream)?;
            Ok((Box::new(stream) as Box<dyn runtime_raw::net::TcpStream>, peer))
        })
    }
}

#[derive(Debug)]
pub(crate) struct UdpSocket {
    registration: Registration,
    socket: mio::net::UdpSocket,
}

socket_object!(UdpSocket, mio::net::UdpSocket, socket);

impl UdpSocket {
    pub(crate) fn new(reactor: &Arc<Reactor>, socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        let mut socket = mio::net::UdpSocket::from_std(socket);
        let registration = reactor.register(&mut socket, Interest::READABLE | Interest::WRITABLE)?;
        Ok(UdpSocket { registration, socket })
    }

    fn io(&self) -> &ScheduledIo {
        self.registration.io()
    }
}

impl runtime_raw::net::UdpSocket for UdpSocket {
    fn send_to<'a>(&'a self, buf: &'a [u8], addr: SocketAddr) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(Keyed::new(self.io(), Direction::Write, move || self.socket.send_to(buf, addr)))
    }

    fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        Box::pin(Keyed::new(self.io(), Direction::Read, move || self.socket.recv_from(buf)))
    }

    fn peek_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        Box::pin(Keyed::new(self.io(), Direction::Read, move || self.socket.peek_from(buf)))
    }

    fn send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(Keyed::new(self.io(), Direction::Write, move || self.socket.send(buf)))
    }

    fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(Keyed::new(self.io(), Direction::Read, move || self.socket.recv(buf)))
    }
}
