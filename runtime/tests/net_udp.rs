//! UDP: send_to/recv_from, peek_from, connect/send/recv, options, sharing.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;

use runtime::net::UdpSocket;

on_every_backend! {
    async fn send_to_and_recv_from() -> io::Result<()> {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        let b_addr = b.local_addr()?;
        assert_eq!(a.send_to(b"one", b_addr).await?, 3);
        assert_eq!(a.send_to(b"two", ("127.0.0.1", b_addr.port())).await?, 3);
        assert_eq!(a.send_to(b"three", b_addr.to_string()).await?, 5);
        let mut buf = [0u8; 16];
        for expected in [&b"one"[..], b"two", b"three"] {
            let (n, from) = b.recv_from(&mut buf).await?;
            assert_eq!(&buf[..n], expected);
            assert_eq!(from, a.local_addr()?);
        }
        Ok(())
    }

    async fn peek_leaves_datagram_queued() -> io::Result<()> {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        a.send_to(b"peek", b.local_addr()?).await?;
        let mut buf = [0u8; 8];
        let (n, from) = b.peek_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"peek"[..], a.local_addr()?));
        let (n, _) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"peek");
        Ok(())
    }

    async fn connect_send_recv() -> io::Result<()> {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        a.connect(b.local_addr()?).await?;
        b.connect(a.local_addr()?).await?;
        assert_eq!(a.send(b"hello").await?, 5);
        let mut buf = [0u8; 8];
        assert_eq!(b.recv(&mut buf).await?, 5);
        assert_eq!(&buf[..5], b"hello");
        b.send(b"back").await?;
        assert_eq!(a.recv(&mut buf).await?, 4);
        Ok(())
    }

    async fn options_round_trip() -> io::Result<()> {
        let s = UdpSocket::bind("127.0.0.1:0")?;
        s.set_broadcast(true)?;
        assert!(s.broadcast()?);
        s.set_ttl(42)?;
        assert_eq!(s.ttl()?, 42);
        s.set_multicast_loop_v4(false)?;
        assert!(!s.multicast_loop_v4()?);
        s.set_multicast_ttl_v4(3)?;
        assert_eq!(s.multicast_ttl_v4()?, 3);
        let group = Ipv4Addr::new(239, 255, 0, 1);
        if s.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST).is_ok() {
            s.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)?;
        }
        if let Ok(v6) = UdpSocket::bind("[::1]:0") {
            v6.set_multicast_loop_v6(false)?;
            assert!(!v6.multicast_loop_v6()?);
        }
        Ok(())
    }

    async fn eight_tasks_receive_on_one_socket() -> io::Result<()> {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0")?);
        let addr = socket.local_addr()?;
        let receivers: Vec<_> = (0..8)
            .map(|_| {
                let socket = socket.clone();
                runtime::spawn(async move {
                    let mut buf = [0u8; 4];
                    let (n, _) = socket.recv_from(&mut buf).await?;
                    io::Result::Ok(buf[..n].to_vec())
                })
            })
            .collect();
        for _ in 0..10 {
            runtime::task::yield_now().await;
        }
        let sender = UdpSocket::bind("127.0.0.1:0")?;
        for i in 0..8u8 {
            sender.send_to(&[i], addr).await?;
        }
        let mut got = BTreeSet::new();
        for r in receivers {
            got.insert(r.await?[0]);
        }
        assert_eq!(got, (0..8u8).collect());
        Ok(())
    }

    async fn send_to_error_names_the_address() -> io::Result<()> {
        let s = UdpSocket::bind("127.0.0.1:0")?;
        // Port 0 is not a valid destination.
        let err = s.send_to(b"x", "127.0.0.1:0").await.unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:0"), "{err}");
        Ok(())
    }
}
