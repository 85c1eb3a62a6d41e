//! No descriptor leaks in `runtime::fs` on any backend: the count is back to its baseline after
//! 10,000 files opened and closed. Its own test target: it counts the whole process's
//! descriptors.
#![cfg(target_os = "linux")]

mod fs_common;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use runtime::fs::{self, File, OpenOptions};

use fs_common::TempDir;

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

/// One test, so that no other test's descriptors disturb the count.
#[test]
fn ten_thousand_files_leak_no_descriptor() {
    let dir = TempDir::new("fs-descriptors");
    runtime::raw::enter(runtime::native::Native, ten_thousand_files(&dir));
    runtime::raw::enter(runtime_tokio::Tokio, ten_thousand_files(&dir));
    runtime::raw::enter(runtime_tokio::TokioCurrentThread, ten_thousand_files(&dir));
}
