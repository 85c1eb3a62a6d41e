//! Deliveries that arrive while a `Signal` is not polled coalesce into one item. Its own test
//! target, its tests serialised: signals are process-wide.
#![cfg(unix)]

#[macro_use]
mod common;
mod signal_common;

use std::io;

use futures::prelude::*;
use runtime::signal::unix::{SignalKind, signal};
use signal_common::{SERIAL, raise};

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
