//! `ctrl_c()` installs its handler when first polled and resolves on the next SIGINT. Its own
//! test target, its tests serialised: signals are process-wide.
#![cfg(unix)]

#[macro_use]
mod common;
mod signal_common;

use std::io;

use signal_common::{SERIAL, kill_self};

on_every_backend! {
    async fn ctrl_c_resolves_on_sigint() -> io::Result<()> {
        let _serial = SERIAL.lock().await;
        let mut ctrl_c = Box::pin(runtime::signal::ctrl_c());
        assert!(futures::poll!(&mut ctrl_c).is_pending(), "nothing was sent yet");
        kill_self(libc::SIGINT);
        ctrl_c.await?;
        // In a spawned task too, with a fresh SIGINT.
        let (polled_tx, polled_rx) = futures::channel::oneshot::channel();
        let task = runtime::spawn(async move {
            let mut ctrl_c = Box::pin(runtime::signal::ctrl_c());
            let first = futures::poll!(&mut ctrl_c);
            let _ = polled_tx.send(());
            if first.is_pending() { ctrl_c.await } else { Ok(()) }
        });
        polled_rx.await.expect("the task polled ctrl_c");
        kill_self(libc::SIGINT);
        task.await
    }

    async fn ctrl_c_reports_a_stopped_instance() {
        let _serial = SERIAL.lock().await;
        // Installed and listening, then its instance stops: an error, not a hang.
        let (polled_tx, polled_rx) = futures::channel::oneshot::channel();
        let waiting = std::thread::spawn(move || {
            let mut ctrl_c = Box::pin(runtime::signal::ctrl_c());
            runtime::raw::enter(runtime::native::Native, async {
                assert!(futures::poll!(&mut ctrl_c).is_pending());
            });
            let _ = polled_tx.send(());
            futures::executor::block_on(ctrl_c)
        });
        polled_rx.await.expect("polled");
        let result = runtime::task::spawn_blocking(move || waiting.join().expect("thread")).await;
        assert!(result.is_err(), "{result:?}");
    }
}
