//! `runtime_raw::fd` on the reactor: any descriptor, registered through mio's `SourceFd`.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use mio::Interest;
use mio::unix::SourceFd;
use runtime_raw::fd::Op;

use crate::reactor::{Direction, Reactor, Registration};

/// A descriptor registered for both directions; deregistered before it closes.
#[derive(Debug)]
pub(crate) struct Watched {
    registration: Registration,
    file: File,
}

impl Watched {
    pub(crate) fn new(reactor: &Arc<Reactor>, fd: OwnedFd) -> io::Result<Watched> {
        let raw = fd.as_raw_fd();
        let registration = reactor.register(&mut SourceFd(&raw), Interest::READABLE | Interest::WRITABLE)?;
        Ok(Watched { registration, file: File::from(fd) })
    }

    fn poll_with(&self, cx: &mut Context<'_>, direction: Direction, op: &mut Op<'_>) -> Poll<io::Result<usize>> {
        ready!(crate::coop::poll_proceed(cx));
        let io = self.registration.io();
        loop {
            let event = ready!(io.poll_ready(cx, direction))?;
            match op(&self.file) {
                // The tick in `event` keeps a newer event from being cleared with it.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => io.clear(event),
                result => return Poll::Ready(result),
            }
        }
    }
}

impl runtime_raw::fd::Watched for Watched {
    fn file(&self) -> &File {
        &self.file
    }

    fn poll_read_with(&self, cx: &mut Context<'_>, op: &mut Op<'_>) -> Poll<io::Result<usize>> {
        self.poll_with(cx, Direction::Read, op)
    }

    fn poll_write_with(&self, cx: &mut Context<'_>, op: &mut Op<'_>) -> Poll<io::Result<usize>> {
        self.poll_with(cx, Direction::Write, op)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // Before `file` closes, so that the descriptor cannot be reused under our token.
        self.registration.deregister(&mut SourceFd(&self.file.as_raw_fd()));
    }
}
