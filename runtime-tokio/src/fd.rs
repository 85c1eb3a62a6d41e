//! `runtime_raw::fd` on Tokio's `AsyncFd`.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::task::{Context, Poll, ready};

use runtime_raw::fd::Op;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A descriptor registered with Tokio's reactor for both directions; Tokio deregisters it
/// before it closes.
#[derive(Debug)]
pub(crate) struct Watched(AsyncFd<File>);

impl Watched {
    /// Registers `fd`; call with the runtime's context entered.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<Watched> {
        // Tokio deprecated the safe constructor because an arbitrary `T` may change or close the
        // descriptor its `as_raw_fd` returns; a `File` owns one descriptor for its whole life and
        // the `AsyncFd` owns the `File`, so the condition of the `unsafe` replacement holds here,
        // in a crate that forbids `unsafe`.
        #[allow(deprecated)]
        Ok(Watched(AsyncFd::with_interest(File::from(fd), Interest::READABLE | Interest::WRITABLE)?))
    }
}

impl runtime_raw::fd::Watched for Watched {
    fn file(&self) -> &File {
        self.0.get_ref()
    }

    fn poll_read_with(&self, cx: &mut Context<'_>, op: &mut Op<'_>) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.0.poll_read_ready(cx))?;
            // `try_io` clears the readiness it saw when `op` would block.
            if let Ok(result) = guard.try_io(|fd| op(fd.get_ref())) {
                return Poll::Ready(result);
            }
        }
    }

    fn poll_write_with(&self, cx: &mut Context<'_>, op: &mut Op<'_>) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.0.poll_write_ready(cx))?;
            if let Ok(result) = guard.try_io(|fd| op(fd.get_ref())) {
                return Poll::Ready(result);
            }
        }
    }
}
