//! Readiness for any Unix file descriptor: what the facade's child-process pipes, pidfds and
//! signal sockets are built on.
//!
//! The facade makes the descriptor (a pipe end, a pidfd, a socket), switches it to non-blocking
//! mode where it will read or write it, and hands it to [`Instance::watch_fd`]; the backend
//! registers it with its reactor for both directions and owns it from then on. Every operation
//! on it is the facade's closure run by [`Watched::poll_read_with`] or
//! [`Watched::poll_write_with`]: the backend waits until the descriptor is ready, runs the
//! closure, and when the closure reports `WouldBlock` it forgets that readiness and waits for the
//! next, so that a readiness event that arrives while the closure runs is never lost. The facade
//! thereby writes each protocol once (drain a pipe, reap a child once its pidfd is readable) and a
//! backend writes only the readiness loop.
//!
//! [`Instance::watch_fd`]: crate::Instance::watch_fd

use std::fmt;
use std::fs::File;
use std::io;
use std::task::{Context, Poll};

/// An operation on a watched descriptor: `WouldBlock` means "not yet, wait for readiness".
pub type Op<'a> = dyn FnMut(&File) -> io::Result<usize> + 'a;

/// A descriptor registered with an instance's reactor; deregistered before it closes, on drop.
///
/// The descriptor is held as a [`File`] only so that the facade can call `read`/`write` on it
/// without `unsafe`: it may be any kind of descriptor.
pub trait Watched: fmt::Debug + Send + Sync {
    /// The descriptor, for `AsFd` and for system calls that need no readiness.
    fn file(&self) -> &File;

    /// Waits until the descriptor is readable (or hung up, or in error), then runs `op`; on
    /// `WouldBlock` from `op`, clears that readiness and waits again. Registers `cx` as the one
    /// reader to wake.
    ///
    /// # Errors
    /// `op`'s error, or the backend's once its instance has stopped.
    fn poll_read_with(&self, cx: &mut Context<'_>, op: &mut Op<'_>) -> Poll<io::Result<usize>>;

    /// Like [`poll_read_with`](Self::poll_read_with), for writability; registers `cx` as the one
    /// writer to wake.
    ///
    /// # Errors
    /// `op`'s error, or the backend's once its instance has stopped.
    fn poll_write_with(&self, cx: &mut Context<'_>, op: &mut Op<'_>) -> Poll<io::Result<usize>>;
}

/// Message of the error of a backend that cannot watch descriptors (the default
/// [`Instance::watch_fd`](crate::Instance::watch_fd)).
pub const UNSUPPORTED: &str =
    "this runtime backend cannot watch file descriptors (child processes and signals need it)";
