//! UDP sockets.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::addr::{Target, ToSocketAddrs, with_addr};
use super::socket::{self, impl_fd, with_socket};
use crate::raw;

/// A UDP socket.
///
/// Every operation takes `&self`, and any number of tasks may await them on one socket at once
/// (share it with an `Arc`).
///
/// # Examples
/// ```
/// use runtime::net::UdpSocket;
///
/// #[runtime::main(runtime_tokio::Tokio)]
/// async fn main() -> std::io::Result<()> {
///     let a = UdpSocket::bind("127.0.0.1:0")?;
///     let b = UdpSocket::bind("127.0.0.1:0")?;
///     a.send_to(b"hello", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr()?));
///     Ok(())
/// }
/// ```
pub struct UdpSocket {
    pub(super) inner: Box<dyn raw::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to the first of `addr`'s addresses that accepts it.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_ne!(socket.local_addr()?.port(), 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's error for the last address tried (for example `AddrInUse`), naming it.
    ///
    /// # Panics
    /// When no runtime is running on this thread.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let instance = crate::instance("UdpSocket::bind");
        let target = addr.target();
        let label = target.to_string();
        let mut last = None;
        for addr in target.resolve_blocking()? {
            let bound = std::net::UdpSocket::bind(addr).and_then(|socket| {
                socket.set_nonblocking(true)?;
                instance.udp_socket(socket)
            });
            match bound {
                Ok(inner) => return Ok(UdpSocket { inner }),
                Err(e) => last = Some(with_addr(e, "could not bind", &addr)),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{label} has no address"))))
    }

    /// The address this socket is bound to.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// println!("bound to {}", socket.local_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(&*self.inner)
    }

    /// Wraps a socket made elsewhere; a blocking one is switched to non-blocking.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let socket = runtime::net::UdpSocket::from_std(socket)?;
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
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        let instance = crate::instance("UdpSocket::from_std");
        socket.set_nonblocking(true)?;
        Ok(UdpSocket { inner: instance.udp_socket(socket)? })
    }

    /// Gives the socket back as a std socket, left in non-blocking mode (as Tokio does).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let socket: std::net::UdpSocket = socket.into_std()?;
    /// assert!(socket.local_addr().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The backend's, if it cannot deregister the socket.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.inner.into_std()
    }

    /// Sends `buf` as one datagram to `addr` (its first address), returning the bytes sent.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let a = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(a.send_to(b"hi", b.local_addr()?).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the address; resolution errors naming the host.
    pub async fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = match addr.target() {
            // The hot path: a literal address, no allocation, no runtime lookup.
            Target::One(addr) => addr,
            target => {
                let instance = crate::instance("UdpSocket::send_to");
                let label = target.to_string();
                let addrs = target.resolve(&*instance).await?;
                return self.inner.send_to(buf, addrs[0]).await.map_err(|e| with_addr(e, "could not send to", &label));
            }
        };
        let sent = match std::future::poll_fn(|cx| self.inner.poll_try_send_to(cx, buf, addr)).await {
            Some(sent) => sent,
            None => self.inner.send_to(buf, addr).await,
        };
        sent.map_err(|e| with_addr(e, "could not send to", &addr))
    }

    /// Receives one datagram into `buf`, returning its length and sender.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let a = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.send_to(b"hi", b.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// let (n, from) = b.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr()?));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Cancel safety
    /// Dropping the future before it resolves loses no datagram.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        if let Some(received) = std::future::poll_fn(|cx| self.inner.poll_try_recv_from(cx, buf)).await {
            return received;
        }
        self.inner.recv_from(buf).await
    }

    /// Like [`recv_from`](Self::recv_from), leaving the datagram queued.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let a = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.send_to(b"hi", b.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// let (n, _) = b.peek_from(&mut buf).await?;
    /// assert_eq!(b.recv_from(&mut buf).await?.0, n);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.peek_from(buf).await
    }

    /// Sets the default destination of [`send`](Self::send) and the only source
    /// [`recv`](Self::recv) accepts, trying each of `addr`'s addresses in turn.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let a = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.connect(b.local_addr()?).await?;
    /// a.send(b"hi").await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's, naming the address.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let target = addr.target();
        let instance = crate::instance("UdpSocket::connect");
        let mut last = None;
        for addr in target.resolve(&*instance).await? {
            match with_socket(&*self.inner, |s| s.connect(&addr.into())) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(with_addr(e, "could not connect to", &addr)),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    /// Sends `buf` to the connected peer.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let a = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.connect(b.local_addr()?).await?;
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
    /// let a = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.connect(b.local_addr()?).await?;
    /// b.connect(a.local_addr()?).await?;
    /// a.send(b"hi").await?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.recv(&mut buf).await?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's (for example `ConnectionRefused` after an ICMP port unreachable).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(received) = std::future::poll_fn(|cx| self.inner.poll_try_recv(cx, buf)).await {
            return received;
        }
        self.inner.recv(buf).await
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(!socket.broadcast()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn broadcast(&self) -> io::Result<bool> {
        with_socket(&*self.inner, |s| s.broadcast())
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_broadcast(true)?;
    /// assert!(socket.broadcast()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.set_broadcast(on))
    }

    /// The `IP_TTL` of outgoing datagrams.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(socket.ttl()? > 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn ttl(&self) -> io::Result<u32> {
        with_socket(&*self.inner, |s| s.ttl_v4())
    }

    /// Sets `IP_TTL`.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_ttl(42)?;
    /// assert_eq!(socket.ttl()?, 42);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.set_ttl_v4(ttl))
    }

    /// Whether IPv4 multicast datagrams loop back to this host.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let _looping: bool = socket.multicast_loop_v4()?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        with_socket(&*self.inner, |s| s.multicast_loop_v4())
    }

    /// Sets `IP_MULTICAST_LOOP`.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_multicast_loop_v4(false)?;
    /// assert!(!socket.multicast_loop_v4()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.set_multicast_loop_v4(on))
    }

    /// Whether IPv6 multicast datagrams loop back to this host.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// if let Ok(socket) = runtime::net::UdpSocket::bind("[::1]:0") {
    ///     let _looping: bool = socket.multicast_loop_v6()?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        with_socket(&*self.inner, |s| s.multicast_loop_v6())
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// if let Ok(socket) = runtime::net::UdpSocket::bind("[::1]:0") {
    ///     socket.set_multicast_loop_v6(false)?;
    ///     assert!(!socket.multicast_loop_v6()?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.set_multicast_loop_v6(on))
    }

    /// The `IP_MULTICAST_TTL` of outgoing multicast datagrams.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let _ttl: u32 = socket.multicast_ttl_v4()?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        with_socket(&*self.inner, |s| s.multicast_ttl_v4())
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_multicast_ttl_v4(3)?;
    /// assert_eq!(socket.multicast_ttl_v4()?, 3);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.set_multicast_ttl_v4(ttl))
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with address `interface`.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// use std::net::Ipv4Addr;
    /// let group = Ipv4Addr::new(239, 255, 0, 1);
    /// // Fails on hosts without a multicast route, hence no `?`.
    /// if socket.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST).is_ok() {
    ///     socket.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.join_multicast_v4(multiaddr, interface))
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// use std::net::Ipv4Addr;
    /// let group = Ipv4Addr::new(239, 255, 0, 2);
    /// let _ = socket.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST);
    /// let _ = socket.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.leave_multicast_v4(multiaddr, interface))
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface index `interface` (0: any).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// if let Ok(socket) = runtime::net::UdpSocket::bind("[::1]:0") {
    ///     let group: std::net::Ipv6Addr = "ff02::1:3".parse().unwrap();
    ///     if socket.join_multicast_v6(&group, 0).is_ok() {
    ///         socket.leave_multicast_v6(&group, 0)?;
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.join_multicast_v6(multiaddr, interface))
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// if let Ok(socket) = runtime::net::UdpSocket::bind("[::1]:0") {
    ///     let group: std::net::Ipv6Addr = "ff02::1:4".parse().unwrap();
    ///     let _ = socket.join_multicast_v6(&group, 0);
    ///     let _ = socket.leave_multicast_v6(&group, 0);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The OS's.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        with_socket(&*self.inner, |s| s.leave_multicast_v6(multiaddr, interface))
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.finish_non_exhaustive()
    }
}

impl_fd!(UdpSocket);
