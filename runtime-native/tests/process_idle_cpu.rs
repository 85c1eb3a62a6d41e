//! An idle runtime burns no measurable CPU: its workers park. Its own test target: it reads
//! the whole process's CPU time from `/proc/self/stat`.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

/// The process's user + system CPU time, in clock ticks (fields 14 and 15 of /proc/self/stat).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    let after = &stat[stat.rfind(')').expect("comm field") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Clock ticks per second as the kernel reports them in /proc (USER_HZ).
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as u64 } else { 100 }
}

#[test]
fn idle_runtime_uses_under_two_percent_of_a_core() {
    let rt = runtime::native::Native::builder().worker_threads(2).build();
    let (ticks, wall) = runtime::raw::enter(rt, async {
        // Some work first, so that the workers have run and parked.
        for _ in 0..100 {
            runtime::spawn(async { runtime::task::yield_now().await }).await;
        }
        let start = (cpu_ticks(), Instant::now());
        runtime::time::Delay::new(Duration::from_secs(2)).await;
        (cpu_ticks() - start.0, start.1.elapsed())
    });
    let used = ticks as f64 / ticks_per_second() as f64;
    let share = used / wall.as_secs_f64();
    assert!(share < 0.02, "an idle runtime used {:.1}% of a core ({used:.3} s of CPU over {wall:?})", share * 100.0);
}
