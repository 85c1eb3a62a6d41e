//! `Delay`: a future that fires at a deadline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::FusedFuture;

use crate::raw::time::AnyTimer;

/// A future that resolves at a deadline, to the [`now()`](super::now) at which it fired.
///
/// It never resolves before its deadline. A `Delay` can be made anywhere; it belongs to the
/// runtime instance in which it is first polled. `Duration::MAX` (or any deadline past the end of
/// time) never fires and never panics.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use runtime::time::Delay;
///
/// #[runtime::main(runtime_tokio::Tokio)]
/// async fn main() {
///     let start = runtime::time::now();
///     let fired = Delay::new(Duration::from_millis(10)).await;
///     assert!(fired - start >= Duration::from_millis(10));
/// }
/// ```
///
/// # Panics
/// Polling it with no runtime running on the thread, or once the instance in which it was first
/// polled has stopped (it fails fast there, like I/O objects do, instead of waiting forever).
pub struct Delay {
    /// `None`: the deadline is past the end of time, so it never fires.
    deadline: Option<Instant>,
    timer: Option<AnyTimer>,
    fired: Option<Instant>,
}

impl Delay {
    /// A delay that fires `dur` after [`now()`](super::now).
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let start = runtime::time::now();
    /// let fired = runtime::time::Delay::new(std::time::Duration::from_millis(1)).await;
    /// assert!(fired >= start + std::time::Duration::from_millis(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(dur: Duration) -> Delay {
        Delay { deadline: super::now().checked_add(dur), timer: None, fired: None }
    }

    /// A delay that fires at `at`; at once if `at` has passed.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let deadline = runtime::time::now() + std::time::Duration::from_millis(1);
    /// assert!(runtime::time::Delay::new_at(deadline).await >= deadline);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_at(at: Instant) -> Delay {
        Delay { deadline: Some(at), timer: None, fired: None }
    }

    /// Moves the deadline to `at`, re-arming a delay that already fired.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # use runtime::time::Delay;
    /// # #[runtime::main(runtime_tokio::Tokio)]
    /// # async fn main() {
    /// let mut delay = Delay::new(Duration::MAX);
    /// delay.reset(runtime::time::now() + Duration::from_millis(1));
    /// (&mut delay).await;
    /// delay.reset(runtime::time::now() + Duration::from_millis(1));
    /// delay.await;
    /// # }
    /// ```
    pub fn reset(&mut self, at: Instant) {
        self.deadline = Some(at);
        self.fired = None;
        if let Some(timer) = &mut self.timer {
            timer.reset(at);
        }
    }

    /// The deadline; `None` when it never fires.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let delay = runtime::time::Delay::new(std::time::Duration::MAX);
    /// assert_eq!(delay.deadline(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

impl Future for Delay {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        if let Some(fired) = self.fired {
            return Poll::Ready(fired);
        }
        let this = &mut *self;
        if this.timer.is_none() {
            // No `Arc` clone: the instance is only borrowed for the first poll.
            let armed = crate::with_instance("Delay", |instance| Some(instance.timer(this.deadline?)));
            match armed {
                None => return Poll::Pending,
                Some(Err(now)) => {
                    this.fired = Some(now);
                    return Poll::Ready(now);
                }
                Some(Ok(timer)) => this.timer = Some(timer),
            }
        } else if this.deadline.is_none() {
            return Poll::Pending;
        }
        let timer = this.timer.as_mut().expect("armed above");
        let fired = futures::ready!(timer.poll_fire(cx));
        this.fired = Some(fired);
        Poll::Ready(fired)
    }
}

impl FusedFuture for Delay {
    fn is_terminated(&self) -> bool {
        self.fired.is_some()
    }
}

impl fmt::Debug for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delay").field("deadline", &self.deadline).field("fired", &self.fired).finish_non_exhaustive()
    }
}
