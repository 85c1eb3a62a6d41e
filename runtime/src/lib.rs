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
//! Spawning costs one allocation on backends that schedule tasks themselves and two on Tokio
//! (its task and ours); see [`raw`] for the layout.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod net;
pub mod prelude;
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
