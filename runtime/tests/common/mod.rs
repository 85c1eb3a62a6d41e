//! Shared by the integration tests: every test body is written once and run on every backend.
#![allow(dead_code, unused_macros, unused_imports)]

mod temp_dir;
pub use temp_dir::TempDir;

/// Wraps each `async fn` in `#[runtime::test]` with every backend this crate tests (one test
/// per backend, `name::tokio`, `name::tokio_current_thread`, ...), under a watchdog so a hang
/// fails the test instead of the run. Adding a backend is one line here.
macro_rules! on_every_backend {
    ($($(#[$meta:meta])* async fn $name:ident() $(-> $ret:ty)? $body:block)*) => {$(
        #[runtime::test(runtime::native::Native, runtime_tokio::Tokio, runtime_tokio::TokioCurrentThread, timeout = "60s")]
        $(#[$meta])*
        async fn $name() $(-> $ret)? $body
    )*};
}

/// The backends, for tests that call `runtime::raw::enter` themselves.
macro_rules! for_every_backend {
    (|$rt:ident| $body:expr) => {{
        {
            let $rt = runtime::native::Native;
            $body
        }
        {
            let $rt = runtime_tokio::Tokio;
            $body
        }
        {
            let $rt = runtime_tokio::TokioCurrentThread;
            $body
        }
    }};
}

/// Counts drops of values it hands out.
#[derive(Clone, Default)]
pub struct DropCounter(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl DropCounter {
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }

    pub fn dropped(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

pub struct DropToken(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The message of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string payload>".to_owned()
    }
}
