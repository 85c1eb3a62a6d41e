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
    /// Threads running a job, by id: detached at shutdown.
    busy: Vec<usize>,
    shutdown: bool,
    spawned: usize,
    /// Every thread not yet joined, by id; those that exited are joined on the next spawn.
    handles: Vec<(usize, std::thread::JoinHandle<()>)>,
    exited: Vec<usize>,
}

impl State {
    /// Joins threads that have exited (they are gone or about to be).
    fn reap(&mut self) -> Vec<std::thread::JoinHandle<()>> {
        let exited = std::mem::take(&mut self.exited);
        let (done, running): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.handles).into_iter().partition(|(id, _)| exited.contains(id));
        self.handles = running;
        done.into_iter().map(|(_, handle)| handle).collect()
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state();
        f.debug_struct("Pool")
            .field("threads", &state.threads)
            .field("idle", &state.idle)
            .field("busy", &state.busy.len())
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
            let id = state.spawned;
            let name = format!("runtime-native-blocking-{id}");
            let exited = state.reap();
            let inner = self.inner.clone();
            let instance = instance.clone();
            match std::thread::Builder::new().name(name).spawn(move || run(inner, instance, id)) {
                Ok(handle) => state.handles.push((id, handle)),
                // The queued job waits for a thread that frees up (or the next spawn).
                Err(_) => state.threads -= 1,
            }
            drop(state);
            exited.into_iter().for_each(|handle| drop(handle.join()));
        }
        Ok(())
    }

    /// Whether a job runs or waits: the virtual clock does not jump meanwhile.
    pub(crate) fn is_busy(&self) -> bool {
        let state = self.inner.state();
        !state.busy.is_empty() || !state.queue.is_empty()
    }

    /// Drops queued jobs, ends idle threads and joins them; running jobs are detached.
    pub(crate) fn shutdown(&self) {
        let mut state = self.inner.state();
        state.shutdown = true;
        let queued = std::mem::take(&mut state.queue);
        self.inner.condvar.notify_all();
        while state.threads > state.busy.len() {
            state = self.inner.condvar.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        let busy = state.busy.clone();
        let (detached, idle): (Vec<_>, Vec<_>) =
            std::mem::take(&mut state.handles).into_iter().partition(|(id, _)| busy.contains(id));
        drop(state);
        drop(queued);
        drop(detached);
        for (_, handle) in idle {
            let _ = handle.join();
        }
    }
}

fn run(inner: Arc<Inner>, instance: Arc<dyn Instance>, id: usize) {
    let _current = runtime_raw::set_current(instance);
    let mut state = inner.state();
    loop {
        if let Some(job) = state.queue.pop_front() {
            state.busy.push(id);
            drop(state);
            // A panicking job is its own business (its result channel reports it).
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            state = inner.state();
            state.busy.retain(|b| *b != id);
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
    state.exited.push(id);
    drop(state);
    // A shutdown may be waiting for idle threads to be gone.
    inner.condvar.notify_all();
}
