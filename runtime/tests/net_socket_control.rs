//! Socket control: `TcpSocket` options, bind, listen and connect; readiness and the `try_*`
//! operations on every socket type; `peek`, TTL and linger; one-system-call vectored I/O.

#[macro_use]
mod common;

use common::TempDir;

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures::prelude::*;
use runtime::net::unix::{UnixDatagram, UnixStream};
use runtime::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use runtime::time::FutureExt as _;

/// How long a step that should finish at once may take before the test fails (generous: the
/// machine may be busy; nothing here waits for it unless something is wrong).
const STEP: Duration = Duration::from_secs(10);

/// Bounds the loops that wait for data a peer sent to arrive whole.
const ARRIVAL_ATTEMPTS: usize = 1000;

async fn pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?).await?;
    let (server, _) = listener.accept().await?;
    Ok((client, server))
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A port nothing listens on: bound by a listener that is then closed.
fn closed_port() -> io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.local_addr()
}

/// Awaits `$ready` (a `readable()`/`writable()` call), then runs `$op` (a `try_*` call) until it
/// stops returning `WouldBlock`: readiness may be a false positive (Tokio assumes a socket it
/// accepted is readable), and the `WouldBlock` clears it for the next wait.
/// After a `WouldBlock`, `$ready` waits for fresh readiness. A backend may still report one
/// stale readiness that its driver took before the `WouldBlock` (Tokio's readiness comes from a
/// driver thread, and its docs allow false positives); then `$op` must find nothing again, and
/// within a few rounds `$ready` must wait.
macro_rules! waits_after_would_block {
    ($ready:expr, $op:expr) => {{
        let mut waited = false;
        for _ in 0..8 {
            if $ready.now_or_never().is_none() {
                waited = true;
                break;
            }
            would_block($op);
        }
        assert!(waited, "readable() must wait after WouldBlock");
    }};
}

macro_rules! when_ready {
    ($ready:expr, $op:expr) => {{
        let mut attempts = 0;
        loop {
            $ready.timeout(STEP).await??;
            match $op {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && attempts < ARRIVAL_ATTEMPTS => attempts += 1,
                result => break result,
            }
        }
    }};
}

fn would_block<T: std::fmt::Debug>(result: io::Result<T>) {
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("expected WouldBlock, got {other:?}"),
    }
}

/// Waits until the peer's `len` bytes are all queued on `stream` (peek leaves them there).
async fn until_queued(stream: &TcpStream, len: usize) -> io::Result<()> {
    let mut buf = vec![0u8; len];
    for _ in 0..ARRIVAL_ATTEMPTS {
        if stream.peek(&mut buf).timeout(STEP).await?? == len {
            return Ok(());
        }
        runtime::task::yield_now().await;
    }
    panic!("{len} bytes never arrived together");
}

on_every_backend! {
    async fn tcp_socket_options_round_trip() -> io::Result<()> {
        let socket = TcpSocket::new_v4()?;
        for on in [true, false] {
            socket.set_reuseaddr(on)?;
            assert_eq!(socket.reuseaddr()?, on);
            socket.set_reuseport(on)?;
            assert_eq!(socket.reuseport()?, on);
            socket.set_keepalive(on)?;
            assert_eq!(socket.keepalive()?, on);
            socket.set_nodelay(on)?;
            assert_eq!(socket.nodelay()?, on);
        }
        // The OS may round buffer sizes up (Linux doubles them): at least what was asked.
        socket.set_send_buffer_size(96 * 1024)?;
        assert!(socket.send_buffer_size()? >= 96 * 1024, "{}", socket.send_buffer_size()?);
        socket.set_recv_buffer_size(80 * 1024)?;
        assert!(socket.recv_buffer_size()? >= 80 * 1024, "{}", socket.recv_buffer_size()?);
        assert_eq!(socket.linger()?, None);
        socket.set_linger(Some(Duration::from_secs(3)))?;
        assert_eq!(socket.linger()?, Some(Duration::from_secs(3)));
        socket.set_linger(None)?;
        assert_eq!(socket.linger()?, None);
        let _ = format!("{socket:?}");
        // std's own view of the descriptor agrees.
        use std::os::fd::AsFd as _;
        assert!(socket2::SockRef::from(&socket.as_fd()).reuse_address().is_ok());
        Ok(())
    }

    async fn tcp_socket_bind_listen_connect() -> io::Result<()> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(localhost())?;
        let addr = socket.local_addr()?;
        assert_ne!(addr.port(), 0);
        assert!(format!("{socket:?}").contains(&addr.to_string()));
        let listener = socket.listen(16)?;
        assert_eq!(listener.local_addr()?, addr);

        let client = TcpSocket::new_v4()?;
        client.set_nodelay(true)?;
        client.set_keepalive(true)?;
        let mut client = client.connect(addr).timeout(STEP).await??;
        let (mut server, peer) = listener.accept().await?;
        assert_eq!(peer, client.local_addr()?);
        assert!(client.nodelay()?, "options set before connect are kept");
        client.write_all(b"over a TcpSocket").await?;
        let mut buf = [0u8; 16];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"over a TcpSocket");
        Ok(())
    }

    async fn backlogs_are_accepted() -> io::Result<()> {
        for backlog in [0, 1, 1024, u32::MAX] {
            let socket = TcpSocket::new_v4()?;
            socket.bind(localhost())?;
            let listener = socket.listen(backlog)?;
            let client = TcpStream::connect(listener.local_addr()?).await?;
            let (_server, peer) = listener.accept().timeout(STEP).await??;
            assert_eq!(peer, client.local_addr()?);
        }
        Ok(())
    }

    async fn reuseport_lets_two_listeners_bind_one_port() -> io::Result<()> {
        let first = TcpSocket::new_v4()?;
        first.set_reuseport(true)?;
        first.bind(localhost())?;
        let addr = first.local_addr()?;
        let first = first.listen(16)?;

        // Without the option the port is taken.
        let refused = TcpSocket::new_v4()?;
        let e = refused.bind(addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains(&addr.to_string()), "{e}");

        let second = TcpSocket::new_v4()?;
        second.set_reuseport(true)?;
        second.bind(addr)?;
        let second = second.listen(16)?;
        assert_eq!(second.local_addr()?, addr);

        // Each accepts on its own: a connection reaches one of them.
        let client = TcpStream::connect(addr).await?;
        let (one, other) = (pin!(first.accept()), pin!(second.accept()));
        let accepted = future::select(one, other).timeout(STEP).await?;
        let (_server, peer) = accepted.factor_first().0?;
        assert_eq!(peer, client.local_addr()?);
        Ok(())
    }

    async fn connect_to_a_closed_port_is_refused() -> io::Result<()> {
        let addr = closed_port()?;
        let e = TcpSocket::new_v4()?.connect(addr).timeout(STEP).await?.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "the error names the address: {e}");
        Ok(())
    }

    async fn tcp_try_read_on_an_empty_stream_would_block() -> io::Result<()> {
        let (client, server) = pair().await?;
        let mut buf = [0u8; 8];
        would_block(server.try_read(&mut buf));
        would_block(client.try_read(&mut buf));
        // Still nothing. Readiness may resolve spuriously (Tokio reports a freshly accepted
        // socket readable before any data, as its docs allow), but never with data invented:
        // the next try finds nothing.
        if server.readable().now_or_never().is_some() {
            would_block(server.try_read(&mut buf));
        }
        Ok(())
    }

    async fn tcp_readiness_then_try_read_and_try_write() -> io::Result<()> {
        let (client, server) = pair().await?;
        assert_eq!(when_ready!(client.writable(), client.try_write(b"ready"))?, 5);
        let mut buf = [0u8; 16];
        assert_eq!(when_ready!(server.readable(), server.try_read(&mut buf))?, 5);
        assert_eq!(&buf[..5], b"ready");

        // Drained: the next try finds nothing, and after that WouldBlock readiness waits for a
        // fresh event.
        would_block(server.try_read(&mut buf));
        waits_after_would_block!(server.readable(), server.try_read(&mut buf));
        client.try_write(b"more")?;
        assert_eq!(when_ready!(server.readable(), server.try_read(&mut buf))?, 4);
        Ok(())
    }

    async fn tcp_readable_resolves_at_end_of_stream_and_on_reset() -> io::Result<()> {
        let (client, server) = pair().await?;
        client.shutdown(Shutdown::Write)?;
        assert_eq!(when_ready!(server.readable(), server.try_read(&mut [0u8; 8]))?, 0);

        // A zero linger resets the connection on drop: readable, then the error.
        let (client, server) = pair().await?;
        client.set_linger(Some(Duration::ZERO))?;
        assert_eq!(client.linger()?, Some(Duration::ZERO));
        drop(client);
        let e = when_ready!(server.readable(), server.try_read(&mut [0u8; 8])).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
        Ok(())
    }

    async fn eight_tasks_awaiting_readable_are_all_woken() -> io::Result<()> {
        let (mut client, server) = pair().await?;
        // A WouldBlock from the system call: the readiness a backend may have assumed is gone.
        would_block(server.try_read(&mut [0u8; 4]));
        let server = Arc::new(server);
        let (registered, mut waiting) = futures::channel::mpsc::unbounded();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let server = server.clone();
            let registered = registered.clone();
            tasks.push(runtime::spawn(async move {
                // Tokio may report a freshly accepted socket readable once before any data (its
                // docs allow spurious readiness): then the try finds nothing and clears it.
                for _ in 0..100 {
                    let mut readable = pin!(server.readable());
                    if futures::poll!(readable.as_mut()).is_pending() {
                        registered.unbounded_send(()).expect("the test is waiting");
                        return readable.await;
                    }
                    would_block(server.try_read(&mut [0u8; 4]));
                    runtime::task::yield_now().await;
                }
                panic!("readable() kept resolving with nothing sent");
            }));
        }
        for _ in 0..8 {
            waiting.next().await.expect("every task registers");
        }
        client.write_all(b"!").await?;
        for task in tasks {
            task.timeout(STEP).await??;
        }
        // Waiting took nothing from the socket.
        assert_eq!(server.try_read(&mut [0u8; 4])?, 1);
        Ok(())
    }

    async fn peek_leaves_the_data() -> io::Result<()> {
        let (mut client, mut server) = pair().await?;
        client.write_all(b"sniff me").await?;
        until_queued(&server, 8).await?;
        let mut peeked = [0u8; 8];
        assert_eq!(server.peek(&mut peeked).await?, 8);
        assert_eq!(&peeked, b"sniff me");
        let mut read = [0u8; 8];
        server.read_exact(&mut read).await?;
        assert_eq!(&read, b"sniff me");
        client.shutdown(Shutdown::Write)?;
        assert_eq!(server.peek(&mut peeked).timeout(STEP).await??, 0, "end of stream");
        Ok(())
    }

    async fn ttl_and_linger_round_trip() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_ttl(33)?;
        assert_eq!(listener.ttl()?, 33);
        let stream = TcpStream::connect(listener.local_addr()?).await?;
        stream.set_ttl(42)?;
        assert_eq!(stream.ttl()?, 42);
        assert_eq!(stream.linger()?, None);
        stream.set_linger(Some(Duration::from_secs(1)))?;
        assert_eq!(stream.linger()?, Some(Duration::from_secs(1)));
        stream.set_linger(None)?;
        Ok(())
    }

    async fn vectored_tcp_is_one_system_call() -> io::Result<()> {
        let (client, server) = pair().await?;
        let chunks: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 3]).collect();
        let total: usize = chunks.iter().map(Vec::len).sum();
        let slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
        let expected: Vec<u8> = chunks.concat();

        // One call takes every buffer (a default writing only the first would return 3), for
        // the stream, its reference and its owned writing half alike.
        let mut stream = client;
        assert_eq!(stream.write_vectored(&slices).await?, total);
        assert_eq!((&stream).write_vectored(&slices).await?, total);
        let (_reader, mut writer) = stream.into_split();
        assert_eq!(writer.write_vectored(&slices).await?, total);

        // The reading side: one call fills both buffers once everything is there.
        let (mut reader, _writer) = server.into_split();
        for round in 0..3 {
            until_queued(reader.as_ref(), total).await?;
            let (mut head, mut tail) = (vec![0u8; 3], vec![0u8; total - 3]);
            let mut bufs = [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)];
            let n = match round {
                0 => reader.read_vectored(&mut bufs).await?,
                1 => reader.as_ref().read_vectored(&mut bufs).await?,
                _ => {
                    let mut stream: &TcpStream = reader.as_ref();
                    stream.read_vectored(&mut bufs).await?
                }
            };
            assert_eq!(n, total, "round {round}: one readv fills every buffer");
            assert_eq!([head, tail].concat(), expected, "round {round}: whole and in order");
        }
        Ok(())
    }

    async fn vectored_unix_is_one_system_call() -> io::Result<()> {
        let (mut a, b) = UnixStream::pair()?;
        let chunks: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 2]).collect();
        let total: usize = chunks.iter().map(Vec::len).sum();
        let slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
        assert_eq!(a.write_vectored(&slices).await?, total);
        assert_eq!((&a).write_vectored(&slices).await?, total);
        let (_r, mut w) = a.into_split();
        assert_eq!(w.write_vectored(&slices).await?, total);

        let expected = chunks.concat();
        let (mut reader, _w) = b.into_split();
        for round in 0..3 {
            // A Unix stream's writev is queued whole: once readable, all of it is there.
            reader.as_ref().readable().timeout(STEP).await??;
            let (mut head, mut tail) = (vec![0u8; 2], vec![0u8; total - 2]);
            let mut bufs = [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)];
            let n = if round == 0 {
                reader.read_vectored(&mut bufs).await?
            } else {
                reader.as_ref().read_vectored(&mut bufs).await?
            };
            assert_eq!(n, total, "round {round}: one readv fills every buffer");
            assert_eq!([head, tail].concat(), expected, "round {round}: whole and in order");
        }
        Ok(())
    }

    async fn unix_stream_readiness_and_try_forms() -> io::Result<()> {
        let (a, b) = UnixStream::pair()?;
        let mut buf = [0u8; 8];
        would_block(b.try_read(&mut buf));
        assert_eq!(when_ready!(a.writable(), a.try_write(b"unix"))?, 4);
        assert_eq!(when_ready!(b.readable(), b.try_read(&mut buf))?, 4);
        assert_eq!(&buf[..4], b"unix");
        would_block(b.try_read(&mut buf));
        waits_after_would_block!(b.readable(), b.try_read(&mut buf));
        a.shutdown(Shutdown::Write)?;
        assert_eq!(when_ready!(b.readable(), b.try_read(&mut buf))?, 0);
        Ok(())
    }

    async fn udp_try_forms() -> io::Result<()> {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        let mut buf = [0u8; 16];
        would_block(a.try_recv_from(&mut buf));
        assert_eq!(when_ready!(b.writable(), b.try_send_to(b"datagram", a.local_addr()?))?, 8);
        let (n, from) = when_ready!(a.readable(), a.try_recv_from(&mut buf))?;
        assert_eq!((&buf[..n], from), (&b"datagram"[..], b.local_addr()?));
        would_block(a.try_recv_from(&mut buf));
        waits_after_would_block!(a.readable(), a.try_recv_from(&mut buf));

        a.connect(b.local_addr()?).await?;
        b.connect(a.local_addr()?).await?;
        would_block(b.try_recv(&mut buf));
        assert_eq!(when_ready!(a.writable(), a.try_send(b"connected"))?, 9);
        assert_eq!(when_ready!(b.readable(), b.try_recv(&mut buf))?, 9);
        assert_eq!(&buf[..9], b"connected");
        Ok(())
    }

    async fn udp_readable_resolves_on_an_error_that_try_recv_from_returns() -> io::Result<()> {
        // A connected UDP socket learns from the ICMP port-unreachable that nobody listens.
        // The port is freed before use, so another test may take it meanwhile and answer: a
        // datagram then means "try another port" (at most a few times), not a failure.
        'target: for _ in 0..5 {
            let nobody = std::net::UdpSocket::bind("127.0.0.1:0")?;
            let target = nobody.local_addr()?;
            drop(nobody);
            let socket = UdpSocket::bind("127.0.0.1:0")?;
            socket.connect(target).await?;
            for (round, recv_from) in [(0, true), (1, false)] {
                socket.send(b"anyone?").await?;
                let got = if recv_from {
                    when_ready!(socket.readable(), socket.try_recv_from(&mut [0u8; 8])).map(|(n, _)| n)
                } else {
                    when_ready!(socket.readable(), socket.try_recv(&mut [0u8; 8]))
                };
                match got {
                    Ok(_) => continue 'target,
                    Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "round {round}: {e}"),
                }
            }
            return Ok(());
        }
        panic!("every closed port tried was taken and answered")
    }

    async fn unix_datagram_try_forms() -> io::Result<()> {
        let (a, b) = UnixDatagram::pair()?;
        let mut buf = [0u8; 16];
        would_block(b.try_recv(&mut buf));
        assert_eq!(when_ready!(a.writable(), a.try_send(b"paired"))?, 6);
        assert_eq!(when_ready!(b.readable(), b.try_recv(&mut buf))?, 6);
        assert_eq!(&buf[..6], b"paired");
        would_block(b.try_recv(&mut buf));
        waits_after_would_block!(b.readable(), b.try_recv(&mut buf));

        let dir = TempDir::new("dgram");
        let receiver_path = dir.join("receiver.sock");
        let sender_path = dir.join("sender.sock");
        let receiver = UnixDatagram::bind(&receiver_path)?;
        let sender = UnixDatagram::bind(&sender_path)?;
        would_block(receiver.try_recv_from(&mut buf));
        assert_eq!(when_ready!(sender.writable(), sender.try_send_to(b"by path", &receiver_path))?, 7);
        let (n, from) = when_ready!(receiver.readable(), receiver.try_recv_from(&mut buf))?;
        assert_eq!(&buf[..n], b"by path");
        assert_eq!(from.as_pathname(), Some(sender_path.as_path()));
        let e = sender.try_send_to(b"x", dir.join("nobody.sock")).unwrap_err();
        assert!(e.to_string().contains("nobody.sock"), "the error names the path: {e}");
        Ok(())
    }
}
