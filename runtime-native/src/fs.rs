//! `runtime::fs` ops on the instance's io_uring (module `uring`).
//!
//! [`file_op`] takes the ops the ring can run exactly as `runtime_raw::fs::Op::run_blocking`
//! would, with the same results and error kinds (the kernel's errno, as std reports it), and
//! gives back the others for the blocking pool: `Metadata` (std's `Metadata` cannot be built
//! from a `statx` result), an opcode the running kernel lacks, and inputs on which std decides
//! before any system call (a NUL byte in a path, options that do not go together), so that its
//! exact error comes out.
//!
//! Two calls run inline, on the calling worker, because they never wait for a device: `lseek`
//! (the position lives in the open file) and the `fstat` that sizes `fs::read`'s buffer or
//! tells a FIFO from a file after an open.
//!
//! An open runs inline in the kernel with `O_NONBLOCK` first (no thread hop on a warm dentry
//! cache). For a FIFO that differs from std, whose open waits for the other end: the kernel's
//! answer (ENXIO for a writer, a descriptor at once for a reader) sends the open again to the
//! kernel's io-wq, where it waits like std's. The one trace of the first try: a writer waiting
//! in its own open for a reader is let through, and finds no reader for the moment between the
//! first descriptor's close and the second open; a write in that moment fails with EPIPE.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Seek};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use io_uring::{opcode, squeue, types};
use runtime_raw::BoxFuture;
use runtime_raw::fs::{Done, Handle, Op, OpenFlags};

use crate::uring::{Keep, Uring};

/// The most bytes one read or write asks the kernel for (it caps a call near 2 GiB anyway).
const MAX_RW: usize = 1 << 30;
/// Bytes `fs::read` reads first when the file's size says nothing (procfs, pipes).
const READ_FILE_FIRST: usize = 8 * 1024;

/// Runs `op` on `uring`, or gives it back for the blocking pool.
/// Whether an open may create or truncate the file.
fn creates_or_truncates(flags: &OpenFlags) -> bool {
    flags.create || flags.create_new || flags.truncate
}

pub(crate) fn file_op(uring: &Arc<Uring>, op: Op) -> Result<BoxFuture<'static, io::Result<Done>>, Op> {
    if uring.is_stopped() {
        return Err(op);
    }
    let has = uring.supported;
    let uring = uring.clone();
    match op {
        // An open that may create or truncate is always handed by the kernel to its io-wq worker
        // threads (it takes the inode lock), which costs more than our blocking pool's thread
        // (fs_write_small: 16.3 against 12.2 µs per file): those go to the pool.
        Op::Open { path, flags } if has.open && !creates_or_truncates(&flags) => {
            match (c_path(&path), open_flags(&flags)) {
                (Some(c), Some(bits)) => {
                    Ok(Box::pin(async move { open(&uring, c, bits, flags.mode).await.map(Done::File) }))
                }
                _ => Err(Op::Open { path, flags }),
            }
        }
        Op::Read { file, buf, len, offset } if has.read && positional_or(has.cur_pos, offset) => {
            Ok(Box::pin(async move { read(&uring, file, buf, len, offset).await.map(Done::Read) }))
        }
        Op::Write { file, buf, offset } if has.write && positional_or(has.cur_pos, offset) => {
            Ok(Box::pin(async move { write(&uring, file, buf, offset).await.map(Done::Written) }))
        }
        Op::Seek { file, to } => {
            let at = (&*file).seek(to);
            drop(file);
            Ok(Box::pin(std::future::ready(at.map(Done::Position))))
        }
        Op::Sync { file, data_only } if has.fsync => Ok(Box::pin(async move {
            let flags = if data_only { types::FsyncFlags::DATASYNC } else { types::FsyncFlags::empty() };
            let entry = opcode::Fsync::new(types::Fd(file.as_raw_fd())).flags(flags).build();
            // SAFETY: the entry points to no memory; the descriptor is kept open by `keep`.
            let (res, _) = unsafe { uring.submit(entry, Keep { file: Some(file), ..Keep::default() }) }.await;
            check(res).map(|_| Done::Unit)
        })),
        Op::SetLen { file, len } if has.ftruncate => Ok(Box::pin(async move {
            let entry = opcode::Ftruncate::new(types::Fd(file.as_raw_fd()), len).build();
            // SAFETY: the entry points to no memory; the descriptor is kept open by `keep`.
            let (res, _) = unsafe { uring.submit(entry, Keep { file: Some(file), ..Keep::default() }) }.await;
            check(res).map(|_| Done::Unit)
        })),
        Op::ReadFile { ref path } if has.open && has.read && has.cur_pos => {
            let Some(path) = c_path(path) else { return Err(op) };
            Ok(Box::pin(async move { read_file(&uring, path).await.map(Done::Read) }))
        }
        // `fs::write` creates and truncates: the pool does that faster (see `Op::Open` above).
        Op::CreateDir { ref path } if has.mkdir => path_op(uring, op_path(path), |p| {
            // std's `create_dir` asks for 0o777, before the umask.
            opcode::MkDirAt::new(types::Fd(libc::AT_FDCWD), p[0].as_ptr()).mode(0o777).build()
        })
        .ok_or(op),
        Op::RemoveFile { ref path } if has.unlink => {
            path_op(uring, op_path(path), |p| opcode::UnlinkAt::new(types::Fd(libc::AT_FDCWD), p[0].as_ptr()).build())
                .ok_or(op)
        }
        Op::RemoveDir { ref path } if has.unlink => path_op(uring, op_path(path), |p| {
            opcode::UnlinkAt::new(types::Fd(libc::AT_FDCWD), p[0].as_ptr()).flags(libc::AT_REMOVEDIR).build()
        })
        .ok_or(op),
        Op::Rename { ref from, ref to } if has.rename => path_op(uring, two_paths(from, to), |p| {
            let cwd = types::Fd(libc::AT_FDCWD);
            opcode::RenameAt::new(cwd, p[0].as_ptr(), cwd, p[1].as_ptr()).build()
        })
        .ok_or(op),
        Op::HardLink { ref src, ref dst } if has.link => path_op(uring, two_paths(src, dst), |p| {
            let cwd = types::Fd(libc::AT_FDCWD);
            opcode::LinkAt::new(cwd, p[0].as_ptr(), cwd, p[1].as_ptr()).build()
        })
        .ok_or(op),
        other => Err(other),
    }
}

/// Whether the ring can do a read or write at `offset`: one the kernel takes as a position
/// (std's `pread` refuses those past `i64::MAX` itself), or the file's own position where the
/// kernel has `IORING_FEAT_RW_CUR_POS`.
fn positional_or(cur_pos: bool, offset: Option<u64>) -> bool {
    match offset {
        Some(offset) => i64::try_from(offset).is_ok(),
        None => cur_pos,
    }
}

/// A path for the kernel; `None` when it holds a NUL byte (std's error comes from the pool).
fn c_path(path: &Path) -> Option<CString> {
    CString::new(path.as_os_str().as_bytes()).ok()
}

fn op_path(path: &Path) -> Option<Vec<CString>> {
    c_path(path).map(|p| vec![p])
}

fn two_paths(a: &Path, b: &Path) -> Option<Vec<CString>> {
    Some(vec![c_path(a)?, c_path(b)?])
}

/// An op on paths that answers `Done::Unit`; `None` when a path holds a NUL byte.
fn path_op(
    uring: Arc<Uring>,
    paths: Option<Vec<CString>>,
    entry: impl FnOnce(&[CString]) -> io_uring::squeue::Entry,
) -> Option<BoxFuture<'static, io::Result<Done>>> {
    let paths = paths?;
    let entry = entry(&paths);
    Some(Box::pin(async move {
        // SAFETY: the entry points into the paths' heap blocks, which `keep` owns.
        let (res, _) = unsafe { uring.submit(entry, Keep { paths, ..Keep::default() }) }.await;
        check(res).map(|_| Done::Unit)
    }))
}

/// std's `open` flags for these options (`O_CLOEXEC` always), or `None` where std refuses them
/// with `InvalidInput` before any system call.
fn open_flags(f: &OpenFlags) -> Option<i32> {
    let access = match (f.read, f.write, f.append) {
        (true, false, false) => libc::O_RDONLY,
        (false, true, false) => libc::O_WRONLY,
        (true, true, false) => libc::O_RDWR,
        (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
        (true, _, true) => libc::O_RDWR | libc::O_APPEND,
        (false, false, false) => return None,
    };
    match (f.write, f.append) {
        (false, false) if f.truncate || f.create || f.create_new => return None,
        (_, true) if f.truncate && !f.create_new => return None,
        _ => {}
    }
    let creation = match (f.create, f.truncate, f.create_new) {
        (false, false, false) => 0,
        (true, false, false) => libc::O_CREAT,
        (false, true, false) => libc::O_TRUNC,
        (true, true, false) => libc::O_CREAT | libc::O_TRUNC,
        (_, _, true) => libc::O_CREAT | libc::O_EXCL,
    };
    Some(libc::O_CLOEXEC | access | creation)
}

/// The kernel's result: a count, or `-errno`.
fn check(res: i32) -> io::Result<usize> {
    if res < 0 { Err(io::Error::from_raw_os_error(-res)) } else { Ok(res as usize) }
}

async fn open(uring: &Arc<Uring>, path: CString, flags: i32, mode: u32) -> io::Result<File> {
    let (res, keep) = open_once(uring, path, flags, mode, false).await;
    let file = match check(res) {
        // The kernel tries an open inline with `O_NONBLOCK`, which a FIFO's open does not wait
        // for its other end with: for writing it fails with ENXIO, for reading it succeeds
        // at once. std's open waits; so does the kernel's io-wq, where `ASYNC` sends it.
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => None,
        Err(e) => return Err(e),
        // SAFETY: the kernel opened this descriptor for us and nothing else owns it.
        Ok(fd) => Some(unsafe { File::from_raw_fd(fd as i32) }),
    };
    if let Some(file) = file {
        if !is_fifo(&file) {
            return Ok(file);
        }
        // Closed before the blocking open (else a writer would take it for the reader and
        // leave the real one waiting); a writer this first try let through sees no reader
        // for that moment (see the module docs).
        drop(file);
    }
    let path = keep.paths.into_iter().next().expect("the open's path comes back");
    let (res, _) = open_once(uring, path, flags, mode, true).await;
    let fd = check(res)?;
    // SAFETY: the kernel opened this descriptor for us and nothing else owns it.
    Ok(unsafe { File::from_raw_fd(fd as i32) })
}

/// One `openat` on the ring; in io-wq, where it may block as std's would, when `blocking`.
async fn open_once(uring: &Arc<Uring>, path: CString, flags: i32, mode: u32, blocking: bool) -> (i32, Keep) {
    let mut entry = opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr()).flags(flags).mode(mode).build();
    if blocking {
        entry = entry.flags(squeue::Flags::ASYNC);
    }
    let keep = Keep { paths: vec![path], opens_fd: true, ..Keep::default() };
    // SAFETY: the entry points into the path's heap block, which `keep` owns.
    unsafe { uring.submit(entry, keep) }.await
}

/// Whether `file` is a FIFO (`fstat`, inline: it never waits for a device).
fn is_fifo(file: &File) -> bool {
    use std::os::unix::fs::FileTypeExt;
    file.metadata().is_ok_and(|m| m.file_type().is_fifo())
}

/// Reads up to `len` bytes into `buf` (cleared) at `offset`, or at the position.
async fn read(
    uring: &Arc<Uring>,
    file: Handle,
    mut buf: Vec<u8>,
    len: usize,
    offset: Option<u64>,
) -> io::Result<Vec<u8>> {
    buf.clear();
    buf.reserve(len);
    let (res, mut keep) = read_into(uring, file, buf, len.min(MAX_RW), offset).await;
    let n = check(res)?;
    let mut buf = keep.buf.take().expect("the read's buffer comes back");
    // SAFETY: the kernel wrote `n` bytes at the start of the spare capacity, past the length 0.
    unsafe { buf.set_len(n) };
    Ok(buf)
}

/// Submits a read of `len` bytes into `buf`'s spare capacity, after its length.
async fn read_into(uring: &Arc<Uring>, file: Handle, mut buf: Vec<u8>, len: usize, offset: Option<u64>) -> (i32, Keep) {
    debug_assert!(buf.capacity() - buf.len() >= len);
    let at = buf.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    let entry =
        opcode::Read::new(types::Fd(file.as_raw_fd()), at, len as u32).offset(offset.unwrap_or(u64::MAX)).build();
    // SAFETY: the entry points into `buf`'s heap block (`len` bytes of spare capacity), which
    // `keep` owns; moving the `Vec` does not move the block. The descriptor is kept open too.
    unsafe { uring.submit(entry, Keep { file: Some(file), buf: Some(buf), ..Keep::default() }) }.await
}

async fn write(uring: &Arc<Uring>, file: Handle, bytes: Arc<[u8]>, offset: Option<u64>) -> io::Result<usize> {
    let len = bytes.len().min(MAX_RW) as u32;
    let entry =
        opcode::Write::new(types::Fd(file.as_raw_fd()), bytes.as_ptr(), len).offset(offset.unwrap_or(u64::MAX)).build();
    // SAFETY: the entry points into the shared bytes, which `keep` holds a reference to.
    let (res, _) =
        unsafe { uring.submit(entry, Keep { file: Some(file), bytes: Some(bytes), ..Keep::default() }) }.await;
    check(res)
}

/// `std::fs::read` on the ring: open, read until the end, close.
async fn read_file(uring: &Arc<Uring>, path: CString) -> io::Result<Vec<u8>> {
    let file = open(uring, path, libc::O_RDONLY | libc::O_CLOEXEC, 0).await?;
    // Sized from fstat, as std does: a regular file is then read in one call, and a short
    // read past that size means its end.
    let (regular, size) = match file.metadata() {
        Ok(m) => (m.is_file(), usize::try_from(m.len()).unwrap_or(usize::MAX)),
        Err(_) => (false, 0),
    };
    let file = Arc::new(file);
    let mut buf = Vec::with_capacity(if size > 0 { size.saturating_add(1).min(MAX_RW) } else { READ_FILE_FIRST });
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity().clamp(READ_FILE_FIRST, MAX_RW));
        }
        let len = (buf.capacity() - buf.len()).min(MAX_RW);
        // At the descriptor's own position, as std reads: a FIFO has no other.
        let (res, mut keep) = read_into(uring, file.clone(), buf, len, None).await;
        buf = keep.buf.take().expect("the read's buffer comes back");
        let n = check(res)?;
        // SAFETY: the kernel wrote `n` bytes of the spare capacity, right after the length.
        unsafe { buf.set_len(buf.len() + n) };
        // Past the size fstat gave, a short read is the end; below it (procfs says 0, a file
        // that shrank) only a read of 0 bytes is.
        if n == 0 || (regular && size > 0 && buf.len() >= size && n < len) {
            return Ok(buf);
        }
    }
}
