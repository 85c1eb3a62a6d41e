//! The native-vs-Tokio comparison: every workload on the facade over `Native`, `Tokio` and
//! `TokioCurrentThread`, and on plain Tokio (the baseline), in one run.
//!
//! ```text
//! cargo bench --bench suite            # quick: 10 samples per workload, a few minutes
//! cargo bench --bench suite -- --full  # 30 samples and the scaling rows, for the committed results
//! cargo bench --bench suite -- tcp     # only workloads whose name contains "tcp" (printed only)
//! cargo bench --bench suite -- --variant native timers  # one variant alone, for `perf`
//! cargo bench --bench suite -- --full --samples 3 1000   # the full mode's rows, briefly
//! ```
//!
//! Each variant's runtime lives on its own thread for the whole run and takes workloads over a
//! channel; samples are taken round-robin across variants, so every ratio compares numbers
//! measured side by side. Prints Markdown tables (median with min and max, per workload) and
//! writes them, an SVG chart and every raw sample under `benches/results/`. A progress line on
//! stderr names the workload, the variant and the sample running.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::mpsc;
use std::time::Duration;

use futures::StreamExt as _;
use futures::channel::mpsc as fmpsc;
use runtime_benches::fs::{self as fsb, Fixture, FsExec};
use runtime_benches::http::HttpExec;
use runtime_benches::{Facade, Measured, Percentiles, PlainTokio, Smol, median_min_max};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Variant {
    Baseline,
    Native,
    Tokio,
    TokioCurrentThread,
    Smol,
    /// Native with `io_uring(false)`: its file ops on the blocking pool (fs workloads only).
    NativeBlocking,
    /// A sequential `std::fs` loop on one thread, the floor (fs workloads only).
    Sequential,
}

const VARIANTS: [Variant; 7] = [
    Variant::Baseline,
    Variant::Native,
    Variant::Tokio,
    Variant::TokioCurrentThread,
    Variant::Smol,
    Variant::NativeBlocking,
    Variant::Sequential,
];

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Baseline => "plain tokio",
            Variant::Native => "native",
            Variant::Tokio => "facade on Tokio",
            Variant::TokioCurrentThread => "facade on TokioCurrentThread",
            Variant::Smol => "smol",
            Variant::NativeBlocking => "native, fs on its blocking pool",
            Variant::Sequential => "sequential std loop",
        }
    }

    /// Whether this variant runs `workload`: the fs-only ones run only fs workloads, which
    /// leave out TokioCurrentThread to keep the run short.
    fn runs(self, workload: Workload) -> bool {
        match self {
            Variant::NativeBlocking | Variant::Sequential => workload.is_fs(),
            Variant::TokioCurrentThread => !workload.is_fs(),
            _ => true,
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Variant::Baseline => "baseline",
            Variant::Native => "native",
            Variant::Tokio => "tokio",
            Variant::TokioCurrentThread => "tokio-current-thread",
            Variant::Smol => "smol",
            Variant::NativeBlocking => "native-blocking",
            Variant::Sequential => "sequential",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    NotifySelf,
    SpawnMany(usize),
    /// `n` tasks in a `TaskSet` (JoinSet for plain Tokio), against `SpawnMany(n)`.
    TaskSet(usize),
    PollReactor,
    YieldMany,
    PingPong,
    ChainedSpawn,
    TcpEcho(usize),
    TcpEchoVectored,
    Timers,
    TimerLateness,
    SpawnJoin(usize),
    HttpHello(usize),
    HttpFile(usize),
    FsSmallFiles,
    FsRandomRead,
    FsSeqRead,
    FsWriteSmall,
}

impl Workload {
    fn name(self) -> String {
        match self {
            Workload::NotifySelf => "notify_self".into(),
            Workload::SpawnMany(25_000) => "spawn_many".into(),
            Workload::SpawnMany(n) => format!("spawn_many_{}k", n / 1000),
            Workload::TaskSet(n) => format!("task_set_{}k", n / 1000),
            Workload::PollReactor => "poll_reactor".into(),
            Workload::YieldMany => "yield_many".into(),
            Workload::PingPong => "ping_pong".into(),
            Workload::ChainedSpawn => "chained_spawn".into(),
            Workload::TcpEcho(50) => "tcp_echo".into(),
            Workload::TcpEcho(n) => format!("tcp_echo_{n}_conns_x{}", trips(n)),
            Workload::TcpEchoVectored => "tcp_echo_vectored".into(),
            Workload::Timers => "timers_100k".into(),
            Workload::TimerLateness => "timer_lateness_1k".into(),
            Workload::SpawnJoin(n) => format!("spawn_join_{}k", n / 1000),
            Workload::HttpHello(n) => format!("http_hello_{n}_conns"),
            Workload::HttpFile(n) => format!("http_file_{n}_conns"),
            Workload::FsSmallFiles => "fs_small_files".into(),
            Workload::FsRandomRead => "fs_random_read".into(),
            Workload::FsSeqRead => "fs_seq_read".into(),
            Workload::FsWriteSmall => "fs_write_small".into(),
        }
    }

    fn is_fs(self) -> bool {
        matches!(self, Workload::FsSmallFiles | Workload::FsRandomRead | Workload::FsSeqRead | Workload::FsWriteSmall)
    }

    fn unit(self) -> &'static str {
        match self {
            Workload::NotifySelf => "ns/wake",
            Workload::SpawnMany(_) | Workload::TaskSet(_) => "ns/task",
            Workload::PollReactor | Workload::TcpEcho(_) | Workload::TcpEchoVectored => "ns/round trip",
            Workload::YieldMany => "ns/yield",
            Workload::PingPong => "ns/round trip",
            Workload::ChainedSpawn => "ns/hop",
            Workload::Timers => "ns (wall)",
            Workload::TimerLateness => "ns late (p50)",
            Workload::SpawnJoin(_) => "ns/task",
            Workload::HttpHello(_) | Workload::HttpFile(_) => "ns/request",
            Workload::FsSmallFiles | Workload::FsWriteSmall => "ns/file",
            Workload::FsRandomRead => "ns/read",
            Workload::FsSeqRead => "ns/256 KiB",
        }
    }
}

/// One sample: nanoseconds per operation (p50 lateness for `TimerLateness`), and extra
/// figures (p99 lateness; the latency of one operation where the workload measures it).
#[derive(Debug, Clone, Copy)]
struct Sample {
    ns: f64,
    extra: Option<f64>,
    latency: Option<Percentiles>,
}

/// The files of the fs workloads, made before any timing when one is selected.
static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get().expect("the fs fixture is made before the fs workloads run")
}

async fn run<E: HttpExec + FsExec>(exec: E, workload: Workload) -> Sample {
    let measured = |m: Measured| Sample { ns: m.ns_per_op(), extra: None, latency: None };
    let timed = |(m, latency): (Measured, Percentiles)| Sample { latency: Some(latency), ..measured(m) };
    match workload {
        Workload::NotifySelf => measured(runtime_benches::notify_self(exec, 300, 300).await),
        Workload::SpawnMany(n) => measured(runtime_benches::spawn_many(exec, n).await),
        Workload::TaskSet(n) => measured(runtime_benches::task_set(exec, n).await),
        Workload::PollReactor => measured(runtime_benches::poll_reactor(exec, 300, 300).await),
        Workload::YieldMany => measured(runtime_benches::yield_many(exec, 200, 1_000).await),
        Workload::PingPong => measured(runtime_benches::ping_pong(exec, 1_000).await),
        Workload::ChainedSpawn => measured(runtime_benches::chained_spawn(exec, 1_000).await),
        Workload::TcpEcho(connections) => {
            timed(runtime_benches::tcp_echo(exec, connections, trips(connections), 64).await)
        }
        Workload::TcpEchoVectored => timed(runtime_benches::tcp_echo_vectored(exec, 50, trips(50), 64).await),
        Workload::Timers => measured(runtime_benches::timers(exec, 100_000).await),
        Workload::TimerLateness => {
            let (p50, p99) = runtime_benches::timer_lateness(exec, 1_000).await;
            Sample { ns: p50.as_nanos() as f64, extra: Some(p99.as_nanos() as f64), latency: None }
        }
        Workload::SpawnJoin(n) => measured(runtime_benches::spawn_join(exec, n).await),
        Workload::HttpHello(connections) => {
            timed(runtime_benches::http::http_hello(exec, connections, HTTP_REQUESTS).await)
        }
        Workload::HttpFile(connections) => {
            timed(runtime_benches::http::http_file(exec, connections, HTTP_REQUESTS).await)
        }
        Workload::FsSmallFiles => measured(fsb::small_files(exec, fixture()).await),
        Workload::FsRandomRead => measured(fsb::random_read(exec, fixture()).await),
        Workload::FsSeqRead => measured(fsb::seq_read(exec, fixture()).await),
        Workload::FsWriteSmall => measured(fsb::write_small(exec, fixture(), "async").await),
    }
}

/// Sequential requests per keep-alive connection in the HTTP workloads (issue #30).
const HTTP_REQUESTS: usize = 200;
/// An fs workload as a sequential `std::fs` loop (`Variant::Sequential`).
fn run_sequential(workload: Workload) -> Sample {
    let m = match workload {
        Workload::FsSmallFiles => fsb::sequential::small_files(fixture()),
        Workload::FsRandomRead => fsb::sequential::random_read(fixture()),
        Workload::FsSeqRead => fsb::sequential::seq_read(fixture()),
        Workload::FsWriteSmall => fsb::sequential::write_small(fixture()),
        other => panic!("the sequential std loop runs only fs workloads, not {}", other.name()),
    };
    Sample { ns: m.ns_per_op(), extra: None, latency: None }
}

/// Round trips per connection: the specified 1,000 for the 50-connection workload, 100 for the
/// scaling ones (1,000 connections × 1,000 trips would take minutes per sample).
fn trips(connections: usize) -> usize {
    if connections == 50 { 1_000 } else { 100 }
}

/// Raises the soft descriptor limit to the hard one: 1,000 connections need 2,000 descriptors
/// here (both ends live in this process).
fn raise_fd_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill; setrlimit gets a valid one back.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

type Command = (Workload, mpsc::Sender<Sample>);

/// The pause between two samples (see where it is used).
const SETTLE: Duration = Duration::from_millis(5);

/// Starts `variant`'s runtime on a thread of its own, serving workloads until the sender drops.
fn start(variant: Variant) -> (fmpsc::UnboundedSender<Command>, std::thread::JoinHandle<()>) {
    let (commands, inbox) = fmpsc::unbounded::<Command>();
    let thread = std::thread::Builder::new()
        .name(format!("bench-{}", variant.arg()))
        .spawn(move || match variant {
            Variant::Native => runtime::raw::enter(runtime_native::Native, serve(Facade, inbox)),
            Variant::Tokio => runtime::raw::enter(runtime_tokio::Tokio, serve(Facade, inbox)),
            Variant::TokioCurrentThread => runtime::raw::enter(runtime_tokio::TokioCurrentThread, serve(Facade, inbox)),
            Variant::Baseline => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(serve(PlainTokio, inbox)),
            Variant::Smol => smol::block_on(serve(Smol, inbox)),
            Variant::NativeBlocking => {
                runtime::raw::enter(runtime_native::Native::builder().io_uring(false).build(), serve(Facade, inbox))
            }
            Variant::Sequential => futures::executor::block_on(async move {
                let mut inbox = inbox;
                while let Some((workload, reply)) = inbox.next().await {
                    let _ = reply.send(run_sequential(workload));
                }
            }),
        })
        .expect("start a benchmark thread");
    (commands, thread)
}

async fn serve<E: HttpExec + FsExec>(exec: E, mut inbox: fmpsc::UnboundedReceiver<Command>) {
    while let Some((workload, reply)) = inbox.next().await {
        let _ = reply.send(run(exec, workload).await);
    }
}

/// `memory_usage` runs in a fresh child process per variant: `suite --memory-child VARIANT`.
const MEMORY_TASKS: usize = 1_000_000;

fn memory_child(variant: &str) -> ! {
    let bytes = match variant {
        "native" => runtime::raw::enter(runtime_native::Native, runtime_benches::memory_usage(Facade, MEMORY_TASKS)),
        "tokio" => runtime::raw::enter(runtime_tokio::Tokio, runtime_benches::memory_usage(Facade, MEMORY_TASKS)),
        "tokio-current-thread" => {
            runtime::raw::enter(runtime_tokio::TokioCurrentThread, runtime_benches::memory_usage(Facade, MEMORY_TASKS))
        }
        "smol" => smol::block_on(runtime_benches::memory_usage(Smol, MEMORY_TASKS)),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(runtime_benches::memory_usage(PlainTokio, MEMORY_TASKS)),
    };
    println!("BYTES_PER_TASK {bytes:.1}");
    // A million pending tasks need not be torn down one by one.
    std::process::exit(0);
}

fn memory_usage(variant: Variant) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let output = std::process::Command::new(exe).args(["--memory-child", variant.arg()]).output().ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout.lines().find_map(|line| line.strip_prefix("BYTES_PER_TASK ")?.trim().parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--memory-child") {
        memory_child(args.get(i + 1).map_or("baseline", String::as_str));
    }
    let full = args.iter().any(|a| a == "--full");
    raise_fd_limit();
    // `--variant native` runs one variant alone (printed only), for profiling it; a comma-separated
    // list runs those variants interleaved.
    let only = args.iter().position(|a| a == "--variant").and_then(|i| args.get(i + 1));
    let variants: Vec<Variant> =
        VARIANTS.iter().copied().filter(|v| only.is_none_or(|o| o.split(',').any(|o| o == v.arg()))).collect();
    // `--samples N` overrides the mode's count (for a quick look at the full mode's rows).
    let samples_arg = args.iter().position(|a| a == "--samples").and_then(|i| args.get(i + 1));
    let filters: Vec<&String> =
        args.iter().filter(|a| !a.starts_with('-') && Some(*a) != only && Some(*a) != samples_arg).collect();
    let samples = match samples_arg {
        Some(n) => n.parse().unwrap_or_else(|_| panic!("--samples takes a number, not {n:?}")),
        None if full => 30,
        None => 10,
    };
    let mut workloads = vec![
        Workload::NotifySelf,
        Workload::SpawnMany(25_000),
        // The issue's bar for task sets: 10,000 tasks in a set cost no more per task than
        // 10,000 spawns with their handles kept.
        Workload::SpawnMany(10_000),
        Workload::TaskSet(10_000),
        Workload::PollReactor,
        Workload::YieldMany,
        Workload::PingPong,
        Workload::ChainedSpawn,
        Workload::TcpEcho(50),
        Workload::TcpEchoVectored,
        Workload::Timers,
        Workload::TimerLateness,
        Workload::SpawnJoin(10_000),
        Workload::HttpHello(64),
        Workload::HttpFile(64),
        Workload::FsSmallFiles,
        Workload::FsRandomRead,
        Workload::FsSeqRead,
        Workload::FsWriteSmall,
    ];
    if full {
        workloads.extend([
            Workload::SpawnMany(100_000),
            Workload::SpawnMany(1_000_000),
            Workload::TcpEcho(10),
            Workload::TcpEcho(100),
            Workload::TcpEcho(1_000),
            Workload::HttpHello(512),
            Workload::HttpFile(512),
        ]);
    }
    workloads.retain(|w| filters.is_empty() || filters.iter().any(|f| w.name().contains(f.as_str())));
    let with_memory = filters.is_empty() || filters.iter().any(|f| "memory_usage".contains(f.as_str()));
    if workloads.iter().any(|w| w.is_fs()) {
        let _ = FIXTURE.set(Fixture::make());
    }

    let runners: BTreeMap<Variant, _> = variants.iter().map(|&v| (v, start(v))).collect();
    let mut results: BTreeMap<(usize, Variant), Vec<Sample>> = BTreeMap::new();
    let started = std::time::Instant::now();
    // Round 0 warms every runtime up and is not recorded.
    for round in 0..=samples {
        // Every other round runs the workloads in reverse, so that no workload always runs
        // right after the same one (a runtime's heap is left as the last workload left it).
        let order: Vec<usize> =
            if round % 2 == 0 { (0..workloads.len()).collect() } else { (0..workloads.len()).rev().collect() };
        for w in order {
            let workload = workloads[w];
            for k in 0..variants.len() {
                // Rotate the order, so no variant always runs right after another.
                let variant = variants[(k + round + w) % variants.len()];
                if !variant.runs(workload) {
                    continue;
                }
                let sample_k = if round == 0 { "warm-up".to_string() } else { format!("sample {round}/{samples}") };
                eprint!(
                    "\r{:<26} {:<29} {sample_k:<14} {:>6.0?}   ",
                    workload.name(),
                    variant.label(),
                    started.elapsed()
                );
                let (reply, answer) = mpsc::channel();
                runners[&variant].0.unbounded_send((workload, reply)).expect("runner alive");
                let sample = answer.recv().expect("runner answered");
                // Let this variant's workers go idle before the next one starts: a worker that
                // just ran out of work searches (spins) a while before it parks, and on two cores
                // that would slow down whichever variant runs next.
                std::thread::sleep(SETTLE);
                if round > 0 {
                    results.entry((w, variant)).or_default().push(sample);
                }
            }
        }
    }
    eprintln!();
    eprintln!(
        "done: {} workloads × {} variants × {samples} samples in {:.0?}",
        workloads.len(),
        variants.len(),
        started.elapsed()
    );
    for (_, (commands, thread)) in runners {
        drop(commands);
        thread.join().expect("runner thread");
    }
    if let Some(fixture) = FIXTURE.get() {
        fixture.remove();
    }
    let memory: BTreeMap<Variant, f64> = if with_memory {
        variants
            .iter()
            .filter(|v| !matches!(v, Variant::NativeBlocking | Variant::Sequential))
            .filter_map(|&v| Some((v, memory_usage(v)?)))
            .collect()
    } else {
        BTreeMap::new()
    };

    if let [variant] = variants[..]
        && only.is_some()
    {
        // One variant alone: no ratios to show, just its figures.
        println!("| name | unit | {} median (min–max) |\n|---|---|--:|", variant.arg());
        for (w, workload) in workloads.iter().enumerate() {
            if let Some(samples) = results.get(&(w, variant)) {
                let (median, min, max) = median_min_max(&samples.iter().map(|s| s.ns).collect::<Vec<_>>());
                println!("| {} | {} | {median:.0} ({min:.0}–{max:.0}) |", workload.name(), workload.unit());
            }
        }
        return;
    }
    let report = render(&workloads, &results, &memory, samples, full, started.elapsed());
    println!("{report}");
    if !filters.is_empty() || only.is_some() {
        // A partial run must not overwrite the committed reports.
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let mode = if full { "full" } else { "quick" };
    let _ = std::fs::create_dir_all(&dir);
    let write = |name: String, text: String| {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("could not write {}: {e}", path.display());
        }
    };
    write(format!("report-{mode}.md"), report);
    write(format!("report-{mode}.svg"), chart(&workloads, &results));
    write(format!("raw-{mode}.csv"), raw_csv(&workloads, &results));
}

fn profile() -> String {
    format!(
        "profile: `bench` (release, opt-level 3, codegen-units 1, LTO off, debug info 1); {} cores; rustc 1.95.0",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

fn render(
    workloads: &[Workload],
    results: &BTreeMap<(usize, Variant), Vec<Sample>>,
    memory: &BTreeMap<Variant, f64>,
    samples: usize,
    full: bool,
    took: Duration,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# runtime benchmarks ({} mode)\n\n{} samples per workload and variant, interleaved in one run ({:.0?}), \
         with a {} ms pause after each sample so that the previous variant's workers are parked; \
         median (min–max). Baseline: plain Tokio multi-thread, no facade. {}\n",
        if full { "full" } else { "quick" },
        samples,
        took,
        SETTLE.as_millis(),
        profile()
    );
    let _ = writeln!(out, "## native against its goal\n");
    let _ = writeln!(
        out,
        "The goal (issue #17) is the better of plain Tokio and smol, except for notify_self and \
         poll_reactor, where it is plain Tokio. Lower is better; the last column is native / goal.\n"
    );
    let _ = writeln!(out, "| name | unit | plain tokio | smol | native | goal | native / goal |");
    let _ = writeln!(out, "|---|---|--:|--:|--:|---|--:|");
    for (w, workload) in workloads.iter().enumerate() {
        let median =
            |v: Variant| results.get(&(w, v)).map(|s| median_min_max(&s.iter().map(|s| s.ns).collect::<Vec<_>>()).0);
        if workload.is_fs() {
            continue;
        }
        if let (Some(t), Some(s), Some(n)) = (median(Variant::Baseline), median(Variant::Smol), median(Variant::Native))
        {
            let (goal, label) = match workload {
                Workload::NotifySelf | Workload::PollReactor => (t, "plain tokio"),
                _ if t <= s => (t, "better: plain tokio"),
                _ => (s, "better: smol"),
            };
            let verdict = if n <= goal { "met" } else { "behind" };
            let _ = writeln!(
                out,
                "| {} | {} | {t:.0} | {s:.0} | {n:.0} | {label} | {:.2} ({verdict}) |",
                workload.name(),
                workload.unit(),
                n / goal
            );
        }
    }
    let _ = writeln!(out);
    issue30_goals(&mut out, workloads, results, full);
    render_fs(&mut out, workloads, results);
    for variant in
        [Variant::Native, Variant::NativeBlocking, Variant::Tokio, Variant::TokioCurrentThread, Variant::Smol]
    {
        let _ = writeln!(out, "## {} vs plain Tokio\n", variant.label());
        let _ = writeln!(
            out,
            "| name | unit | baseline ns/iter | {} ns/iter | diff ns/iter | diff % | speedup |",
            variant.arg()
        );
        let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|");
        for (w, workload) in workloads.iter().enumerate() {
            let (Some(base), Some(this)) = (results.get(&(w, Variant::Baseline)), results.get(&(w, variant))) else {
                continue;
            };
            let b = median_min_max(&base.iter().map(|s| s.ns).collect::<Vec<_>>());
            let v = median_min_max(&this.iter().map(|s| s.ns).collect::<Vec<_>>());
            let diff = v.0 - b.0;
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} ({:.0}–{:.0}) | {:.0} ({:.0}–{:.0}) | {:+.0} | {:+.1}% | {:.2}x |",
                workload.name(),
                workload.unit(),
                b.0,
                b.1,
                b.2,
                v.0,
                v.1,
                v.2,
                diff,
                100.0 * diff / b.0,
                b.0 / v.0
            );
        }
        let _ = writeln!(out);
    }
    if let Some(w) = workloads.iter().position(|w| *w == Workload::TimerLateness) {
        let _ = writeln!(out, "## Timer lateness (1,000 delays of 1–50 ms), µs\n");
        let _ = writeln!(out, "| variant | p50 | p99 |");
        let _ = writeln!(out, "|---|--:|--:|");
        for variant in VARIANTS {
            if let Some(s) = results.get(&(w, variant)) {
                let p50 = median_min_max(&s.iter().map(|s| s.ns).collect::<Vec<_>>());
                let p99 = median_min_max(&s.iter().filter_map(|s| s.extra).collect::<Vec<_>>());
                let _ = writeln!(out, "| {} | {:.1} | {:.1} |", variant.label(), p50.0 / 1e3, p99.0 / 1e3);
            }
        }
        let _ = writeln!(out);
    }
    if let Some(w) = workloads.iter().position(|w| *w == Workload::TcpEcho(50)) {
        let _ = writeln!(out, "## tcp_echo throughput (50 connections × 1,000 round trips of 64 B)\n");
        let _ = writeln!(out, "| variant | round trips/s |");
        let _ = writeln!(out, "|---|--:|");
        for variant in VARIANTS {
            if let Some(s) = results.get(&(w, variant)) {
                let ns = median_min_max(&s.iter().map(|s| s.ns).collect::<Vec<_>>()).0;
                let _ = writeln!(out, "| {} | {:.0} |", variant.label(), 1e9 / ns);
            }
        }
        let _ = writeln!(out);
    }
    latency_table(&mut out, workloads, results);
    if !memory.is_empty() {
        let _ = writeln!(
            out,
            "## memory_usage: RSS per pending task ({MEMORY_TASKS} tasks of a 16-byte future, fresh process each)\n"
        );
        let _ = writeln!(out, "| variant | bytes/task | vs baseline |");
        let _ = writeln!(out, "|---|--:|--:|");
        let base = memory.get(&Variant::Baseline).copied();
        for (variant, bytes) in memory {
            let ratio = base.map_or(String::from("-"), |b| format!("{:.2}x", bytes / b));
            let _ = writeln!(out, "| {} | {:.0} | {ratio} |", variant.label(), bytes);
        }
    }
    out
}

/// The fs rows against issue 26's goals: Native at least 2x the throughput of the better of
/// `tokio::fs` and async-fs (small files, random reads, small writes), at least 0.9x of the
/// sequential std loop on `fs_seq_read`, and the blocking-pool fallback no slower than
/// `tokio::fs`.
fn render_fs(out: &mut String, workloads: &[Workload], results: &BTreeMap<(usize, Variant), Vec<Sample>>) {
    let columns = [
        Variant::Sequential,
        Variant::Baseline,
        Variant::Smol,
        Variant::Tokio,
        Variant::NativeBlocking,
        Variant::Native,
    ];
    let rows: Vec<(usize, Workload)> = workloads.iter().copied().enumerate().filter(|(_, w)| w.is_fs()).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "## fs: native against its goals (issue 26)\n");
    let _ = writeln!(
        out,
        "Medians; ns per file or read (lower is better), GiB/s for fs_seq_read (higher is better). \
         Columns: sequential std loop, plain tokio::fs, async-fs (smol), the facade on Tokio, native \
         with its file ops on the blocking pool, native on io_uring. Goals: native ≥ 2x the better of \
         tokio::fs and async-fs (fs_seq_read: ≥ 0.9x the std loop); the pool ≥ 1x tokio::fs.\n"
    );
    let _ = writeln!(
        out,
        "| name | unit | std loop | tokio::fs | async-fs | facade on Tokio | native (pool) | native (io_uring) | native goal | pool / tokio::fs |"
    );
    let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (w, workload) in rows {
        let median =
            |v: Variant| results.get(&(w, v)).map(|s| median_min_max(&s.iter().map(|s| s.ns).collect::<Vec<_>>()).0);
        let seq = workload == Workload::FsSeqRead;
        let cell = |v: Variant| match median(v) {
            Some(ns) if seq => format!("{:.2}", fsb::gib_per_s(ns)),
            Some(ns) => format!("{ns:.0}"),
            None => "-".into(),
        };
        let goal = match (
            median(Variant::Native),
            median(Variant::Baseline),
            median(Variant::Smol),
            median(Variant::Sequential),
        ) {
            (Some(n), _, _, Some(floor)) if seq => {
                let ratio = floor / n;
                format!("{ratio:.2}x std ({})", if ratio >= 0.9 { "met" } else { "behind" })
            }
            (Some(n), Some(t), Some(s), _) if !seq => {
                let ratio = t.min(s) / n;
                format!("{ratio:.2}x better ({})", if ratio >= 2.0 { "met" } else { "behind" })
            }
            _ => "-".into(),
        };
        let pool = match (median(Variant::NativeBlocking), median(Variant::Baseline)) {
            (Some(p), Some(t)) => {
                let ratio = t / p;
                format!("{ratio:.2}x ({})", if ratio >= 1.0 { "met" } else { "behind" })
            }
            _ => "-".into(),
        };
        let unit = if seq { "GiB/s" } else { workload.unit() };
        let cells: Vec<String> = columns.iter().map(|&v| cell(v)).collect();
        let _ = writeln!(out, "| {} | {unit} | {} | {goal} | {pool} |", workload.name(), cells.join(" | "));
    }
    let _ = writeln!(out);
}

fn raw_csv(workloads: &[Workload], results: &BTreeMap<(usize, Variant), Vec<Sample>>) -> String {
    let mut out = String::from("workload,unit,variant,sample,value_ns,extra_ns,p50_ns,p99_ns\n");
    for ((w, variant), samples) in results {
        for (i, s) in samples.iter().enumerate() {
            let _ = writeln!(
                out,
                "{},{},{},{},{:.1},{},{},{}",
                workloads[*w].name(),
                workloads[*w].unit(),
                variant.arg(),
                i,
                s.ns,
                s.extra.map_or(String::new(), |e| format!("{e:.1}")),
                s.latency.map_or(String::new(), |l| l.p50.as_nanos().to_string()),
                s.latency.map_or(String::new(), |l| l.p99.as_nanos().to_string())
            );
        }
    }
    out
}

/// The median of every sample's figure `f` for workload `w` on `variant`, with the minimum and
/// maximum; `None` if it did not run (or has no such figure).
fn summary(
    results: &BTreeMap<(usize, Variant), Vec<Sample>>,
    w: usize,
    variant: Variant,
    f: impl Fn(&Sample) -> Option<f64>,
) -> Option<(f64, f64, f64)> {
    let values: Vec<f64> = results.get(&(w, variant))?.iter().filter_map(f).collect();
    (!values.is_empty()).then(|| median_min_max(&values))
}

fn median_ns(results: &BTreeMap<(usize, Variant), Vec<Sample>>, w: usize, variant: Variant) -> Option<f64> {
    Some(summary(results, w, variant, |s| Some(s.ns))?.0)
}

/// The median over samples of each sample's p99 latency, in nanoseconds.
fn median_p99(results: &BTreeMap<(usize, Variant), Vec<Sample>>, w: usize, variant: Variant) -> Option<f64> {
    Some(summary(results, w, variant, |s| Some(s.latency?.p99.as_nanos() as f64))?.0)
}

/// The workloads issue #30's performance goals name; those a run lacks are listed as not run.
const ISSUE30_GOALS: [Workload; 6] = [
    Workload::HttpHello(64),
    Workload::HttpHello(512),
    Workload::HttpFile(64),
    Workload::HttpFile(512),
    Workload::TcpEcho(1_000),
    Workload::SpawnJoin(10_000),
];

/// The facade over Tokio may cost at most this much more than plain Tokio (issue #30).
const FACADE_OVER_TOKIO_BOUND: f64 = 1.10;

/// Issue #30's goals, one row each, measured in this run.
fn issue30_goals(
    out: &mut String,
    workloads: &[Workload],
    results: &BTreeMap<(usize, Variant), Vec<Sample>>,
    full: bool,
) {
    let _ = writeln!(out, "## native and the facade against issue #30's goals\n");
    let _ = writeln!(
        out,
        "Medians of this run. HTTP: native's requests/s at least the better peer's (plain Tokio or smol, \
         by requests/s) with a p99 per request no worse; ratio = native req/s ÷ peer req/s, and native \
         p99 ÷ peer p99. tcp_echo at 1,000 connections: native's round trips/s at least plain Tokio's. \
         Facade on Tokio: its time per request or task at most {FACADE_OVER_TOKIO_BOUND:.2}x plain Tokio's.\n"
    );
    let _ = writeln!(out, "| goal | workload | measured | target | ratio | verdict |");
    let _ = writeln!(out, "|---|---|--:|--:|--:|---|");
    let rate = |ns: f64| format!("{:.0}/s", 1e9 / ns);
    let mut missing = Vec::new();
    for goal in ISSUE30_GOALS {
        let Some(w) = workloads.iter().position(|&w| w == goal) else {
            missing.push(goal.name());
            continue;
        };
        let name = goal.name();
        let ns = |v: Variant| median_ns(results, w, v);
        match goal {
            Workload::HttpHello(_) | Workload::HttpFile(_) => {
                let peers = [Variant::Baseline, Variant::Smol].into_iter().filter_map(|v| Some((ns(v)?, v)));
                if let (Some(native), Some((peer, variant))) =
                    (ns(Variant::Native), peers.min_by(|a, b| a.0.total_cmp(&b.0)))
                    && let (Some(native_p99), Some(peer_p99)) =
                        (median_p99(results, w, Variant::Native), median_p99(results, w, variant))
                {
                    let (speed, tail) = (peer / native, native_p99 / peer_p99);
                    let verdict = if speed >= 1.0 && tail <= 1.0 { "met" } else { "behind" };
                    let _ = writeln!(
                        out,
                        "| native ≥ better peer, p99 no worse | {name} | native {}, p99 {:.0} µs | {} {}, p99 {:.0} µs | {speed:.2}x req/s, {tail:.2}x p99 | {verdict} |",
                        rate(native),
                        native_p99 / 1e3,
                        variant.label(),
                        rate(peer),
                        peer_p99 / 1e3
                    );
                }
            }
            Workload::TcpEcho(_) => {
                if let (Some(native), Some(base)) = (ns(Variant::Native), ns(Variant::Baseline)) {
                    let speed = base / native;
                    let verdict = if speed >= 1.0 { "met" } else { "behind" };
                    let _ = writeln!(
                        out,
                        "| native ≥ plain tokio | {name} | native {} | plain tokio {} | {speed:.2}x round trips/s | {verdict} |",
                        rate(native),
                        rate(base)
                    );
                }
            }
            _ => {}
        }
        if matches!(goal, Workload::HttpHello(_) | Workload::SpawnJoin(_))
            && let (Some(facade), Some(base)) = (ns(Variant::Tokio), ns(Variant::Baseline))
        {
            let cost = facade / base;
            let verdict = if cost <= FACADE_OVER_TOKIO_BOUND { "met" } else { "behind" };
            let _ = writeln!(
                out,
                "| facade on Tokio ≤ {FACADE_OVER_TOKIO_BOUND:.2}x plain tokio | {name} | {facade:.0} {} | {base:.0} {} | {cost:.2}x time | {verdict} |",
                goal.unit(),
                goal.unit()
            );
        }
    }
    if !missing.is_empty() {
        let _ =
            writeln!(out, "\nNot run in this {} mode: {}.", if full { "full" } else { "quick" }, missing.join(", "));
    }
    let _ = writeln!(out);
}

/// Throughput with the latency of one operation, for the workloads that measure it.
fn latency_table(out: &mut String, workloads: &[Workload], results: &BTreeMap<(usize, Variant), Vec<Sample>>) {
    let timed: Vec<(usize, &Workload)> = workloads
        .iter()
        .enumerate()
        .filter(|(w, _)| VARIANTS.iter().any(|&v| median_p99(results, *w, v).is_some()))
        .collect();
    if timed.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Throughput and latency per request or round trip\n");
    let _ = writeln!(
        out,
        "HTTP: requests/s over all connections, and the latency of one request (write to last byte \
         read) at p50 and p99. tcp_echo: the same per round trip of 64 B. Median over samples \
         (min–max); each sample's percentiles are over all its operations.\n"
    );
    let _ = writeln!(out, "| name | variant | ops/s | p50 µs | p99 µs |");
    let _ = writeln!(out, "|---|---|--:|--:|--:|");
    for (w, workload) in timed {
        for variant in VARIANTS {
            let Some((ns, min, max)) = summary(results, w, variant, |s| Some(s.ns)) else { continue };
            let micros = |f: fn(&Percentiles) -> Duration| {
                summary(results, w, variant, |s| Some(f(&s.latency?).as_nanos() as f64 / 1e3))
                    .map_or(String::from("-"), |(m, lo, hi)| format!("{m:.1} ({lo:.1}–{hi:.1})"))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} ({:.0}–{:.0}) | {} | {} |",
                workload.name(),
                variant.label(),
                1e9 / ns,
                1e9 / max,
                1e9 / min,
                micros(|l| l.p50),
                micros(|l| l.p99)
            );
        }
    }
    let _ = writeln!(out);
}

/// A bar chart of speedup over plain Tokio per workload, on a log scale (higher is faster; 1.0 is
/// parity): a bar for each variant's median, a whisker from its slowest to its fastest sample
/// (each against plain Tokio's median).
fn chart(workloads: &[Workload], results: &BTreeMap<(usize, Variant), Vec<Sample>>) -> String {
    let shown = [Variant::Native, Variant::Tokio, Variant::TokioCurrentThread, Variant::Smol];
    let colors = ["#2b8a3e", "#1c7ed6", "#f08c00", "#ae3ec9"];
    let (bar, gap, left, plot, value_column) = (12.0, 10.0, 200.0, 600.0, 70.0);
    let row = bar * shown.len() as f64 + gap;
    let top = 70.0;
    let height = top + row * workloads.len() as f64 + 10.0;
    let width = left + plot + value_column + 10.0;
    // (median, slowest, fastest) speedup per workload and variant.
    let speedups: BTreeMap<(usize, Variant), (f64, f64, f64)> = (0..workloads.len())
        .flat_map(|w| shown.iter().map(move |&v| (w, v)))
        .filter_map(|(w, v)| {
            let base = median_ns(results, w, Variant::Baseline)?;
            let (median, min, max) = summary(results, w, v, |s| Some(s.ns))?;
            Some(((w, v), (base / median, base / max, base / min)))
        })
        .collect();
    // The axis spans whole powers of two around every whisker, and at least 0.5x to 2x.
    let lowest = speedups.values().map(|s| s.1).fold(0.5, f64::min).max(1.0 / 1024.0);
    let highest = speedups.values().map(|s| s.2).fold(2.0, f64::max).min(1024.0);
    let (lo, hi) = (lowest.log2().floor(), highest.log2().ceil());
    let x = |speedup: f64| left + (speedup.clamp(lo.exp2(), hi.exp2()).log2() - lo) / (hi - lo) * plot;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <text x=\"10\" y=\"18\" font-size=\"13\">Speedup over plain Tokio (median, log scale; higher is faster; whiskers: slowest to fastest sample)</text>\n"
    );
    let mut lx = left;
    for (variant, color) in shown.iter().zip(colors) {
        let _ = writeln!(
            svg,
            "<rect x=\"{lx}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{}\" y=\"37\">{}</text>",
            lx + 14.0,
            variant.label()
        );
        // Room for the label at about 6.5 px a character (11 px sans-serif).
        lx += 14.0 + 6.5 * variant.label().len() as f64 + 24.0;
    }
    for power in lo as i32..=hi as i32 {
        let s = f64::from(power).exp2();
        let gx = x(s);
        let (stroke, dash) = if power == 0 { ("#495057", " stroke-dasharray=\"4 3\"") } else { ("#dee2e6", "") };
        let label = if s >= 1.0 { format!("{s:.0}x") } else { format!("{s}x") };
        let _ = writeln!(
            svg,
            "<line x1=\"{gx:.1}\" y1=\"{}\" x2=\"{gx:.1}\" y2=\"{height}\" stroke=\"{stroke}\"{dash}/><text x=\"{gx:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#495057\">{label}</text>",
            top - 12.0,
            top - 16.0
        );
    }
    let parity = x(1.0);
    for (w, workload) in workloads.iter().enumerate() {
        let y0 = top + w as f64 * row;
        let _ = writeln!(svg, "<text x=\"10\" y=\"{}\">{}</text>", y0 + row / 2.0, workload.name());
        for (i, (variant, color)) in shown.iter().zip(colors).enumerate() {
            let Some(&(median, slowest, fastest)) = speedups.get(&(w, *variant)) else { continue };
            let y = y0 + i as f64 * bar;
            let mid = y + (bar - 2.0) / 2.0;
            let end = x(median);
            let (from, to, cap) = (x(slowest), x(fastest), bar / 2.0);
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"/>\
                 <path d=\"M{from:.1} {:.1}v{cap}M{from:.1} {mid}H{to:.1}M{to:.1} {:.1}v{cap}\" stroke=\"#212529\" fill=\"none\"/>\
                 <text x=\"{}\" y=\"{}\">{median:.2}x</text>",
                parity.min(end),
                (end - parity).abs().max(1.0),
                bar - 2.0,
                mid - cap / 2.0,
                mid - cap / 2.0,
                left + plot + 8.0,
                y + bar - 3.0
            );
        }
    }
    let _ = writeln!(svg, "</svg>");
    svg
}
