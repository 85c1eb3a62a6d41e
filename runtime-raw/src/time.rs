//! The timer a backend provides behind the facade's `Delay`, `Interval` and timeouts.

use std::fmt;
use std::mem::MaybeUninit;
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

/// Words of inline storage in an [`AnyTimer`]: a timer this small (and `Unpin`) is kept in the
/// `Delay` itself, with no allocation.
const INLINE_WORDS: usize = 4;

/// A backend's [`Timer`] as the facade holds it: in place when it is small and `Unpin`
/// ([`AnyTimer::new`]), else boxed ([`AnyTimer::boxed`]). Always `Unpin`, `Send` and `Sync`.
pub struct AnyTimer(Repr);

enum Repr {
    Inline { data: MaybeUninit<[usize; INLINE_WORDS]>, ops: &'static InlineOps },
    Boxed(Pin<Box<dyn Timer>>),
}

struct InlineOps {
    poll_fire: unsafe fn(*mut (), &mut Context<'_>) -> Poll<Instant>,
    reset: unsafe fn(*mut (), Instant),
    debug: unsafe fn(*const (), &mut fmt::Formatter<'_>) -> fmt::Result,
    drop: unsafe fn(*mut ()),
}

struct OpsFor<T>(std::marker::PhantomData<T>);

impl<T: Timer + Unpin + 'static> OpsFor<T> {
    const OPS: InlineOps =
        InlineOps { poll_fire: Self::poll_fire, reset: Self::reset, debug: Self::debug, drop: Self::drop };

    /// # Safety (for all four)
    /// `data` points at the live `T` that `AnyTimer::new` stored, borrowed as the entry says.
    unsafe fn poll_fire(data: *mut (), cx: &mut Context<'_>) -> Poll<Instant> {
        // SAFETY: see above; `T: Unpin`, so pinning a plain reference is fine.
        Pin::new(unsafe { &mut *data.cast::<T>() }).poll_fire(cx)
    }

    unsafe fn reset(data: *mut (), deadline: Instant) {
        // SAFETY: see `poll_fire`.
        Pin::new(unsafe { &mut *data.cast::<T>() }).reset(deadline)
    }

    unsafe fn debug(data: *const (), f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: see `poll_fire`.
        fmt::Debug::fmt(unsafe { &*data.cast::<T>() }, f)
    }

    unsafe fn drop(data: *mut ()) {
        // SAFETY: see `poll_fire`; called once, from `AnyTimer`'s `Drop`.
        unsafe { std::ptr::drop_in_place(data.cast::<T>()) }
    }
}

impl AnyTimer {
    /// Holds `timer` in place if it fits in four words (and is word-aligned), else in a box.
    pub fn new<T: Timer + Unpin + 'static>(timer: T) -> AnyTimer {
        let fits = size_of::<T>() <= size_of::<[usize; INLINE_WORDS]>() && align_of::<T>() <= align_of::<usize>();
        if !fits {
            return AnyTimer::boxed(timer);
        }
        let mut data = MaybeUninit::<[usize; INLINE_WORDS]>::uninit();
        // SAFETY: `data` is large and aligned enough for a `T` (checked above).
        unsafe { data.as_mut_ptr().cast::<T>().write(timer) };
        AnyTimer(Repr::Inline { data, ops: &OpsFor::<T>::OPS })
    }

    /// Holds `timer` in a box: for timers that are large or must not move.
    pub fn boxed<T: Timer + 'static>(timer: T) -> AnyTimer {
        AnyTimer(Repr::Boxed(Box::pin(timer)))
    }

    /// See [`Timer::poll_fire`].
    pub fn poll_fire(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        match &mut self.0 {
            // SAFETY: `data` holds the `T` that `ops` was made for.
            Repr::Inline { data, ops } => unsafe { (ops.poll_fire)(data.as_mut_ptr().cast(), cx) },
            Repr::Boxed(timer) => timer.as_mut().poll_fire(cx),
        }
    }

    /// See [`Timer::reset`].
    pub fn reset(&mut self, deadline: Instant) {
        match &mut self.0 {
            // SAFETY: `data` holds the `T` that `ops` was made for.
            Repr::Inline { data, ops } => unsafe { (ops.reset)(data.as_mut_ptr().cast(), deadline) },
            Repr::Boxed(timer) => timer.as_mut().reset(deadline),
        }
    }

    /// Whether the timer is held in place (for tests of the backends).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl Drop for AnyTimer {
    fn drop(&mut self) {
        if let Repr::Inline { data, ops } = &mut self.0 {
            // SAFETY: `data` holds the `T` that `ops` was made for; dropped once, here.
            unsafe { (ops.drop)(data.as_mut_ptr().cast()) }
        }
    }
}

impl fmt::Debug for AnyTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            // SAFETY: `data` holds the `T` that `ops` was made for.
            Repr::Inline { data, ops } => unsafe { (ops.debug)(data.as_ptr().cast(), f) },
            Repr::Boxed(timer) => fmt::Debug::fmt(timer, f),
        }
    }
}

// SAFETY: an inline timer is a `T: Timer`, which is `Send + Sync`; the storage is just its bytes.
unsafe impl Send for AnyTimer {}
// SAFETY: as above; `&AnyTimer` only reaches `T` through `Debug`, which `T: Sync` allows.
unsafe impl Sync for AnyTimer {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Fake {
        deadline: Instant,
        drops: Arc<AtomicUsize>,
    }

    impl Timer for Fake {
        fn poll_fire(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Instant> {
            Poll::Ready(self.deadline)
        }
        fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
            self.deadline = deadline;
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[derive(Debug)]
    struct Big([u64; 8]);

    impl Timer for Big {
        fn poll_fire(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Instant> {
            assert!(self.0.iter().all(|&word| word == 0));
            Poll::Pending
        }
        fn reset(self: Pin<&mut Self>, _: Instant) {}
    }

    /// A small timer lives in place, works through the table and is dropped exactly once.
    #[test]
    fn small_timer_is_inline_and_dropped_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut timer = AnyTimer::new(Fake { deadline: start, drops: drops.clone() });
        assert!(timer.is_inline());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert_eq!(timer.poll_fire(&mut cx), Poll::Ready(start));
        let later = start + std::time::Duration::from_secs(1);
        timer.reset(later);
        assert_eq!(timer.poll_fire(&mut cx), Poll::Ready(later));
        assert!(format!("{timer:?}").contains("Fake"));
        // Moving it moves the timer's bytes: fine, it is `Unpin`.
        let moved = timer;
        drop(moved);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    /// A timer too large for the inline words is boxed instead.
    #[test]
    fn large_timer_is_boxed() {
        let mut timer = AnyTimer::new(Big([0; 8]));
        assert!(!timer.is_inline());
        assert!(timer.poll_fire(&mut Context::from_waker(std::task::Waker::noop())).is_pending());
    }
}
