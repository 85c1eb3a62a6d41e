//! `TcpSocket`, a TCP socket configured before it listens or connects, and the TCP options that
//! apply once it does (TTL, linger).

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::addr::with_addr;
use super::socket::with_socket;
use super::{TcpListener, TcpStream};

/// Wake-ups a connect may see before the handshake ends. Each normally means the handshake
/// finished (or failed); a spurious one is cleared and waited out, and this bounds how many.
const CONNECT_WAKEUPS: usize = 64;

/// The error after [`CONNECT_WAKEUPS`] wake-ups without an outcome.
const CONNECT_UNSETTLED: &str = "the socket kept reporting readiness without finishing the TCP handshake";

/// A TCP socket not yet listening or connected, for setting options first: a backlog,
/// `SO_REUSEPORT` for one listener per core, buffer sizes, keepalive, linger.
///
/// Made without a runtime; [`listen`](Self::listen) and [`connect`](Self::connect) hand it to
/// the running one.
///
/// # Examples
/// ```
/// use runtime::net::{TcpSocket, TcpStream};
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let socket = TcpSocket::new_v4()?;
///     socket.set_reuseaddr(true)?;
///     socket.bind("127.0.0.1:0".parse().unwrap())?;
///     let listener = socket.listen(1024)?;
///     let client = TcpSocket::new_v4()?.connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     assert_eq!(server.peer_addr()?, client.local_addr()?);
///     Ok(())
/// }
/// ```
pub struct TcpSocket {
    socket: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket, non-blocking and close-on-exec.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's, for example when the process is out of descriptors.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket, non-blocking and close-on-exec.
    ///
    /// # Examples
    /// ```
    /// // A host without IPv6 refuses the socket itself.
    /// if let Ok(socket) = runtime::net::TcpSocket::new_v6() {
    ///     socket.set_reuseaddr(true)?;
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's, for example on a host without IPv6, or when the process is out of descriptors.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        Ok(TcpSocket { socket })
    }

    /// Sets `SO_REUSEADDR`: bind to a port whose old connections are still in `TIME_WAIT`.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_reuseaddr(true)?;
    /// assert!(socket.reuseaddr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.socket.set_reuse_address(reuseaddr)
    }

    /// Whether `SO_REUSEADDR` is set.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_reuseaddr(false)?;
    /// assert!(!socket.reuseaddr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.socket.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets, each with it set, may bind the same address and
    /// port; on Linux the kernel spreads incoming connections across such listeners.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_reuseport(true)?;
    /// assert!(socket.reuseport()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    #[cfg(unix)]
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.socket.set_reuse_port(reuseport)
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// assert!(!socket.reuseport()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    #[cfg(unix)]
    pub fn reuseport(&self) -> io::Result<bool> {
        self.socket.reuse_port()
    }

    /// Sets `SO_KEEPALIVE`: probe an idle connection, with the OS's timings.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_keepalive(true)?;
    /// assert!(socket.keepalive()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.socket.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// assert!(!socket.keepalive()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.socket.keepalive()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`); a connected stream keeps it.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_nodelay(true)?;
    /// assert!(socket.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.socket.set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// assert!(!socket.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.socket.tcp_nodelay()
    }

    /// Sets `SO_SNDBUF`, the kernel's send buffer size in bytes (the OS may round it, and Linux
    /// doubles it for its own bookkeeping).
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_send_buffer_size(64 * 1024)?;
    /// assert!(socket.send_buffer_size()? >= 64 * 1024);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.socket.set_send_buffer_size(to_usize(size))
    }

    /// The send buffer size the OS reports (on Linux, twice what was set).
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// assert!(socket.send_buffer_size()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.socket.send_buffer_size().map(to_u32)
    }

    /// Sets `SO_RCVBUF`, the kernel's receive buffer size in bytes (the OS may round it, and
    /// Linux doubles it for its own bookkeeping).
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_recv_buffer_size(64 * 1024)?;
    /// assert!(socket.recv_buffer_size()? >= 64 * 1024);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.socket.set_recv_buffer_size(to_usize(size))
    }

    /// The receive buffer size the OS reports (on Linux, twice what was set).
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// assert!(socket.recv_buffer_size()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.socket.recv_buffer_size().map(to_u32)
    }

    /// Sets `SO_LINGER`: what closing the socket does with data not yet sent.
    ///
    /// `None` (the default): close returns at once and the OS sends what is queued in the
    /// background. `Some(Duration::ZERO)`: close discards it and resets the connection.
    /// `Some(d)` with `d` non-zero: **dropping the socket (or the stream or listener made from
    /// it) blocks the dropping thread** until the data is sent or `d` passed (the OS's
    /// behaviour) — a runtime worker, if dropped in a task.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_linger(Some(Duration::ZERO))?;
    /// assert_eq!(socket.linger()?, Some(Duration::ZERO));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.socket.set_linger(linger)
    }

    /// The `SO_LINGER` setting (see [`set_linger`](Self::set_linger)).
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// assert_eq!(socket.linger()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.socket.linger()
    }

    /// Binds the socket to `addr` (port 0: a free port; [`local_addr`](Self::local_addr) tells
    /// which).
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// assert_ne!(socket.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's (for example `AddrInUse`), naming the address.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.socket.bind(&addr.into()).map_err(|e| with_addr(e, "could not bind", &addr))
    }

    /// The address the socket is bound to.
    ///
    /// # Examples
    /// ```
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// assert!(socket.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The OS's; `InvalidInput` when the socket has no IP address (never bound, on some systems).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket address"))
    }

    /// Starts listening, with up to `backlog` connections queued before `accept` takes them
    /// (the kernel caps it at `net.core.somaxconn`), on the running runtime. An unbound socket
    /// listens on a port the OS picks.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// let listener = socket.listen(128)?;
    /// assert!(listener.local_addr()?.port() != 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's (for example `AddrInUse` when another socket listens on the port without
    /// `SO_REUSEPORT`), or the backend's if it cannot register the socket.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let instance = crate::instance("TcpSocket::listen");
        self.socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        Ok(TcpListener { inner: instance.tcp_listener(self.socket.into())? })
    }

    /// Connects to `addr` with the options set on this socket.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let socket = runtime::net::TcpSocket::new_v4()?;
    /// socket.set_nodelay(true)?;
    /// let stream = socket.connect(listener.local_addr()?).await?;
    /// assert!(stream.nodelay()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's (for example `ConnectionRefused`), naming the address.
    ///
    /// # Panics
    /// When polled with no runtime running on the thread.
    ///
    /// # Cancel safety
    /// Dropping the future closes the socket, abandoning the handshake.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let instance = crate::instance("TcpSocket::connect");
        match self.socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if in_progress(&e) => {}
            Err(e) => return Err(with_addr(e, "could not connect to", &addr)),
        }
        let stream = TcpStream::from_raw(instance.tcp_stream(self.socket.into())?);
        finish_connect(&stream).await.map_err(|e| with_addr(e, "could not connect to", &addr))?;
        Ok(stream)
    }
}

/// Waits for the handshake a non-blocking `connect` started to end.
async fn finish_connect(stream: &TcpStream) -> io::Result<()> {
    for _ in 0..CONNECT_WAKEUPS {
        stream.writable().await?;
        if let Some(e) = with_socket(&*stream.inner, |s| s.take_error())? {
            return Err(e);
        }
        match stream.peer_addr() {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                // Woken before the handshake ended: an empty write still waits for it, so its
                // `WouldBlock` clears the readiness and the next `writable` waits for a new event.
                match stream.try_write(&[]) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                    Ok(_) => return Ok(()),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::TimedOut, CONNECT_UNSETTLED))
}

/// Whether a non-blocking `connect` failed only because the handshake has not finished.
fn in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    e.kind() == io::ErrorKind::WouldBlock
}

fn to_usize(size: u32) -> usize {
    usize::try_from(size).unwrap_or(usize::MAX)
}

fn to_u32(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpSocket");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.finish_non_exhaustive()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsSocket for TcpSocket {
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        self.socket.as_socket()
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsRawSocket for TcpSocket {
    fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
        self.socket.as_raw_socket()
    }
}

impl TcpListener {
    /// Sets the IPv4 time-to-live (`IP_TTL`) of the connections this listener accepts.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// listener.set_ttl(42)?;
    /// assert_eq!(listener.ttl()?, 42);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.set_ttl_v4(ttl))
    }

    /// The `IP_TTL` setting.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(listener.ttl()? > 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn ttl(&self) -> io::Result<u32> {
        with_socket(&*self.inner, |s| s.ttl_v4())
    }
}

impl TcpStream {
    /// Reads into `buf` without taking the data from the socket: the next read sees it again.
    /// Waits until there is some; `Ok(0)` at end of stream.
    ///
    /// Any number of tasks may await `peek` on one stream at once.
    ///
    /// # Examples
    /// ```
    /// use futures::prelude::*;
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let (mut server, _) = listener.accept().await?;
    /// client.write_all(b"GET /").await?;
    /// let mut buf = [0; 3];
    /// let n = server.peek(&mut buf).await?;
    /// assert_eq!(&buf[..n], &b"GET"[..n]);
    /// server.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"GET");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, and an error saying so once the stream's runtime instance has stopped.
    ///
    /// # Cancel safety
    /// Dropping the future takes nothing from the socket.
    pub fn peek<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        self.inner.peek(buf)
    }

    /// Sets `SO_LINGER` (see [`TcpSocket::set_linger`]): with a non-zero duration, **dropping
    /// the stream blocks the dropping thread** until the data queued is sent or the duration
    /// passed (the OS's behaviour); `Some(Duration::ZERO)` resets the connection on drop.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// stream.set_linger(Some(std::time::Duration::ZERO))?;
    /// assert_eq!(stream.linger()?, Some(std::time::Duration::ZERO));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.set_linger(linger))
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.linger()?, None);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        with_socket(&*self.inner, |s| s.linger())
    }

    /// Sets the IPv4 time-to-live (`IP_TTL`) of the packets this stream sends.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// stream.set_ttl(42)?;
    /// assert_eq!(stream.ttl()?, 42);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.set_ttl_v4(ttl))
    }

    /// The `IP_TTL` setting.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// assert!(stream.ttl()? > 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn ttl(&self) -> io::Result<u32> {
        with_socket(&*self.inner, |s| s.ttl_v4())
    }
}
