//! Wakes from foreign threads at random moments: every task completes, exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::channel::oneshot;

const TASKS: usize = 10_000;
const THREADS: usize = 4;

#[test]
fn ten_thousand_tasks_woken_from_foreign_threads_all_complete() {
    for workers in [1, 2, 4] {
        let rt = runtime::native::Native::builder().worker_threads(workers).build();
        let completed = Arc::new(AtomicUsize::new(0));
        let done = completed.clone();
        runtime::raw::enter(rt, async move {
            let mut senders = Vec::with_capacity(TASKS);
            let mut handles = Vec::with_capacity(TASKS);
            for i in 0..TASKS {
                let (tx, rx) = oneshot::channel::<usize>();
                senders.push(tx);
                let done = done.clone();
                handles.push(runtime::spawn(async move {
                    let got = rx.await.unwrap();
                    done.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(got, i);
                    got
                }));
            }
            // Foreign threads send in interleaved order, pausing at pseudo-random moments.
            let mut per_thread: Vec<Vec<(usize, oneshot::Sender<usize>)>> = (0..THREADS).map(|_| Vec::new()).collect();
            for (i, tx) in senders.into_iter().enumerate() {
                per_thread[(i * 7) % THREADS].push((i, tx));
            }
            let threads: Vec<_> = per_thread
                .into_iter()
                .enumerate()
                .map(|(t, batch)| {
                    std::thread::spawn(move || {
                        let mut x = 0x9E37_79B9u32 ^ (t as u32 + 1);
                        for (i, tx) in batch {
                            x ^= x << 13;
                            x ^= x >> 17;
                            x ^= x << 5;
                            if x.is_multiple_of(64) {
                                std::thread::sleep(Duration::from_micros(u64::from(x % 200)));
                            } else if x.is_multiple_of(8) {
                                std::thread::yield_now();
                            }
                            tx.send(i).unwrap();
                        }
                    })
                })
                .collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await;
            }
            for thread in threads {
                thread.join().unwrap();
            }
            assert_eq!(sum, (0..TASKS).sum::<usize>());
        });
        assert_eq!(completed.load(Ordering::SeqCst), TASKS, "{workers} workers");
    }
}

#[test]
fn wakes_while_running_are_not_lost() {
    // Each task is woken by another thread while it may be running: it must run again.
    let rt = runtime::native::Native::builder().worker_threads(2).build();
    runtime::raw::enter(rt, async {
        let handles: Vec<_> = (0..2_000)
            .map(|_| {
                runtime::spawn(async {
                    let (tx, rx) = oneshot::channel();
                    let thread = std::thread::spawn(move || tx.send(()).unwrap());
                    // Busy for a moment so the wake often lands mid-poll.
                    std::hint::black_box((0..200).sum::<u64>());
                    rx.await.unwrap();
                    thread.join().unwrap();
                })
            })
            .collect();
        for handle in handles {
            handle.await;
        }
    });
}
