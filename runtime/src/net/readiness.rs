//! Readiness (`readable`, `writable`) and the non-blocking `try_*` operations, for code that
//! makes its own system calls or wants only what is there now; the rules are in the `net`
//! module's docs ("Readiness").

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use super::{TcpStream, UdpSocket};
use crate::raw::net::Direction;

impl TcpStream {
    /// Waits until the stream is readable: data to read, end of stream, hang-up or an error,
    /// any of which the next [`try_read`](Self::try_read) returns.
    ///
    /// # Examples
    /// ```
    /// use futures::prelude::*;
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// client.write_all(b"hi").await?;
    /// let mut buf = [0; 2];
    /// let n = loop {
    ///     server.readable().await?;
    ///     match server.try_read(&mut buf) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         result => break result?,
    ///     }
    /// };
    /// assert_eq!(&buf[..n], &b"hi"[..n]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An error saying so once the stream's runtime instance has stopped.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing.
    pub fn readable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
        self.inner.ready(Direction::Read)
    }

    /// Waits until the stream is writable: room to send, hang-up or an error, any of which the
    /// next [`try_write`](Self::try_write) returns.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// client.writable().await?;
    /// let n = client.try_write(b"hi")?;
    /// assert!(n > 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An error saying so once the stream's runtime instance has stopped.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing.
    pub fn writable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
        self.inner.ready(Direction::Write)
    }

    /// Reads what is there now, without waiting; `Ok(0)` at end of stream.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// // Nothing was sent.
    /// let e = client.try_read(&mut buf).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `WouldBlock` when nothing is ready (see ["Readiness"](crate::net#readiness)); the OS's; an error
    /// saying so once the stream's runtime instance has stopped.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.try_read(buf)
    }

    /// Writes what the socket takes now, without waiting.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    /// client.writable().await?;
    /// match client.try_write(b"hello") {
    ///     Ok(n) => assert!(n > 0),
    ///     Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `WouldBlock` when the socket cannot take data now; the OS's (for example `BrokenPipe`);
    /// an error saying so once the stream's runtime instance has stopped.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.try_write(buf)
    }
}

impl UdpSocket {
    /// Waits until the socket is readable: a datagram queued, or an error, either of which the
    /// next `try_recv*` returns.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.send_to(b"hi", socket.local_addr()?).await?;
    /// socket.readable().await?;
    /// let mut buf = [0; 2];
    /// let (n, _) = socket.try_recv_from(&mut buf)?;
    /// assert_eq!(&buf[..n], b"hi");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An error saying so once the socket's runtime instance has stopped.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing.
    pub fn readable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
        self.inner.ready(Direction::Read)
    }

    /// Waits until the socket is writable, or has an error.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.writable().await?;
    /// socket.try_send_to(b"hi", socket.local_addr()?)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An error saying so once the socket's runtime instance has stopped.
    ///
    /// # Cancel safety
    /// Dropping the future loses nothing.
    pub fn writable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
        self.inner.ready(Direction::Write)
    }

    /// Sends one datagram to `target` now, without waiting (a literal address only: nothing is
    /// resolved).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.writable().await?;
    /// assert_eq!(socket.try_send_to(b"hi", socket.local_addr()?)?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `WouldBlock` when the socket cannot take it now; the OS's, naming the address; an error
    /// saying so once the socket's runtime instance has stopped.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.inner.try_send_to(buf, target).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                e
            } else {
                super::addr::with_addr(e, "could not send to", &target)
            }
        })
    }

    /// Receives a datagram queued now, without waiting, with its sender's address.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let mut buf = [0; 8];
    /// let e = socket.try_recv_from(&mut buf).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `WouldBlock` when nothing is ready; the OS's (for example `ConnectionRefused` after a
    /// datagram was refused); an error saying so once the socket's runtime instance has stopped.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.try_recv_from(buf)
    }

    /// Sends one datagram to the connected peer now, without waiting.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.connect(socket.local_addr()?).await?;
    /// socket.writable().await?;
    /// assert_eq!(socket.try_send(b"hi")?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `WouldBlock` when the socket cannot take it now; `NotConnected` without a peer; the OS's;
    /// an error saying so once the socket's runtime instance has stopped.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.try_send(buf)
    }

    /// Receives a datagram from the connected peer queued now, without waiting.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.connect(socket.local_addr()?).await?;
    /// socket.send(b"hi").await?;
    /// socket.readable().await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(socket.try_recv(&mut buf)?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `WouldBlock` when nothing is ready; the OS's; an error saying so once the socket's
    /// runtime instance has stopped.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.try_recv(buf)
    }
}

#[cfg(unix)]
mod unix {
    use std::future::Future;
    use std::io;
    use std::os::unix::net::SocketAddr;
    use std::path::Path;

    use crate::net::unix::{UnixDatagram, UnixStream};
    use crate::raw::net::Direction;

    impl UnixStream {
        /// Waits until the stream is readable: data to read, end of stream, hang-up or an
        /// error, any of which the next [`try_read`](Self::try_read) returns.
        ///
        /// # Examples
        /// ```
        /// use futures::prelude::*;
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let (mut a, b) = runtime::net::unix::UnixStream::pair()?;
        /// a.write_all(b"hi").await?;
        /// b.readable().await?;
        /// let mut buf = [0; 2];
        /// assert_eq!(b.try_read(&mut buf)?, 2);
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// An error saying so once the stream's runtime instance has stopped.
        ///
        /// # Cancel safety
        /// Dropping the future loses nothing.
        pub fn readable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
            self.inner.ready(Direction::Read)
        }

        /// Waits until the stream is writable: room to send, hang-up or an error.
        ///
        /// # Examples
        /// ```
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
        /// a.writable().await?;
        /// assert_eq!(a.try_write(b"hi")?, 2);
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// An error saying so once the stream's runtime instance has stopped.
        ///
        /// # Cancel safety
        /// Dropping the future loses nothing.
        pub fn writable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
            self.inner.ready(Direction::Write)
        }

        /// Reads what is there now, without waiting; `Ok(0)` at end of stream.
        ///
        /// # Examples
        /// ```
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
        /// let e = a.try_read(&mut [0; 8]).unwrap_err();
        /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// `WouldBlock` when nothing is ready; the OS's; an error saying so once the stream's
        /// runtime instance has stopped.
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.inner.try_read(buf)
        }

        /// Writes what the socket takes now, without waiting.
        ///
        /// # Examples
        /// ```
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
        /// a.writable().await?;
        /// assert_eq!(a.try_write(b"hi")?, 2);
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// `WouldBlock` when the socket cannot take data now; the OS's (for example
        /// `BrokenPipe`); an error saying so once the stream's runtime instance has stopped.
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            self.inner.try_write(buf)
        }
    }

    impl UnixDatagram {
        /// Waits until the socket is readable: a datagram queued, or an error.
        ///
        /// # Examples
        /// ```
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let (a, b) = runtime::net::unix::UnixDatagram::pair()?;
        /// a.send(b"hi").await?;
        /// b.readable().await?;
        /// assert_eq!(b.try_recv(&mut [0; 2])?, 2);
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// An error saying so once the socket's runtime instance has stopped.
        ///
        /// # Cancel safety
        /// Dropping the future loses nothing.
        pub fn readable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
            self.inner.ready(Direction::Read)
        }

        /// Waits until the socket is writable, or has an error.
        ///
        /// # Examples
        /// ```
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let (a, _b) = runtime::net::unix::UnixDatagram::pair()?;
        /// a.writable().await?;
        /// assert_eq!(a.try_send(b"hi")?, 2);
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// An error saying so once the socket's runtime instance has stopped.
        ///
        /// # Cancel safety
        /// Dropping the future loses nothing.
        pub fn writable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
            self.inner.ready(Direction::Write)
        }

        /// Sends one datagram to the socket at `path` now, without waiting (a leading `'\0'`: a
        /// Linux abstract name).
        ///
        /// # Examples
        /// ```
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let path = std::env::temp_dir().join(format!("runtime-doc-{}-{}.sock", std::process::id(), line!()));
        /// # let _ = std::fs::remove_file(&path);
        /// let receiver = runtime::net::unix::UnixDatagram::bind(&path)?;
        /// let sender = runtime::net::unix::UnixDatagram::unbound()?;
        /// sender.writable().await?;
        /// assert_eq!(sender.try_send_to(b"hi", &path)?, 2);
        /// # drop(receiver);
        /// # std::fs::remove_file(&path)?;
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// `WouldBlock` when the socket cannot take it now; the OS's, naming the path (for
        /// example `NotFound` when nothing is bound there); an error saying so once the socket's
        /// runtime instance has stopped.
        pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
            let path = path.as_ref();
            self.inner.try_send_to(buf, path).map_err(|e| {
                if e.kind() == io::ErrorKind::WouldBlock {
                    e
                } else {
                    io::Error::new(e.kind(), format!("could not send to {}: {e}", path.display()))
                }
            })
        }

        /// Receives a datagram queued now, without waiting, with its sender's address.
        ///
        /// # Examples
        /// ```
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let (a, _b) = runtime::net::unix::UnixDatagram::pair()?;
        /// let e = a.try_recv_from(&mut [0; 8]).unwrap_err();
        /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// `WouldBlock` when nothing is ready; the OS's; an error saying so once the socket's
        /// runtime instance has stopped.
        pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
            self.inner.try_recv_from(buf)
        }

        /// Sends one datagram to the connected peer now, without waiting.
        ///
        /// # Examples
        /// ```
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let (a, _b) = runtime::net::unix::UnixDatagram::pair()?;
        /// a.writable().await?;
        /// assert_eq!(a.try_send(b"hi")?, 2);
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// `WouldBlock` when the socket cannot take it now; `NotConnected` without a peer; the
        /// OS's; an error saying so once the socket's runtime instance has stopped.
        pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
            self.inner.try_send(buf)
        }

        /// Receives a datagram from the connected peer queued now, without waiting.
        ///
        /// # Examples
        /// ```
        /// # #[runtime::main]
        /// # async fn main() -> std::io::Result<()> {
        /// let (a, b) = runtime::net::unix::UnixDatagram::pair()?;
        /// a.send(b"hi").await?;
        /// b.readable().await?;
        /// assert_eq!(b.try_recv(&mut [0; 2])?, 2);
        /// # Ok(())
        /// # }
        /// ```
        ///
        /// # Errors
        /// `WouldBlock` when nothing is ready; the OS's; an error saying so once the socket's
        /// runtime instance has stopped.
        pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.inner.try_recv(buf)
        }
    }
}
