//! One async runtime API, many backends.
//!
//! Write `#[runtime::main]`, `#[runtime::test]`, [`spawn`], [`net`] and [`time`] once; switch
//! the whole program between backends by changing the attribute's argument:
//!
//! ```
//! use futures::prelude::*;
//! use runtime::net::{TcpListener, TcpStream};
//!
//! #[runtime::main(runtime_tokio::Tokio)]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let server = runtime::spawn(async move {
//!         let (mut stream, _) = listener.accept().await?;
//!         let mut buf = [0u8; 5];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await?;
//!         std::io::Result::Ok(())
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut echoed = [0u8; 5];
//!     client.read_exact(&mut echoed).await?;
//!     assert_eq!(&echoed, b"hello");
//!     server.await
//! }
//! ```
//!
//! # How it fits together
//!
//! A backend is a value implementing [`raw::Runtime`]. The attributes expand to
//! [`raw::enter`], which starts a fresh instance of that backend, runs the `async` body on the
//! calling thread, and stops the instance (dropping its pending tasks, joining its threads)
//! before it returns. While an instance runs, the facade's free functions ([`spawn`],
//! [`net::TcpListener::bind`], [`time::Delay`], ...) find it through a thread-local set on each of
//! its threads, so nothing needs to be passed around.
//!
//! Spawning costs one allocation: the backend's task (on Tokio, Tokio's own task holding the
//! future, as with `tokio::spawn`); see [`raw`] for the layout.
//!
//! Child processes ([`process`], Unix) and signals ([`signal`]) are written once here, on a
//! backend's readiness for plain descriptors ([`raw::Instance::watch_fd`]): a child's pipes and
//! pidfd, and the socket a signal handler writes to, wake tasks like any socket does.
//!
//! # Testing
//!
//! **One test, every backend.** A list of backends gives one `#[test]` per backend, in a module
//! named after the function, so `cargo test echo` runs them all and a failure names its backend:
//!
//! ```
//! # fn main() {}
//! #[runtime::test(runtime::native::Native, runtime_tokio::Tokio, runtime_tokio::TokioCurrentThread)]
//! async fn echo() -> std::io::Result<()> {
//!     // echo::native, echo::tokio, echo::tokio_current_thread
//!     let socket = runtime::net::UdpSocket::bind("127.0.0.1:0")?;
//!     socket.send_to(b"ping", socket.local_addr()?).await?;
//!     Ok(())
//! }
//!
//! // A backend that is not a path is named: `configured::two_workers`.
//! #[runtime::test(two_workers = runtime::native::Native::builder().worker_threads(2).build())]
//! async fn configured() {}
//! ```
//!
//! **Timeouts.** `timeout = "250ms" | "5s" | "2m"` runs a wall-clock watchdog outside the
//! runtime: a body that hangs, or blocks its thread, fails with `test timed out after 5s`:
//!
//! ```
//! # fn main() {}
//! #[runtime::test(runtime::native::Native, runtime_tokio::Tokio, timeout = "5s")]
//! async fn answers_in_time() {
//!     runtime::time::Delay::new(std::time::Duration::from_millis(1)).await;
//! }
//! ```
//!
//! **A virtual clock.** On `Native` and `TokioCurrentThread` (the latter with the feature
//! `test-util`), [`time::pause`] freezes the instance's clock; it then moves by
//! [`time::advance`], or jumps to the next timer when every task is idle, so an hour-long delay
//! takes no time. `#[runtime::test(start_paused)]` starts a test that way:
//!
//! ```
//! use std::time::Duration;
//! use runtime::time::Delay;
//!
//! # fn main() {}
//! #[runtime::test(runtime::native::Native, start_paused, timeout = "30s")]
//! async fn an_hour_in_no_time() {
//!     let start = runtime::time::now();
//!     Delay::new(Duration::from_secs(3600)).await;
//!     assert_eq!(runtime::time::now() - start, Duration::from_secs(3600));
//!
//!     let later = runtime::spawn(Delay::new(Duration::from_secs(60)));
//!     runtime::time::advance(Duration::from_secs(60)).await;
//!     later.await;
//! }
//! ```
//!
//! **A task's panic fails the test.** A `#[runtime::test]` fails when a task it spawned
//! panicked and nobody took the panic, even when the body itself passed: detached tasks,
//! dropped join handles, tasks of a [`task::TaskSet`], local tasks ([`task::spawn_local`]),
//! `spawn_blocking` jobs, and tasks spawned by those tasks all count. The failure, raised once
//! the runtime has stopped, names the first such panic: `a task spawned by this test panicked:
//! <payload>` (a payload that is not a string is written `Box<dyn Any>`); it is a panic of the
//! test function, so `#[should_panic]` accepts it. A panic that resumed in an awaiter (a
//! [`task::JoinHandle`] awaited, [`task::JoinHandle::cancel`], [`task::TaskSet::join_next`])
//! belongs to that awaiter instead: it fails the test only if it escapes the body. If the body
//! panics, its own panic is the failure. A panic that happens after the runtime stopped (a
//! `spawn_blocking` job detached at shutdown) is not seen. `allow_task_panics` turns the rule
//! off; `#[runtime::main]` never applies it.
//!
//! ```
//! use futures::FutureExt;
//! use std::panic::AssertUnwindSafe;
//!
//! # fn main() {}
//! #[runtime::test(runtime::native::Native, runtime_tokio::Tokio)]
//! async fn awaited_panics_are_the_awaiters() {
//!     let handle = runtime::spawn(async { panic!("caught by the body") });
//!     assert!(AssertUnwindSafe(handle).catch_unwind().await.is_err());
//! }
//!
//! #[runtime::test(runtime::native::Native)]
//! #[should_panic(expected = "a task spawned by this test panicked: unseen")]
//! async fn a_detached_panic_fails_the_test() {
//!     let handle = runtime::spawn(async { panic!("unseen") });
//!     while !handle.is_finished() {
//!         runtime::task::yield_now().await;
//!     }
//! }
//!
//! #[runtime::test(allow_task_panics)]
//! async fn panics_allowed() {
//!     runtime::spawn(async { panic!("ignored, as before") });
//! }
//! ```
//!
//! **Task sets and local tasks.** A [`task::TaskSet`] joins its tasks in the order they
//! finish and cancels them all when dropped; [`task::spawn_local`] runs a future that is not
//! `Send` on the test's own thread, beside the body, on every backend:
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//! use runtime::task::{TaskSet, spawn_local};
//!
//! # fn main() {}
//! #[runtime::test(runtime::native::Native, runtime_tokio::Tokio, runtime_tokio::TokioCurrentThread)]
//! async fn sets_and_local_tasks() {
//!     let mut set = TaskSet::new();
//!     for i in 1..=3u32 {
//!         set.spawn(async move { i * 10 });
//!     }
//!     let mut total = 0;
//!     while let Some(n) = set.join_next().await {
//!         total += n;
//!     }
//!     assert_eq!(total, 60);
//!
//!     let counter = Rc::new(Cell::new(0));
//!     let local = spawn_local({
//!         let counter = counter.clone();
//!         async move { counter.set(counter.get() + 1) }
//!     });
//!     local.await;
//!     assert_eq!(counter.get(), 1);
//! }
//! ```
//!
//! **Shutdown grace.** `shutdown_timeout = "5s"` (on `#[runtime::main]` and
//! `#[runtime::test]`, the same value syntax as `timeout`) gives the tasks still running when
//! the body completes up to that long, on the real clock, to finish before they are dropped;
//! [`raw::enter_with`] with [`raw::EnterOptions`] is the same without the attribute.
// `unsafe` only in `process` and `signal`, for the system calls std lacks (pidfd_open, poll,
// fcntl) and the signal handler; each of those modules allows it where it needs it.
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod fs;
pub mod net;
pub mod prelude;
#[cfg(unix)]
pub mod process;
pub mod signal;
pub mod task;
pub mod time;

pub use runtime_attributes::{bench, main, test};
pub use runtime_raw as raw;

#[cfg(feature = "native")]
pub use runtime_native as native;
pub use task::spawn;

/// Support for the attribute macros; not part of the public API.
#[doc(hidden)]
pub mod __private;

/// The benchmark harness behind `#[runtime::bench]`; not part of the public API.
#[doc(hidden)]
#[path = "bench.rs"]
pub mod __bench;

/// Message of every panic raised when an operation that needs a running runtime finds none.
const NO_RUNTIME: &str = "no runtime is running on this thread. Start one with `#[runtime::main]` on \
     `async fn main`, `#[runtime::test]` on a test, or `runtime::raw::enter(backend, future)`";

/// Runs `f` with the current instance, panicking with a message naming `what` when there is none.
fn with_instance<R>(what: &str, f: impl FnOnce(&std::sync::Arc<dyn raw::Instance>) -> R) -> R {
    raw::with_current(|current| match current {
        Some(instance) => f(instance),
        None => panic!("`{what}`: {NO_RUNTIME}"),
    })
}

/// The current instance, cloned, panicking with a message naming `what` when there is none.
fn instance(what: &str) -> std::sync::Arc<dyn raw::Instance> {
    with_instance(what, |instance| instance.clone())
}

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
