//! Networking: TCP and UDP, with futures-io's `AsyncRead`/`AsyncWrite` on streams.
//!
//! Every type here is `Send + Sync`. Operations that take `&self` (`accept`, `recv_from`,
//! `send_to`, ...) may be awaited by any number of tasks on one object at once; on a stream, one
//! reader and one writer may wait at the same time (`&TcpStream` implements both traits).
//!
//! Errors are `io::Error`s with the OS's kind. Those of `bind`, `connect`, name resolution and
//! `send_to` name the address in their message; read and write errors are the OS's, untouched.
//!
//! [`TcpSocket`] sets options (`SO_REUSEPORT`, buffer sizes, keepalive, linger, a backlog)
//! before a socket listens or connects.
//!
//! # Readiness
//!
//! `readable()`/`writable()` on [`TcpStream`], [`UdpSocket`] and the Unix types resolve once the
//! runtime has seen the object ready for that direction, or at end of stream, hang-up or error;
//! the `try_*` call that follows (`try_read`, `try_write`, `try_recv_from`, ...) then makes its
//! system call and returns the data, `Ok(0)` or the error. A `try_*` never waits and never
//! registers a waiter: it returns `WouldBlock` when the runtime has not seen the object ready,
//! or when the system call found nothing, and then that readiness is forgotten, so the next
//! `readable()`/`writable()` waits for a fresh event. Any number of tasks may await readiness
//! on one object at once; all are woken.
//!
//! `AsyncRead::poll_read_vectored` and `AsyncWrite::poll_write_vectored` on the streams, their
//! references and their owned halves make one `readv`/`writev` system call for all the buffers.

mod addr;
mod readiness;
mod socket;
pub mod tcp;
mod tcp_socket;
mod udp;
#[cfg(unix)]
pub mod unix;

pub use addr::ToSocketAddrs;
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use tcp_socket::TcpSocket;
pub use udp::UdpSocket;
