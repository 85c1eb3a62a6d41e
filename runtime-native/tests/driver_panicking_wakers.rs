//! Foreign wakers that panic when woken (issue 25, items 9 and 10): the native drivers contain
//! the panic, so that no worker dies and the reactor and timers keep running.
//!
//! Native only: Tokio lets such a panic unwind out of its driver (into `block_on` on the
//! current-thread flavour; the multi-thread flavour aborts the process), so there is no common
//! behaviour to test on every backend.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use runtime::net::UdpSocket;
use runtime::time::Delay;

/// A foreign waker that panics when woken: any waker may.
struct Panicking;

impl Wake for Panicking {
    fn wake(self: Arc<Self>) {
        panic!("a waker that panics (on purpose, in a test)");
    }
}

/// Polls `future` once with a waker that panics when woken.
fn poll_with_panicking_waker<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(Panicking));
    Pin::new(future).poll(&mut Context::from_waker(&waker))
}

/// One worker: if the panic killed it, or poisoned the driver, nothing would run again.
fn one_worker() -> runtime::native::Configured {
    runtime::native::Native::builder().worker_threads(1).build()
}

// A timer's waker that panics was called under the driver's lock: the lock was poisoned, read
// as "busy" forever, and no timer fired again (the later Delays hung).
#[runtime::test(one = one_worker(), runtime::native::Native, timeout = "30s")]
async fn panicking_timer_waker_does_not_stop_timers() {
    let mut doomed = Delay::new(Duration::from_millis(1));
    assert!(poll_with_panicking_waker(&mut doomed).is_pending());
    // It fires (its waker panics on the thread that fires it), then others must too.
    for _ in 0..3 {
        Delay::new(Duration::from_millis(30)).await;
    }
    drop(doomed);
}

// The same for I/O: a socket's waker that panics is called by the reactor.
#[runtime::test(one = one_worker(), runtime::native::Native, timeout = "30s")]
async fn panicking_io_waker_does_not_stop_the_reactor() -> io::Result<()> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let peer = UdpSocket::bind("127.0.0.1:0")?;
    let addr = socket.local_addr()?;
    let mut buf = [0u8; 8];
    {
        let mut recv = Box::pin(socket.recv_from(&mut buf));
        assert!(poll_with_panicking_waker(&mut recv).is_pending());
        peer.send_to(b"boom", addr).await?;
        for _ in 0..3 {
            Delay::new(Duration::from_millis(30)).await;
        }
    }
    let other = UdpSocket::bind("127.0.0.1:0")?;
    peer.send_to(b"ok", other.local_addr()?).await?;
    let (n, from) = other.recv_from(&mut buf).await?;
    assert_eq!((&buf[..n], from), (&b"ok"[..], peer.local_addr()?));
    Ok(())
}

// The waker of a JoinHandle panics when its task completes: the worker that completed it must
// live on and run what comes next.
#[runtime::test(one = one_worker(), runtime::native::Native, timeout = "30s")]
async fn panicking_join_waker_does_not_kill_the_worker() {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let mut handle = runtime::spawn(async move {
        rx.await.unwrap();
        1
    });
    assert!(poll_with_panicking_waker(&mut handle).is_pending());
    tx.send(()).unwrap();
    for i in 0..100 {
        assert_eq!(runtime::spawn(async move { i * 2 }).await, i * 2);
    }
    drop(handle);
}
