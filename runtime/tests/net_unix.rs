//! Unix domain sockets, std interop and owned halves, on every backend.
#![cfg(unix)]

#[macro_use]
mod common;

use std::io;
use std::path::PathBuf;

use futures::prelude::*;
use runtime::net::unix::{UnixDatagram, UnixListener, UnixStream};
use runtime::net::{TcpListener, TcpStream, UdpSocket};

/// A fresh socket path in the temp directory, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("runtime-test-{}-{tag}-{n}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn echo_over(listener: UnixListener, connect: PathBuf) -> io::Result<()> {
    let server = runtime::spawn(async move {
        let (stream, _) = listener.accept().await?;
        let (mut r, mut w) = (&stream, &stream);
        futures::io::copy(&mut r, &mut w).await?;
        io::Result::Ok(())
    });
    let mut client = UnixStream::connect(&connect).await?;
    client.write_all(b"over a unix socket").await?;
    client.shutdown(std::net::Shutdown::Write)?;
    let mut back = String::new();
    client.read_to_string(&mut back).await?;
    assert_eq!(back, "over a unix socket");
    server.await
}

on_every_backend! {
    async fn stream_echo_on_a_filesystem_path() -> io::Result<()> {
        let path = TempPath::new("echo");
        let listener = UnixListener::bind(&path.0)?;
        assert_eq!(listener.local_addr()?.as_pathname(), Some(path.0.as_path()));
        echo_over(listener, path.0.clone()).await
    }

    async fn binding_an_existing_path_is_addr_in_use() -> io::Result<()> {
        let path = TempPath::new("inuse");
        let _first = UnixListener::bind(&path.0)?;
        let err = UnixListener::bind(&path.0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&path.0.display().to_string()), "{err}");
        Ok(())
    }

    async fn connecting_to_nothing_names_the_path() {
        let path = TempPath::new("nothing");
        let err = UnixStream::connect(&path.0).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains(&path.0.display().to_string()), "{err}");
    }

    async fn stream_pair_and_halves() -> io::Result<()> {
        let (a, mut b) = UnixStream::pair()?;
        let (mut reader, mut writer) = a.into_split();
        let sender = runtime::spawn(async move {
            writer.write_all(b"from the write half").await?;
            io::Result::Ok(())
        });
        sender.await?;
        let mut got = [0u8; 19];
        b.read_exact(&mut got).await?;
        assert_eq!(&got, b"from the write half");
        b.write_all(b"back").await?;
        let mut back = [0u8; 4];
        reader.read_exact(&mut back).await?;
        assert_eq!(&back, b"back");
        Ok(())
    }

    async fn datagram_round_trip_on_paths() -> io::Result<()> {
        let (pa, pb) = (TempPath::new("dga"), TempPath::new("dgb"));
        let a = UnixDatagram::bind(&pa.0)?;
        let b = UnixDatagram::bind(&pb.0)?;
        assert_eq!(a.send_to(b"datagram", &pb.0).await?, 8);
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"datagram");
        assert_eq!(from.as_pathname(), Some(pa.0.as_path()));
        b.connect(&pa.0)?;
        b.send(b"reply").await?;
        assert_eq!(a.recv(&mut buf).await?, 5);
        assert_eq!(b.peer_addr()?.as_pathname(), Some(pa.0.as_path()));
        Ok(())
    }

    async fn datagram_pair_and_unbound() -> io::Result<()> {
        let (a, b) = UnixDatagram::pair()?;
        a.send(b"pair").await?;
        let mut buf = [0u8; 8];
        assert_eq!(b.recv(&mut buf).await?, 4);
        let path = TempPath::new("unbound");
        let target = UnixDatagram::bind(&path.0)?;
        let sender = UnixDatagram::unbound()?;
        sender.send_to(b"anon", &path.0).await?;
        assert_eq!(target.recv(&mut buf).await?, 4);
        Ok(())
    }

    async fn many_tasks_accept_on_one_unix_listener() -> io::Result<()> {
        let path = TempPath::new("many");
        let listener = std::sync::Arc::new(UnixListener::bind(&path.0)?);
        let acceptors: Vec<_> = (0..4)
            .map(|_| {
                let listener = listener.clone();
                runtime::spawn(async move { listener.accept().await.map(|_| ()) })
            })
            .collect();
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(UnixStream::connect(&path.0).await?);
        }
        for a in acceptors {
            a.await?;
        }
        let accepted: Vec<_> = {
            let c = UnixStream::connect(&path.0).await?;
            clients.push(c);
            listener.incoming().take(1).try_collect().await?
        };
        assert_eq!(accepted.len(), 1);
        Ok(())
    }

    async fn std_round_trips() -> io::Result<()> {
        // TCP, UDP and Unix sockets into std and back, still working.
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let listener = TcpListener::from_std(listener.into_std()?)?;
        let client = TcpStream::connect(addr).await?;
        let (server, _) = listener.accept().await?;
        let mut client = TcpStream::from_std(client.into_std()?)?;
        client.write_all(b"std").await?;
        let mut server = TcpStream::from_std(server.into_std()?)?;
        let mut buf = [0u8; 3];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"std");

        let udp = UdpSocket::from_std(UdpSocket::bind("127.0.0.1:0")?.into_std()?)?;
        udp.send_to(b"u", udp.local_addr()?).await?;
        assert_eq!(udp.recv_from(&mut buf).await?.0, 1);

        let (a, b) = UnixStream::pair()?;
        let (mut a, mut b) = (UnixStream::from_std(a.into_std()?)?, UnixStream::from_std(b.into_std()?)?);
        a.write_all(b"uds").await?;
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"uds");
        let (x, y) = UnixDatagram::pair()?;
        let (x, y) = (UnixDatagram::from_std(x.into_std()?)?, UnixDatagram::from_std(y.into_std()?)?);
        x.send(b"d").await?;
        assert_eq!(y.recv(&mut buf).await?, 1);
        Ok(())
    }

    async fn blocking_std_sockets_wrapped_do_not_stall_other_tasks() -> io::Result<()> {
        // A std listener and stream in blocking mode: from_std switches them to non-blocking,
        // so a read with no data waits without blocking the worker.
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = std_listener.local_addr()?;
        let std_client = std::net::TcpStream::connect(addr)?;
        let listener = TcpListener::from_std(std_listener)?;
        let (server, _) = listener.accept().await?;
        let client = TcpStream::from_std(std_client)?;
        let reader = runtime::spawn(async move {
            let mut buf = [0u8; 5];
            (&client).read_exact(&mut buf).await.map(|_| buf)
        });
        // Other tasks still run while the reader waits.
        for i in 0..20 {
            assert_eq!(runtime::spawn(async move { i }).await, i);
        }
        (&server).write_all(b"later").await?;
        assert_eq!(&reader.await?, b"later");
        Ok(())
    }

    async fn tcp_halves_in_separate_tasks() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let stream = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        let (mut reader, mut writer) = stream.into_split();
        let write = runtime::spawn(async move { writer.write_all(b"ping").await });
        let read = runtime::spawn(async move {
            let mut buf = [0u8; 4];
            reader.read_exact(&mut buf).await.map(|_| buf)
        });
        let mut got = [0u8; 4];
        (&server).read_exact(&mut got).await?;
        assert_eq!(&got, b"ping");
        write.await?;
        (&server).write_all(b"pong").await?;
        assert_eq!(&read.await?, b"pong");
        Ok(())
    }
}

/// Linux only: abstract names (a leading '\0'), which live in no file system.
#[cfg(target_os = "linux")]
mod abstract_names {
    use super::*;

    on_every_backend! {
        async fn stream_echo_on_an_abstract_name() -> io::Result<()> {
            let name = format!("\0runtime-test-{}-{:?}", std::process::id(), std::thread::current().id());
            let listener = UnixListener::bind(&name)?;
            echo_over(listener, PathBuf::from(name)).await
        }

        async fn datagrams_on_abstract_names() -> io::Result<()> {
            let id = format!("{}-{:?}", std::process::id(), std::thread::current().id());
            let (na, nb) = (format!("\0runtime-dga-{id}"), format!("\0runtime-dgb-{id}"));
            let a = UnixDatagram::bind(&na)?;
            let b = UnixDatagram::bind(&nb)?;
            a.send_to(b"abstract", &nb).await?;
            let mut buf = [0u8; 16];
            let (n, _) = b.recv_from(&mut buf).await?;
            assert_eq!(&buf[..n], b"abstract");
            Ok(())
        }
    }
}

/// A protocol written against Tokio's I/O traits (tokio-util's `Framed` with `LinesCodec`)
/// running on every backend, Native included, through the feature `tokio-io`.
#[cfg(feature = "tokio-io")]
mod tokio_io {
    use super::*;
    use tokio_util::codec::{Framed, LinesCodec};

    on_every_backend! {
        async fn lines_codec_over_the_facade() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let server = runtime::spawn(async move {
                let (stream, _) = listener.accept().await?;
                let mut lines = Framed::new(stream, LinesCodec::new());
                while let Some(line) = lines.next().await {
                    lines.send(line?.to_uppercase()).await?;
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            });
            let mut client = Framed::new(TcpStream::connect(addr).await?, LinesCodec::new());
            for word in ["hello", "codec"] {
                client.send(word).await?;
                assert_eq!(client.next().await.unwrap()?, word.to_uppercase());
            }
            drop(client);
            server.await?;
            let (a, b) = UnixStream::pair()?;
            let (mut a, mut b) = (Framed::new(a, LinesCodec::new()), Framed::new(b, LinesCodec::new()));
            a.send("unix line").await?;
            assert_eq!(b.next().await.unwrap()?, "unix line");
            Ok(())
        }
    }
}
