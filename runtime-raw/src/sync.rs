//! The atomics and cells the lock-free code uses: std's, or loom's when the loom models run
//! (`RUSTFLAGS="--cfg runtime_loom"`), so that loom explores every interleaving of them.

#[cfg(runtime_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
#[cfg(not(runtime_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};

#[cfg(runtime_loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `std`'s `UnsafeCell` with loom's interface (`with`, `with_mut`), so that the code using it
/// is the same in the loom models, where loom checks every access for races.
#[cfg(not(runtime_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(runtime_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Waits a moment for another thread's short critical section.
pub(crate) fn spin() {
    #[cfg(runtime_loom)]
    loom::thread::yield_now();
    #[cfg(not(runtime_loom))]
    std::hint::spin_loop();
}
