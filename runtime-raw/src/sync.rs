//! The atomics the task state machine uses: std's, or loom's when the loom models run
//! (`RUSTFLAGS="--cfg runtime_loom"`), so that loom explores every interleaving of them.

#[cfg(runtime_loom)]
pub(crate) use loom::sync::atomic::AtomicUsize;
#[cfg(not(runtime_loom))]
pub(crate) use std::sync::atomic::AtomicUsize;

/// Waits a moment for another thread's short critical section.
pub(crate) fn spin() {
    #[cfg(runtime_loom)]
    loom::thread::yield_now();
    #[cfg(not(runtime_loom))]
    std::hint::spin_loop();
}
