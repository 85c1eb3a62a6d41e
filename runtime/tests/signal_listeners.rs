//! Every live `Signal` of a kind, in every instance, sees each delivery; a `Signal` sees only the
//! deliveries after it was made. Its own test target, its tests serialised: signals are
//! process-wide.
#![cfg(unix)]

#[macro_use]
mod common;
mod signal_common;

use std::io;

use futures::prelude::*;
use runtime::signal::unix::{SignalKind, signal};
use signal_common::{SERIAL, kill_self};

on_every_backend! {
    async fn two_listeners_both_see_a_delivery() -> io::Result<()> {
        let _serial = SERIAL.lock().await;
        let mut first = signal(SignalKind::user_defined1())?;
        let mut second = signal(SignalKind::user_defined1())?;
        kill_self(libc::SIGUSR1);
        assert_eq!(first.recv().await, Some(()));
        assert_eq!(second.next().await, Some(()));
        // And again: each delivery reaches both.
        kill_self(libc::SIGUSR1);
        let (a, b) = future::join(first.recv(), second.recv()).await;
        assert_eq!((a, b), (Some(()), Some(())));
        Ok(())
    }

    async fn listeners_in_another_instance_see_it_too() -> io::Result<()> {
        let _serial = SERIAL.lock().await;
        let mut here = signal(SignalKind::user_defined2())?;
        let (ready_tx, ready_rx) = futures::channel::oneshot::channel();
        let other = std::thread::spawn(move || {
            runtime::raw::enter(runtime::native::Native, async move {
                let mut there = signal(SignalKind::user_defined2())?;
                let _ = ready_tx.send(());
                io::Result::Ok(there.recv().await)
            })
        });
        ready_rx.await.expect("the other instance made its listener");
        kill_self(libc::SIGUSR2);
        assert_eq!(here.recv().await, Some(()));
        let there = runtime::task::spawn_blocking(move || other.join().expect("other instance")).await?;
        assert_eq!(there, Some(()));
        Ok(())
    }

    async fn a_signal_sees_only_later_deliveries() -> io::Result<()> {
        let _serial = SERIAL.lock().await;
        let mut early = signal(SignalKind::hangup())?;
        kill_self(libc::SIGHUP);
        assert_eq!(early.recv().await, Some(()));
        // `early` has seen the delivery, so the handler has run: a listener made now must not
        // report it. A later delivery reaches it.
        let mut late = signal(SignalKind::hangup())?;
        assert_eq!(late.recv().now_or_never(), None);
        kill_self(libc::SIGHUP);
        assert_eq!(late.recv().await, Some(()));
        assert_eq!(early.recv().await, Some(()));
        Ok(())
    }
}
