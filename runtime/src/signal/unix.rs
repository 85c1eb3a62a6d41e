//! Unix signals as streams: [`signal`] and [`SignalKind`].

use std::fmt;
use std::future::Future;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, ready};

use futures::Stream;

use super::registry;
use crate::raw;

/// Bytes read per `read` while draining a listener's socket: a few deliveries' worth.
const DRAIN_CHUNK: usize = 64;
/// Reads per drain at most: past that a storm of deliveries is still coming in, and the next
/// poll yields another item (the readiness was not cleared).
const DRAIN_READS: usize = 16;

/// A kind of Unix signal: a signal number.
///
/// # Examples
/// ```
/// use runtime::signal::unix::SignalKind;
/// assert_eq!(SignalKind::terminate().as_raw_value(), 15);
/// assert_eq!(SignalKind::from_raw(10).as_raw_value(), 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal number. Never panics: [`signal`] refuses the numbers it cannot listen to.
    ///
    /// # Examples
    /// ```
    /// let usr1 = runtime::signal::unix::SignalKind::from_raw(10);
    /// assert_eq!(usr1, runtime::signal::unix::SignalKind::user_defined1());
    /// ```
    pub const fn from_raw(signum: i32) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::interrupt().as_raw_value(), 2);
    /// ```
    pub const fn as_raw_value(&self) -> i32 {
        self.0
    }

    /// `SIGINT`: the terminal's interrupt (ctrl-c).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::interrupt().as_raw_value(), 2);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: a polite request to stop.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::terminate().as_raw_value(), 15);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal went away; daemons take it as "reload".
    ///
    /// # Examples
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::hangup().as_raw_value(), 1);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`: the terminal's quit (ctrl-\).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(runtime::signal::unix::SignalKind::quit().as_raw_value(), 3);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(target_os = "linux")]
    /// assert_eq!(runtime::signal::unix::SignalKind::user_defined1().as_raw_value(), 10);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(target_os = "linux")]
    /// assert_eq!(runtime::signal::unix::SignalKind::user_defined2().as_raw_value(), 12);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process stopped, continued or exited.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(target_os = "linux")]
    /// assert_eq!(runtime::signal::unix::SignalKind::child().as_raw_value(), 17);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }
}

impl From<SignalKind> for i32 {
    fn from(kind: SignalKind) -> i32 {
        kind.0
    }
}

/// A listener of one signal number on one instance's reactor; the signal module's `Signal`
/// and the child processes' SIGCHLD fallback are built on it.
pub(crate) struct Listener {
    /// Dropped first: no delivery is written once the reader below closes.
    slot: registry::Slot,
    watched: Box<dyn raw::fd::Watched>,
    instance: Weak<dyn raw::Instance>,
    /// The instance stopped: every poll from now on is `None`.
    ended: bool,
}

impl Listener {
    /// Listens for `signum` on `instance`, from now on.
    pub(crate) fn new(signum: libc::c_int, instance: &Arc<dyn raw::Instance>) -> io::Result<Listener> {
        let (slot, reader) = registry::listen(signum)?;
        let watched = instance.watch_fd(OwnedFd::from(reader))?;
        Ok(Listener { slot, watched, instance: Arc::downgrade(instance), ended: false })
    }

    /// `Some(())` for one or more deliveries since the last; `None` once the instance stopped.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.ended || !self.instance.upgrade().is_some_and(|i| i.is_running()) {
            self.ended = true;
            return Poll::Ready(None);
        }
        match ready!(self.watched.poll_read_with(cx, &mut drain)) {
            Ok(_) => Poll::Ready(Some(())),
            Err(_) => {
                // The backend's reactor is gone: its instance stopped.
                self.ended = true;
                Poll::Ready(None)
            }
        }
    }
}

/// Reads every byte waiting on a listener's socket: one item for all of them. `WouldBlock`
/// when there were none.
fn drain(file: &std::fs::File) -> io::Result<usize> {
    let mut buf = [0u8; DRAIN_CHUNK];
    let mut total = 0;
    for _ in 0..DRAIN_READS {
        match (&*file).read(&mut buf) {
            Ok(n) => {
                total += n;
                if n < buf.len() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && total > 0 => break,
            Err(e) => return Err(e),
        }
    }
    if total == 0 { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(total) }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener").field("slot", &self.slot).field("ended", &self.ended).finish_non_exhaustive()
    }
}

/// A stream of deliveries of one signal, on the instance that made it.
///
/// Every live `Signal` of a kind, in every instance, sees each delivery that arrives after it was
/// made; deliveries that arrive while it is not polled coalesce into one item. The stream ends
/// (`None`) once its instance has stopped.
///
/// # Examples
/// ```
/// use runtime::signal::unix::{signal, SignalKind};
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let mut usr2 = signal(SignalKind::user_defined2())?;
///     // SAFETY: sends a signal to this process, whose handler `signal` just installed.
///     unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
///     assert_eq!(usr2.recv().await, Some(()));
///     Ok(())
/// }
/// ```
pub struct Signal {
    kind: SignalKind,
    listener: Listener,
}

/// Listens for `kind`: the returned stream yields once per delivery (coalesced while not polled)
/// from now on.
///
/// The first call for a kind installs a process-wide handler (shared with other libraries through
/// `signal-hook-registry`); once installed, the signal's default action (for most, ending the
/// process) stays replaced for the process's lifetime, even after every `Signal` is dropped.
///
/// # Examples
/// ```
/// use futures::StreamExt;
/// use runtime::signal::unix::{signal, SignalKind};
///
/// #[runtime::main]
/// async fn main() -> std::io::Result<()> {
///     let mut hangups = signal(SignalKind::hangup())?;
///     // SAFETY: sends a signal to this process, whose handler `signal` just installed.
///     unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
///     assert_eq!(hangups.next().await, Some(()));
///     Ok(())
/// }
/// ```
///
/// # Errors
/// `InvalidInput` for a signal that cannot be caught (`SIGKILL`, `SIGSTOP`), a fault signal
/// (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`), one the C library keeps for itself, or a number out
/// of range (0 included); the OS's when the handler or the socket it writes to cannot be made.
///
/// # Panics
/// When no runtime is running on this thread (after the checks above).
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    registry::check(kind.0)?;
    let instance = crate::instance("runtime::signal::unix::signal");
    Ok(Signal { kind, listener: Listener::new(kind.0, &instance)? })
}

impl Signal {
    /// Waits for the next delivery: `Some(())`, or `None` once this `Signal`'s instance stopped.
    ///
    /// # Examples
    /// ```
    /// use runtime::signal::unix::{signal, SignalKind};
    ///
    /// #[runtime::main]
    /// async fn main() -> std::io::Result<()> {
    ///     let mut quit = signal(SignalKind::quit())?;
    ///     // SAFETY: sends a signal to this process, whose handler `signal` just installed.
    ///     unsafe { libc::kill(libc::getpid(), libc::SIGQUIT) };
    ///     quit.recv().await;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: a delivery that a dropped `recv` did not report is reported by the next.
    pub fn recv(&mut self) -> impl Future<Output = Option<()>> + Send + '_ {
        std::future::poll_fn(|cx| self.listener.poll_recv(cx))
    }

    /// The kind this stream listens for.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::signal::unix::{signal, SignalKind};
    /// let term = signal(SignalKind::terminate())?;
    /// assert_eq!(term.kind(), SignalKind::terminate());
    /// # Ok(())
    /// # }
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().listener.poll_recv(cx)
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).field("ended", &self.listener.ended).finish()
    }
}
