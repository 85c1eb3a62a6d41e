//! No zombie outlives its instance: children dropped without `wait` (exited, killed on drop,
//! dropped with a task at shutdown, or exiting only after the instance stopped) are all reaped,
//! and a `std::process` child of the same program is left for its owner. Its own test target:
//! it counts the whole process's children in `/proc`.
#![cfg(target_os = "linux")]

#[macro_use]
mod common;

use std::io::Read;
use std::os::fd::AsFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

use runtime::process::Command;

/// How long the reaper may take to reap children that have all exited: generous, for a loaded
/// machine; the test passes as soon as the count is zero.
const REAP_DEADLINE: Duration = Duration::from_secs(30);

/// The pids of this process's children that are zombies (exited, not yet reaped).
fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": the command may hold spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next().and_then(|p| p.parse::<u32>().ok()));
        if state == Some("Z") && ppid == Some(me) {
            zombies.extend(head.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()));
        }
    }
    zombies
}

/// Threads of this process with the reaper's name (`comm` keeps 15 bytes of it).
fn reaper_threads() -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten();
    let comms = tasks.filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok());
    comms.filter(|comm| "runtime-process-reaper".starts_with(comm.trim())).count()
}

/// Waits until `done` holds, up to the deadline. The reaper runs on its own thread and tells no
/// one when it reaped: the test can only look again, so it does, a bounded number of times.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < REAP_DEADLINE, "{what}: not after {REAP_DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One test: the counts are the whole process's.
#[test]
fn no_zombie_outlives_the_instance() {
    // A std child: the runtime must never reap it (its owner's `wait` would then fail).
    let mut std_child = std::process::Command::new("true").stdout(Stdio::piped()).spawn().expect("spawn true");
    let mut out = Vec::new();
    std_child.stdout.take().expect("piped").read_to_end(&mut out).expect("read");

    // The default path first (pidfds on Linux 5.3+), then the SIGCHLD one, which the orphan
    // reaper uses where pidfds are not available.
    for force_sigchld in [false, true] {
        if force_sigchld {
            runtime::__private::process_force_sigchld();
        }
        dropped_children_are_reaped();
        eventually("every dropped child reaped", || zombie_children().iter().all(|pid| *pid == std_child.id()));
        eventually("the reaper thread gone once it has nothing to reap", || reaper_threads() == 0);
    }
    // Left for its owner: still a zombie, and `wait` reaps it.
    assert!(std_child.wait().expect("the runtime never waited for a std child").success());
    assert!(zombie_children().is_empty());
}

/// On every backend, drops children in each way a `Child` can be dropped, and stops the instance
/// while one of them still runs.
fn dropped_children_are_reaped() {
    for_every_backend!(|rt| {
        let (kept_stdin, killed_in_task) = runtime::raw::enter(rt, async {
            // Exit on their own, never waited for.
            for _ in 0..20 {
                drop(Command::new("true").spawn().expect("spawn"));
            }
            // Still running when dropped: killed, then reaped.
            for _ in 0..20 {
                drop(Command::new("sleep").arg("600").kill_on_drop(true).spawn().expect("spawn"));
            }
            // Held by a task that the instance drops when it stops.
            let (spawned_tx, spawned_rx) = futures::channel::oneshot::channel();
            runtime::spawn(async move {
                let mut child =
                    Command::new("sleep").arg("600").stdout(Stdio::piped()).kill_on_drop(true).spawn().expect("spawn");
                // A second descriptor of its stdout, readable after the instance stopped.
                let stdout = child.stdout.as_ref().expect("piped").as_fd().try_clone_to_owned().expect("dup");
                let _ = spawned_tx.send(stdout);
                let _ = child.wait().await;
            });
            let killed_in_task = spawned_rx.await.expect("the task spawned its child");
            // Exits only after the instance stopped: `cat` ends when its stdin closes.
            let mut cat = Command::new("cat").stdin(Stdio::piped()).spawn().expect("spawn");
            let stdin = cat.stdin.take().expect("piped");
            drop(cat);
            (stdin, killed_in_task)
        });
        // The instance has stopped. The task's child was killed with the task: its stdout ends.
        let mut stdout = std::fs::File::from(killed_in_task);
        let mut rest = Vec::new();
        // The descriptor is non-blocking: read until end of file, waiting for it with poll.
        loop {
            match stdout.read_to_end(&mut rest) {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => wait_readable(&stdout),
                Err(e) => panic!("reading the killed child's stdout: {e}"),
            }
        }
        drop(kept_stdin);
    });
}

fn wait_readable(file: &std::fs::File) {
    use std::os::fd::AsRawFd;
    let mut fds = [libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
    // SAFETY: one live pollfd for a descriptor we own, waiting at most a second per call.
    unsafe { libc::poll(fds.as_mut_ptr(), 1, 1000) };
}
