//! No descriptor leaks in `runtime::fs` on any backend: the count is back to its baseline after
//! 10,000 files opened and closed, and after thousands of operations dropped in flight; and
//! Native really runs file ops on io_uring where the kernel allows it. Its own test target: it
//! reads the whole process's descriptors, and its tests take turns (`SERIAL`).
#![cfg(target_os = "linux")]

mod fs_common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use runtime::fs::{self, File, OpenOptions};

use fs_common::TempDir;

/// Taken by every test of this target: none counts descriptors while another opens some.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

/// Opens and closes 10,000 files (100 names, each written then read back 50 times),
/// then reads 1,000 whole files, and checks the count after each.
async fn ten_thousand_files(dir: &TempDir) {
    // Warm up whatever the backend opens once (a ring, pool threads' descriptors).
    fs::write(dir.join("warm"), "x").await.unwrap();
    drop(File::open(dir.join("warm")).await.unwrap());
    let baseline = open_fds();
    for i in 0..10_000usize {
        let path = dir.join(format!("f{}", (i / 2) % 100));
        if i % 2 == 0 {
            let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(&path).await.unwrap();
            file.write_all(format!("file {i}").as_bytes()).await.unwrap();
        } else {
            let mut file = File::open(&path).await.unwrap();
            let mut contents = String::new();
            file.read_to_string(&mut contents).await.unwrap();
            assert_eq!(contents, format!("file {}", i - 1));
        }
    }
    assert_eq!(open_fds(), baseline, "descriptors after 10,000 files opened and closed");
    for i in 0..1_000usize {
        fs::read(dir.join(format!("f{}", i % 100))).await.unwrap();
    }
    assert_eq!(open_fds(), baseline, "descriptors after 1,000 whole-file reads");
}

#[test]
fn ten_thousand_files_leak_no_descriptor() {
    let _serial = serial();
    let dir = TempDir::new("fs-descriptors");
    runtime::raw::enter(runtime::native::Native, ten_thousand_files(&dir));
    runtime::raw::enter(runtime::native::Native::builder().io_uring(false).build(), ten_thousand_files(&dir));
    runtime::raw::enter(runtime_tokio::Tokio, ten_thousand_files(&dir));
    runtime::raw::enter(runtime_tokio::TokioCurrentThread, ten_thousand_files(&dir));
}

/// The io_uring descriptors of this process: `/proc/self/fd` links to `anon_inode:[io_uring]`.
fn rings() -> Vec<String> {
    let mut rings = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").flatten() {
        if std::fs::read_link(entry.path()).is_ok_and(|to| to.as_os_str() == "anon_inode:[io_uring]") {
            rings.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    rings
}

/// Completions the ring `fd` has posted: `CqTail` of its `/proc/self/fdinfo`.
fn completions(fd: &str) -> u64 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).expect("the ring's fdinfo");
    let line = info.lines().find_map(|line| line.strip_prefix("CqTail:")).expect("CqTail in a ring's fdinfo");
    line.trim().parse().expect("CqTail is a number")
}

/// Whether this process may set up an io_uring (a kernel too old, `io_uring_disabled` or a
/// seccomp profile refuse it): asked of the kernel itself.
fn kernel_allows_io_uring() -> bool {
    // `struct io_uring_params`: 120 bytes, all zero asks for the defaults.
    let mut params = [0u8; 120];
    // SAFETY: io_uring_setup reads and writes a `struct io_uring_params`, which `params` is
    // big enough for; a non-negative result is a descriptor this function owns and closes.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return false;
    }
    // SAFETY: `fd` is the ring just set up, owned here.
    unsafe { libc::close(fd as i32) };
    true
}

/// Does file ops of every kind the ring takes, checking what they give.
async fn some_file_ops(dir: &TempDir) -> u64 {
    let path = dir.join("ring");
    let data = fs_common::pattern(64 * 1024, 3);
    fs::write(&path, &data).await.unwrap();
    let file = OpenOptions::new().read(true).write(true).open(&path).await.unwrap();
    // `fs::write` creates and truncates, which Native leaves to its blocking pool (faster than
    // the kernel's io-wq); the open below, which does neither, is the ring's.
    let mut ops = 1;
    for i in 0..16u64 {
        let mut buf = [0; 4096];
        assert_eq!(file.read_at(&mut buf, i * 4096).await.unwrap(), 4096);
        assert_eq!(buf[..], data[i as usize * 4096..][..4096]);
        file.write_at(&buf, i * 4096).await.unwrap();
        ops += 2;
    }
    file.sync_data().await.unwrap();
    assert_eq!(fs::read(&path).await.unwrap(), data);
    ops + 3 // the sync; the read's open and read
}

/// Native takes file ops to an io_uring of its own where the kernel gives one (unless told not
/// to: `io_uring(false)`, or env `RUNTIME_NATIVE_IO_URING=0`, which CI sets in one step), and
/// the ring is gone when the instance stops.
#[test]
fn native_runs_file_ops_on_io_uring_where_the_kernel_allows_it() {
    let _serial = serial();
    let dir = TempDir::new("fs-ring");
    let before = rings();
    let forced_off = std::env::var("RUNTIME_NATIVE_IO_URING").is_ok_and(|v| v.trim() == "0");
    let expect_ring = kernel_allows_io_uring() && !forced_off;
    if !expect_ring {
        eprintln!("io_uring refused by this kernel or turned off: checking that no ring is made");
    }
    runtime::raw::enter(runtime::native::Native, async {
        let ours: Vec<String> = rings().into_iter().filter(|fd| !before.contains(fd)).collect();
        if !expect_ring {
            assert!(ours.is_empty(), "a ring where none was wanted: {ours:?}");
            some_file_ops(&dir).await;
            return;
        }
        assert_eq!(ours.len(), 1, "one ring per instance");
        let start = completions(&ours[0]);
        let ops = some_file_ops(&dir).await;
        let done = completions(&ours[0]) - start;
        assert!(done >= ops, "{done} completions on the ring for {ops} file ops");
    });
    assert_eq!(rings(), before, "the ring closes with its instance");
    let off = runtime::native::Native::builder().io_uring(false).build();
    runtime::raw::enter(off, async {
        assert_eq!(rings(), before, "io_uring(false) makes no ring");
        some_file_ops(&dir).await;
    });
}

/// Blocks of the stress file: even ones are written, odd ones only read.
const BLOCKS: u64 = 32;
const BLOCK: usize = 4096;

/// The contents of `block` at `version`: the pair in the first 16 bytes, then bytes that
/// depend on both.
fn block(index: u64, version: u64) -> Vec<u8> {
    let mut out: Vec<u8> = (0..BLOCK).map(|j| (version.wrapping_mul(31) + index * 7 + j as u64) as u8).collect();
    out[..8].copy_from_slice(&index.to_le_bytes());
    out[8..16].copy_from_slice(&version.to_le_bytes());
    out
}

/// xorshift64: a reproducible mix of operations, from the seed printed on failure.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

type Op<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Rounds of many operations on one `File` and on paths, each polled once and then dropped
/// (whatever it was doing) or awaited; after each round, one awaited write per written block
/// must be what the file holds: no dropped write lands after it. Then the descriptors must go
/// back to their count before the file was opened.
async fn dropped_in_flight(dir: &TempDir, seed: u64) {
    const ROUNDS: u64 = 12;
    const OPS: u64 = 96;
    let mut rng = Rng(seed);
    let path = dir.join("stress");
    let initial: Vec<u8> = (0..BLOCKS).flat_map(|b| block(b, 0)).collect();
    fs::write(&path, &initial).await.unwrap();
    fs::write(dir.join("other"), b"other").await.unwrap();
    let baseline = open_fds();
    let file = OpenOptions::new().read(true).write(true).open(&path).await.unwrap();
    let mut dropped_pending = 0usize;
    for round in 1..=ROUNDS {
        let mut kept: Vec<Op<'_>> = Vec::new();
        for i in 0..OPS {
            let version = round * 1_000 + i;
            let even = rng.below(BLOCKS / 2) * 2;
            let odd = even + 1;
            let file = &file;
            let mut op: Op<'_> = match rng.below(7) {
                0 | 1 => Box::pin(async move {
                    assert_eq!(file.write_at(&block(even, version), even * BLOCK as u64).await.unwrap(), BLOCK);
                }),
                2 | 3 => Box::pin(async move {
                    let mut buf = vec![0; BLOCK];
                    assert_eq!(file.read_at(&mut buf, odd * BLOCK as u64).await.unwrap(), BLOCK);
                    assert!(buf == block(odd, 0), "odd block {odd} changed");
                }),
                4 => Box::pin(async move { file.sync_data().await.unwrap() }),
                5 => {
                    let other = dir.join("other");
                    Box::pin(async move {
                        let mut opened = File::open(&other).await.unwrap();
                        let mut s = String::new();
                        opened.read_to_string(&mut s).await.unwrap();
                        assert_eq!(s, "other");
                    })
                }
                _ => {
                    let scratch = dir.join(format!("scratch-{}", i % 8));
                    Box::pin(async move {
                        fs::write(&scratch, block(i, version)).await.unwrap();
                    })
                }
            };
            let pending = futures::poll!(op.as_mut()).is_pending();
            if rng.below(2) == 0 {
                dropped_pending += usize::from(pending);
                drop(op);
            } else if pending {
                kept.push(op);
            }
        }
        futures::future::join_all(kept).await;
        for b in (0..BLOCKS).step_by(2) {
            file.write_at(&block(b, round), b * BLOCK as u64).await.unwrap();
        }
        let mut all = vec![0; BLOCKS as usize * BLOCK];
        let mut at = 0;
        while at < all.len() {
            let n = file.read_at(&mut all[at..], at as u64).await.unwrap();
            assert!(n > 0, "the file shrank");
            at += n;
        }
        for b in 0..BLOCKS {
            let want = if b % 2 == 0 { block(b, round) } else { block(b, 0) };
            assert!(all[b as usize * BLOCK..][..BLOCK] == want[..], "seed {seed}: block {b} after round {round}");
        }
    }
    assert!(dropped_pending > 0, "no operation was dropped in flight: the test tests nothing");
    drop(file);
    // An open dropped in flight completes on its own time (on the blocking pool nothing can
    // await it): wait for the count, bounded.
    let deadline = Instant::now() + Duration::from_secs(20);
    while open_fds() != baseline && Instant::now() < deadline {
        runtime::time::Delay::new(Duration::from_millis(2)).await;
    }
    assert_eq!(open_fds(), baseline, "seed {seed}: descriptors after operations dropped in flight");
}

#[test]
fn operations_dropped_in_flight_leak_nothing_and_land_before_later_ones() {
    let _serial = serial();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("seed {seed}");
    let dir = TempDir::new("fs-dropped-in-flight");
    runtime::raw::enter(runtime::native::Native, dropped_in_flight(&dir, seed));
    runtime::raw::enter(runtime::native::Native::builder().io_uring(false).build(), dropped_in_flight(&dir, seed));
    runtime::raw::enter(runtime_tokio::Tokio, dropped_in_flight(&dir, seed));
    runtime::raw::enter(runtime_tokio::TokioCurrentThread, dropped_in_flight(&dir, seed));
}
