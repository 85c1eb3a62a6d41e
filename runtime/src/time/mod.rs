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
