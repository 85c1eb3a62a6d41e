//! TCP listeners and streams, and the owned halves of a split stream.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use socket2::{Domain, Protocol, Socket, Type};

use super::addr::{ToSocketAddrs, with_addr};
use super::socket::{self, impl_fd, with_socket};
use crate::raw;

/// Connections a listener queues before `accept` takes them (the kernel caps it at
/// `net.core.somaxconn`). std's 128 is too few for a server under a burst of connects.
const LISTEN_BACKLOG: i32 = 1024;

/// A TCP socket listening for connections.
///
/// # Examples
/// ```
/// use futures::prelude::*;
/// use runtime::net::{TcpListener, TcpStream};
///
/// #[runtime::main(runtime_tokio::Tokio)]
/// async fn main() -> std::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let client = runtime::spawn(async move { TcpStream::connect(addr).await });
///     let (_stream, peer) = listener.accept().await?;
///     assert_eq!(peer, client.await?.local_addr()?);
///     Ok(())
/// }
/// ```
pub struct TcpListener {
    pub(super) inner: Box<dyn raw::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to the first of `addr`'s addresses that accepts it.
    ///
    /// Port 0 picks a free port; [`local_addr`](Self::local_addr) tells which. A host name is
    /// resolved on the calling thread, like `std::net::TcpListener::bind`.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert_ne!(listener.local_addr()?.port(), 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error (for example `AddrInUse`) for the last address tried, naming it; an
    /// `InvalidInput` error for a malformed address.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let instance = crate::instance("TcpListener::bind");
        let target = addr.target();
        let label = target.to_string();
        let mut last = None;
        for addr in target.resolve_blocking()? {
            match bind_listener(addr) {
                Ok(listener) => {
                    let inner = instance.tcp_listener(listener).map_err(|e| with_addr(e, "could not bind", &addr))?;
                    return Ok(TcpListener { inner });
                }
                Err(e) => last = Some(with_addr(e, "could not bind", &addr)),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{label} has no address"))))
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// println!("listening on {}", listener.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(&*self.inner)
    }

    /// Wraps a listener made elsewhere; a blocking one is switched to non-blocking.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let listener = runtime::net::TcpListener::from_std(listener)?;
    /// assert!(listener.local_addr().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, or the backend's if it cannot register the socket.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let instance = crate::instance("TcpListener::from_std");
        listener.set_nonblocking(true)?;
        Ok(TcpListener { inner: instance.tcp_listener(listener)? })
    }

    /// Gives the socket back as a std listener, left in non-blocking mode (as Tokio does).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let listener: std::net::TcpListener = listener.into_std()?;
    /// assert!(listener.local_addr().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The backend's, if it cannot deregister the socket.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.inner.into_std()
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// Any number of tasks may await `accept` on one listener at once.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = runtime::spawn(runtime::net::TcpStream::connect(listener.local_addr()?));
    /// let (_stream, peer) = listener.accept().await?;
    /// assert_eq!(peer, client.await?.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, for example when the descriptor limit is reached; the listener stays usable.
    ///
    /// # Cancel safety
    /// Dropping the future before it resolves loses no connection.
    pub fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send + '_ {
        let accept = self.inner.accept();
        async move {
            let (inner, peer) = accept.await?;
            Ok((TcpStream::from_raw(inner), peer))
        }
    }

    /// A never-ending stream of accepted connections.
    ///
    /// # Examples
    /// ```
    /// use futures::prelude::*;
    /// # #[runtime::main(runtime_tokio::Tokio)]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// runtime::spawn(async move { runtime::net::TcpStream::connect(addr).await }).detach();
    /// let mut incoming = listener.incoming();
    /// let stream = incoming.next().await.expect("never ends")?;
    /// assert_eq!(stream.local_addr()?, addr);
    /// # Ok(())
    /// # }
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self, accept: None }
    }
}

fn bind_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.finish_non_exhaustive()
    }
}

/// The stream returned by [`TcpListener::incoming`].
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
/// let incoming: runtime::net::Incoming<'_> = listener.incoming();
/// drop(incoming);
/// # Ok(())
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    accept: Option<raw::net::Accept<'a>>,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let listener = self.listener;
        let accept = self.accept.get_or_insert_with(|| listener.inner.accept());
        let result = futures::ready!(accept.as_mut().poll(cx));
        self.accept = None;
        Poll::Ready(Some(result.map(|(inner, _)| TcpStream::from_raw(inner))))
    }
}

impl futures::stream::FusedStream for Incoming<'_> {
    fn is_terminated(&self) -> bool {
        false
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming").field("listener", self.listener).finish()
    }
}

/// A TCP connection.
///
/// Reads and writes go through futures-io's [`AsyncRead`](futures::io::AsyncRead) and [`AsyncWrite`](futures::io::AsyncWrite), on the stream and
/// on `&TcpStream`, so one task may read while another writes.
///
/// # Examples
/// ```
/// use futures::prelude::*;
/// use runtime::net::{TcpListener, TcpStream};
///
/// #[runtime::main(runtime_tokio::Tokio)]
/// async fn main() -> std::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok(())
/// }
/// ```
pub struct TcpStream {
    pub(super) inner: Box<dyn raw::net::TcpStream>,
    /// What a read through Tokio's traits zeroes and offers (feature `tokio-io`).
    #[cfg(feature = "tokio-io")]
    read_window: super::socket::ReadWindow,
}

impl TcpStream {
    /// Wraps a backend's stream.
    pub(super) fn from_raw(inner: Box<dyn raw::net::TcpStream>) -> TcpStream {
        TcpStream {
            inner,
            #[cfg(feature = "tokio-io")]
            read_window: super::socket::ReadWindow::new(),
        }
    }

    /// Connects to `addr`, trying each of its addresses in turn.
    ///
    /// Host names are resolved without blocking the runtime's workers.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The last address's error (for example `ConnectionRefused`), naming it; resolution errors
    /// naming the host.
    ///
    /// # Panics
    /// When polled with no runtime running on the thread.
    pub fn connect(addr: impl ToSocketAddrs) -> impl Future<Output = io::Result<TcpStream>> + Send {
        let target = addr.target();
        async move {
            let instance = crate::instance("TcpStream::connect");
            let mut last = None;
            for addr in target.resolve(&*instance).await? {
                match instance.connect_tcp(addr).await {
                    Ok(inner) => return Ok(TcpStream::from_raw(inner)),
                    Err(e) => last = Some(with_addr(e, "could not connect to", &addr)),
                }
            }
            Err(last.expect("resolve returns at least one address or an error"))
        }
    }

    /// This end's address.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.local_addr()?.ip(), std::net::Ipv4Addr::LOCALHOST);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(&*self.inner)
    }

    /// The peer's address.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's (`NotConnected` once the peer is gone on some systems).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket::peer_addr(&*self.inner)
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// A reader waiting on this stream then sees end of stream; a writer gets an error.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// stream.shutdown(std::net::Shutdown::Write)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, for example `NotConnected`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.shutdown(how))
    }

    /// Wraps a connected stream made elsewhere; a blocking one is switched to non-blocking.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let stream = runtime::net::TcpStream::from_std(stream)?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, or the backend's if it cannot register the socket.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let instance = crate::instance("TcpStream::from_std");
        stream.set_nonblocking(true)?;
        Ok(TcpStream::from_raw(instance.tcp_stream(stream)?))
    }

    /// Gives the socket back as a std stream, left in non-blocking mode (as Tokio does).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let stream: std::net::TcpStream = stream.into_std()?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The backend's, if it cannot deregister the socket.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.inner.into_std()
    }

    /// Splits the stream into a reading half and a writing half that can move to different
    /// tasks. Dropping the writing half shuts the write direction down.
    ///
    /// # Examples
    /// ```
    /// use futures::prelude::*;
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let (mut server, _) = listener.accept().await?;
    /// let (_reader, mut writer) = stream.into_split();
    /// runtime::spawn(async move { writer.write_all(b"half").await }).await?;
    /// let mut buf = [0; 4];
    /// server.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"half");
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Arc::new(self);
        (OwnedReadHalf { stream: stream.clone() }, OwnedWriteHalf { stream })
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// stream.set_nodelay(true)?;
    /// assert!(stream.nodelay()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.set_tcp_nodelay(nodelay))
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// stream.set_nodelay(false)?;
    /// assert!(!stream.nodelay()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn nodelay(&self) -> io::Result<bool> {
        with_socket(&*self.inner, |s| s.tcp_nodelay())
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.finish_non_exhaustive()
    }
}

impl_fd!(TcpListener, TcpStream);

super::socket::stream_io!(TcpStream, &TcpStream);

#[cfg(feature = "tokio-io")]
super::socket::tokio_io!(TcpStream);

super::socket::owned_halves!(TcpStream, "TcpStream::into_split");
