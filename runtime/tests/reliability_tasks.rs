//! Task guarantees under faults: panicking destructors, polls never concurrent or after
//! completion, fairness.

#[macro_use]
mod common;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::oneshot;
use futures::prelude::*;

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("panicking destructor");
    }
}

/// A future that fails loudly if it is ever polled by two threads at once or after it
/// completed; it completes once `rx` fires.
struct Guarded {
    in_poll: Arc<AtomicBool>,
    done: bool,
    rx: oneshot::Receiver<()>,
}

impl Future for Guarded {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        assert!(!self.done, "polled after completion");
        assert!(!self.in_poll.swap(true, Ordering::SeqCst), "polled by two threads at once");
        // Stay inside the poll a little, so that concurrent wakes land mid-poll.
        std::hint::black_box((0..50).sum::<u32>());
        let result = Pin::new(&mut self.rx).poll(cx).map(|_| ());
        self.in_poll.store(false, Ordering::SeqCst);
        if result.is_ready() {
            self.done = true;
        }
        result
    }
}

on_every_backend! {
    async fn panicking_destructor_in_a_task_does_not_take_the_runtime_down() {
        let handle = runtime::spawn(async {
            let _bomb = PanicOnDrop;
            runtime::task::yield_now().await;
            7
        });
        // The local is dropped as the body ends, inside the task's last poll: the task panics,
        // and its awaiter sees that panic.
        let payload = std::panic::AssertUnwindSafe(handle).catch_unwind().await.unwrap_err();
        assert_eq!(common::panic_message(&*payload), "panicking destructor");
        let cancelled = runtime::spawn(async {
            let _bomb = PanicOnDrop;
            futures::future::pending::<()>().await
        });
        assert_eq!(cancelled.cancel().await, None);
        // Still running.
        assert_eq!(runtime::spawn(async { 1 }).await, 1);
    }

    async fn panicking_output_destructor_is_contained() {
        let handle = runtime::spawn(async { PanicOnDrop });
        while !handle.is_finished() {
            runtime::task::yield_now().await;
        }
        // Dropping the handle drops the output, whose destructor panics: contained.
        drop(handle);
        runtime::spawn(async { PanicOnDrop }).detach();
        assert_eq!(runtime::spawn(async { 2 }).await, 2);
    }

    async fn never_polled_concurrently_or_after_completion() {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..500 {
            let (tx, rx) = oneshot::channel();
            senders.push(tx);
            let guarded = Guarded { in_poll: Arc::new(AtomicBool::new(false)), done: false, rx };
            handles.push(runtime::spawn(guarded));
        }
        // Wake from several threads while the tasks may be running.
        let per_thread = senders.len() / 4;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let batch: Vec<_> = senders.drain(..per_thread).collect();
                std::thread::spawn(move || {
                    for tx in batch {
                        let _ = tx.send(());
                        std::thread::yield_now();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await;
        }
        for thread in threads {
            thread.join().unwrap();
        }
    }

    async fn a_self_waking_task_does_not_starve_others() {
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = {
            let stop = stop.clone();
            runtime::spawn(async move {
                let mut spins = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    runtime::task::yield_now().await;
                    spins += 1;
                    assert!(spins < 50_000_000, "the other task never ran");
                }
            })
        };
        // Runs although the spinner is always ready.
        runtime::spawn(async move { stop.store(true, Ordering::SeqCst) }).await;
        spinner.await;
    }
}

/// Native only: the poll budget. A task whose socket always has data would otherwise never
/// return from its poll, and the only worker would never run anything else. (Tokio has its own
/// budget; the current-thread flavour is covered by the same mechanism.)
#[test]
fn a_task_whose_socket_is_always_ready_does_not_starve_others() {
    const TOTAL: usize = 1 << 20;
    let rt = runtime::native::Native::builder().worker_threads(1).build();
    runtime::raw::enter(rt, async {
        let listener = runtime::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream.write_all(&vec![1u8; TOTAL]).unwrap();
        });
        let (stream, _) = listener.accept().await.unwrap();
        // Let data pile up so that every read is ready at once.
        runtime::time::Delay::new(Duration::from_millis(50)).await;
        let read = Arc::new(AtomicUsize::new(0));
        let reader = {
            let read = read.clone();
            runtime::spawn(async move {
                let mut byte = [0u8; 1];
                while (&stream).read(&mut byte).await.unwrap() == 1 {
                    read.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let seen = {
            let read = read.clone();
            runtime::spawn(async move { read.load(Ordering::SeqCst) })
        };
        let at = seen.await;
        assert!(at < TOTAL, "the other task ran only after the reader drained everything");
        reader.await;
        writer.join().unwrap();
    });
}

/// The same for datagrams, whose receives take the backends' allocation-free fast path when
/// the socket is known to be readable: that path spends the budget too. Native with one worker,
/// and Tokio's current-thread flavour (its own budget).
#[test]
fn a_task_receiving_queued_datagrams_does_not_starve_others() {
    async fn scenario() {
        // More datagrams than one poll's budget (128), all queued before the reader starts.
        const QUEUED: usize = 300;
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
        socket.set_recv_buffer_size(4 << 20).unwrap();
        socket.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
        socket.set_nonblocking(true).unwrap();
        let receiver = runtime::net::UdpSocket::from_std(socket.into()).unwrap();
        let to = receiver.local_addr().unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..QUEUED {
            sender.send_to(&[1], to).unwrap();
        }
        let reader = runtime::spawn(async move {
            let mut byte = [0u8; 1];
            // The first receive may wait for the reactor to report the socket readable; the
            // rest are all ready at once.
            receiver.recv(&mut byte).await.unwrap();
            let read = Arc::new(AtomicUsize::new(1));
            // Queued behind this task on its worker: it runs only when the reader yields.
            let seen = {
                let read = read.clone();
                runtime::spawn(async move { read.load(Ordering::SeqCst) })
            };
            for _ in 1..QUEUED {
                receiver.recv(&mut byte).await.unwrap();
                read.fetch_add(1, Ordering::SeqCst);
            }
            // Handed back, not awaited here: awaiting it would make the reader yield.
            (seen,)
        });
        let (seen,) = reader.await;
        let at = seen.await;
        assert!(at < QUEUED, "the other task ran only after the reader received all {QUEUED} datagrams");
    }
    runtime::raw::enter(runtime::native::Native::builder().worker_threads(1).build(), scenario());
    runtime::raw::enter(runtime_tokio::TokioCurrentThread, scenario());
}
