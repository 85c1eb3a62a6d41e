//! Networking: TCP and UDP, with futures-io's `AsyncRead`/`AsyncWrite` on streams.
//!
//! Every type here is `Send + Sync`. Operations that take `&self` (`accept`, `recv_from`,
//! `send_to`, ...) may be awaited by any number of tasks on one object at once; on a stream, one
//! reader and one writer may wait at the same time (`&TcpStream` implements both traits).
//!
//! Errors are `io::Error`s with the OS's kind. Those of `bind`, `connect`, name resolution and
//! `send_to` name the address in their message; read and write errors are the OS's, untouched.

mod addr;
mod socket;
pub mod tcp;
mod udp;
#[cfg(unix)]
pub mod unix;

pub use addr::ToSocketAddrs;
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
