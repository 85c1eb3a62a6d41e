//! Reliability of the drivers behind every backend (issue 25, items 3, 7 and 13): ready I/O
//! before a virtual-clock jump, a socket error that must not spin, a `Delay` polled after its
//! instance stopped. Written against the facade, run on every
//! backend; the watchdog turns a hang into a failure.

#[macro_use]
mod common;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;

use futures::prelude::*;
use runtime::net::{TcpListener, TcpStream, UdpSocket};
use runtime::prelude::*;
use runtime::time::Delay;

/// Each test on every backend with a virtual clock, starting paused.
macro_rules! on_clock_backends {
    ($($(#[$meta:meta])* async fn $name:ident() $(-> $ret:ty)? $body:block)*) => {$(
        #[cfg(feature = "test-util")]
        #[runtime::test(runtime::native::Native, runtime_tokio::TokioCurrentThread, start_paused, timeout = "30s")]
        $(#[$meta])*
        async fn $name() $(-> $ret)? $body

        #[cfg(not(feature = "test-util"))]
        #[runtime::test(runtime::native::Native, start_paused, timeout = "30s")]
        $(#[$meta])*
        async fn $name() $(-> $ret)? $body
    )*};
}

on_clock_backends! {
    // Item 3: with every thread idle, the clock jumped to the read's timeout although the bytes
    // had arrived: the reactor was not polled before the jump.
    async fn paused_clock_does_not_jump_past_ready_io() -> io::Result<()> {
        use runtime::time::AsyncReadExt as _;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (mut client, (server, _)) = future::try_join(TcpStream::connect(addr), listener.accept()).await?;
        let mut reader = server.timeout(Duration::from_secs(60));
        let mut buf = [0u8; 4];
        let err = reader.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        for round in 0..3u8 {
            // The peer writes from a task, after a virtual second: the thread that runs it goes
            // idle right after the write, with the bytes' event not yet taken from the reactor.
            let peer = runtime::spawn(async move {
                Delay::new(Duration::from_secs(1)).await;
                client.write_all(&[round; 4]).await.map(|()| client)
            });
            reader.read_exact(&mut buf).await?;
            assert_eq!(buf, [round; 4]);
            client = peer.await?;
        }
        Ok(())
    }
}

on_every_backend! {
    // Item 7: after an ICMP port-unreachable, error readiness stayed set: the first recv failed
    // with ConnectionRefused, every later one spun inside one poll and the timeout never fired.
    async fn udp_error_readiness_does_not_spin() -> io::Result<()> {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.connect(closed).await?;
        let mut buf = [0u8; 8];
        let mut refused = false;
        // A refusal needs the ICMP reply to a send: a few tries (loopback answers at once).
        for _ in 0..20 {
            socket.send(b"ping").await?;
            match socket.recv(&mut buf).timeout(Duration::from_millis(100)).await {
                Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
                Err(e) => panic!("recv failed with {e}"),
                Ok(Err(e)) => {
                    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
                    refused = true;
                    break;
                }
                Ok(Ok(n)) => panic!("received {n} bytes from a closed port"),
            }
        }
        assert!(refused, "no ConnectionRefused from a closed loopback port");
        // The error was consumed: now there is nothing to read, and the wait must end by timeout.
        for _ in 0..3 {
            match socket.recv(&mut buf).timeout(Duration::from_millis(20)).await {
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::TimedOut),
                Ok(result) => panic!("recv returned {result:?} with nothing sent"),
            }
        }
        Ok(())
    }
}

// Item 13: a Delay polled in an instance that stopped re-inserted itself into the cleared wheel
// and hung. It fails fast now, like I/O objects do: polling it panics.
#[test]
fn delay_polled_after_its_instance_stopped_panics() {
    for_every_backend!(|rt| {
        // Handed out in a tuple: the entry future's output is the Delay itself, not awaited.
        let (mut delay,) = runtime::raw::enter(rt, async {
            let mut delay = Delay::new(Duration::from_secs(3600));
            assert!(futures::poll!(&mut delay).is_pending());
            (delay,)
        });
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Pin::new(&mut delay).poll(&mut Context::from_waker(Waker::noop()))
        }));
        assert!(polled.is_err(), "a Delay polled after its instance stopped must panic");
        // In another instance, too.
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime::raw::enter(runtime::native::Native, async { (&mut delay).await })
        }));
        assert!(polled.is_err(), "a Delay polled after its instance stopped must panic in another instance");
        // Reset, it is as stale.
        delay.reset(runtime::time::now() + Duration::from_millis(1));
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime::raw::enter(runtime::native::Native, async { (&mut delay).await })
        }));
        assert!(polled.is_err(), "a reset Delay polled after its instance stopped must panic");
    });
}
