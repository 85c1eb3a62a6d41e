//! Unix domain sockets: listeners, streams and datagram sockets.
//!
//! They mirror the TCP and UDP types. Addresses are paths; on Linux a path whose first byte is
//! `'\0'` names an *abstract* socket, which lives in no file system and disappears with its
//! last descriptor. A path socket's file is created by `bind` and stays after the socket is
//! dropped, as with std: whoever binds it removes it (`std::fs::remove_file`), and binding a
//! path that exists fails with `AddrInUse`.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use socket2::{Domain, SockAddr, Socket, Type};

use super::socket::{impl_fd, with_socket};
use crate::raw;

/// Connections a listener queues before `accept` takes them (capped by `net.core.somaxconn`).
const LISTEN_BACKLOG: i32 = 1024;

/// Adds the path to an error's message, keeping its kind.
fn with_path(err: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{what} {path:?}: {err}"))
}

/// The socket address of `path`; a leading `'\0'` is a Linux abstract name (socket2 reads it
/// so, where std refuses it).
fn sock_addr(path: &Path, what: &str) -> io::Result<SockAddr> {
    SockAddr::unix(path).map_err(|e| with_path(e, what, path))
}

/// A Unix socket listening for connections.
///
/// # Examples
/// ```
/// use futures::prelude::*;
/// use runtime::net::unix::{UnixListener, UnixStream};
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let path = std::env::temp_dir().join(format!("runtime-doc-{}.sock", std::process::id()));
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     std::fs::remove_file(&path)?;
///     Ok(())
/// }
/// ```
pub struct UnixListener {
    inner: Box<dyn raw::net::unix::UnixListener>,
}

impl UnixListener {
    /// Binds a listener to `path` (creating the socket file, or an abstract name on Linux).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = runtime::net::unix::UnixListener::bind(&path)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the path: `AddrInUse` when the path exists.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let instance = crate::instance("UnixListener::bind");
        let path = path.as_ref();
        let addr = sock_addr(path, "could not bind")?;
        let bound = Socket::new(Domain::UNIX, Type::STREAM, None).and_then(|socket| {
            socket.set_nonblocking(true)?;
            socket.bind(&addr)?;
            socket.listen(LISTEN_BACKLOG)?;
            Ok(std::os::unix::net::UnixListener::from(OwnedFd::from(socket)))
        });
        let listener = bound.map_err(|e| with_path(e, "could not bind", path))?;
        Ok(UnixListener { inner: instance.unix_listener(listener)? })
    }

    /// Wraps a listener made elsewhere; a blocking one is switched to non-blocking.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = std::os::unix::net::UnixListener::bind(&path)?;
    /// let listener = runtime::net::unix::UnixListener::from_std(listener)?;
    /// assert!(listener.local_addr().is_ok());
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, or the backend's if it cannot register the socket.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        let instance = crate::instance("UnixListener::from_std");
        listener.set_nonblocking(true)?;
        Ok(UnixListener { inner: instance.unix_listener(listener)? })
    }

    /// Gives the socket back as a std listener, left in non-blocking mode.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = runtime::net::unix::UnixListener::bind(&path)?;
    /// let listener: std::os::unix::net::UnixListener = listener.into_std()?;
    /// assert!(listener.local_addr().is_ok());
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The backend's, if it cannot deregister the socket.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        self.inner.into_std()
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = runtime::net::unix::UnixListener::bind(&path)?;
    /// println!("listening on {:?}", listener.local_addr()?);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Waits for a connection. Any number of tasks may await it at once.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = runtime::net::unix::UnixListener::bind(&path)?;
    /// let client = runtime::spawn(runtime::net::unix::UnixStream::connect(path.clone()));
    /// let (_stream, _peer) = listener.accept().await?;
    /// client.await?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's; the listener stays usable.
    ///
    /// # Cancel safety
    /// Dropping the future before it resolves loses no connection.
    pub fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, SocketAddr)>> + Send + '_ {
        let accept = self.inner.accept();
        async move {
            let (inner, peer) = accept.await?;
            Ok((UnixStream::from_raw(inner), peer))
        }
    }

    /// A never-ending stream of accepted connections.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// use futures::StreamExt;
    /// let listener = runtime::net::unix::UnixListener::bind(&path)?;
    /// let _client = runtime::net::unix::UnixStream::connect(&path).await?;
    /// let stream = listener.incoming().next().await.expect("never ends")?;
    /// assert!(stream.peer_addr().is_ok());
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self, accept: None }
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixListener");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.finish_non_exhaustive()
    }
}

/// The stream returned by [`UnixListener::incoming`].
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
/// # let _ = std::fs::remove_file(&path);
/// let listener = runtime::net::unix::UnixListener::bind(&path)?;
/// let incoming: runtime::net::unix::Incoming<'_> = listener.incoming();
/// drop(incoming);
/// # std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
    accept: Option<raw::net::unix::Accept<'a>>,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let listener = self.listener;
        let accept = self.accept.get_or_insert_with(|| listener.inner.accept());
        let result = futures::ready!(accept.as_mut().poll(cx));
        self.accept = None;
        Poll::Ready(Some(result.map(|(inner, _)| UnixStream::from_raw(inner))))
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming").field("listener", self.listener).finish()
    }
}

/// A connected Unix stream, with futures-io's `AsyncRead`/`AsyncWrite` on it and on
/// `&UnixStream`.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// use futures::prelude::*;
/// let (mut a, mut b) = runtime::net::unix::UnixStream::pair()?;
/// a.write_all(b"ping").await?;
/// let mut buf = [0; 4];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// # Ok(())
/// # }
/// ```
pub struct UnixStream {
    pub(super) inner: Box<dyn raw::net::unix::UnixStream>,
    /// What a read through Tokio's traits zeroes and offers (feature `tokio-io`).
    #[cfg(feature = "tokio-io")]
    read_window: super::socket::ReadWindow,
}

impl UnixStream {
    /// Wraps a backend's stream.
    pub(super) fn from_raw(inner: Box<dyn raw::net::unix::UnixStream>) -> UnixStream {
        UnixStream {
            inner,
            #[cfg(feature = "tokio-io")]
            read_window: super::socket::ReadWindow::new(),
        }
    }

    /// Connects to the socket at `path` (a leading `'\0'`: a Linux abstract name).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = runtime::net::unix::UnixListener::bind(&path)?;
    /// let stream = runtime::net::unix::UnixStream::connect(&path).await?;
    /// assert_eq!(stream.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// # drop(listener);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the path: `NotFound` when nothing is there, `ConnectionRefused` when
    /// nothing listens.
    ///
    /// # Panics
    /// When polled with no runtime running on the thread.
    pub fn connect(path: impl AsRef<Path>) -> impl Future<Output = io::Result<UnixStream>> + Send {
        let path = path.as_ref().to_owned();
        async move {
            let instance = crate::instance("UnixStream::connect");
            let addr = sock_addr(&path, "could not connect to")?;
            // A Unix connect completes (or fails) at once: nothing to wait for.
            let connected = Socket::new(Domain::UNIX, Type::STREAM, None).and_then(|socket| {
                socket.set_nonblocking(true)?;
                socket.connect(&addr)?;
                Ok(std::os::unix::net::UnixStream::from(OwnedFd::from(socket)))
            });
            let stream = connected.map_err(|e| with_path(e, "could not connect to", &path))?;
            Ok(UnixStream::from_raw(instance.unix_stream(stream)?))
        }
    }

    /// A pair of connected streams.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, b) = runtime::net::unix::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed() && b.local_addr()?.is_unnamed());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a stream made elsewhere; a blocking one is switched to non-blocking.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = runtime::net::unix::UnixStream::from_std(a)?;
    /// assert!(a.local_addr().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, or the backend's if it cannot register the socket.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        let instance = crate::instance("UnixStream::from_std");
        stream.set_nonblocking(true)?;
        Ok(UnixStream::from_raw(instance.unix_stream(stream)?))
    }

    /// Gives the socket back as a std stream, left in non-blocking mode.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
    /// let a: std::os::unix::net::UnixStream = a.into_std()?;
    /// assert!(a.local_addr().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The backend's, if it cannot deregister the socket.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.inner.into_std()
    }

    /// This end's address.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The peer's address.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::prelude::*;
    /// let (a, mut b) = runtime::net::unix::UnixStream::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// assert_eq!(b.read(&mut [0; 4]).await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.shutdown(how))
    }

    /// Splits the stream into halves that can move to different tasks. Dropping the writing
    /// half shuts the write direction down.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::prelude::*;
    /// let (a, mut b) = runtime::net::unix::UnixStream::pair()?;
    /// let (_reader, mut writer) = a.into_split();
    /// runtime::spawn(async move { writer.write_all(b"half").await }).await?;
    /// let mut buf = [0; 4];
    /// b.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"half");
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Arc::new(self);
        (OwnedReadHalf { stream: stream.clone() }, OwnedWriteHalf { stream })
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixStream");
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.finish_non_exhaustive()
    }
}

super::socket::stream_io!(UnixStream, &UnixStream);

#[cfg(feature = "tokio-io")]
super::socket::tokio_io!(UnixStream);

super::socket::owned_halves!(UnixStream, "UnixStream::into_split");

/// A Unix datagram socket. Every operation takes `&self`; any number of tasks may await them
/// on one socket at once.
///
/// # Examples
/// ```
/// use runtime::net::unix::UnixDatagram;
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"ping").await?;
///     let mut buf = [0; 4];
///     assert_eq!(b.recv(&mut buf).await?, 4);
///     Ok(())
/// }
/// ```
pub struct UnixDatagram {
    pub(super) inner: Box<dyn raw::net::unix::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds a socket to `path` (a leading `'\0'`: a Linux abstract name).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let socket = runtime::net::unix::UnixDatagram::bind(&path)?;
    /// assert_eq!(socket.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the path: `AddrInUse` when the path exists.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let addr = sock_addr(path, "could not bind")?;
        let bound = Socket::new(Domain::UNIX, Type::DGRAM, None).and_then(|socket| {
            socket.bind(&addr)?;
            Ok(std::os::unix::net::UnixDatagram::from(OwnedFd::from(socket)))
        });
        UnixDatagram::from_std(bound.map_err(|e| with_path(e, "could not bind", path))?)
    }

    /// A socket bound to no address (it can send, and receive replies to an autobound name).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::unix::UnixDatagram::unbound()?;
    /// assert!(socket.local_addr()?.is_unnamed());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A pair of connected sockets.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, b) = runtime::net::unix::UnixDatagram::pair()?;
    /// a.send(b"x").await?;
    /// assert_eq!(b.recv(&mut [0; 4]).await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a socket made elsewhere; a blocking one is switched to non-blocking.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = std::os::unix::net::UnixDatagram::unbound()?;
    /// let socket = runtime::net::unix::UnixDatagram::from_std(socket)?;
    /// assert!(socket.local_addr().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, or the backend's if it cannot register the socket.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        let instance = crate::instance("UnixDatagram::from_std");
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram { inner: instance.unix_datagram(socket)? })
    }

    /// Gives the socket back as a std socket, left in non-blocking mode.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::unix::UnixDatagram::unbound()?;
    /// let socket: std::os::unix::net::UnixDatagram = socket.into_std()?;
    /// assert!(socket.local_addr().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The backend's, if it cannot deregister the socket.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.inner.into_std()
    }

    /// Sends one datagram to the socket at `path`.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let target = runtime::net::unix::UnixDatagram::bind(&path)?;
    /// let sender = runtime::net::unix::UnixDatagram::unbound()?;
    /// assert_eq!(sender.send_to(b"hi", &path).await?, 2);
    /// # drop(target);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the path.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.send_to(buf, path).await.map_err(|e| with_path(e, "could not send to", path))
    }

    /// Receives one datagram, returning its length and sender.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let target = runtime::net::unix::UnixDatagram::bind(&path)?;
    /// runtime::net::unix::UnixDatagram::unbound()?.send_to(b"hi", &path).await?;
    /// let mut buf = [0; 8];
    /// let (n, _from) = target.recv_from(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        if let Some(received) = std::future::poll_fn(|cx| self.inner.poll_try_recv_from(cx, buf)).await {
            return received;
        }
        self.inner.recv_from(buf).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::unix::UnixDatagram::pair()?;
    /// assert_eq!(a.send(b"hi").await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's; `NotConnected` before [`connect`](Self::connect).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        if let Some(sent) = std::future::poll_fn(|cx| self.inner.poll_try_send(cx, buf)).await {
            return sent;
        }
        self.inner.send(buf).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, b) = runtime::net::unix::UnixDatagram::pair()?;
    /// a.send(b"hi").await?;
    /// assert_eq!(b.recv(&mut [0; 8]).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(received) = std::future::poll_fn(|cx| self.inner.poll_try_recv(cx, buf)).await {
            return received;
        }
        self.inner.recv(buf).await
    }

    /// Sets the default destination of [`send`](Self::send) and the only source
    /// [`recv`](Self::recv) accepts.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
    /// # let _ = std::fs::remove_file(&path);
    /// let target = runtime::net::unix::UnixDatagram::bind(&path)?;
    /// let sender = runtime::net::unix::UnixDatagram::unbound()?;
    /// sender.connect(&path)?;
    /// sender.send(b"hi").await?;
    /// assert_eq!(target.recv(&mut [0; 8]).await?, 2);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the path.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        let addr = sock_addr(path, "could not connect to")?;
        with_socket(&*self.inner, |s| s.connect(&addr)).map_err(|e| with_path(e, "could not connect to", path))
    }

    /// This socket's address.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::unix::UnixDatagram::unbound()?;
    /// assert!(socket.local_addr()?.is_unnamed());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::unix::UnixDatagram::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's (`NotConnected` before [`connect`](Self::connect)).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _b) = runtime::net::unix::UnixDatagram::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.shutdown(how))
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixDatagram");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.finish_non_exhaustive()
    }
}

impl_fd!(UnixListener, UnixStream, UnixDatagram);
