//! Errors: no runtime, refused connections, ports in use, bad and unresolvable addresses.

#[macro_use]
mod common;

use std::io;
use std::net::SocketAddr;

use common::panic_message;
use runtime::net::{TcpListener, TcpStream, UdpSocket};

fn no_runtime_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    panic_message(&*std::panic::catch_unwind(f).unwrap_err())
}

#[test]
fn facade_without_runtime_panics_with_how_to_start_one() {
    let messages = [
        no_runtime_message(|| drop(runtime::spawn(async {}))),
        no_runtime_message(|| drop(runtime::task::Spawner::current())),
        no_runtime_message(|| drop(TcpListener::bind("127.0.0.1:0"))),
        no_runtime_message(|| drop(UdpSocket::bind("127.0.0.1:0"))),
        no_runtime_message(|| drop(futures::executor::block_on(TcpStream::connect("127.0.0.1:9")))),
        no_runtime_message(|| {
            futures::executor::block_on(runtime::time::Delay::new(std::time::Duration::from_millis(1)));
        }),
    ];
    for message in messages {
        assert!(message.contains("no runtime is running"), "{message}");
        assert!(message.contains("#[runtime::main]"), "{message}");
    }
}

/// A port nothing listens on: bound, then closed.
fn closed_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

on_every_backend! {
    async fn refused_connection_is_an_error_naming_the_address() {
        let addr = closed_port();
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }

    async fn address_in_use_names_the_address() -> io::Result<()> {
        let first = TcpListener::bind("127.0.0.1:0")?;
        let addr = first.local_addr()?;
        let err = TcpListener::bind(addr).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        let err = UdpSocket::bind(udp.local_addr()?).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        Ok(())
    }

    async fn malformed_addresses_are_invalid_input() {
        for bad in ["not an address", "127.0.0.1", "127.0.0.1:99999", ":80", ""] {
            let err = TcpListener::bind(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}: {err}");
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
            let err = TcpStream::connect(bad).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}: {err}");
        }
        let empty: &[SocketAddr] = &[];
        assert_eq!(TcpListener::bind(empty).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    async fn unresolvable_names_are_errors_naming_the_host() -> io::Result<()> {
        let err = TcpStream::connect("no-such-host.invalid:80").await.unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid:80"), "{err}");
        let err = TcpListener::bind(("no-such-host.invalid", 0)).unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        let err = udp.send_to(b"x", "no-such-host.invalid:9").await.unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid:9"), "{err}");
        Ok(())
    }

    async fn io_after_instance_stopped_fails_without_hanging() {
        // The stream is made in a nested instance on another thread, which then stops.
        let stream = std::thread::spawn(|| {
            runtime::raw::enter(runtime_tokio::TokioCurrentThread, async {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
                let server = listener.accept().await.unwrap().0;
                (client, server)
            })
        })
        .join()
        .unwrap();
        use futures::AsyncReadExt as _;
        let (mut client, _server) = stream;
        let err = client.read(&mut [0u8; 4]).await.unwrap_err();
        assert!(!err.to_string().is_empty());
        // Getters keep working.
        client.local_addr().unwrap();
    }
}
