//! Wakers that outlive their runtime are harmless, even woken from a thread-local destructor.

#[macro_use]
mod common;

use std::sync::Mutex;
use std::task::Waker;

static KEPT: Mutex<Vec<Waker>> = Mutex::new(Vec::new());

thread_local! {
    static WAKE_ON_EXIT: std::cell::RefCell<Vec<Waker>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[test]
fn wakers_used_after_shutdown_are_harmless() {
    for_every_backend!(|rt| {
        runtime::raw::enter(rt, async {
            for _ in 0..10 {
                runtime::spawn(futures::future::poll_fn(|cx| {
                    KEPT.lock().unwrap().push(cx.waker().clone());
                    std::task::Poll::<()>::Pending
                }))
                .detach();
            }
            while KEPT.lock().unwrap().len() < 10 {
                runtime::task::yield_now().await;
            }
        });
        let wakers: Vec<Waker> = std::mem::take(&mut *KEPT.lock().unwrap());
        for waker in &wakers[..5] {
            waker.wake_by_ref();
        }
        // Woken from a thread-local destructor on a thread that exits.
        let for_tls: Vec<Waker> = wakers[5..].to_vec();
        std::thread::spawn(move || {
            struct WakeAll;
            impl Drop for WakeAll {
                fn drop(&mut self) {
                    WAKE_ON_EXIT.with(|w| w.borrow_mut().drain(..).for_each(Waker::wake));
                }
            }
            thread_local! { static GUARD: WakeAll = const { WakeAll }; }
            WAKE_ON_EXIT.with(|w| w.borrow_mut().extend(for_tls));
            GUARD.with(|_| {});
        })
        .join()
        .unwrap();
        for waker in wakers {
            waker.wake();
        }
    });
}
