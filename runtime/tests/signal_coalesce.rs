//! Deliveries that arrive while a `Signal` is not polled coalesce into one item. Its own test
//! target, its tests serialised: signals are process-wide.
#![cfg(unix)]

#[macro_use]
mod common;

use std::io;

use futures::prelude::*;
use runtime::signal::unix::{SignalKind, signal};

/// One test at a time in this process: a delivery reaches every listener of every test. An
/// async lock (Tokio's works on any runtime), since it is held across the test's awaits.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Sends `signum` to this thread: unlike `kill` to the process, whose delivery another thread
/// may take later, it is handled before `pthread_kill` returns, so the test knows every
/// delivery happened before it polls.
fn raise(signum: i32) {
    // SAFETY: plain system calls on this thread with integer arguments; the tests install the
    // handler (by making a `Signal`) before raising, so the default action never runs.
    let sent = unsafe { libc::pthread_kill(libc::pthread_self(), signum) };
    assert_eq!(sent, 0, "pthread_kill: {}", io::Error::from_raw_os_error(sent));
}

on_every_backend! {
    async fn deliveries_coalesce_while_not_polled() -> io::Result<()> {
        let _serial = SERIAL.lock().await;
        let mut term = signal(SignalKind::terminate())?;
        for _ in 0..3 {
            raise(libc::SIGTERM);
        }
        assert_eq!(term.recv().await, Some(()));
        assert_eq!(term.recv().now_or_never(), None, "three deliveries before a poll are one item");
        raise(libc::SIGTERM);
        assert_eq!(term.recv().await, Some(()));
        assert_eq!(term.recv().now_or_never(), None);
        Ok(())
    }

    async fn many_deliveries_are_never_lost_to_a_full_socket() -> io::Result<()> {
        let _serial = SERIAL.lock().await;
        let mut usr1 = signal(SignalKind::user_defined1())?;
        // More than a socket's buffer holds: the handler's sends start failing, and that is fine.
        for _ in 0..20_000 {
            raise(libc::SIGUSR1);
        }
        assert_eq!(usr1.recv().await, Some(()));
        // Whatever stayed in the socket comes out as at most a few more items, then it waits.
        let mut extra = 0;
        while usr1.recv().now_or_never().is_some() {
            extra += 1;
            assert!(extra < 100, "a full socket drained in items of a bounded number");
        }
        raise(libc::SIGUSR1);
        assert_eq!(usr1.recv().await, Some(()));
        Ok(())
    }
}
