//! TCP: bind, connect, accept, incoming, echo, shutdown, addresses, sharing.

#[macro_use]
mod common;

use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr};
use std::sync::Arc;

use futures::prelude::*;
use runtime::net::{TcpListener, TcpStream};

async fn pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?).await?;
    let (server, _) = listener.accept().await?;
    Ok((client, server))
}

on_every_backend! {
    async fn bind_port_zero_and_addresses() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(addr.port(), 0);
        let client = TcpStream::connect(addr).await?;
        let (server, peer) = listener.accept().await?;
        assert_eq!(client.peer_addr()?, addr);
        assert_eq!(server.local_addr()?, addr);
        assert_eq!(peer, client.local_addr()?);
        assert_eq!(server.peer_addr()?, client.local_addr()?);
        assert!(format!("{listener:?}").contains(&addr.to_string()));
        Ok(())
    }

    async fn bind_forms() -> io::Result<()> {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        TcpListener::bind(("127.0.0.1", 0))?;
        TcpListener::bind(String::from("127.0.0.1:0"))?;
        TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        TcpListener::bind(&[SocketAddr::from(([127, 0, 0, 1], 0))][..])?;
        TcpListener::bind(("localhost", 0))?;
        Ok(())
    }

    async fn connect_by_host_name() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        // localhost may resolve to ::1 first: connect tries each address in turn.
        let client = TcpStream::connect(("localhost", port)).await?;
        let (_server, peer) = listener.accept().await?;
        assert_eq!(peer, client.local_addr()?);
        Ok(())
    }

    async fn echo_both_ways() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = runtime::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut buf = vec![0u8; 1024];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return io::Result::Ok(());
                }
                stream.write_all(&buf[..n]).await?;
            }
        });
        let mut client = TcpStream::connect(addr).await?;
        for round in 0..50u32 {
            let msg = format!("round {round}");
            client.write_all(msg.as_bytes()).await?;
            let mut back = vec![0; msg.len()];
            client.read_exact(&mut back).await?;
            assert_eq!(back, msg.as_bytes());
        }
        client.close().await?;
        server.await
    }

    async fn large_transfer_in_order() -> io::Result<()> {
        let (mut client, mut server) = pair().await?;
        let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = runtime::spawn(async move {
            client.write_all(&data).await?;
            client.close().await?;
            io::Result::Ok(())
        });
        let mut received = Vec::new();
        server.read_to_end(&mut received).await?;
        writer.await?;
        assert!(received == expected, "bytes arrived out of order or were lost");
        Ok(())
    }

    async fn shutdown_write_gives_eof() -> io::Result<()> {
        let (client, mut server) = pair().await?;
        client.shutdown(Shutdown::Write)?;
        let mut buf = [0u8; 4];
        assert_eq!(server.read(&mut buf).await?, 0);
        Ok(())
    }

    async fn shutdown_read_wakes_pending_reader() -> io::Result<()> {
        let (client, _server) = pair().await?;
        let client = Arc::new(client);
        let reader = client.clone();
        let read = runtime::spawn(async move {
            let mut buf = [0u8; 4];
            (&*reader).read(&mut buf).await
        });
        // Let the reader register before shutting its half down.
        for _ in 0..10 {
            runtime::task::yield_now().await;
        }
        client.shutdown(Shutdown::Read)?;
        assert_eq!(read.await?, 0);
        Ok(())
    }

    async fn concurrent_read_and_write_on_one_stream() -> io::Result<()> {
        let (client, server) = pair().await?;
        let client = Arc::new(client);
        let server = Arc::new(server);
        const N: usize = 200_000;
        let reader = {
            let client = client.clone();
            runtime::spawn(async move {
                let mut got = vec![0u8; N];
                (&*client).read_exact(&mut got).await?;
                io::Result::Ok(got)
            })
        };
        let writer = {
            let client = client.clone();
            runtime::spawn(async move { (&*client).write_all(&vec![1u8; N]).await })
        };
        // The server echoes with its own reader and writer tasks.
        let echo = {
            let server = server.clone();
            runtime::spawn(async move {
                let mut buf = vec![0u8; N];
                (&*server).read_exact(&mut buf).await?;
                (&*server).write_all(&buf).await
            })
        };
        writer.await?;
        echo.await?;
        assert_eq!(reader.await?, vec![1u8; N]);
        Ok(())
    }

    async fn four_tasks_accept_on_one_listener() -> io::Result<()> {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0")?);
        let addr = listener.local_addr()?;
        let acceptors: Vec<_> = (0..4)
            .map(|_| {
                let listener = listener.clone();
                runtime::spawn(async move { listener.accept().await.map(|(s, _)| s) })
            })
            .collect();
        for _ in 0..10 {
            runtime::task::yield_now().await;
        }
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(TcpStream::connect(addr).await?);
        }
        let mut peers = Vec::new();
        for a in acceptors {
            peers.push(a.await?.peer_addr()?);
        }
        let mut locals: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
        peers.sort();
        locals.sort();
        assert_eq!(peers, locals);
        Ok(())
    }

    async fn incoming_yields_connections() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let clients = runtime::spawn(async move {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(TcpStream::connect(addr).await?);
            }
            io::Result::Ok(v)
        });
        let accepted: Vec<_> = listener.incoming().take(3).try_collect().await?;
        assert_eq!(accepted.len(), 3);
        clients.await?;
        Ok(())
    }

    async fn nodelay_round_trips() -> io::Result<()> {
        let (client, _server) = pair().await?;
        client.set_nodelay(true)?;
        assert!(client.nodelay()?);
        client.set_nodelay(false)?;
        assert!(!client.nodelay()?);
        Ok(())
    }

    async fn closed_peer_reads_eof_and_writes_fail() -> io::Result<()> {
        let (mut client, server) = pair().await?;
        drop(server);
        let mut buf = [0u8; 8];
        assert_eq!(client.read(&mut buf).await?, 0);
        // The first write may be accepted before the reset arrives; a later one fails.
        let mut failed = None;
        for _ in 0..100 {
            if let Err(e) = client.write_all(&[0u8; 1024]).await {
                failed = Some(e);
                break;
            }
            runtime::task::yield_now().await;
        }
        let kind = failed.expect("writing to a closed peer fails").kind();
        assert!(matches!(kind, io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset), "{kind:?}");
        Ok(())
    }

    async fn ipv6_loopback() -> io::Result<()> {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            // No IPv6 on this machine.
            return Ok(());
        };
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (_server, peer) = listener.accept().await?;
        assert_eq!(peer, client.local_addr()?);
        Ok(())
    }

    async fn dropping_pending_accept_leaves_listener_usable() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        {
            let accept = listener.accept();
            futures::pin_mut!(accept);
            assert!(futures::poll!(accept).is_pending());
        }
        let addr = listener.local_addr()?;
        let _client = TcpStream::connect(addr).await?;
        listener.accept().await?;
        Ok(())
    }
}

#[cfg(unix)]
#[test]
fn raw_fds_are_exposed() {
    use std::os::fd::{AsFd, AsRawFd};
    for_every_backend!(|rt| {
        runtime::raw::enter(rt, async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            assert!(listener.as_raw_fd() >= 0);
            assert_eq!(listener.as_fd().as_raw_fd(), listener.as_raw_fd());
        })
    });
}
