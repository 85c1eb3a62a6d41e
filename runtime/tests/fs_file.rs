//! `runtime::fs::File` and `OpenOptions`, on every backend.

#[macro_use]
mod fs_common;

use std::io::{ErrorKind, SeekFrom};

use futures::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use runtime::fs::{self, File, OpenOptions};

use fs_common::{TempDir, big_pattern, pattern};

fn assert_traits<T: Send + Sync + Unpin + std::fmt::Debug>() {}
fn assert_send<T: Send>(_: &T) {}

#[test]
fn file_types_are_send_sync_unpin_debug() {
    assert_traits::<File>();
    assert_traits::<OpenOptions>();
    fn io<T: futures::io::AsyncRead + futures::io::AsyncWrite + futures::io::AsyncSeek>() {}
    io::<File>();
    fn read_dir<T: futures::Stream<Item = std::io::Result<fs::DirEntry>> + Unpin + Send + std::fmt::Debug>() {}
    read_dir::<fs::ReadDir>();
}

on_every_fs_backend! {
    async fn futures_are_send() {
        let dir = TempDir::new("fs-send");
        let path = dir.join("f");
        let file = File::create(&path).await.unwrap();
        let mut buf = [0; 4];
        assert_send(&file.read_at(&mut buf, 0));
        assert_send(&file.write_at(b"x", 0));
        assert_send(&file.sync_all());
        assert_send(&file.metadata());
        assert_send(&fs::read(&path));
        assert_send(&OpenOptions::new().read(true).open(&path));
        // And they run in a spawned task.
        let written = runtime::spawn(async move { file.write_at(b"spawned", 0).await.unwrap() }).await;
        assert_eq!(written, 7);
    }

    async fn write_then_read_through_the_cursor() {
        let dir = TempDir::new("fs-cursor");
        let path = dir.join("f");
        let data = pattern(300_000, 3);
        let mut file = File::create(&path).await.unwrap();
        file.write_all(&data).await.unwrap();
        file.flush().await.unwrap();
        drop(file);
        let mut file = File::open(&path).await.unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, data);
        // At the end: reads give 0.
        let mut buf = [0; 16];
        assert_eq!(file.read(&mut buf).await.unwrap(), 0);
        // Small reads walk through the file in order.
        file.seek(SeekFrom::Start(0)).await.unwrap();
        let mut small = vec![0; 1000];
        file.read_exact(&mut small).await.unwrap();
        assert_eq!(small, data[..1000]);
        assert_eq!(file.stream_position().await.unwrap(), 1000);
    }

    async fn append_writes_at_the_end() {
        let dir = TempDir::new("fs-append");
        let path = dir.join("log");
        fs::write(&path, "first\n").await.unwrap();
        let mut log = OpenOptions::new().append(true).open(&path).await.unwrap();
        log.write_all(b"second\n").await.unwrap();
        // Even after seeking to the start, a write appends.
        log.seek(SeekFrom::Start(0)).await.unwrap();
        log.write_all(b"third\n").await.unwrap();
        assert_eq!(log.stream_position().await.unwrap(), 19);
        drop(log);
        let mut again = OpenOptions::new().append(true).create(true).open(&path).await.unwrap();
        again.write_all(b"fourth\n").await.unwrap();
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "first\nsecond\nthird\nfourth\n");
    }

    async fn truncate_create_and_create_new() {
        let dir = TempDir::new("fs-truncate");
        let path = dir.join("f");
        fs::write(&path, "0123456789").await.unwrap();
        // Without truncate, writing overwrites in place.
        let mut file = OpenOptions::new().write(true).open(&path).await.unwrap();
        file.write_all(b"ab").await.unwrap();
        drop(file);
        assert_eq!(fs::read(&path).await.unwrap(), b"ab23456789");
        let file = OpenOptions::new().write(true).truncate(true).open(&path).await.unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), 0);
        drop(file);
        // create_new on an existing file.
        let e = OpenOptions::new().write(true).create_new(true).open(&path).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        let fresh = dir.join("fresh");
        let mut file = OpenOptions::new().write(true).create_new(true).open(&fresh).await.unwrap();
        file.write_all(b"new").await.unwrap();
        assert_eq!(fs::read(&fresh).await.unwrap(), b"new");
        // Missing without create; options that do not go together are std's InvalidInput.
        let e = OpenOptions::new().write(true).open(dir.join("missing")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = OpenOptions::new().open(&path).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = OpenOptions::new().read(true).truncate(true).open(&path).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        // A file opened for reading only refuses writes with the OS's error.
        let mut file = File::open(&path).await.unwrap();
        assert!(file.write_all(b"x").await.is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let private = dir.join("private");
            let file = OpenOptions::new().write(true).create(true).mode(0o600).open(&private).await.unwrap();
            assert_eq!(file.metadata().await.unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    async fn seek_from_start_end_and_current() {
        let dir = TempDir::new("fs-seek");
        let path = dir.join("f");
        fs::write(&path, "0123456789").await.unwrap();
        let mut file = OpenOptions::new().read(true).write(true).open(&path).await.unwrap();
        let mut two = [0; 2];
        assert_eq!(file.seek(SeekFrom::Start(3)).await.unwrap(), 3);
        file.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"34");
        assert_eq!(file.seek(SeekFrom::Current(2)).await.unwrap(), 7);
        file.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"78");
        assert_eq!(file.seek(SeekFrom::Current(-5)).await.unwrap(), 4);
        assert_eq!(file.seek(SeekFrom::End(-1)).await.unwrap(), 9);
        file.read_exact(&mut two[..1]).await.unwrap();
        assert_eq!(&two[..1], b"9");
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 10);
        // Past the end: a write there leaves a hole of zeros.
        assert_eq!(file.seek(SeekFrom::End(2)).await.unwrap(), 12);
        file.write_all(b"!").await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"0123456789\0\0!");
        // Before the start is the OS's InvalidInput.
        assert_eq!(file.seek(SeekFrom::Current(-100)).await.unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(file.stream_position().await.unwrap(), 13);
        // A small read leaves what it fetched beyond the buffer for later: a write after it goes
        // where the user's position is, and Current(0) says so.
        file.seek(SeekFrom::Start(0)).await.unwrap();
        let mut one = [0; 1];
        file.read_exact(&mut one).await.unwrap();
        assert_eq!(file.stream_position().await.unwrap(), 1);
        file.write_all(b"X").await.unwrap();
        assert_eq!(file.stream_position().await.unwrap(), 2);
        file.read_exact(&mut one).await.unwrap();
        assert_eq!(&one, b"2");
        assert_eq!(fs::read(&path).await.unwrap(), b"0X23456789\0\0!");
    }

    async fn positional_io_256_in_flight() {
        let dir = TempDir::new("fs-positional");
        let path = dir.join("f");
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).await.unwrap();
        let chunks: Vec<Vec<u8>> = (0..256).map(|i| pattern(4096, i as u8)).collect();
        // 256 writes at once, in a shuffled order of offsets.
        let writes = (0..256usize).map(|i| {
            let slot = (i * 97) % 256;
            let (file, chunk) = (&file, &chunks[slot]);
            async move { file.write_at(chunk, (slot * 4096) as u64).await }
        });
        for written in futures::future::join_all(writes).await {
            assert_eq!(written.unwrap(), 4096);
        }
        // 256 reads at once.
        let reads = (0..256usize).map(|slot| {
            let file = &file;
            async move {
                let mut buf = vec![0; 4096];
                let n = file.read_at(&mut buf, (slot * 4096) as u64).await.unwrap();
                (slot, n, buf)
            }
        });
        for (slot, n, buf) in futures::future::join_all(reads).await {
            assert_eq!(n, 4096);
            assert!(buf == chunks[slot], "chunk {slot}");
        }
        // Positional I/O leaves the cursor alone.
        let mut file = file;
        assert_eq!(file.stream_position().await.unwrap(), 0);
        // Reading past the end gives 0; a short read at the end gives what is there.
        let mut buf = [0; 10];
        assert_eq!(file.read_at(&mut buf, 256 * 4096).await.unwrap(), 0);
        assert_eq!(file.read_at(&mut buf, 256 * 4096 - 4).await.unwrap(), 4);
        // From spawned tasks too.
        let file = std::sync::Arc::new(file);
        let tasks: Vec<_> = (0..16u64)
            .map(|i| {
                let file = file.clone();
                runtime::spawn(async move {
                    let mut buf = [0; 4096];
                    file.read_at(&mut buf, i * 4096).await.unwrap();
                    buf.to_vec()
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert!(task.await == chunks[i]);
        }
    }

    async fn a_64_mib_file_reads_back_byte_exact() {
        let dir = TempDir::new("fs-64mib");
        let path = dir.join("big");
        let data = big_pattern(64 << 20, 5);
        let mut file = File::create(&path).await.unwrap();
        file.write_all(&data).await.unwrap();
        drop(file);
        assert!(fs::read(&path).await.unwrap() == data, "fs::read");
        let mut back = Vec::new();
        File::open(&path).await.unwrap().read_to_end(&mut back).await.unwrap();
        assert!(back == data, "File::read_to_end");
        // In odd-sized chunks through read_at.
        let file = File::open(&path).await.unwrap();
        let mut at = 0;
        let mut chunk = vec![0; 3 << 20 | 17];
        while at < data.len() {
            let n = file.read_at(&mut chunk, at as u64).await.unwrap();
            assert!(n > 0);
            assert!(chunk[..n] == data[at..at + n], "at {at}");
            at += n;
        }
    }

    async fn metadata_set_len_and_sync() {
        let dir = TempDir::new("fs-file-metadata");
        let path = dir.join("f");
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).await.unwrap();
        file.write_all(b"0123456789").await.unwrap();
        file.sync_all().await.unwrap();
        file.sync_data().await.unwrap();
        let metadata = file.metadata().await.unwrap();
        assert!(metadata.is_file());
        assert_eq!(metadata.len(), 10);
        file.set_len(4).await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"0123");
        file.set_len(6).await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"0123\0\0");
        // set_len does not move the position.
        assert_eq!(file.stream_position().await.unwrap(), 10);
        let read_only = File::open(&path).await.unwrap();
        let e = read_only.set_len(0).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
    }

    async fn from_std_and_into_std_keep_the_position() {
        let dir = TempDir::new("fs-std");
        let path = dir.join("f");
        std::fs::write(&path, "0123456789").unwrap();
        let mut std = std::fs::File::open(&path).unwrap();
        std::io::Seek::seek(&mut std, SeekFrom::Start(4)).unwrap();
        let mut file = File::from_std(std);
        let mut buf = [0; 1];
        file.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"4");
        // Read ahead into the surplus: into_std gives the user's position back, not the kernel's.
        let mut std = file.into_std().await;
        assert_eq!(std::io::Seek::stream_position(&mut std).unwrap(), 5);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut std, &mut rest).unwrap();
        assert_eq!(rest, "56789");
        #[cfg(unix)]
        {
            use std::os::fd::{AsFd, AsRawFd};
            let file = File::open(&path).await.unwrap();
            assert!(file.as_raw_fd() >= 0);
            assert_eq!(file.as_fd().as_raw_fd(), file.as_raw_fd());
        }
    }

    async fn no_write_is_lost_when_the_file_is_dropped_right_after() {
        let dir = TempDir::new("fs-no-write-behind");
        for i in 0..200u32 {
            let path = dir.join(format!("f{}", i % 4));
            let data = pattern(1 + (i as usize * 131) % 20_000, i as u8);
            let mut file = File::create(&path).await.unwrap();
            file.write_all(&data).await.unwrap();
            drop(file);
            // Read with std, right away: nothing may be in flight anywhere.
            assert!(std::fs::read(&path).unwrap() == data, "write {i}");
            let file = File::create(&path).await.unwrap();
            assert_eq!(file.write_at(&data, 0).await.unwrap(), data.len());
            drop(file);
            assert!(std::fs::read(&path).unwrap() == data, "write_at {i}");
        }
    }
}

/// Tokio's traits on a `File`, on every backend (feature `tokio-io`; called through `poll_fn`,
/// as the crate's Tokio has no `io-util`).
#[cfg(feature = "tokio-io")]
mod tokio_traits {
    use super::*;
    use std::future::poll_fn;
    use std::pin::Pin;
    use tokio::io::{AsyncRead as TokioRead, AsyncSeek as TokioSeek, AsyncWrite as TokioWrite, ReadBuf};

    async fn write_all(file: &mut File, mut buf: &[u8]) {
        while !buf.is_empty() {
            let n = poll_fn(|cx| TokioWrite::poll_write(Pin::new(&mut *file), cx, buf)).await.unwrap();
            buf = &buf[n..];
        }
    }

    async fn read_to_end(file: &mut File) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let mut chunk = [0; 3];
            let mut buf = ReadBuf::new(&mut chunk);
            poll_fn(|cx| TokioRead::poll_read(Pin::new(&mut *file), cx, &mut buf)).await.unwrap();
            if buf.filled().is_empty() {
                return out;
            }
            out.extend_from_slice(buf.filled());
        }
    }

    async fn seek(file: &mut File, to: Option<SeekFrom>) -> u64 {
        if let Some(to) = to {
            TokioSeek::start_seek(Pin::new(&mut *file), to).unwrap();
        }
        poll_fn(|cx| TokioSeek::poll_complete(Pin::new(&mut *file), cx)).await.unwrap()
    }

    on_every_fs_backend! {
        async fn tokio_io_traits() {
            let dir = TempDir::new("fs-tokio-io");
            let path = dir.join("f");
            let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).await.unwrap();
            write_all(&mut file, b"hello tokio").await;
            poll_fn(|cx| TokioWrite::poll_flush(Pin::new(&mut file), cx)).await.unwrap();
            assert_eq!(seek(&mut file, Some(SeekFrom::Start(6))).await, 6);
            assert_eq!(read_to_end(&mut file).await, b"tokio");
            // poll_complete without start_seek reports the position.
            assert_eq!(seek(&mut file, None).await, 11);
            assert_eq!(seek(&mut file, Some(SeekFrom::Current(-5))).await, 6);
            poll_fn(|cx| TokioWrite::poll_shutdown(Pin::new(&mut file), cx)).await.unwrap();
            assert_eq!(fs::read(&path).await.unwrap(), b"hello tokio");
        }
    }
}
