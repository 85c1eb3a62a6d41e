//! I/O guarantees: cancelled operations leave objects usable and hold no wakers, edge-triggered
//! readiness is never lost, reset connections are errors, not panics.

#[macro_use]
mod common;

use std::io;
use std::sync::Arc;

use std::task::{Context, Wake, Waker};

use futures::prelude::*;
use runtime::net::{TcpListener, TcpStream, UdpSocket};

/// A waker whose live clones are counted by its `Arc`'s strong count.
struct Counted;

impl Wake for Counted {
    fn wake(self: Arc<Self>) {}
}

fn counted() -> (Arc<Counted>, Waker) {
    let inner = Arc::new(Counted);
    (inner.clone(), Waker::from(inner))
}

on_every_backend! {
    async fn dropped_accept_holds_no_waker_and_listener_works() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let (counter, waker) = counted();
        let before = Arc::strong_count(&counter);
        {
            let accept = listener.accept();
            futures::pin_mut!(accept);
            let mut cx = Context::from_waker(&waker);
            assert!(accept.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(Arc::strong_count(&counter), before, "the dropped accept left its waker behind");
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (_, peer) = listener.accept().await?;
        assert_eq!(peer, client.local_addr()?);
        Ok(())
    }

    async fn dropped_recv_holds_no_waker_and_socket_works() -> io::Result<()> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        let (counter, waker) = counted();
        let before = Arc::strong_count(&counter);
        {
            let mut buf = [0u8; 8];
            let recv = socket.recv_from(&mut buf);
            futures::pin_mut!(recv);
            assert!(recv.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        }
        assert_eq!(Arc::strong_count(&counter), before);
        let other = UdpSocket::bind("127.0.0.1:0")?;
        other.send_to(b"after", socket.local_addr()?).await?;
        let mut buf = [0u8; 8];
        let (n, _) = socket.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"after");
        Ok(())
    }

    async fn dropped_read_leaves_stream_usable_and_releases_waker_with_it() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        let (counter, waker) = counted();
        let before = Arc::strong_count(&counter);
        {
            let mut buf = [0u8; 8];
            let mut reader = &server;
            let read = reader.read(&mut buf);
            futures::pin_mut!(read);
            assert!(read.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        }
        client.write_all(b"still works").await?;
        let mut buf = [0u8; 11];
        (&server).read_exact(&mut buf).await?;
        assert_eq!(&buf, b"still works");
        drop(server);
        assert_eq!(Arc::strong_count(&counter), before, "the stream's reader slot is released with it");
        Ok(())
    }

    async fn half_read_edge_still_delivers_the_rest() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (mut server, _) = listener.accept().await?;
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        client.write_all(&data).await?;
        client.close().await?;
        // Read a little; no new edge will come for the rest, which is already buffered.
        let mut first = [0u8; 100];
        server.read_exact(&mut first).await?;
        runtime::task::yield_now().await;
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await?;
        assert_eq!([&first[..], &rest[..]].concat(), data);
        Ok(())
    }

    async fn accepting_a_reset_connection_is_not_a_panic() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        for _ in 0..20 {
            // Connect, then reset with SO_LINGER 0 before the server accepts.
            let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
            socket.connect(&addr.into())?;
            socket.set_linger(Some(std::time::Duration::ZERO))?;
            drop(socket);
        }
        for _ in 0..20 {
            match listener.accept().await {
                Ok((stream, _)) => {
                    // The peer is gone: reads end or fail, never panic.
                    let _ = (&stream).read(&mut [0u8; 4]).await;
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        let client = TcpStream::connect(addr).await?;
        let (_, peer) = listener.accept().await?;
        assert_eq!(peer, client.local_addr()?);
        Ok(())
    }
}
