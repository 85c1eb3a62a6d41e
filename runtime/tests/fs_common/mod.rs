//! Shared by the `fs_*` test targets: the backends every file-system test runs on, and a
//! temporary directory that removes itself.
#![allow(dead_code, unused_macros, unused_imports)]

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

#[path = "../common/temp_dir.rs"]
mod temp_dir;
pub use temp_dir::TempDir;

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
