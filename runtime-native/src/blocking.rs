//! A small pool of threads for blocking work (host name resolution), off the workers.
//!
//! Threads start on demand up to a cap and exit after waiting `keep_alive` for a job. At
//! shutdown, queued jobs are dropped unrun, idle threads are woken and waited for (none is left
//! behind), and threads still running a job are detached: they exit when it ends.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use runtime_raw::Instance;

type Job = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Signals jobs to idle threads, and thread exits to a waiting `shutdown`.
    condvar: Condvar,
    max: usize,
    keep_alive: Duration,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    busy: usize,
    shutdown: bool,
    spawned: usize,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state();
        f.debug_struct("Pool")
            .field("threads", &state.threads)
            .field("idle", &state.idle)
            .field("queued", &state.queue.len())
            .finish()
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Pool {
    pub(crate) fn new(max: usize, keep_alive: Duration) -> Pool {
        Pool { inner: Arc::new(Inner { state: Mutex::default(), condvar: Condvar::new(), max, keep_alive }) }
    }

    /// Queues `job`; `Err` gives it back once the pool has shut down.
    pub(crate) fn spawn(&self, instance: &Arc<dyn Instance>, job: Job) -> Result<(), Job> {
        let mut state = self.inner.state();
        if state.shutdown {
            return Err(job);
        }
        state.queue.push_back(job);
        if state.idle > 0 {
            drop(state);
            self.inner.condvar.notify_one();
            return Ok(());
        }
        if state.threads < self.inner.max {
            state.threads += 1;
            state.spawned += 1;
            let name = format!("runtime-native-blocking-{}", state.spawned);
            drop(state);
            let inner = self.inner.clone();
            let instance = instance.clone();
            let started = std::thread::Builder::new().name(name).spawn(move || run(inner, instance));
            if started.is_err() {
                // The queued job waits for a thread that frees up (or the next spawn).
                self.inner.state().threads -= 1;
            }
        }
        Ok(())
    }

    /// Drops queued jobs, ends idle threads and waits for them; running jobs are detached.
    pub(crate) fn shutdown(&self) {
        let mut state = self.inner.state();
        state.shutdown = true;
        let queued = std::mem::take(&mut state.queue);
        self.inner.condvar.notify_all();
        while state.threads > state.busy {
            state = self.inner.condvar.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        drop(state);
        drop(queued);
    }
}

fn run(inner: Arc<Inner>, instance: Arc<dyn Instance>) {
    let _current = runtime_raw::set_current(instance);
    let mut state = inner.state();
    loop {
        if let Some(job) = state.queue.pop_front() {
            state.busy += 1;
            drop(state);
            // A panicking job is its own business (its result channel reports it).
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            state = inner.state();
            state.busy -= 1;
            continue;
        }
        if state.shutdown {
            break;
        }
        state.idle += 1;
        let (guard, waited) = inner.condvar.wait_timeout(state, inner.keep_alive).unwrap_or_else(|e| e.into_inner());
        state = guard;
        state.idle -= 1;
        if waited.timed_out() && state.queue.is_empty() {
            break;
        }
    }
    state.threads -= 1;
    drop(state);
    // A shutdown may be waiting for idle threads to be gone.
    inner.condvar.notify_all();
}
