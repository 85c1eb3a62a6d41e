//! Signals: [`ctrl_c`] everywhere, any Unix signal as a stream with [`unix::signal`].
//!
//! The first listener of a signal installs one process-wide handler for it (through
//! `signal-hook-registry`, so other libraries' handlers for the same signal keep working). The
//! handler runs no user code: it writes one byte to a socket per live listener, and each
//! listener's instance wakes its task through its reactor, like any other I/O. Every listener of
//! a signal, in every instance, sees each delivery; deliveries it has not yet been polled for
//! coalesce into one.
//!
//! ```no_run
//! use futures::future::{self, Either};
//!
//! #[runtime::main]
//! async fn main() -> std::io::Result<()> {
//!     let serve = Box::pin(async {
//!         // ... accept and serve connections ...
//!         # future::pending::<std::io::Result<()>>().await
//!     });
//!     match future::select(serve, Box::pin(runtime::signal::ctrl_c())).await {
//!         Either::Left((served, _)) => served,
//!         Either::Right((interrupted, _)) => {
//!             println!("ctrl-c: stopping");
//!             interrupted
//!         }
//!     }
//! }
//! ```

use std::io;

#[cfg(unix)]
pub(crate) mod registry;
#[cfg(unix)]
pub mod unix;

/// Message of the error of `ctrl_c` when its instance stopped before a SIGINT came.
#[cfg(unix)]
const STOPPED: &str = "the runtime instance stopped before ctrl-c (SIGINT) was received";

/// Resolves on the next ctrl-c (`SIGINT` on Unix) after it was first polled.
///
/// The first poll installs the process-wide handler, so from then on ctrl-c no longer ends the
/// process (for the rest of its life): the program decides what to do.
///
/// # Examples
/// ```no_run
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     println!("press ctrl-c to stop");
///     runtime::signal::ctrl_c().await?;
///     println!("stopping");
///     Ok(())
/// }
/// ```
///
/// # Errors
/// The OS's when the handler cannot be installed; `Unsupported` where signals are not
/// implemented (non-Unix platforms); an error saying so when the instance stops first.
///
/// # Panics
/// When first polled outside a running runtime.
///
/// # Cancel safety
/// Dropping the future stops listening: a `SIGINT` that arrives afterwards is not reported to a
/// later `ctrl_c()` (which reports the first one after its own first poll).
pub async fn ctrl_c() -> io::Result<()> {
    #[cfg(unix)]
    {
        let mut interrupts = unix::signal(unix::SignalKind::interrupt())?;
        match interrupts.recv().await {
            Some(()) => Ok(()),
            None => Err(io::Error::other(STOPPED)),
        }
    }
    #[cfg(not(unix))]
    {
        Err(io::Error::new(io::ErrorKind::Unsupported, "runtime::signal::ctrl_c is implemented on Unix only"))
    }
}

#[cfg(unix)]
pub(crate) use unix::Listener;
