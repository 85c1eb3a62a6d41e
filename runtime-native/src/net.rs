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

use crate::reactor::{Direction, Reactor, ReadyEvent, Registration, ScheduledIo};

/// Runs `op` on a readiness `event`: `None` when it would block after all, with the event's
/// readiness cleared so that the next wait is a real one.
fn attempt<T>(io: &ScheduledIo, event: ReadyEvent, op: impl FnOnce() -> io::Result<T>) -> Option<io::Result<T>> {
    match op() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            io.clear(event);
            None
        }
        result => Some(result),
    }
}

/// Attempts of one operation in one poll before it yields (wakes its task and returns
/// `Pending`). A `WouldBlock` clears the readiness it acted on, so the second attempt normally
/// waits for a new event; a source that keeps reporting readiness without data (a state the
/// reactor does not clear) must still not spin a worker inside one poll, where neither the
/// task's timeouts nor the instance's shutdown can reach it.
const ATTEMPTS_PER_POLL: usize = 32;

/// Wakes the task and returns `Pending`: the retry loop ran out of attempts for this poll.
fn yield_retry<T>(cx: &mut Context<'_>) -> Poll<T> {
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// Runs `op` until it stops returning `WouldBlock`, waiting in the reader or writer slot.
fn poll_io<T>(
    registration: &Registration,
    cx: &mut Context<'_>,
    direction: Direction,
    mut op: impl FnMut() -> io::Result<T>,
) -> Poll<io::Result<T>> {
    ready!(crate::coop::poll_proceed(cx));
    for _ in 0..ATTEMPTS_PER_POLL {
        let event = ready!(registration.io().poll_ready(cx, direction))?;
        if let Some(result) = attempt(registration.io(), event, &mut op) {
            return Poll::Ready(result);
        }
    }
    yield_retry(cx)
}

/// The fast path of a shared object's operation (see `poll_try_recv` in runtime-raw): runs `op`
/// once if the cached readiness allows, never registering a waiter. `Ready(None)`: it would
/// block, and the caller falls back to the waiting form.
fn try_now<T>(
    io: &ScheduledIo,
    cx: &mut Context<'_>,
    direction: Direction,
    op: impl FnOnce() -> io::Result<T>,
) -> Poll<Option<io::Result<T>>> {
    ready!(crate::coop::poll_proceed(cx));
    match io.ready(direction) {
        None => Poll::Ready(None),
        Some(Err(e)) => Poll::Ready(Some(Err(e))),
        Some(Ok(event)) => Poll::Ready(attempt(io, event, op)),
    }
}

/// A `try_*` operation: runs `op` once if the cached readiness allows, never registering a
/// waiter and spending no poll budget (it is not a poll); `WouldBlock` when it would have to wait,
/// with the readiness it acted on cleared so that the next wait is for a fresh event.
fn try_sync<T>(io: &ScheduledIo, direction: Direction, op: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let event = io.ready(direction).ok_or(io::ErrorKind::WouldBlock)??;
    attempt(io, event, op).unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()))
}

/// Waits, as one of many waiters, for `direction`'s readiness (which includes closed and
/// error), clearing nothing: the `try_*` that follows does that if it finds nothing.
fn wait_ready(io: &ScheduledIo, direction: runtime_raw::net::Direction) -> BoxFuture<'_, io::Result<()>> {
    let direction = match direction {
        runtime_raw::net::Direction::Read => Direction::Read,
        runtime_raw::net::Direction::Write => Direction::Write,
    };
    Box::pin(Keyed::new(io, direction, || Ok(())))
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
        for _ in 0..ATTEMPTS_PER_POLL {
            let event = match ready!(this.io.poll_ready_keyed(cx, this.direction, &mut this.key)) {
                Ok(event) => event,
                Err(e) => {
                    this.io.forget(&mut this.key);
                    return Poll::Ready(Err(e));
                }
            };
            if let Some(result) = attempt(this.io, event, &mut this.op) {
                this.io.forget(&mut this.key);
                return Poll::Ready(result);
            }
        }
        yield_retry(cx)
    }
}

impl<F> Drop for Keyed<'_, F> {
    fn drop(&mut self) {
        self.io.forget(&mut self.key);
    }
}

/// A mio source registered with the reactor; deregistered before its descriptor closes.
#[derive(Debug)]
struct Registered<S: mio::event::Source> {
    registration: Registration,
    /// Always `Some` until `into_inner` takes it.
    source: Option<S>,
}

impl<S: mio::event::Source> Registered<S> {
    fn new(reactor: &Arc<Reactor>, mut source: S, interest: Interest) -> io::Result<Registered<S>> {
        let registration = reactor.register(&mut source, interest)?;
        Ok(Registered { registration, source: Some(source) })
    }

    fn get(&self) -> &S {
        self.source.as_ref().expect("taken only by into_inner, which consumes the object")
    }

    fn io(&self) -> &ScheduledIo {
        self.registration.io()
    }

    /// Deregisters the source and hands it back.
    fn into_inner(mut self) -> S {
        let mut source = self.source.take().expect("taken once");
        self.registration.deregister(&mut source);
        source
    }
}

impl<S: mio::event::Source> Drop for Registered<S> {
    fn drop(&mut self) {
        // Before the descriptor closes, so that it cannot be reused under our token.
        if let Some(source) = &mut self.source {
            self.registration.deregister(source);
        }
    }
}

macro_rules! as_socket {
    ($($name:ident),*) => {$(
        impl AsSocket for $name {
            #[cfg(unix)]
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.inner.get())
            }

            #[cfg(windows)]
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                std::os::windows::io::AsSocket::as_socket(self.inner.get())
            }
        }
    )*};
}

/// A byte stream's reads and writes (TCP or Unix).
macro_rules! stream_io {
    ($($name:ident),*) => {$(
        impl runtime_raw::net::Stream for $name {
            fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                poll_io(&self.inner.registration, cx, Direction::Read, || (&*self.inner.get()).read(buf))
            }

            fn poll_read_vectored(&self, cx: &mut Context<'_>, bufs: &mut [IoSliceMut<'_>]) -> Poll<io::Result<usize>> {
                poll_io(&self.inner.registration, cx, Direction::Read, || (&*self.inner.get()).read_vectored(bufs))
            }

            fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                poll_io(&self.inner.registration, cx, Direction::Write, || (&*self.inner.get()).write(buf))
            }

            fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
                poll_io(&self.inner.registration, cx, Direction::Write, || (&*self.inner.get()).write_vectored(bufs))
            }

            fn ready(&self, direction: runtime_raw::net::Direction) -> BoxFuture<'_, io::Result<()>> {
                crate::net::wait_ready(self.inner.io(), direction)
            }

            fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                crate::net::try_sync(self.inner.io(), Direction::Read, || (&*self.inner.get()).read(buf))
            }

            fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                crate::net::try_sync(self.inner.io(), Direction::Write, || (&*self.inner.get()).write(buf))
            }
        }
    )*};
}

#[derive(Debug)]
pub(crate) struct TcpStream {
    inner: Registered<mio::net::TcpStream>,
}

impl TcpStream {
    pub(crate) fn from_std(reactor: &Arc<Reactor>, stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(reactor, mio::net::TcpStream::from_std(stream))
    }

    fn from_mio(reactor: &Arc<Reactor>, stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream { inner: Registered::new(reactor, stream, Interest::READABLE | Interest::WRITABLE)? })
    }
}

/// Connects to `addr` without blocking: starts the connect, then waits for writability.
pub(crate) async fn connect(reactor: &Arc<Reactor>, addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::from_mio(reactor, mio::net::TcpStream::connect(addr)?)?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        if attempts % ATTEMPTS_PER_POLL == 0 {
            let mut yielded = false;
            std::future::poll_fn(
                |cx| if std::mem::replace(&mut yielded, true) { Poll::Ready(()) } else { yield_retry(cx) },
            )
            .await;
        }
        let event = std::future::poll_fn(|cx| stream.inner.io().poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = stream.inner.get().take_error()? {
            return Err(e);
        }
        match stream.inner.get().peer_addr() {
            Ok(_) => return Ok(stream),
            // Writable before the handshake finished: wait for the next event.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => stream.inner.io().clear(event),
            Err(e) => return Err(e),
        }
    }
}

as_socket!(TcpStream, TcpListener, UdpSocket);
stream_io!(TcpStream);

impl runtime_raw::net::TcpStream for TcpStream {
    fn into_std(self: Box<Self>) -> io::Result<std::net::TcpStream> {
        Ok(std::net::TcpStream::from(std::os::fd::OwnedFd::from(self.inner.into_inner())))
    }

    fn peek<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(Keyed::new(self.inner.io(), Direction::Read, move || self.inner.get().peek(buf)))
    }
}

#[derive(Debug)]
pub(crate) struct TcpListener {
    inner: Registered<mio::net::TcpListener>,
    reactor: Arc<Reactor>,
}

impl TcpListener {
    pub(crate) fn new(reactor: &Arc<Reactor>, listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        let listener = mio::net::TcpListener::from_std(listener);
        Ok(TcpListener { inner: Registered::new(reactor, listener, Interest::READABLE)?, reactor: reactor.clone() })
    }
}

impl runtime_raw::net::TcpListener for TcpListener {
    fn accept(&self) -> Accept<'_> {
        Box::pin(async move {
            let (stream, peer) = Keyed::new(self.inner.io(), Direction::Read, || self.inner.get().accept()).await?;
            let stream = TcpStream::from_mio(&self.reactor, stream)?;
            Ok((Box::new(stream) as Box<dyn runtime_raw::net::TcpStream>, peer))
        })
    }

    fn into_std(self: Box<Self>) -> io::Result<std::net::TcpListener> {
        Ok(std::net::TcpListener::from(std::os::fd::OwnedFd::from(self.inner.into_inner())))
    }
}

#[derive(Debug)]
pub(crate) struct UdpSocket {
    inner: Registered<mio::net::UdpSocket>,
}

impl UdpSocket {
    pub(crate) fn new(reactor: &Arc<Reactor>, socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        let socket = mio::net::UdpSocket::from_std(socket);
        Ok(UdpSocket { inner: Registered::new(reactor, socket, Interest::READABLE | Interest::WRITABLE)? })
    }
}

impl runtime_raw::net::UdpSocket for UdpSocket {
    fn send_to<'a>(&'a self, buf: &'a [u8], addr: SocketAddr) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(Keyed::new(self.inner.io(), Direction::Write, move || self.inner.get().send_to(buf, addr)))
    }

    fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        Box::pin(Keyed::new(self.inner.io(), Direction::Read, move || self.inner.get().recv_from(buf)))
    }

    fn peek_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        Box::pin(Keyed::new(self.inner.io(), Direction::Read, move || self.inner.get().peek_from(buf)))
    }

    fn send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(Keyed::new(self.inner.io(), Direction::Write, move || self.inner.get().send(buf)))
    }

    fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(Keyed::new(self.inner.io(), Direction::Read, move || self.inner.get().recv(buf)))
    }

    fn poll_try_send_to(&self, cx: &mut Context<'_>, buf: &[u8], addr: SocketAddr) -> Poll<Option<io::Result<usize>>> {
        try_now(self.inner.io(), cx, Direction::Write, || self.inner.get().send_to(buf, addr))
    }

    fn poll_try_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Option<io::Result<(usize, SocketAddr)>>> {
        try_now(self.inner.io(), cx, Direction::Read, || self.inner.get().recv_from(buf))
    }

    fn poll_try_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Option<io::Result<usize>>> {
        try_now(self.inner.io(), cx, Direction::Write, || self.inner.get().send(buf))
    }

    fn poll_try_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Option<io::Result<usize>>> {
        try_now(self.inner.io(), cx, Direction::Read, || self.inner.get().recv(buf))
    }

    fn ready(&self, direction: runtime_raw::net::Direction) -> BoxFuture<'_, io::Result<()>> {
        wait_ready(self.inner.io(), direction)
    }

    fn try_send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        try_sync(self.inner.io(), Direction::Write, || self.inner.get().send_to(buf, addr))
    }

    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        try_sync(self.inner.io(), Direction::Read, || self.inner.get().recv_from(buf))
    }

    fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        try_sync(self.inner.io(), Direction::Write, || self.inner.get().send(buf))
    }

    fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        try_sync(self.inner.io(), Direction::Read, || self.inner.get().recv(buf))
    }

    fn into_std(self: Box<Self>) -> io::Result<std::net::UdpSocket> {
        Ok(std::net::UdpSocket::from(std::os::fd::OwnedFd::from(self.inner.into_inner())))
    }
}

/// Unix domain sockets.
#[cfg(unix)]
pub(crate) mod unix {
    use std::io::{self, IoSlice, IoSliceMut, Read, Write};
    use std::os::fd::OwnedFd;
    use std::os::unix::net::SocketAddr;
    use std::path::Path;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use mio::Interest;
    use runtime_raw::BoxFuture;
    use runtime_raw::net::AsSocket;
    use runtime_raw::net::unix::Accept;

    use super::{Keyed, Registered, poll_io, try_now, try_sync, wait_ready};
    use crate::reactor::{Direction, Reactor};

    #[derive(Debug)]
    pub(crate) struct UnixStream {
        inner: Registered<mio::net::UnixStream>,
    }

    impl UnixStream {
        pub(crate) fn new(reactor: &Arc<Reactor>, stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
            stream.set_nonblocking(true)?;
            let stream = mio::net::UnixStream::from_std(stream);
            Ok(UnixStream { inner: Registered::new(reactor, stream, Interest::READABLE | Interest::WRITABLE)? })
        }
    }

    #[derive(Debug)]
    pub(crate) struct UnixListener {
        inner: Registered<mio::net::UnixListener>,
        reactor: Arc<Reactor>,
    }

    impl UnixListener {
        pub(crate) fn new(
            reactor: &Arc<Reactor>,
            listener: std::os::unix::net::UnixListener,
        ) -> io::Result<UnixListener> {
            listener.set_nonblocking(true)?;
            let listener = mio::net::UnixListener::from_std(listener);
            Ok(UnixListener {
                inner: Registered::new(reactor, listener, Interest::READABLE)?,
                reactor: reactor.clone(),
            })
        }
    }

    #[derive(Debug)]
    pub(crate) struct UnixDatagram {
        inner: Registered<mio::net::UnixDatagram>,
    }

    impl UnixDatagram {
        pub(crate) fn new(
            reactor: &Arc<Reactor>,
            socket: std::os::unix::net::UnixDatagram,
        ) -> io::Result<UnixDatagram> {
            socket.set_nonblocking(true)?;
            let socket = mio::net::UnixDatagram::from_std(socket);
            Ok(UnixDatagram { inner: Registered::new(reactor, socket, Interest::READABLE | Interest::WRITABLE)? })
        }
    }

    as_socket!(UnixStream, UnixListener, UnixDatagram);
    stream_io!(UnixStream);

    impl runtime_raw::net::unix::UnixStream for UnixStream {
        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.inner.get().local_addr()
        }

        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.inner.get().peer_addr()
        }

        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixStream> {
            Ok(OwnedFd::from(self.inner.into_inner()).into())
        }
    }

    impl runtime_raw::net::unix::UnixListener for UnixListener {
        fn accept(&self) -> Accept<'_> {
            Box::pin(async move {
                let (stream, peer) = Keyed::new(self.inner.io(), Direction::Read, || self.inner.get().accept()).await?;
                let stream = UnixStream {
                    inner: Registered::new(&self.reactor, stream, Interest::READABLE | Interest::WRITABLE)?,
                };
                Ok((Box::new(stream) as Box<dyn runtime_raw::net::unix::UnixStream>, peer))
            })
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.inner.get().local_addr()
        }

        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixListener> {
            Ok(OwnedFd::from(self.inner.into_inner()).into())
        }
    }

    impl runtime_raw::net::unix::UnixDatagram for UnixDatagram {
        fn send_to<'a>(&'a self, buf: &'a [u8], path: &'a Path) -> BoxFuture<'a, io::Result<usize>> {
            Box::pin(async move {
                // socket2 reads a leading '\0' as a Linux abstract name; std and mio refuse it.
                let addr = socket2::SockAddr::unix(path)?;
                let socket = socket2::SockRef::from(self.inner.get());
                Keyed::new(self.inner.io(), Direction::Write, || socket.send_to(buf, &addr)).await
            })
        }

        fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
            Box::pin(Keyed::new(self.inner.io(), Direction::Read, move || self.inner.get().recv_from(buf)))
        }

        fn send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>> {
            Box::pin(Keyed::new(self.inner.io(), Direction::Write, move || self.inner.get().send(buf)))
        }

        fn recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
            Box::pin(Keyed::new(self.inner.io(), Direction::Read, move || self.inner.get().recv(buf)))
        }

        fn poll_try_recv_from(
            &self,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<Option<io::Result<(usize, SocketAddr)>>> {
            try_now(self.inner.io(), cx, Direction::Read, || self.inner.get().recv_from(buf))
        }

        fn poll_try_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Option<io::Result<usize>>> {
            try_now(self.inner.io(), cx, Direction::Write, || self.inner.get().send(buf))
        }

        fn poll_try_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<Option<io::Result<usize>>> {
            try_now(self.inner.io(), cx, Direction::Read, || self.inner.get().recv(buf))
        }

        fn ready(&self, direction: runtime_raw::net::Direction) -> BoxFuture<'_, io::Result<()>> {
            wait_ready(self.inner.io(), direction)
        }

        fn try_send_to(&self, buf: &[u8], path: &Path) -> io::Result<usize> {
            // As in `send_to`: socket2 reads a leading '\0' as a Linux abstract name.
            let addr = socket2::SockAddr::unix(path)?;
            let socket = socket2::SockRef::from(self.inner.get());
            try_sync(self.inner.io(), Direction::Write, || socket.send_to(buf, &addr))
        }

        fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
            try_sync(self.inner.io(), Direction::Read, || self.inner.get().recv_from(buf))
        }

        fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
            try_sync(self.inner.io(), Direction::Write, || self.inner.get().send(buf))
        }

        fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
            try_sync(self.inner.io(), Direction::Read, || self.inner.get().recv(buf))
        }

        fn local_addr(&self) -> io::Result<SocketAddr> {
            self.inner.get().local_addr()
        }

        fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.inner.get().peer_addr()
        }

        fn into_std(self: Box<Self>) -> io::Result<std::os::unix::net::UnixDatagram> {
            Ok(OwnedFd::from(self.inner.into_inner()).into())
        }
    }
}
