//! The timer a backend provides behind the facade's `Delay`, `Interval` and timeouts.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// One deadline on an instance's clock.
pub trait Timer: fmt::Debug + Send + Sync {
    /// `Ready(now)` once the instance's clock has reached the deadline, `now` being that
    /// clock's reading, never earlier than the deadline. Until then registers `cx`.
    fn poll_fire(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant>;

    /// Moves the deadline; a timer that fired may be re-armed this way.
    fn reset(self: Pin<&mut Self>, deadline: Instant);
}
