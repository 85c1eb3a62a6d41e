//! The synchronisation primitives of the parking protocol: std's, or loom's when the loom
//! models run (`RUSTFLAGS="--cfg runtime_loom"`).

#[cfg(runtime_loom)]
pub(crate) use loom::sync::atomic::AtomicUsize;
#[cfg(runtime_loom)]
pub(crate) use loom::sync::{Condvar, Mutex};
#[cfg(not(runtime_loom))]
pub(crate) use std::sync::atomic::AtomicUsize;
#[cfg(not(runtime_loom))]
pub(crate) use std::sync::{Condvar, Mutex};
