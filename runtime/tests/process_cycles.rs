//! Enter/exit cycles leave nothing of their instances behind: after each `enter` returns, the
//! process's descriptors, threads and resident memory are back to where they were. Its own test
//! target: it measures the whole process through `/proc`.
#![cfg(target_os = "linux")]

mod common;

use std::io;
use std::path::Path;
use std::time::Duration;

use futures::prelude::*;
use runtime::net::unix::{UnixDatagram, UnixListener, UnixStream};
use runtime::net::{TcpListener, TcpStream, UdpSocket};
use runtime::raw::Runtime;

use common::TempDir;

/// Cycles per backend of the full workload, as the issue asks.
const CYCLES: usize = 1_000;
/// Cycles per backend before the baseline is taken: enough for the allocator's arenas and
/// glibc's cache of thread stacks to reach their steady size.
const WARM_UP: usize = 100;
/// Cycles per backend of the descriptor regression: a leak of one descriptor per instance shows
/// as 50.
const LISTENER_CYCLES: usize = 50;
/// How much resident memory may grow over the measured cycles: the allocator keeps some freed
/// memory, but a driver leaked per instance (tens of KiB each) would grow it by far more.
const RSS_SLACK_KIB: usize = 4 * 1024;
/// Kernel-side reaping of a thread runs a little after `join` returns: the count is re-read
/// this many times, 1 ms apart, before it is judged.
const REAP_POLLS: usize = 1_000;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").expect("/proc/self/task").count()
}

fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in /proc/self/status");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmRSS in kB")
}

/// The thread count once exited threads are reaped, or the last count read.
fn settled_threads(baseline: usize) -> usize {
    let mut now = threads();
    for _ in 0..REAP_POLLS {
        if now <= baseline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
        now = threads();
    }
    now
}

fn backends() -> [(&'static str, Box<dyn Runtime>); 3] {
    [
        ("Native", Box::new(runtime::native::Native)),
        ("Tokio", Box::new(runtime_tokio::Tokio)),
        ("TokioCurrentThread", Box::new(runtime_tokio::TokioCurrentThread)),
    ]
}

/// One test, so that the measurements never run at the same time.
#[test]
fn enter_exit_cycles_leave_nothing_behind() {
    let dir = TempDir::new("process-cycles");
    listener_cycles_return_every_descriptor();
    full_cycles_return_to_baseline(dir.path());
}

/// Issue 25, item 1: each instance of `Tokio` and `TokioCurrentThread` kept its driver (four
/// descriptors) after `enter` returned.
fn listener_cycles_return_every_descriptor() {
    for (name, rt) in backends() {
        let cycle = || {
            runtime::raw::enter(&*rt, async {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
                let (server, _) = listener.accept().await.unwrap();
                runtime::time::Delay::new(Duration::from_millis(1)).await;
                drop((client, server));
            })
        };
        // Process-wide state started lazily (none today) is not a leak.
        cycle();
        let baseline = open_fds();
        for _ in 0..LISTENER_CYCLES {
            cycle();
        }
        assert_eq!(open_fds(), baseline, "{name}: descriptors after {LISTENER_CYCLES} enter/exit cycles");
    }
}

/// The "Also required": 1,000 cycles on each backend, each with TCP, UDP, Unix sockets,
/// a timer and a `spawn_blocking` job.
fn full_cycles_return_to_baseline(dir: &Path) {
    for (_, rt) in backends() {
        for _ in 0..WARM_UP {
            runtime::raw::enter(&*rt, one_cycle(dir)).unwrap();
        }
    }
    let (fds, thread_count, rss) = (open_fds(), threads(), rss_kib());
    for (name, rt) in backends() {
        for i in 0..CYCLES {
            if let Err(e) = runtime::raw::enter(&*rt, one_cycle(dir)) {
                panic!("{name}: cycle {i}: {e}");
            }
        }
        assert_eq!(open_fds(), fds, "{name}: descriptors after {CYCLES} enter/exit cycles");
        assert_eq!(settled_threads(thread_count), thread_count, "{name}: threads after {CYCLES} enter/exit cycles");
        let grown = rss_kib().saturating_sub(rss);
        eprintln!("{name}: {CYCLES} cycles; resident memory grew by {grown} KiB since the warm-up");
        assert!(grown <= RSS_SLACK_KIB, "{name}: resident memory grew by {grown} KiB over {CYCLES} enter/exit cycles");
    }
}

/// Everything that may hold a descriptor, a thread or memory of the instance: TCP, UDP and Unix
/// sockets, a spawned task, a timer and a blocking job.
async fn one_cycle(dir: &Path) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = runtime::spawn(async move {
        let (mut stream, _) = listener.accept().await?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await?;
        stream.write_all(&buf).await?;
        io::Result::Ok(())
    });
    let mut client = TcpStream::connect(addr).await?;
    client.write_all(b"ping").await?;
    let mut buf = [0u8; 4];
    client.read_exact(&mut buf).await?;
    assert_eq!(&buf, b"ping");
    server.await?;

    let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    a.send_to(b"udp", b.local_addr()?).await?;
    let (n, from) = b.recv_from(&mut buf).await?;
    assert_eq!((&buf[..n], from), (&b"udp"[..], a.local_addr()?));

    let path = dir.join("cycle.sock");
    let unix = UnixListener::bind(&path)?;
    let (connected, accepted) = future::try_join(UnixStream::connect(&path), unix.accept()).await?;
    (&connected).write_all(b"unix").await?;
    (&accepted.0).read_exact(&mut buf).await?;
    assert_eq!(&buf, b"unix");
    drop((unix, connected, accepted));
    std::fs::remove_file(&path)?;
    let (x, y) = UnixDatagram::pair()?;
    x.send(b"dgrm").await?;
    assert_eq!(y.recv(&mut buf).await?, 4);

    runtime::time::Delay::new(Duration::from_millis(1)).await;
    assert_eq!(runtime::task::spawn_blocking(|| 7).await, 7);
    Ok(())
}
