//! Kinds that cannot be listened to are `InvalidInput`, never a panic; a `Signal` ends once its
//! instance stopped. Its own test target: signal handlers are process-wide.
#![cfg(unix)]

#[macro_use]
mod common;

use std::io;

use futures::prelude::*;
use runtime::signal::unix::{SignalKind, signal};

on_every_backend! {
    async fn uncatchable_and_out_of_range_kinds_are_invalid_input() {
        let refused = [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, 0, -1, 65, 1000, i32::MIN, i32::MAX];
        for signum in refused {
            let kind = SignalKind::from_raw(signum);
            assert_eq!(kind.as_raw_value(), signum);
            let err = signal(kind).expect_err("refused");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}: {err}");
            assert!(err.to_string().contains(&signum.to_string()), "{err}");
        }
    }
}

/// `recv` returns `None` once the `Signal`'s instance has stopped, wherever it is polled.
#[test]
fn a_signal_ends_once_its_instance_stopped() {
    for_every_backend!(|rt| {
        let mut made = runtime::raw::enter(rt, async { signal(SignalKind::user_defined2()) }).expect("signal");
        assert!(format!("{made:?}").contains("Signal"));
        assert_eq!(futures::executor::block_on(made.recv()), None);
        assert_eq!(futures::executor::block_on(made.next()), None);
        // In another instance too: it still belongs to the one that made it.
        let next = runtime::raw::enter(runtime::native::Native, async move {
            let mut here = signal(SignalKind::user_defined2()).expect("signal");
            assert_eq!(here.recv().now_or_never(), None, "a live one waits");
            made.recv().await
        });
        assert_eq!(next, None);
    });
}

/// glibc keeps the real-time signals below `SIGRTMIN` for itself and its `sigaction` refuses
/// them: `InvalidInput` too, each time (the refusal is remembered, not retried).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn numbers_the_c_library_keeps_are_invalid_input() {
    for_every_backend!(|rt| {
        runtime::raw::enter(rt, async {
            for signum in 32..libc::SIGRTMIN() {
                for _ in 0..2 {
                    let err = signal(SignalKind::from_raw(signum)).expect_err("kept by the C library");
                    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}: {err}");
                    assert!(err.to_string().contains(&signum.to_string()), "{err}");
                }
            }
        })
    });
}

/// The checks come before the runtime is looked for: no runtime needed to be refused.
#[test]
fn refused_outside_a_runtime_too() {
    let err = signal(SignalKind::from_raw(libc::SIGKILL)).expect_err("refused");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

/// The named kinds are the usual numbers.
#[test]
fn named_kinds() {
    let kinds = [
        (SignalKind::interrupt(), libc::SIGINT),
        (SignalKind::terminate(), libc::SIGTERM),
        (SignalKind::hangup(), libc::SIGHUP),
        (SignalKind::quit(), libc::SIGQUIT),
        (SignalKind::user_defined1(), libc::SIGUSR1),
        (SignalKind::user_defined2(), libc::SIGUSR2),
        (SignalKind::child(), libc::SIGCHLD),
    ];
    for (kind, signum) in kinds {
        assert_eq!(kind.as_raw_value(), signum);
        assert_eq!(kind, SignalKind::from_raw(signum));
    }
}
