//! Time: the runtime's clock, delays, intervals and timeouts.
//!
//! Every reading goes through the running instance's clock ([`now`]), so the delays, intervals
//! and timeouts of one instance all agree with each other.
//!
//! ```
//! use std::time::Duration;
//! use runtime::prelude::*;
//! use runtime::time::{Delay, Interval};
//! use futures::prelude::*;
//!
//! #[runtime::main(runtime_tokio::Tokio)]
//! async fn main() {
//!     let start = runtime::time::now();
//!     let fired = Delay::new(Duration::from_millis(5)).await;
//!     assert!(fired >= start + Duration::from_millis(5));
//!
//!     let ticks: Vec<_> = Interval::new(Duration::from_millis(1)).take(3).collect().await;
//!     assert_eq!(ticks.len(), 3);
//!
//!     let slow = futures::future::pending::<()>().timeout(Duration::from_millis(1)).await;
//!     assert_eq!(slow.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
//! }
//! ```

mod delay;
mod ext;
mod interval;

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Instant;

pub use delay::Delay;
pub use ext::{AsyncReadExt, FutureExt, StreamExt, Timeout, TimeoutAsyncRead, TimeoutStream};
pub use interval::Interval;

/// The running instance's clock; `Instant::now()` outside a runtime.
///
/// # Examples
/// ```
/// let before = std::time::Instant::now();
/// assert!(runtime::time::now() >= before);
/// ```
pub fn now() -> Instant {
    crate::raw::with_current(|current| current.map(|instance| instance.now())).unwrap_or_else(Instant::now)
}

/// Freezes the running instance's clock: from now on it moves only by [`advance`], or, when
/// every task is idle (and no `spawn_blocking` job runs), by jumping to the next timer.
/// Pending I/O does not hold it back. The clock belongs to the instance, so parallel tests do not
/// share it. Works on `Native` and `TokioCurrentThread` (with the feature `test-util`).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use runtime::time::Delay;
///
/// #[runtime::main]
/// async fn main() {
///     runtime::time::pause();
///     let start = runtime::time::now();
///     // An hour passes at once: every task is idle, so the clock jumps to the timer.
///     Delay::new(Duration::from_secs(3600)).await;
///     assert_eq!(runtime::time::now() - start, Duration::from_secs(3600));
/// }
/// ```
///
/// # Panics
/// With no runtime running, when already paused, on `Tokio` (multi-thread; the message names
/// `TokioCurrentThread`), and on `TokioCurrentThread` without the feature `test-util`.
pub fn pause() {
    crate::with_instance("runtime::time::pause", |instance| instance.pause());
}

/// Lets the paused clock run on in real time from the instant it reached (it never jumps
/// back).
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() {
/// runtime::time::pause();
/// runtime::time::advance(std::time::Duration::from_secs(5)).await;
/// let reached = runtime::time::now();
/// runtime::time::resume();
/// assert!(runtime::time::now() >= reached);
/// # }
/// ```
///
/// # Panics
/// With no runtime running, or when the clock is not paused.
pub fn resume() {
    crate::with_instance("runtime::time::resume", |instance| instance.resume());
}

/// Moves the paused clock forward by `dur`, firing the timers it passes, and lets the tasks they
/// woke run before it resolves.
///
/// # Examples
/// ```
/// # use std::time::Duration;
/// # #[runtime::main]
/// # async fn main() {
/// runtime::time::pause();
/// let delay = runtime::spawn(runtime::time::Delay::new(Duration::from_secs(60)));
/// runtime::time::advance(Duration::from_secs(60)).await;
/// delay.await;
/// # }
/// ```
///
/// # Panics
/// When polled with no runtime running, or with the clock not paused.
pub async fn advance(dur: std::time::Duration) {
    let advanced = crate::with_instance("runtime::time::advance", |instance| instance.advance(dur));
    advanced.await;
}

/// The error inside every timeout's `io::Error` (whose kind is `TimedOut`).
///
/// # Examples
/// ```
/// use runtime::time::Elapsed;
/// let error: std::io::Error = Elapsed::new().into();
/// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
/// assert!(error.get_ref().unwrap().is::<Elapsed>());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Elapsed(());

impl Elapsed {
    /// A new `Elapsed`.
    ///
    /// # Examples
    /// ```
    /// let elapsed = runtime::time::Elapsed::new();
    /// assert_eq!(elapsed.to_string(), "deadline has elapsed");
    /// ```
    pub fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(elapsed: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, elapsed)
    }
}
