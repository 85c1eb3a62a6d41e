//! `runtime::fs` under abuse, on every backend: dropped operations, a file shared across
//! instances, operations still blocked when the instance stops.

#[macro_use]
mod fs_common;

use std::io::SeekFrom;

use futures::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use runtime::fs::{self, File, OpenOptions};

use fs_common::{TempDir, pattern};

on_every_fs_backend! {
    async fn a_thousand_dropped_reads_leave_the_file_usable_and_correct() {
        let dir = TempDir::new("fs-dropped-reads");
        let path = dir.join("f");
        let data = pattern(4 << 20, 7);
        fs::write(&path, &data).await.unwrap();
        let mut file = File::open(&path).await.unwrap();
        let mut at = 0u64;
        for i in 0..1_000usize {
            let asked = 1 + (i * 37) % 5_000;
            let mut buf = vec![0; asked];
            {
                // Started (one poll: it may even complete) and dropped.
                let mut read = file.read(&mut buf);
                let _ = futures::poll!(&mut read);
            }
            if i % 3 == 0 {
                let mut other = vec![0; 4096];
                let mut positional = std::pin::pin!(file.read_at(&mut other, (i * 4096) as u64));
                let _ = futures::poll!(positional.as_mut());
            }
            let now = file.stream_position().await.unwrap();
            assert!(now >= at && now <= at + asked as u64, "read {i}: position {now} after {at} + {asked}");
            // The next read starts there, with the right bytes.
            let mut check = [0; 16];
            file.read_exact(&mut check).await.unwrap();
            assert_eq!(check[..], data[now as usize..now as usize + 16], "read {i} at {now}");
            at = now + 16;
        }
        // Still correct to the end.
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await.unwrap();
        assert!(rest[..] == data[at as usize..]);
    }

    async fn a_dropped_write_is_all_or_a_prefix_and_moves_the_position_by_it() {
        let dir = TempDir::new("fs-dropped-writes");
        let path = dir.join("f");
        let mut file = File::create(&path).await.unwrap();
        let mut expected = Vec::new();
        for i in 0..300usize {
            let chunk = pattern(1 + (i * 997) % 70_000, i as u8);
            {
                let mut write = file.write(&chunk);
                let _ = futures::poll!(&mut write);
            }
            let at = file.stream_position().await.unwrap() as usize;
            let k = at - expected.len();
            assert!(k <= chunk.len(), "write {i}: {k} of {}", chunk.len());
            expected.extend_from_slice(&chunk[..k]);
            // Exactly those k bytes are in the file.
            assert!(std::fs::read(&path).unwrap() == expected, "write {i}");
        }
        drop(file);
        assert!(fs::read(&path).await.unwrap() == expected);
    }

    async fn flush_waits_for_a_dropped_write() {
        let dir = TempDir::new("fs-flush");
        let path = dir.join("f");
        let mut file = File::create(&path).await.unwrap();
        let chunk = pattern(1 << 20, 1);
        {
            let mut write = file.write(&chunk);
            let _ = futures::poll!(&mut write);
        }
        file.flush().await.unwrap();
        // Whatever the dropped write did is done now, and nothing changes after.
        let after_flush = std::fs::read(&path).unwrap();
        assert!(chunk.starts_with(&after_flush));
        assert_eq!(file.stream_position().await.unwrap(), after_flush.len() as u64);
        assert!(std::fs::read(&path).unwrap() == after_flush);
        // With nothing dropped, flush is immediate.
        file.write_all(b"tail").await.unwrap();
        let mut flush = file.flush();
        assert!(futures::poll!(&mut flush).is_ready());
    }

    async fn a_dropped_positional_write_never_lands_after_a_later_operation() {
        let dir = TempDir::new("fs-dropped-write-at");
        let path = dir.join("f");
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).await.unwrap();
        file.write_at(&[b'.'; 8192], 0).await.unwrap();
        for i in 0..200u64 {
            let offset = (i * 40) % 8000;
            let bytes = [b'a' + (i % 26) as u8; 32];
            {
                let mut write = std::pin::pin!(file.write_at(&bytes, offset));
                let _ = futures::poll!(write.as_mut());
            }
            let mut first = [0; 32];
            file.read_at(&mut first, offset).await.unwrap();
            // Either it happened before the read, or never: a second look agrees with the first.
            let mut second = [0; 32];
            file.metadata().await.unwrap();
            file.read_at(&mut second, offset).await.unwrap();
            assert_eq!(first, second, "write_at {i}");
        }
    }

    async fn a_parked_write_polled_again_with_the_same_bytes_is_one_write() {
        let dir = TempDir::new("fs-same-write");
        let path = dir.join("f");
        let mut file = File::create(&path).await.unwrap();
        let chunk = pattern(100_000, 4);
        // write_all polls again with the same bytes until they are written: written once.
        for _ in 0..20 {
            file.write_all(&chunk).await.unwrap();
        }
        drop(file);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 20 * 100_000);
    }

    async fn a_file_outlives_its_instance() {
        let dir = TempDir::new("fs-cross-instance");
        let path = dir.join("f");
        fs::write(&path, pattern(10_000, 2)).await.unwrap();
        // Opened and left with an abandoned op in another instance, which stops.
        let file = std::thread::scope(|s| {
            s.spawn(|| {
                runtime::raw::enter(runtime::native::Native, async {
                    let file = OpenOptions::new().read(true).write(true).open(&path).await.unwrap();
                    {
                        let mut write = std::pin::pin!(file.write_at(b"from the first", 0));
                        let _ = futures::poll!(write.as_mut());
                    }
                    file
                })
            })
            .join()
            .unwrap()
        });
        // Usable here: the abandoned op either ran or never will.
        let mut buf = [0; 14];
        file.read_at(&mut buf, 0).await.unwrap();
        assert!(&buf == b"from the first" || buf[..] == pattern(10_000, 2)[..14]);
        let mut file = file;
        file.seek(SeekFrom::End(0)).await.unwrap();
        file.write_all(b"end").await.unwrap();
        assert!(fs::read(&path).await.unwrap().ends_with(b"end"));
    }
}

#[cfg(target_os = "linux")]
on_every_fs_backend! {
    /// As std's: opening a FIFO for writing waits for a reader (io_uring's inline open, with
    /// `O_NONBLOCK`, fails with ENXIO instead).
    async fn opening_a_fifo_for_writing_waits_for_a_reader() {
        let dir = TempDir::new("fs-fifo-writer");
        let fifo = mkfifo(&dir);
        let mut options = OpenOptions::new();
        options.write(true);
        let mut open = std::pin::pin!(options.open(&fifo));
        assert!(futures::poll!(open.as_mut()).is_pending(), "the open waits for a reader");
        let theirs = fifo.clone();
        let reader = std::thread::spawn(move || std::fs::read(theirs));
        let mut file = open.await.unwrap();
        file.write_all(b"through the fifo").await.unwrap();
        drop(file);
        assert_eq!(reader.join().unwrap().unwrap(), b"through the fifo");
    }

    /// As std's: opening a FIFO for reading waits for a writer (io_uring's inline open, with
    /// `O_NONBLOCK`, returns at once, and a read then finds the end of a FIFO nobody wrote).
    async fn opening_a_fifo_for_reading_waits_for_a_writer() {
        let dir = TempDir::new("fs-fifo-reader");
        let fifo = mkfifo(&dir);
        let mut open = std::pin::pin!(File::open(&fifo));
        assert!(futures::poll!(open.as_mut()).is_pending(), "the open waits for a writer");
        let theirs = fifo.clone();
        let writer = std::thread::spawn(move || std::fs::write(theirs, b"through the fifo"));
        let mut file = open.await.unwrap();
        let mut got = Vec::new();
        file.read_to_end(&mut got).await.unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(got, b"through the fifo");
    }
}

/// A new FIFO `fifo` in `dir`.
#[cfg(target_os = "linux")]
fn mkfifo(dir: &TempDir) -> std::path::PathBuf {
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("run mkfifo");
    assert!(made.success());
    fifo
}

/// A `File` made outside any runtime is fine; polling one of its operations there panics, as
/// `spawn` does.
#[test]
#[should_panic(expected = "no runtime is running on this thread")]
fn polling_outside_a_runtime_panics() {
    let file = File::from_std(std::fs::File::open("Cargo.toml").unwrap());
    let _ = futures::executor::block_on(file.metadata());
}

/// `enter` returns while a file operation is blocked in the kernel (a read of an empty FIFO):
/// it never waits for one. The read is then released so that nothing outlives the test.
#[cfg(target_os = "linux")]
#[test]
fn enter_does_not_wait_for_a_blocked_file_operation() {
    let dir = TempDir::new("fs-enter-no-wait");
    let fifo = mkfifo(&dir);
    macro_rules! one {
        ($rt:expr) => {{
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            let reader_path = fifo.clone();
            let runner = std::thread::spawn(move || {
                let fifo = reader_path;
                runtime::raw::enter($rt, async {
                    // Read and write: opening does not wait for a writer.
                    let mut file = OpenOptions::new().read(true).write(true).open(&fifo).await.unwrap();
                    let mut buf = [0; 1];
                    let mut read = file.read(&mut buf);
                    assert!(futures::poll!(&mut read).is_pending());
                });
                done_tx.send(()).unwrap();
            });
            // A watchdog, not a synchronisation: enter must return long before this.
            let returned = done_rx.recv_timeout(std::time::Duration::from_secs(30));
            // Release the read (if it ran at all) before judging.
            if let Some(mut writer) = open_writer_nonblocking(&fifo) {
                let _ = std::io::Write::write_all(&mut writer, b"x");
            }
            assert!(returned.is_ok(), "enter waited for a blocked file operation");
            runner.join().unwrap();
        }};
    }
    one!(runtime::native::Native);
    one!(runtime::native::Native::builder().io_uring(false).build());
    one!(runtime_tokio::Tokio);
    one!(runtime_tokio::TokioCurrentThread);
}

/// Opens the FIFO for writing without blocking: `None` when no reader has it open any more.
#[cfg(target_os = "linux")]
fn open_writer_nonblocking(path: &std::path::Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    /// `O_NONBLOCK` on Linux.
    const O_NONBLOCK: i32 = 0o4000;
    std::fs::OpenOptions::new().write(true).custom_flags(O_NONBLOCK).open(path).ok()
}
