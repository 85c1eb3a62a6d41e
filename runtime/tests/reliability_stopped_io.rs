//! I/O objects that outlive their instance fail every asynchronous operation with an error
//! saying so, outside any runtime and inside another instance of any backend: the operations
//! that would succeed at once (a connection queued, data buffered, a socket writable) as much
//! as those that would wait. Getters keep working.
#![cfg(unix)]

#[macro_use]
mod common;

use common::TempDir;

use std::fmt::Debug;
use std::io::{self, IoSlice, IoSliceMut, Write as _};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use futures::prelude::*;
use runtime::net::unix::{UnixDatagram, UnixListener, UnixStream};
use runtime::net::{TcpListener, TcpStream, UdpSocket};

/// Every I/O type, each made by one instance and left with an operation ready to succeed at
/// once, after the instance has seen it ready (so that a backend's cached readiness says so).
struct Stale {
    tcp_listener: TcpListener,
    tcp_idle_listener: TcpListener,
    tcp_stream: TcpStream,
    udp: UdpSocket,
    udp_connected: UdpSocket,
    /// Where `udp` may send.
    udp_peer: std::net::SocketAddr,
    unix_listener: UnixListener,
    unix_stream: UnixStream,
    unix_datagram: UnixDatagram,
    unix_connected: UnixDatagram,
    /// Where `unix_datagram` may send.
    unix_peer_path: PathBuf,
    /// The other ends, kept open so that nothing fails for want of a peer.
    _peers: Peers,
}

struct Peers {
    _tcp: Vec<std::net::TcpStream>,
    _udp: std::net::UdpSocket,
    _unix: Vec<std::os::unix::net::UnixStream>,
    _unix_datagrams: Vec<std::os::unix::net::UnixDatagram>,
}

/// Makes every object inside the running instance, and does one operation of each kind on it
/// with more queued behind, so that the next one would succeed without waiting.
async fn make_stale(dir: &Path) -> io::Result<Stale> {
    let mut byte = [0u8; 1];

    let tcp_listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = tcp_listener.local_addr()?;
    let tcp_peers = vec![std::net::TcpStream::connect(addr)?, std::net::TcpStream::connect(addr)?];
    let (mut tcp_stream, _) = tcp_listener.accept().await?;
    (&tcp_peers[0]).write_all(b"ab")?;
    tcp_stream.read_exact(&mut byte).await?;
    tcp_stream.write_all(b"w").await?;
    let tcp_idle_listener = TcpListener::bind("127.0.0.1:0")?;

    let udp = UdpSocket::bind("127.0.0.1:0")?;
    let udp_peer = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let udp_connected = UdpSocket::bind("127.0.0.1:0")?;
    udp_connected.connect(udp_peer.local_addr()?).await?;
    for _ in 0..2 {
        udp_peer.send_to(b"d", udp.local_addr()?)?;
        udp_peer.send_to(b"c", udp_connected.local_addr()?)?;
    }
    udp.recv_from(&mut byte).await?;
    udp.send_to(b"s", udp_peer.local_addr()?).await?;
    udp_connected.recv(&mut byte).await?;
    udp_connected.send(b"s").await?;

    let path = dir.join("listener.sock");
    let unix_listener = UnixListener::bind(&path)?;
    let unix_peers =
        vec![std::os::unix::net::UnixStream::connect(&path)?, std::os::unix::net::UnixStream::connect(&path)?];
    let (mut unix_stream, _) = unix_listener.accept().await?;
    (&unix_peers[0]).write_all(b"ab")?;
    unix_stream.read_exact(&mut byte).await?;
    unix_stream.write_all(b"w").await?;

    let unix_peer_path = dir.join("peer.sock");
    let unix_peer = std::os::unix::net::UnixDatagram::bind(&unix_peer_path)?;
    let unix_datagram = UnixDatagram::bind(dir.join("datagram.sock"))?;
    let (connected, connected_peer) = std::os::unix::net::UnixDatagram::pair()?;
    let unix_connected = UnixDatagram::from_std(connected)?;
    for _ in 0..2 {
        unix_peer.send_to(b"d", dir.join("datagram.sock"))?;
        connected_peer.send(b"c")?;
    }
    unix_datagram.recv_from(&mut byte).await?;
    unix_datagram.send_to(b"s", &unix_peer_path).await?;
    unix_connected.recv(&mut byte).await?;
    unix_connected.send(b"s").await?;

    Ok(Stale {
        tcp_listener,
        tcp_idle_listener,
        tcp_stream,
        udp,
        udp_connected,
        udp_peer: udp_peer.local_addr()?,
        unix_listener,
        unix_stream,
        unix_datagram,
        unix_connected,
        unix_peer_path,
        _peers: Peers {
            _tcp: tcp_peers,
            _udp: udp_peer,
            _unix: unix_peers,
            _unix_datagrams: vec![unix_peer, connected_peer],
        },
    })
}

/// Polls `op` once (nothing could wake it: its instance is gone) and records what is wrong
/// unless it failed saying why.
fn fails_at_once<T: Debug>(wrong: &mut Vec<String>, what: &str, op: impl Future<Output = io::Result<T>>) {
    let mut op = pin!(op);
    match op.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Err(e)) if e.to_string().contains("shut down") => {}
        Poll::Ready(Err(e)) => wrong.push(format!("{what}: the error does not say why: {e}")),
        Poll::Ready(Ok(value)) => wrong.push(format!("{what}: succeeded ({value:?})")),
        Poll::Pending => wrong.push(format!("{what}: pending (nothing can wake it)")),
    }
}

/// Every asynchronous operation of every object: what went wrong, one line each.
fn check_every_operation(stale: &Stale) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut buf = [0u8; 4];
    let mut other = [0u8; 4];

    fails_at_once(&mut wrong, "TcpListener::accept (a connection queued)", stale.tcp_listener.accept());
    fails_at_once(&mut wrong, "TcpListener::incoming", stale.tcp_listener.incoming().next().map(Option::unwrap));
    fails_at_once(&mut wrong, "TcpListener::accept (none queued)", stale.tcp_idle_listener.accept());
    let mut tcp = &stale.tcp_stream;
    fails_at_once(&mut wrong, "TcpStream read (data buffered)", tcp.read(&mut buf));
    fails_at_once(
        &mut wrong,
        "TcpStream read_vectored",
        tcp.read_vectored(&mut [IoSliceMut::new(&mut buf), IoSliceMut::new(&mut other)]),
    );
    fails_at_once(&mut wrong, "TcpStream write (writable)", tcp.write(b"x"));
    fails_at_once(
        &mut wrong,
        "TcpStream write_vectored",
        tcp.write_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"y")]),
    );

    fails_at_once(&mut wrong, "UdpSocket::send_to (writable)", stale.udp.send_to(b"x", stale.udp_peer));
    fails_at_once(&mut wrong, "UdpSocket::recv_from (a datagram queued)", stale.udp.recv_from(&mut buf));
    fails_at_once(&mut wrong, "UdpSocket::peek_from (a datagram queued)", stale.udp.peek_from(&mut buf));
    fails_at_once(&mut wrong, "UdpSocket::send (writable)", stale.udp_connected.send(b"x"));
    fails_at_once(&mut wrong, "UdpSocket::recv (a datagram queued)", stale.udp_connected.recv(&mut buf));

    fails_at_once(&mut wrong, "UnixListener::accept (a connection queued)", stale.unix_listener.accept());
    fails_at_once(&mut wrong, "UnixListener::incoming", stale.unix_listener.incoming().next().map(Option::unwrap));
    let mut unix = &stale.unix_stream;
    fails_at_once(&mut wrong, "UnixStream read (data buffered)", unix.read(&mut buf));
    fails_at_once(
        &mut wrong,
        "UnixStream read_vectored",
        unix.read_vectored(&mut [IoSliceMut::new(&mut buf), IoSliceMut::new(&mut other)]),
    );
    fails_at_once(&mut wrong, "UnixStream write (writable)", unix.write(b"x"));
    fails_at_once(
        &mut wrong,
        "UnixStream write_vectored",
        unix.write_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"y")]),
    );

    fails_at_once(
        &mut wrong,
        "UnixDatagram::send_to (writable)",
        stale.unix_datagram.send_to(b"x", &stale.unix_peer_path),
    );
    fails_at_once(&mut wrong, "UnixDatagram::recv_from (a datagram queued)", stale.unix_datagram.recv_from(&mut buf));
    fails_at_once(&mut wrong, "UnixDatagram::send (writable)", stale.unix_connected.send(b"x"));
    fails_at_once(&mut wrong, "UnixDatagram::recv (a datagram queued)", stale.unix_connected.recv(&mut buf));

    // Readiness and the non-blocking forms: the waits fail like the other operations, and so
    // do the `try_*` calls, though the data or room they would use is there.
    fails_at_once(&mut wrong, "TcpStream::readable (data buffered)", stale.tcp_stream.readable());
    fails_at_once(&mut wrong, "TcpStream::writable", stale.tcp_stream.writable());
    fails_at_once(&mut wrong, "TcpStream::peek (data buffered)", stale.tcp_stream.peek(&mut buf));
    fails_at_once(
        &mut wrong,
        "TcpStream::try_read (data buffered)",
        future::ready(stale.tcp_stream.try_read(&mut buf)),
    );
    fails_at_once(&mut wrong, "TcpStream::try_write", future::ready(stale.tcp_stream.try_write(b"x")));
    fails_at_once(&mut wrong, "UdpSocket::readable (a datagram queued)", stale.udp.readable());
    fails_at_once(&mut wrong, "UdpSocket::writable", stale.udp.writable());
    fails_at_once(&mut wrong, "UdpSocket::try_send_to", future::ready(stale.udp.try_send_to(b"x", stale.udp_peer)));
    fails_at_once(&mut wrong, "UdpSocket::try_recv_from (queued)", future::ready(stale.udp.try_recv_from(&mut buf)));
    fails_at_once(&mut wrong, "UdpSocket::try_send", future::ready(stale.udp_connected.try_send(b"x")));
    fails_at_once(&mut wrong, "UdpSocket::try_recv (queued)", future::ready(stale.udp_connected.try_recv(&mut buf)));
    fails_at_once(&mut wrong, "UnixStream::readable (data buffered)", stale.unix_stream.readable());
    fails_at_once(&mut wrong, "UnixStream::writable", stale.unix_stream.writable());
    fails_at_once(
        &mut wrong,
        "UnixStream::try_read (data buffered)",
        future::ready(stale.unix_stream.try_read(&mut buf)),
    );
    fails_at_once(&mut wrong, "UnixStream::try_write", future::ready(stale.unix_stream.try_write(b"x")));
    fails_at_once(&mut wrong, "UnixDatagram::readable (queued)", stale.unix_datagram.readable());
    fails_at_once(&mut wrong, "UnixDatagram::writable", stale.unix_datagram.writable());
    fails_at_once(
        &mut wrong,
        "UnixDatagram::try_send_to",
        future::ready(stale.unix_datagram.try_send_to(b"x", &stale.unix_peer_path)),
    );
    fails_at_once(
        &mut wrong,
        "UnixDatagram::try_recv_from (queued)",
        future::ready(stale.unix_datagram.try_recv_from(&mut buf)),
    );
    fails_at_once(&mut wrong, "UnixDatagram::try_send", future::ready(stale.unix_connected.try_send(b"x")));
    fails_at_once(
        &mut wrong,
        "UnixDatagram::try_recv (queued)",
        future::ready(stale.unix_connected.try_recv(&mut buf)),
    );

    // Getters and setters keep working.
    stale.tcp_listener.local_addr().expect("a getter of a stale listener");
    stale.udp.set_ttl(64).expect("a setter of a stale socket");
    stale.unix_stream.peer_addr().expect("a getter of a stale Unix stream");
    wrong
}

#[test]
fn io_objects_of_a_stopped_instance_fail_every_operation() {
    let mut made = 0;
    let mut report = Vec::new();
    for_every_backend!(|maker| {
        made += 1;
        let dir = TempDir::new(&made.to_string());
        let stale = runtime::raw::enter(maker, make_stale(dir.path())).expect("objects made while the instance runs");
        let maker = std::any::type_name_of_val(&maker);
        let wrong = check_every_operation(&stale);
        report.extend(wrong.into_iter().map(|w| format!("made by {maker}, outside any runtime: {w}")));
        for_every_backend!(|host| {
            let wrong = runtime::raw::enter(host, async { check_every_operation(&stale) });
            let host = std::any::type_name_of_val(&host);
            report.extend(wrong.into_iter().map(|w| format!("made by {maker}, in {host}: {w}")));
        });
        drop(stale);
    });
    assert!(report.is_empty(), "operations on I/O objects of a stopped instance:\n{}", report.join("\n"));
}
