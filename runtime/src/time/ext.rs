//! Timeouts for futures, streams and readers.

use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use futures::io::{AsyncRead, AsyncWrite};
use pin_project_lite::pin_project;

use super::{Delay, Elapsed};

/// Timeouts for any future.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::time::FutureExt as _;
/// let on_time = async { 1 }.timeout(std::time::Duration::from_secs(1)).await?;
/// assert_eq!(on_time, 1);
/// # Ok(())
/// # }
/// ```
pub trait FutureExt: Future + Sized {
    /// Fails with `TimedOut` (carrying [`Elapsed`]) unless the future completes within `dur`.
    ///
    /// The output is `io::Result<Self::Output>`, never flattened.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use runtime::prelude::*;
    ///
    /// #[runtime::main(runtime_tokio::Tokio)]
    /// async fn main() {
    ///     let fast = async { 1 }.timeout(Duration::from_secs(5)).await;
    ///     assert_eq!(fast.unwrap(), 1);
    /// }
    /// ```
    fn timeout(self, dur: Duration) -> Timeout<Self> {
        Timeout { future: self, delay: Delay::new(dur) }
    }

    /// Like [`timeout`](Self::timeout), with a deadline.
    fn timeout_at(self, at: Instant) -> Timeout<Self> {
        Timeout { future: self, delay: Delay::new_at(at) }
    }
}

impl<F: Future> FutureExt for F {}

pin_project! {
    /// The future returned by [`FutureExt::timeout`].
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::time::FutureExt as _;
    /// let timeout: runtime::time::Timeout<_> = futures::future::pending::<()>().timeout(std::time::Duration::from_millis(1));
    /// assert!(timeout.await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        delay: Delay,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = io::Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(this.delay).poll(cx).map(|_| Err(Elapsed::new().into()))
    }
}

/// Timeouts for any stream.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// use futures::StreamExt as _;
/// use runtime::time::StreamExt as _;
/// let mut items = futures::stream::iter([1, 2]).timeout(std::time::Duration::from_secs(1));
/// assert_eq!(items.next().await.unwrap()?, 1);
/// # Ok(())
/// # }
/// ```
pub trait StreamExt: Stream + Sized {
    /// Yields `Err(TimedOut)` each time the next item takes longer than `dur`; the stream goes
    /// on, each item wrapped in `Ok`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use futures::prelude::*;
    /// use runtime::prelude::*;
    ///
    /// #[runtime::main(runtime_tokio::Tokio)]
    /// async fn main() {
    ///     let mut items = stream::pending::<()>().timeout(Duration::from_millis(1));
    ///     assert!(items.next().await.unwrap().is_err());
    /// }
    /// ```
    fn timeout(self, dur: Duration) -> TimeoutStream<Self> {
        TimeoutStream { stream: self, dur, delay: None }
    }
}

impl<S: Stream> StreamExt for S {}

pin_project! {
    /// The stream returned by [`StreamExt::timeout`].
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::StreamExt as _;
    /// use runtime::time::StreamExt as _;
    /// let mut items: runtime::time::TimeoutStream<_> = futures::stream::pending::<()>().timeout(std::time::Duration::from_millis(1));
    /// assert!(items.next().await.unwrap().is_err());
    /// # Ok(())
    /// # }
    /// ```
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct TimeoutStream<S> {
        #[pin]
        stream: S,
        dur: Duration,
        delay: Option<Delay>,
    }
}

impl<S: Stream> Stream for TimeoutStream<S> {
    type Item = io::Result<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if let Poll::Ready(item) = this.stream.poll_next(cx) {
            *this.delay = None;
            return Poll::Ready(item.map(Ok));
        }
        let dur = *this.dur;
        let delay = this.delay.get_or_insert_with(|| Delay::new(dur));
        futures::ready!(Pin::new(delay).poll(cx));
        *this.delay = None;
        Poll::Ready(Some(Err(Elapsed::new().into())))
    }
}

/// Timeouts for any reader.
///
/// # Examples
/// ```
/// # #[runtime::main]
/// # async fn main() -> std::io::Result<()> {
/// use runtime::time::AsyncReadExt as _;
/// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
/// let _reader = a.timeout(std::time::Duration::from_secs(1));
/// # Ok(())
/// # }
/// ```
pub trait AsyncReadExt: AsyncRead + Sized {
    /// Each read call that waits longer than `dur` fails with `TimedOut`; every call starts
    /// its own clock and the reader stays usable. Writes pass through untouched.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use futures::prelude::*;
    /// use runtime::prelude::*;
    ///
    /// #[runtime::main(runtime_tokio::Tokio)]
    /// async fn main() -> std::io::Result<()> {
    ///     let listener = runtime::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let stream = runtime::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let mut reader = stream.timeout(Duration::from_millis(5));
    ///     let err = reader.read(&mut [0; 8]).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    ///     Ok(())
    /// }
    /// ```
    fn timeout(self, dur: Duration) -> TimeoutAsyncRead<Self> {
        TimeoutAsyncRead { reader: self, dur, delay: None }
    }
}

impl<R: AsyncRead> AsyncReadExt for R {}

pin_project! {
    /// The reader returned by [`AsyncReadExt::timeout`].
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures::AsyncReadExt as _;
    /// use runtime::time::AsyncReadExt as _;
    /// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
    /// let mut reader: runtime::time::TimeoutAsyncRead<_> = a.timeout(std::time::Duration::from_millis(1));
    /// let err = reader.read(&mut [0; 4]).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # Ok(())
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct TimeoutAsyncRead<R> {
        #[pin]
        reader: R,
        dur: Duration,
        delay: Option<Delay>,
    }
}

impl<R> TimeoutAsyncRead<R> {
    /// The wrapped reader.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::time::AsyncReadExt as _;
    /// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
    /// let _stream: runtime::net::unix::UnixStream = a.timeout(std::time::Duration::from_secs(1)).into_inner();
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The wrapped reader.
    ///
    /// # Examples
    /// ```
    /// # #[runtime::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use runtime::time::AsyncReadExt as _;
    /// let (a, _b) = runtime::net::unix::UnixStream::pair()?;
    /// let reader = a.timeout(std::time::Duration::from_secs(1));
    /// assert!(reader.get_ref().peer_addr().is_ok());
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.reader
    }
}

impl<R> TimeoutAsyncRead<R> {
    fn poll_timeout<T>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut R>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let this = self.project();
        if let Poll::Ready(result) = op(this.reader, cx) {
            *this.delay = None;
            return Poll::Ready(result);
        }
        let dur = *this.dur;
        let delay = this.delay.get_or_insert_with(|| Delay::new(dur));
        futures::ready!(Pin::new(delay).poll(cx));
        *this.delay = None;
        Poll::Ready(Err(Elapsed::new().into()))
    }
}

impl<R: AsyncRead> AsyncRead for TimeoutAsyncRead<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_timeout(cx, |reader, cx| reader.poll_read(cx, buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_timeout(cx, |reader, cx| reader.poll_read_vectored(cx, bufs))
    }
}

impl<R: AsyncWrite> AsyncWrite for TimeoutAsyncRead<R> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.project().reader.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().reader.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().reader.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().reader.poll_close(cx)
    }
}
