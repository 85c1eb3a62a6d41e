//! Parking a worker: on a condition variable, or inside the reactor's poll when it holds the
//! driver, with one protocol so that an unpark is never lost.
//!
//! The state word says where the worker sleeps. An unpark swaps in `NOTIFIED` and then wakes
//! whatever the previous state names; a park that finds `NOTIFIED` returns at once. So an unpark
//! that comes before the park, during it, or while the worker is between the two, is seen.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::reactor::Driver;
use crate::sync::{AtomicUsize, Condvar, Mutex};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

#[derive(Debug)]
pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker { state: AtomicUsize::new(EMPTY), lock: Mutex::new(()), condvar: Condvar::new() }
    }

    /// Sleeps on the condition variable until unparked.
    pub(crate) fn park(&self) {
        if self.state.compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return;
        }
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        match self.state.compare_exchange(EMPTY, PARKED_CONDVAR, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, Ordering::SeqCst);
                return;
            }
            Err(other) => unreachable!("parked twice at once (state {other})"),
        }
        loop {
            guard = self.condvar.wait(guard).unwrap_or_else(|e| e.into_inner());
            if self.state.compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                return;
            }
            // Spurious wake-up: sleep on.
        }
    }

    /// Sleeps inside the reactor's poll (the caller holds the driver) until an I/O event, the
    /// timeout, or an unpark.
    pub(crate) fn park_in_driver(&self, driver: &mut Driver, timeout: Option<Duration>) {
        if self.state.compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            driver.turn(Some(Duration::ZERO));
            return;
        }
        match self.state.compare_exchange(EMPTY, PARKED_DRIVER, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, Ordering::SeqCst);
                driver.turn(Some(Duration::ZERO));
                return;
            }
            Err(other) => unreachable!("parked twice at once (state {other})"),
        }
        driver.turn(timeout);
        // Whatever happened meanwhile (an unpark included) has been handled by waking up.
        self.state.swap(EMPTY, Ordering::SeqCst);
    }

    /// Wakes the worker wherever it sleeps, or makes its next park return at once;
    /// `wake_driver` interrupts the reactor's poll.
    pub(crate) fn unpark(&self, wake_driver: impl FnOnce()) {
        match self.state.swap(NOTIFIED, Ordering::SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the lock orders this notify after the worker's wait began.
                drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
                self.condvar.notify_one();
            }
            PARKED_DRIVER => wake_driver(),
            other => unreachable!("unknown parker state {other}"),
        }
    }
}
