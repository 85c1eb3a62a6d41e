//! The file-system workloads (issue 26): the same code over `runtime::fs` (on whichever backend
//! runs it), plain `tokio::fs`, smol's `async-fs` (with `blocking::unblock` where a smol user
//! would reach for it), and a sequential `std::fs` loop on one thread, the floor.
//!
//! The files are made once, before any timing ([`Fixture::make`]): the page cache is warm, so
//! these measure the runtime, not the disk. The files `fs_write_small` creates go on tmpfs
//! where there is one. (On tmpfs the kernel's io_uring cannot read inline, unlike ext4 with a
//! warm cache: every read goes through its io-wq threads.)

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Exec, Facade, Measured, PlainTokio, Smol};

/// Environment variable naming the directory the fs workloads' files go in.
pub const FS_DIR_ENV: &str = "RUNTIME_BENCH_FS_DIR";

/// Files of `fs_small_files`, read whole.
pub const SMALL_FILES: usize = 1_000;
/// Bytes of each small file, and of each positional read.
pub const SMALL: usize = 4096;
/// Small files or writes in flight at once.
pub const SMALL_IN_FLIGHT: usize = 64;
/// The file of `fs_random_read`.
pub const RANDOM_FILE: u64 = 64 << 20;
/// Positional reads of `fs_random_read`.
pub const RANDOM_READS: usize = 20_000;
/// Positional reads in flight at once.
pub const RANDOM_IN_FLIGHT: usize = 128;
/// The file of `fs_seq_read`.
pub const SEQ_FILE: u64 = 256 << 20;
/// The chunk `fs_seq_read` reads at a time.
pub const SEQ_CHUNK: usize = 256 << 10;

/// The files the workloads read, and the directory `fs_write_small` writes into.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub dir: PathBuf,
    /// Where `fs_write_small` creates its files: tmpfs where there is one, since creating a
    /// file on a journaling file system costs what the disk costs (0.8 ms a file on the
    /// two-core VM, for every variant alike), not what the runtime does.
    pub writes: PathBuf,
}

impl Fixture {
    /// Makes the files under a fresh directory in [`FS_DIR_ENV`], else in the system's
    /// temporary directory; `fs_write_small` writes under `/dev/shm` where it exists (see
    /// [`Fixture::writes`](Fixture#structfield.writes)).
    ///
    /// # Panics
    /// When a file cannot be written.
    pub fn make() -> Fixture {
        let base = std::env::var_os(FS_DIR_ENV).map_or_else(std::env::temp_dir, PathBuf::from);
        let dir = base.join(format!("runtime-bench-fs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("small")).expect("make the bench directory");
        let block: Vec<u8> = (0..SMALL).map(|i| i as u8).collect();
        for i in 0..SMALL_FILES {
            std::fs::write(dir.join("small").join(i.to_string()), &block).expect("write a small file");
        }
        let mut big = Vec::with_capacity(SEQ_FILE as usize);
        while (big.len() as u64) < SEQ_FILE {
            big.extend_from_slice(&block);
        }
        std::fs::write(dir.join("random"), &big[..RANDOM_FILE as usize]).expect("write the random-read file");
        std::fs::write(dir.join("seq"), &big).expect("write the sequential-read file");
        let writes = match std::env::var_os(FS_DIR_ENV) {
            None if std::path::Path::new("/dev/shm").is_dir() => {
                std::path::Path::new("/dev/shm").join(format!("runtime-bench-fs-writes-{}", std::process::id()))
            }
            _ => dir.join("writes"),
        };
        Fixture { dir, writes }
    }

    fn small(&self, i: usize) -> PathBuf {
        self.dir.join("small").join(i.to_string())
    }

    /// Where the sample of `who` writes its files (removed after each sample, untimed).
    fn writes(&self, who: &str) -> PathBuf {
        self.writes.join(who)
    }

    /// Removes every file.
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.writes);
    }
}

/// What the file-system workloads need from a runtime, each op in the idiom its users write.
pub trait FsExec: Exec {
    /// A file opened for positional reads, shared by the tasks reading it.
    type File: Send + Sync + 'static;

    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send;
    fn write_file(path: PathBuf, data: &'static [u8]) -> impl Future<Output = io::Result<()>> + Send;
    fn open(path: PathBuf) -> impl Future<Output = io::Result<Self::File>> + Send;
    /// Reads `buf.len()` bytes at `offset`; gives the buffer back.
    fn read_at(
        file: Arc<Self::File>,
        buf: Vec<u8>,
        offset: u64,
    ) -> impl Future<Output = io::Result<(usize, Vec<u8>)>> + Send;
    /// Reads the file at `path` from start to end, `chunk` bytes at a time: the bytes read.
    fn read_through(path: PathBuf, chunk: usize) -> impl Future<Output = io::Result<u64>> + Send;
}

impl FsExec for Facade {
    type File = runtime::fs::File;

    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send {
        runtime::fs::read(path)
    }

    fn write_file(path: PathBuf, data: &'static [u8]) -> impl Future<Output = io::Result<()>> + Send {
        runtime::fs::write(path, data)
    }

    fn open(path: PathBuf) -> impl Future<Output = io::Result<Self::File>> + Send {
        runtime::fs::File::open(path)
    }

    async fn read_at(file: Arc<Self::File>, mut buf: Vec<u8>, offset: u64) -> io::Result<(usize, Vec<u8>)> {
        let n = file.read_at(&mut buf, offset).await?;
        Ok((n, buf))
    }

    async fn read_through(path: PathBuf, chunk: usize) -> io::Result<u64> {
        use futures::AsyncReadExt;
        let mut file = runtime::fs::File::open(path).await?;
        let (mut buf, mut total) = (vec![0; chunk], 0);
        loop {
            match file.read(&mut buf).await? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    }
}

impl FsExec for PlainTokio {
    type File = std::fs::File;

    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send {
        tokio::fs::read(path)
    }

    fn write_file(path: PathBuf, data: &'static [u8]) -> impl Future<Output = io::Result<()>> + Send {
        tokio::fs::write(path, data)
    }

    async fn open(path: PathBuf) -> io::Result<Self::File> {
        Ok(tokio::fs::File::open(path).await?.into_std().await)
    }

    async fn read_at(file: Arc<Self::File>, mut buf: Vec<u8>, offset: u64) -> io::Result<(usize, Vec<u8>)> {
        tokio::task::spawn_blocking(move || {
            let n = std::os::unix::fs::FileExt::read_at(&*file, &mut buf, offset)?;
            Ok((n, buf))
        })
        .await
        .expect("read_at panicked")
    }

    async fn read_through(path: PathBuf, chunk: usize) -> io::Result<u64> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(path).await?;
        // Tokio's own buffer caps one read at 2 MiB by default; 256 KiB asks are below it.
        let (mut buf, mut total) = (vec![0; chunk], 0);
        loop {
            match file.read(&mut buf).await? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    }
}

impl FsExec for Smol {
    type File = std::fs::File;

    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send {
        smol::fs::read(path)
    }

    fn write_file(path: PathBuf, data: &'static [u8]) -> impl Future<Output = io::Result<()>> + Send {
        smol::fs::write(path, data)
    }

    async fn open(path: PathBuf) -> io::Result<Self::File> {
        smol::unblock(move || std::fs::File::open(path)).await
    }

    async fn read_at(file: Arc<Self::File>, mut buf: Vec<u8>, offset: u64) -> io::Result<(usize, Vec<u8>)> {
        smol::unblock(move || {
            let n = std::os::unix::fs::FileExt::read_at(&*file, &mut buf, offset)?;
            Ok((n, buf))
        })
        .await
    }

    async fn read_through(path: PathBuf, chunk: usize) -> io::Result<u64> {
        use futures::AsyncReadExt;
        let mut file = smol::fs::File::open(path).await?;
        let (mut buf, mut total) = (vec![0; chunk], 0);
        loop {
            match file.read(&mut buf).await? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    }
}

/// Runs `job(i)` for every `i < n`, `in_flight` at a time: that many tasks, each taking every
/// `in_flight`-th index, so that the tasks spread over the workers.
async fn in_flight<E, F, Fut>(exec: E, n: usize, in_flight: usize, job: F)
where
    E: Exec,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let tasks: Vec<_> = (0..in_flight)
        .map(|k| {
            let job = job.clone();
            exec.spawn(async move {
                for i in (k..n).step_by(in_flight) {
                    job(i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
}

/// `fs_small_files`: reads the 1,000 small files whole, 64 in flight: ns per file.
pub async fn small_files<E: FsExec>(exec: E, fixture: &Fixture) -> Measured {
    let fixture = Arc::new(fixture.clone());
    let start = Instant::now();
    in_flight(exec, SMALL_FILES, SMALL_IN_FLIGHT, move |i| {
        let path = fixture.small(i);
        async move {
            let bytes = E::read_file(path).await.expect("read a small file");
            assert_eq!(bytes.len(), SMALL);
        }
    })
    .await;
    Measured { elapsed: start.elapsed(), ops: SMALL_FILES as u64 }
}

/// The offset of positional read `i`: 4 KiB-aligned, spread over the file by a multiplicative
/// hash (the same offsets for every variant).
fn random_offset(i: usize) -> u64 {
    let blocks = RANDOM_FILE / SMALL as u64;
    ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17) % blocks * SMALL as u64
}

/// `fs_random_read`: 20,000 positional 4 KiB reads of the 64 MiB file, 128 in flight: ns per
/// read.
pub async fn random_read<E: FsExec>(exec: E, fixture: &Fixture) -> Measured {
    let file = Arc::new(E::open(fixture.dir.join("random")).await.expect("open the random-read file"));
    let start = Instant::now();
    let tasks: Vec<_> = (0..RANDOM_IN_FLIGHT)
        .map(|k| {
            let file = file.clone();
            exec.spawn(async move {
                let mut buf = vec![0; SMALL];
                for i in (k..RANDOM_READS).step_by(RANDOM_IN_FLIGHT) {
                    let (n, back) = E::read_at(file.clone(), buf, random_offset(i)).await.expect("read_at");
                    assert_eq!(n, SMALL);
                    buf = back;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    Measured { elapsed: start.elapsed(), ops: RANDOM_READS as u64 }
}

/// `fs_seq_read`: the 256 MiB file start to end in 256 KiB chunks: ns per chunk.
pub async fn seq_read<E: FsExec>(_exec: E, fixture: &Fixture) -> Measured {
    let start = Instant::now();
    let total = E::read_through(fixture.dir.join("seq"), SEQ_CHUNK).await.expect("read the sequential file");
    assert_eq!(total, SEQ_FILE);
    Measured { elapsed: start.elapsed(), ops: SEQ_FILE / SEQ_CHUNK as u64 }
}

/// What `fs_write_small` writes to each file.
static SMALL_DATA: [u8; SMALL] = [7; SMALL];

/// `fs_write_small`: creates, writes 4 KiB to and closes 1,000 new files, 64 in flight: ns per
/// file. The files are removed afterwards, untimed.
pub async fn write_small<E: FsExec>(exec: E, fixture: &Fixture, who: &str) -> Measured {
    let dir = Arc::new(fixture.writes(who));
    std::fs::create_dir_all(&*dir).expect("make the write directory");
    let start = Instant::now();
    let paths = dir.clone();
    in_flight(exec, SMALL_FILES, SMALL_IN_FLIGHT, move |i| {
        let path = paths.join(i.to_string());
        async move { E::write_file(path, &SMALL_DATA).await.expect("write a small file") }
    })
    .await;
    let elapsed = start.elapsed();
    std::fs::remove_dir_all(&*dir).expect("remove the written files");
    Measured { elapsed, ops: SMALL_FILES as u64 }
}

/// The floor: each workload as a sequential `std::fs` loop on this thread.
pub mod sequential {
    use super::*;

    pub fn small_files(fixture: &Fixture) -> Measured {
        let start = Instant::now();
        for i in 0..SMALL_FILES {
            assert_eq!(std::fs::read(fixture.small(i)).expect("read a small file").len(), SMALL);
        }
        Measured { elapsed: start.elapsed(), ops: SMALL_FILES as u64 }
    }

    pub fn random_read(fixture: &Fixture) -> Measured {
        let file = std::fs::File::open(fixture.dir.join("random")).expect("open the random-read file");
        let mut buf = vec![0; SMALL];
        let start = Instant::now();
        for i in 0..RANDOM_READS {
            let n = std::os::unix::fs::FileExt::read_at(&file, &mut buf, random_offset(i)).expect("read_at");
            assert_eq!(n, SMALL);
        }
        Measured { elapsed: start.elapsed(), ops: RANDOM_READS as u64 }
    }

    pub fn seq_read(fixture: &Fixture) -> Measured {
        use std::io::Read;
        let start = Instant::now();
        let mut file = std::fs::File::open(fixture.dir.join("seq")).expect("open the sequential file");
        let mut buf = vec![0; SEQ_CHUNK];
        let mut total = 0u64;
        loop {
            match file.read(&mut buf).expect("read") {
                0 => break,
                n => total += n as u64,
            }
        }
        assert_eq!(total, SEQ_FILE);
        Measured { elapsed: start.elapsed(), ops: SEQ_FILE / SEQ_CHUNK as u64 }
    }

    pub fn write_small(fixture: &Fixture) -> Measured {
        let dir = fixture.writes("std");
        std::fs::create_dir_all(&dir).expect("make the write directory");
        let start = Instant::now();
        for i in 0..SMALL_FILES {
            std::fs::write(dir.join(i.to_string()), SMALL_DATA).expect("write a small file");
        }
        let elapsed = start.elapsed();
        std::fs::remove_dir_all(&dir).expect("remove the written files");
        Measured { elapsed, ops: SMALL_FILES as u64 }
    }
}

/// GiB/s of `fs_seq_read` from its ns per chunk.
pub fn gib_per_s(ns_per_chunk: f64) -> f64 {
    SEQ_CHUNK as f64 / (1u64 << 30) as f64 / Duration::from_nanos(ns_per_chunk as u64).as_secs_f64()
}
