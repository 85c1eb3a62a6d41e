//! The benchmark workloads, written once and run on every variant: the facade on
//! `runtime_native::Native`, on `runtime_tokio::Tokio` and on `runtime_tokio::TokioCurrentThread`,
//! and plain Tokio without the facade as the baseline.
//!
//! Each workload is one `async fn` generic over [`Exec`], which says how to spawn, yield, and
//! open sockets. The suite (`benches/suite.rs`) runs them and writes the report.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::channel::oneshot;

pub mod fs;
pub mod http;

/// What a workload needs from a runtime.
pub trait Exec: Copy + Send + Sync + 'static {
    /// The join handle of a spawned task.
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;
    /// A UDP socket.
    type Udp: Send + Sync + 'static;
    /// A TCP listener.
    type Listener: Send + Sync + 'static;
    /// A TCP stream.
    type Stream: Send + 'static;

    fn spawn<F>(self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    fn yield_now(self) -> impl Future<Output = ()> + Send;
    fn sleep(self, dur: Duration) -> impl Future<Output = ()> + Send;

    /// A set of tasks joined in completion order: `TaskSet`, Tokio's `JoinSet`, and for smol
    /// (which has none) its tasks in a `FuturesUnordered`.
    type Set<T: Send + 'static>: Send + 'static;
    fn set_new<T: Send + 'static>(self) -> Self::Set<T>;
    fn set_spawn<F>(set: &mut Self::Set<F::Output>, future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    fn set_join_next<T: Send + 'static>(set: &mut Self::Set<T>) -> impl Future<Output = Option<T>> + Send + '_;

    fn udp_bind(self) -> Self::Udp;
    fn udp_addr(socket: &Self::Udp) -> SocketAddr;
    fn udp_send_to(socket: &Self::Udp, buf: &[u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>> + Send;
    fn udp_recv(socket: &Self::Udp, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;

    fn listen(self) -> Self::Listener;
    fn listener_addr(listener: &Self::Listener) -> SocketAddr;
    fn accept(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    fn connect(self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    fn read<'a>(stream: &'a mut Self::Stream, buf: &'a mut [u8])
    -> impl Future<Output = io::Result<usize>> + Send + 'a;
    fn write_all<'a>(stream: &'a mut Self::Stream, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + Send + 'a;
    /// One vectored write (the runtime's own `write_vectored`).
    fn write_vectored<'a>(
        stream: &'a mut Self::Stream,
        bufs: &'a [IoSlice<'a>],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;
}

/// The facade, on whichever backend is running.
#[derive(Debug, Clone, Copy)]
pub struct Facade;

impl Exec for Facade {
    type Join<T: Send + 'static> = runtime::task::JoinHandle<T>;
    type Udp = runtime::net::UdpSocket;
    type Listener = runtime::net::TcpListener;
    type Stream = runtime::net::TcpStream;

    fn spawn<F>(self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        runtime::spawn(future)
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        runtime::task::yield_now()
    }

    type Set<T: Send + 'static> = runtime::task::TaskSet<T>;

    fn set_new<T: Send + 'static>(self) -> Self::Set<T> {
        runtime::task::TaskSet::new()
    }

    fn set_spawn<F>(set: &mut Self::Set<F::Output>, future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        set.spawn(future);
    }

    fn set_join_next<T: Send + 'static>(set: &mut Self::Set<T>) -> impl Future<Output = Option<T>> + Send + '_ {
        set.join_next()
    }

    async fn sleep(self, dur: Duration) {
        runtime::time::Delay::new(dur).await;
    }

    fn udp_bind(self) -> Self::Udp {
        runtime::net::UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
    }

    fn udp_addr(socket: &Self::Udp) -> SocketAddr {
        socket.local_addr().expect("local address")
    }

    fn udp_send_to(socket: &Self::Udp, buf: &[u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>> + Send {
        socket.send_to(buf, to)
    }

    fn udp_recv(socket: &Self::Udp, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        socket.recv(buf)
    }

    fn listen(self) -> Self::Listener {
        runtime::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
    }

    fn listener_addr(listener: &Self::Listener) -> SocketAddr {
        listener.local_addr().expect("local address")
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(self, addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = runtime::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn read<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        futures::AsyncReadExt::read(stream, buf)
    }

    fn write_all<'a>(stream: &'a mut Self::Stream, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + Send + 'a {
        futures::AsyncWriteExt::write_all(stream, buf)
    }

    fn write_vectored<'a>(
        stream: &'a mut Self::Stream,
        bufs: &'a [IoSlice<'a>],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        futures::AsyncWriteExt::write_vectored(stream, bufs)
    }
}

/// Plain Tokio, no facade: the baseline.
#[derive(Debug, Clone, Copy)]
pub struct PlainTokio;

/// A Tokio join handle that unwraps, as the facade's does.
#[derive(Debug)]
pub struct TokioJoin<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioJoin<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx).map(|r| r.expect("task panicked"))
    }
}

impl Exec for PlainTokio {
    type Join<T: Send + 'static> = TokioJoin<T>;
    type Udp = tokio::net::UdpSocket;
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;

    fn spawn<F>(self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioJoin(tokio::spawn(future))
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    type Set<T: Send + 'static> = tokio::task::JoinSet<T>;

    fn set_new<T: Send + 'static>(self) -> Self::Set<T> {
        tokio::task::JoinSet::new()
    }

    fn set_spawn<F>(set: &mut Self::Set<F::Output>, future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        set.spawn(future);
    }

    async fn set_join_next<T: Send + 'static>(set: &mut Self::Set<T>) -> Option<T> {
        set.join_next().await.map(|r| r.expect("task panicked"))
    }

    async fn sleep(self, dur: Duration) {
        tokio::time::sleep(dur).await;
    }

    fn udp_bind(self) -> Self::Udp {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        socket.set_nonblocking(true).expect("non-blocking");
        tokio::net::UdpSocket::from_std(socket).expect("register")
    }

    fn udp_addr(socket: &Self::Udp) -> SocketAddr {
        socket.local_addr().expect("local address")
    }

    fn udp_send_to(socket: &Self::Udp, buf: &[u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>> + Send {
        socket.send_to(buf, to)
    }

    fn udp_recv(socket: &Self::Udp, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        socket.recv(buf)
    }

    fn listen(self) -> Self::Listener {
        tokio::net::TcpListener::from_std(loopback_listener()).expect("register")
    }

    fn listener_addr(listener: &Self::Listener) -> SocketAddr {
        listener.local_addr().expect("local address")
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(self, addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn read<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        tokio::io::AsyncReadExt::read(stream, buf)
    }

    fn write_all<'a>(stream: &'a mut Self::Stream, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + Send + 'a {
        tokio::io::AsyncWriteExt::write_all(stream, buf)
    }

    fn write_vectored<'a>(
        stream: &'a mut Self::Stream,
        bufs: &'a [IoSlice<'a>],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        tokio::io::AsyncWriteExt::write_vectored(stream, bufs)
    }
}

/// smol: an `async-executor` run by [`smol_threads`] threads, `async-io` for sockets and timers.
#[derive(Debug, Clone, Copy)]
pub struct Smol;

/// Threads running smol's executor: as many as the machine has cores, like the others.
pub fn smol_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The executor behind [`Smol`], started on first use with [`smol_threads`] threads.
pub fn smol_executor() -> &'static smol::Executor<'static> {
    static EXECUTOR: std::sync::OnceLock<&'static smol::Executor<'static>> = std::sync::OnceLock::new();
    EXECUTOR.get_or_init(|| {
        let executor: &'static smol::Executor<'static> = Box::leak(Box::new(smol::Executor::new()));
        for i in 0..smol_threads() {
            std::thread::Builder::new()
                .name(format!("smol-{i}"))
                .spawn(move || smol::block_on(executor.run(std::future::pending::<()>())))
                .expect("start a smol thread");
        }
        executor
    })
}

/// A smol task that detaches when dropped (smol's own handle cancels), as the others do.
#[derive(Debug)]
pub struct SmolJoin<T>(Option<smol::Task<T>>);

impl<T> Future for SmolJoin<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(self.0.as_mut().expect("polled after completion")).poll(cx)
    }
}

impl<T> Drop for SmolJoin<T> {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.detach();
        }
    }
}

impl Exec for Smol {
    type Join<T: Send + 'static> = SmolJoin<T>;
    type Udp = smol::Async<std::net::UdpSocket>;
    type Listener = smol::Async<std::net::TcpListener>;
    type Stream = smol::Async<std::net::TcpStream>;

    fn spawn<F>(self, future: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        SmolJoin(Some(smol_executor().spawn(future)))
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        smol::future::yield_now()
    }

    type Set<T: Send + 'static> = futures::stream::FuturesUnordered<smol::Task<T>>;

    fn set_new<T: Send + 'static>(self) -> Self::Set<T> {
        futures::stream::FuturesUnordered::new()
    }

    fn set_spawn<F>(set: &mut Self::Set<F::Output>, future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        set.push(smol_executor().spawn(future));
    }

    fn set_join_next<T: Send + 'static>(set: &mut Self::Set<T>) -> impl Future<Output = Option<T>> + Send + '_ {
        futures::StreamExt::next(set)
    }

    async fn sleep(self, dur: Duration) {
        smol::Timer::after(dur).await;
    }

    fn udp_bind(self) -> Self::Udp {
        smol::Async::<std::net::UdpSocket>::bind(([127, 0, 0, 1], 0)).expect("bind 127.0.0.1:0")
    }

    fn udp_addr(socket: &Self::Udp) -> SocketAddr {
        socket.get_ref().local_addr().expect("local address")
    }

    fn udp_send_to(socket: &Self::Udp, buf: &[u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>> + Send {
        socket.send_to(buf, to)
    }

    fn udp_recv(socket: &Self::Udp, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        socket.recv(buf)
    }

    fn listen(self) -> Self::Listener {
        smol::Async::new(loopback_listener()).expect("register")
    }

    fn listener_addr(listener: &Self::Listener) -> SocketAddr {
        listener.get_ref().local_addr().expect("local address")
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.get_ref().set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(self, addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = smol::Async::<std::net::TcpStream>::connect(addr).await?;
        stream.get_ref().set_nodelay(true)?;
        Ok(stream)
    }

    fn read<'a>(
        stream: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        futures::AsyncReadExt::read(stream, buf)
    }

    fn write_all<'a>(stream: &'a mut Self::Stream, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + Send + 'a {
        futures::AsyncWriteExt::write_all(stream, buf)
    }

    fn write_vectored<'a>(
        stream: &'a mut Self::Stream,
        bufs: &'a [IoSlice<'a>],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        futures::AsyncWriteExt::write_vectored(stream, bufs)
    }
}

/// The median, minimum and maximum of `values` (at least one): how every figure in the
/// reports is summarised.
pub fn median_min_max(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (sorted[sorted.len() / 2], sorted[0], sorted[sorted.len() - 1])
}

/// A measurement: the time the workload took and the number of operations it did.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub elapsed: Duration,
    pub ops: u64,
}

impl Measured {
    pub fn ns_per_op(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.ops.max(1) as f64
    }
}

/// A future that wakes itself `left` times before it completes.
struct WakeSelf {
    left: usize,
}

impl Future for WakeSelf {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// `notify_self`: `tasks` tasks, each waking itself `wakes` times before it completes.
pub async fn notify_self<E: Exec>(exec: E, tasks: usize, wakes: usize) -> Measured {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks).map(|_| exec.spawn(WakeSelf { left: wakes })).collect();
    for handle in handles {
        handle.await;
    }
    Measured { elapsed: start.elapsed(), ops: (tasks * wakes) as u64 }
}

/// `spawn_many`: `n` empty tasks spawned from inside a task, then awaited.
pub async fn spawn_many<E: Exec>(exec: E, n: usize) -> Measured {
    exec.spawn(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|i| exec.spawn(async move { i })).collect();
        for handle in handles {
            std::hint::black_box(handle.await);
        }
        Measured { elapsed: start.elapsed(), ops: n as u64 }
    })
    .await
}

/// `task_set`: `n` empty tasks spawned into a set from inside a task, then joined in
/// completion order; compare with `spawn_many` of the same `n` (handles kept in a `Vec`).
pub async fn task_set<E: Exec>(exec: E, n: usize) -> Measured {
    exec.spawn(async move {
        let start = Instant::now();
        let mut set = exec.set_new();
        for i in 0..n {
            E::set_spawn(&mut set, async move { i });
        }
        while let Some(i) = E::set_join_next(&mut set).await {
            std::hint::black_box(i);
        }
        Measured { elapsed: start.elapsed(), ops: n as u64 }
    })
    .await
}

/// `yield_many`: `tasks` tasks, each yielding `yields` times.
pub async fn yield_many<E: Exec>(exec: E, tasks: usize, yields: usize) -> Measured {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            exec.spawn(async move {
                for _ in 0..yields {
                    exec.yield_now().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await;
    }
    Measured { elapsed: start.elapsed(), ops: (tasks * yields) as u64 }
}

/// `ping_pong`: `rounds` round trips, each a spawned task answering a oneshot with a oneshot.
pub async fn ping_pong<E: Exec>(exec: E, rounds: usize) -> Measured {
    exec.spawn(async move {
        let start = Instant::now();
        for i in 0..rounds {
            let (ping_tx, ping_rx) = oneshot::channel::<usize>();
            let (pong_tx, pong_rx) = oneshot::channel::<usize>();
            drop(exec.spawn(async move {
                let v = ping_rx.await.expect("ping");
                pong_tx.send(v + 1).expect("pong");
            }));
            ping_tx.send(i).expect("ping");
            assert_eq!(pong_rx.await.expect("pong"), i + 1);
        }
        Measured { elapsed: start.elapsed(), ops: rounds as u64 }
    })
    .await
}

/// `chained_spawn`: each task spawns the next, `hops` times.
pub async fn chained_spawn<E: Exec>(exec: E, hops: usize) -> Measured {
    fn hop<E: Exec>(exec: E, left: usize, done: oneshot::Sender<()>) {
        if left == 0 {
            let _ = done.send(());
        } else {
            drop(exec.spawn(async move { hop(exec, left - 1, done) }));
        }
    }
    let start = Instant::now();
    let (tx, rx) = oneshot::channel();
    drop(exec.spawn(async move { hop(exec, hops, tx) }));
    rx.await.expect("chain end");
    Measured { elapsed: start.elapsed(), ops: hops as u64 }
}

/// `poll_reactor`: `tasks` tasks, each doing `trips` readiness round trips through the reactor
/// (a datagram to its own loopback UDP socket, then waiting until it is readable).
pub async fn poll_reactor<E: Exec>(exec: E, tasks: usize, trips: usize) -> Measured {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            exec.spawn(async move {
                let socket = exec.udp_bind();
                let addr = E::udp_addr(&socket);
                let mut buf = [0u8; 8];
                for i in 0..trips {
                    E::udp_send_to(&socket, &(i as u64).to_le_bytes(), addr).await.expect("send");
                    let n = E::udp_recv(&socket, &mut buf).await.expect("recv");
                    assert_eq!(n, 8);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await;
    }
    Measured { elapsed: start.elapsed(), ops: (tasks * trips) as u64 }
}

/// `tcp_echo`: `connections` connections on 127.0.0.1, each doing `trips` round trips of
/// `size` bytes; `ops` counts round trips, and the percentiles are those of one round trip.
pub async fn tcp_echo<E: Exec>(exec: E, connections: usize, trips: usize, size: usize) -> (Measured, Percentiles) {
    echo(exec, connections, trips, size, Reply::Plain).await
}

/// `tcp_echo_vectored`: as [`tcp_echo`], but each reply is a length header and the body, two
/// buffers handed to one `write_vectored` (headers plus body, the way HTTP servers answer);
/// `ops` counts round trips, and the percentiles are those of one round trip.
pub async fn tcp_echo_vectored<E: Exec>(
    exec: E,
    connections: usize,
    trips: usize,
    size: usize,
) -> (Measured, Percentiles) {
    echo(exec, connections, trips, size, Reply::HeaderAndBody).await
}

/// How the echo server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// What it read, with `write_all`.
    Plain,
    /// A [`HEADER`]-byte length, then what it read, in vectored writes.
    HeaderAndBody,
}

/// The length header of each [`Reply::HeaderAndBody`] reply.
const HEADER: usize = 8;

/// Writes `header` then `body` with vectored writes: one system call for both unless the
/// socket takes only part.
async fn write_all_vectored<E: Exec>(stream: &mut E::Stream, header: &[u8], body: &[u8]) -> io::Result<()> {
    let mut storage = [IoSlice::new(header), IoSlice::new(body)];
    let mut bufs = &mut storage[..];
    while !bufs.is_empty() {
        let n = E::write_vectored(stream, bufs).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(())
}

/// Reads one round trip's answer to a `size`-byte request.
async fn read_reply<E: Exec>(stream: &mut E::Stream, back: &mut [u8], size: usize, reply: Reply) {
    // A server may read the request in parts: with headers, each part is its own reply.
    let (mut body, mut got) = (0, 0);
    while body < size {
        let n = E::read(stream, &mut back[got..]).await.expect("client read");
        assert!(n > 0, "server closed early");
        got += n;
        if reply == Reply::Plain {
            (body, got) = (got, 0);
            continue;
        }
        while got >= HEADER {
            let len = u64::from_be_bytes(back[..HEADER].try_into().expect("8 bytes")) as usize;
            if got < HEADER + len {
                break;
            }
            body += len;
            back.copy_within(HEADER + len..got, 0);
            got -= HEADER + len;
        }
    }
}

async fn echo<E: Exec>(
    exec: E,
    connections: usize,
    trips: usize,
    size: usize,
    reply: Reply,
) -> (Measured, Percentiles) {
    let listener = Arc::new(exec.listen());
    let addr = E::listener_addr(&listener);
    let server = {
        let listener = listener.clone();
        exec.spawn(async move {
            let mut echoes = Vec::with_capacity(connections);
            for _ in 0..connections {
                let mut stream = E::accept(&listener).await.expect("accept");
                echoes.push(exec.spawn(async move {
                    let mut buf = vec![0u8; size];
                    loop {
                        let n = E::read(&mut stream, &mut buf).await.expect("server read");
                        if n == 0 {
                            break;
                        }
                        let written = match reply {
                            Reply::Plain => E::write_all(&mut stream, &buf[..n]).await,
                            Reply::HeaderAndBody => {
                                write_all_vectored::<E>(&mut stream, &(n as u64).to_be_bytes(), &buf[..n]).await
                            }
                        };
                        written.expect("server write");
                    }
                }));
            }
            echoes
        })
    };
    let start = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            exec.spawn(async move {
                let mut stream = exec.connect(addr).await.expect("connect");
                let out = vec![7u8; size];
                let mut back = vec![0u8; 2 * (HEADER + size)];
                let mut latencies = Vec::with_capacity(trips);
                for _ in 0..trips {
                    let sent = Instant::now();
                    E::write_all(&mut stream, &out).await.expect("client write");
                    read_reply::<E>(&mut stream, &mut back, size, reply).await;
                    latencies.push(nanos(sent.elapsed()));
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(connections * trips);
    for client in clients {
        latencies.extend(client.await);
    }
    let elapsed = start.elapsed();
    for echo in server.await {
        echo.await;
    }
    (Measured { elapsed, ops: (connections * trips) as u64 }, Percentiles::of(&mut latencies))
}

/// The median and the 99th percentile of one operation's latency in a sample (a request, a
/// round trip).
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    pub p50: Duration,
    pub p99: Duration,
}

impl Percentiles {
    /// The percentiles of `nanos` (at least one latency, in nanoseconds; reordered in place).
    pub fn of(nanos: &mut [u64]) -> Percentiles {
        assert!(!nanos.is_empty(), "{NO_LATENCIES}");
        let at = |nanos: &mut [u64], rank: usize| Duration::from_nanos(*nanos.select_nth_unstable(rank).1);
        let p50 = at(nanos, nanos.len() / 2);
        let p99 = at(nanos, (nanos.len() * 99 / 100).min(nanos.len() - 1));
        Percentiles { p50, p99 }
    }
}

const NO_LATENCIES: &str = "Percentiles::of needs at least one latency: run at least one operation";

/// `d` in whole nanoseconds, saturating (no latency in a benchmark comes near 584 years).
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `spawn_join`: `n` empty tasks spawned from inside a task, their handles kept in a `Vec` and
/// awaited in order; the clock covers the outer task's spawn and join too (the shape of the
/// measurement in issue #30, which `spawn_many` only approximates).
pub async fn spawn_join<E: Exec>(exec: E, n: usize) -> Measured {
    let start = Instant::now();
    exec.spawn(async move {
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            handles.push(exec.spawn(async {}));
        }
        for handle in handles {
            handle.await;
        }
    })
    .await;
    Measured { elapsed: start.elapsed(), ops: n as u64 }
}

/// A non-blocking listener on 127.0.0.1 with the backlog that `tokio::net::TcpListener::bind` and
/// the facade's `bind` use (1024), for the plain Tokio and smol variants. With std's 128, the
/// thousand clients of `tcp_echo_1000` overflow the accept queue: the dropped handshakes cost
/// those variants retransmission delays, and sometimes a reset connection.
pub fn loopback_listener() -> std::net::TcpListener {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind 127.0.0.1:0");
    socket.listen(1024).expect("listen");
    socket.set_nonblocking(true).expect("non-blocking");
    socket.into()
}

/// `timers`: `n` concurrent delays of 1 to 50 ms; the wall time until all fired.
pub async fn timers<E: Exec>(exec: E, n: usize) -> Measured {
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| exec.spawn(async move { exec.sleep(Duration::from_micros(1_000 + spread(i, 49_000))).await }))
        .collect();
    for handle in handles {
        handle.await;
    }
    Measured { elapsed: start.elapsed(), ops: 1 }
}

/// `timer_lateness`: how late `n` delays of 1 to 50 ms fire; (p50, p99).
pub async fn timer_lateness<E: Exec>(exec: E, n: usize) -> (Duration, Duration) {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            exec.spawn(async move {
                let dur = Duration::from_micros(1_000 + spread(i, 49_000));
                let deadline = Instant::now() + dur;
                exec.sleep(dur).await;
                Instant::now().saturating_duration_since(deadline)
            })
        })
        .collect();
    let mut late = Vec::with_capacity(n);
    for handle in handles {
        late.push(handle.await);
    }
    late.sort();
    (late[n / 2], late[(n * 99 / 100).min(n - 1)])
}

/// A deterministic spread of `i` over `0..range`.
fn spread(i: usize, range: u64) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % range
}

/// A 16-byte future that stays pending without registering anything, counting its first poll.
#[derive(Debug)]
pub struct Pending16 {
    data: u64,
    polled: Option<&'static AtomicUsize>,
}

const _: () = assert!(std::mem::size_of::<Pending16>() == 16);

impl Pending16 {
    pub fn new(counter: &'static AtomicUsize) -> Pending16 {
        Pending16 { data: 0, polled: Some(counter) }
    }
}

impl Future for Pending16 {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u64> {
        if let Some(counter) = self.polled.take() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        std::hint::black_box(&self.data);
        Poll::Pending
    }
}

/// The process's resident set size, in bytes (Linux).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// `memory_usage`: bytes of RSS per pending task, over `n` tasks of a 16-byte future.
pub async fn memory_usage<E: Exec>(exec: E, n: usize) -> f64 {
    static POLLED: AtomicUsize = AtomicUsize::new(0);
    // Warm the allocator and the runtime up first.
    exec.spawn(async {}).await;
    let before = rss_bytes().unwrap_or(0);
    for _ in 0..n {
        drop(exec.spawn(Pending16::new(&POLLED)));
    }
    // Wait until every task has been polled once (and sits idle).
    let deadline = Instant::now() + Duration::from_secs(60);
    while POLLED.load(Ordering::Relaxed) < n && Instant::now() < deadline {
        exec.sleep(Duration::from_millis(1)).await;
    }
    let after = rss_bytes().unwrap_or(0);
    after.saturating_sub(before) as f64 / n as f64
}
