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

impl runtime_raw::net::TcpStream for TcpStream {
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

impl runtime_raw::net::TcpListener for TcpListener {
    fn accept(&self) -> runtime_raw::net::Accept<'_> {
        Box::pin(async move {
            let (stream, addr) = self.0.accept().await?;
            Ok((Box::new(TcpStream(stream)) as Box<dyn runtime_raw::net::TcpStream>, addr))
        })
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
}
