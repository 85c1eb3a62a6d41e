//! Shared by the `fs_*` test targets: the backends every file-system test runs on, and a
//! temporary directory that removes itself.
#![allow(dead_code, unused_macros)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Wraps each `async fn` in `#[runtime::test]` with every backend, Native both on io_uring (where
/// the kernel allows it) and on its blocking pool, under a watchdog: one test per backend
/// (`name::native`, `name::native_blocking`, `name::tokio`, ...).
macro_rules! on_every_fs_backend {
    ($($(#[$meta:meta])* async fn $name:ident() $(-> $ret:ty)? $body:block)*) => {$(
        #[runtime::test(
            runtime::native::Native,
            native_blocking = runtime::native::Native::builder().io_uring(false).build(),
            runtime_tokio::Tokio,
            runtime_tokio::TokioCurrentThread,
            timeout = "120s"
        )]
        $(#[$meta])*
        async fn $name() $(-> $ret)? $body
    )*};
}

/// A fresh directory under the system's temporary directory, removed (with its contents) on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("runtime-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the test's temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `len` bytes that differ from one position to the next (and from those of another `seed`),
/// so that a misplaced chunk shows.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed).collect()
}

/// A large `pattern`, quick to make even unoptimised: each 4 KiB block is one of 256 patterns
/// with the block's index in its first eight bytes, so a misplaced block still shows.
pub fn big_pattern(len: usize, seed: u8) -> Vec<u8> {
    const BLOCK: usize = 4096;
    let blocks: Vec<Vec<u8>> = (0..=255u8).map(|i| pattern(BLOCK, i ^ seed)).collect();
    let mut out = Vec::with_capacity(len + BLOCK);
    let mut index = 0u64;
    while out.len() < len {
        let start = out.len();
        out.extend_from_slice(&blocks[(index % 256) as usize]);
        out[start..start + 8].copy_from_slice(&index.to_le_bytes());
        index += 1;
    }
    out.truncate(len);
    out
}
