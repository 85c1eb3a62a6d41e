//! The HTTP workloads: a hyper 1.x server on every variant, driven by one minimal HTTP/1.1 client.
//!
//! The server is wired the way a user of each runtime would wire it: on the facade, through the
//! `tokio-io` feature and hyper-util's [`TokioIo`]; on plain Tokio, through [`TokioIo`] over
//! Tokio's own stream; on smol, through [`SmolIo`], a small adapter from the `futures` I/O traits
//! to hyper's (the glue `smol-hyper` provides). The service, the files it serves and the client
//! are written once, over [`HttpExec`], so only the runtimes differ.
//!
//! The client sends one fixed request per connection, over and over, and reads each response
//! with a Content-Length parser: no HTTP library sits on the client side, so the client costs the
//! same on every variant.

use std::future::Future;
use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::{Exec, Facade, Measured, Percentiles, PlainTokio, Smol, nanos};

/// What the HTTP workloads need from a runtime beyond [`Exec`]: hyper on its streams, and its
/// file API.
pub trait HttpExec: Exec {
    /// Serves one HTTP/1.1 connection with hyper until the client closes it.
    fn serve_http(stream: Self::Stream, site: Site) -> impl Future<Output = hyper::Result<()>> + Send;

    /// Reads a whole file with this runtime's file API (`runtime::fs`, `tokio::fs`, `smol::fs`).
    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send;
}

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Site {
    /// `Hello, World!` on every path.
    Hello,
    /// `/N` is the file named `N` in this directory; every other path is a 404.
    Files(Arc<Path>),
}

/// The body of every `Site::Hello` response.
pub const HELLO: &[u8] = b"Hello, World!";

/// The size of every file `http_file` serves: 4 KiB.
pub const FILE_SIZE: usize = 4096;

/// How many files `http_file` serves (connection `i` asks for file `i % FILES`): enough that the
/// server opens different files, few enough to write in a millisecond.
pub const FILES: usize = 64;

/// The service behind every variant's server: one request in, one response out.
async fn respond<E: HttpExec>(site: Site, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, io::Error> {
    let text = |status: StatusCode, body: &'static [u8]| {
        let mut response = Response::new(Full::new(Bytes::from_static(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, "text/plain".parse().expect("header value"));
        response
    };
    let root = match site {
        Site::Hello => return Ok(text(StatusCode::OK, HELLO)),
        Site::Files(root) => root,
    };
    // Only `/N` names a file: nothing else can reach outside `root`.
    let Some(index) = request.uri().path().strip_prefix('/').and_then(|name| name.parse::<usize>().ok()) else {
        return Ok(text(StatusCode::NOT_FOUND, b"not found"));
    };
    match E::read_file(root.join(index.to_string())).await {
        Ok(contents) => {
            let mut response = Response::new(Full::new(Bytes::from(contents)));
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_TYPE, "application/octet-stream".parse().expect("header value"));
            Ok(response)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(text(StatusCode::NOT_FOUND, b"not found")),
        Err(e) => Err(e),
    }
}

fn serve_with<E: HttpExec, I>(io: I, site: Site) -> impl Future<Output = hyper::Result<()>> + Send
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| respond::<E>(site.clone(), request));
    hyper::server::conn::http1::Builder::new().serve_connection(io, service)
}

impl HttpExec for Facade {
    fn serve_http(stream: Self::Stream, site: Site) -> impl Future<Output = hyper::Result<()>> + Send {
        serve_with::<Self, _>(TokioIo::new(stream), site)
    }

    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send {
        runtime::fs::read(path)
    }
}

impl HttpExec for PlainTokio {
    fn serve_http(stream: Self::Stream, site: Site) -> impl Future<Output = hyper::Result<()>> + Send {
        serve_with::<Self, _>(TokioIo::new(stream), site)
    }

    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send {
        tokio::fs::read(path)
    }
}

impl HttpExec for Smol {
    fn serve_http(stream: Self::Stream, site: Site) -> impl Future<Output = hyper::Result<()>> + Send {
        serve_with::<Self, _>(SmolIo::new(stream), site)
    }

    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send {
        smol::fs::read(path)
    }
}

/// hyper's I/O traits over smol's `Async<TcpStream>` (the `futures` I/O traits).
///
/// hyper hands reads an uninitialised buffer, and the `futures` traits want an initialised one;
/// rather than zeroing hyper's whole buffer before every read (what `smol-hyper` does, in
/// `unsafe` code), reads land in a scratch buffer initialised once and are copied over: a copy
/// of the bytes read, no `unsafe`, and no memset of 8 KiB per read.
#[derive(Debug)]
pub struct SmolIo {
    stream: smol::Async<TcpStream>,
    scratch: Box<[u8]>,
}

/// The scratch buffer's size: hyper's first read buffer, and far more than a request.
const SCRATCH: usize = 8192;

impl SmolIo {
    pub fn new(stream: smol::Async<TcpStream>) -> SmolIo {
        SmolIo { stream, scratch: vec![0; SCRATCH].into_boxed_slice() }
    }
}

impl hyper::rt::Read for SmolIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = buf.remaining().min(this.scratch.len());
        let n = ready!(futures::AsyncRead::poll_read(Pin::new(&mut this.stream), cx, &mut this.scratch[..want]))?;
        buf.put_slice(&this.scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for SmolIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        futures::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().stream), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        futures::AsyncWrite::poll_write_vectored(Pin::new(&mut self.get_mut().stream), cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // `Async<TcpStream>` writes vectors with one `writev`, as Tokio's and the facade's do.
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().stream), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures::AsyncWrite::poll_close(Pin::new(&mut self.get_mut().stream), cx)
    }
}

/// A response the client read: its status and body length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub content_length: usize,
}

/// Parses a response head (status line and headers, without the blank line): the status and
/// the Content-Length, which every response here carries.
///
/// # Errors
///
/// `InvalidData` if the status line is not `HTTP/1.x NNN ...` or no valid Content-Length is
/// there.
pub fn parse_head(head: &[u8]) -> io::Result<Head> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("HTTP response: {what}"));
    let mut lines = head.split(|&b| b == b'\n').map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let status_line = lines.next().unwrap_or_default();
    let status = match status_line {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', _, b' ', code @ ..] if code.len() >= 3 => {
            std::str::from_utf8(&code[..3]).ok().and_then(|c| c.parse().ok()).ok_or_else(|| invalid("bad status"))?
        }
        _ => return Err(invalid("bad status line")),
    };
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        if line[..colon].eq_ignore_ascii_case(b"content-length") {
            let value = std::str::from_utf8(&line[colon + 1..]).map_err(|_| invalid("bad Content-Length"))?;
            let content_length = value.trim().parse().map_err(|_| invalid("bad Content-Length"))?;
            return Ok(Head { status, content_length });
        }
    }
    Err(invalid("no Content-Length"))
}

/// The client's end of one connection: one fixed request, sent again and again.
#[derive(Debug)]
pub struct Client<E: Exec> {
    stream: E::Stream,
    request: Vec<u8>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// The client's read buffer: a head and a 4 KiB body with room to spare.
const CLIENT_BUFFER: usize = 16 * 1024;

impl<E: Exec> Client<E> {
    /// A client that will `GET path` with keep-alive on `stream`.
    pub fn new(stream: E::Stream, path: &str) -> Client<E> {
        let request = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").into_bytes();
        Client { stream, request, buf: vec![0; CLIENT_BUFFER], start: 0, end: 0 }
    }

    /// Sends the request and reads the whole response.
    ///
    /// # Errors
    ///
    /// The stream's errors; `UnexpectedEof` if the server closes mid-response; `InvalidData` for
    /// a response that does not parse or does not fit the buffer.
    pub async fn get(&mut self) -> io::Result<Head> {
        E::write_all(&mut self.stream, &self.request).await?;
        let mut searched = self.start;
        let (head, body_start) = loop {
            if let Some(at) = self.buf[searched..self.end].windows(4).position(|w| w == b"\r\n\r\n") {
                let head_end = searched + at;
                break (parse_head(&self.buf[self.start..head_end])?, head_end + 4);
            }
            searched = self.end.saturating_sub(3).max(self.start);
            self.fill().await?;
        };
        let response_end = body_start + head.content_length;
        if response_end > self.buf.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "HTTP response larger than the client's buffer"));
        }
        while self.end < response_end {
            self.fill().await?;
        }
        (self.start, self.end) = if response_end == self.end { (0, 0) } else { (response_end, self.end) };
        Ok(head)
    }

    /// Reads more of the response into the buffer.
    async fn fill(&mut self) -> io::Result<()> {
        if self.end == self.buf.len() {
            if self.start == 0 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "HTTP response head larger than the buffer"));
            }
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        let n = E::read(&mut self.stream, &mut self.buf[self.end..]).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection mid-response"));
        }
        self.end += n;
        Ok(())
    }
}

/// `http`: a hyper server answering with `site`, and `connections` keep-alive connections on
/// the same runtime, each sending `requests` sequential GETs; `ops` counts requests, and the
/// percentiles are those of one request.
pub async fn http<E: HttpExec>(exec: E, site: Site, connections: usize, requests: usize) -> (Measured, Percentiles) {
    let listener = Arc::new(exec.listen());
    let addr = E::listener_addr(&listener);
    let server = {
        let listener = listener.clone();
        let site = site.clone();
        exec.spawn(async move {
            let mut served = Vec::with_capacity(connections);
            for _ in 0..connections {
                let stream = E::accept(&listener).await.expect("accept");
                served.push(exec.spawn(E::serve_http(stream, site.clone())));
            }
            served
        })
    };
    let target = |i: usize| match site {
        Site::Hello => ("/".to_string(), HELLO.len()),
        Site::Files(_) => (format!("/{}", i % FILES), FILE_SIZE),
    };
    let start = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|i| {
            let (path, expected) = target(i);
            exec.spawn(async move {
                let stream = exec.connect(addr).await.expect("connect");
                let mut client = Client::<E>::new(stream, &path);
                let mut latencies = Vec::with_capacity(requests);
                for _ in 0..requests {
                    let sent = Instant::now();
                    let head = client.get().await.expect("HTTP request");
                    latencies.push(nanos(sent.elapsed()));
                    assert_eq!(head, Head { status: 200, content_length: expected }, "response to GET {path}");
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(connections * requests);
    for client in clients {
        latencies.extend(client.await);
    }
    let elapsed = start.elapsed();
    for connection in server.await {
        connection.await.expect("serve a connection");
    }
    (Measured { elapsed, ops: (connections * requests) as u64 }, Percentiles::of(&mut latencies))
}

/// `http_hello`: [`http`] with `Hello, World!`.
pub async fn http_hello<E: HttpExec>(exec: E, connections: usize, requests: usize) -> (Measured, Percentiles) {
    http(exec, Site::Hello, connections, requests).await
}

/// `http_file`: [`http`] serving [`FILES`] files of 4 KiB from a fresh temporary directory,
/// removed afterwards.
pub async fn http_file<E: HttpExec>(exec: E, connections: usize, requests: usize) -> (Measured, Percentiles) {
    let dir = TempDir::with_files();
    http(exec, Site::Files(dir.path.clone()), connections, requests).await
}

/// A directory of [`FILES`] files of [`FILE_SIZE`] bytes under the system's temporary directory,
/// removed on drop.
#[derive(Debug)]
struct TempDir {
    path: Arc<Path>,
}

impl TempDir {
    /// Creates it (with `std::fs`, before any clock starts).
    fn with_files() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("runtime-bench-http-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path: Arc<Path> = std::env::temp_dir().join(name).into();
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        let dir = TempDir { path };
        for i in 0..FILES {
            let contents: Vec<u8> = (0..FILE_SIZE).map(|b| (b + i) as u8).collect();
            let file = dir.path.join(i.to_string());
            std::fs::write(&file, contents).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        }
        dir
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!("could not remove {}: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_content_length() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 13\r\ndate: x";
        assert_eq!(parse_head(head).unwrap(), Head { status: 200, content_length: 13 });
        let head = b"HTTP/1.1 404 Not Found\r\nCONTENT-LENGTH:9";
        assert_eq!(parse_head(head).unwrap(), Head { status: 404, content_length: 9 });
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        for head in [&b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked"[..], b"SSH-2.0", b"HTTP/1.1 2x0 OK", b""] {
            assert_eq!(parse_head(head).unwrap_err().kind(), io::ErrorKind::InvalidData, "{head:?}");
        }
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: -1";
        assert_eq!(parse_head(head).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    /// The client against a hand-written server: two responses in one write, then one split
    /// across writes, then a server that closes mid-body.
    #[test]
    fn client_reads_responses_however_they_arrive() {
        let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // A client that loses a buffered response would wait for it forever.
        // Made inside the runtime: Tokio's timeout reads its timer when it is created.
        let bounded = async {
            tokio::time::timeout(std::time::Duration::from_secs(10), async {
                let listener = PlainTokio.listen();
                let addr = PlainTokio::listener_addr(&listener);
                let server = async move {
                    let mut stream = PlainTokio::accept(&listener).await.unwrap();
                    let mut buf = [0u8; 1024];
                    let one = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
                    // Both requests first, then both answers at once.
                    let mut got = 0;
                    while got < 2 * b"GET /x HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".len() {
                        let n = PlainTokio::read(&mut stream, &mut buf).await.unwrap();
                        assert!(n > 0, "client closed early");
                        got += n;
                    }
                    PlainTokio::write_all(&mut stream, &[&one[..], &one[..]].concat()).await.unwrap();
                    // The third: head and body in two writes.
                    assert!(PlainTokio::read(&mut stream, &mut buf).await.unwrap() > 0);
                    PlainTokio::write_all(&mut stream, b"HTTP/1.1 201 Created\r\ncontent-le").await.unwrap();
                    PlainTokio::write_all(&mut stream, b"ngth: 3\r\n\r\nabc").await.unwrap();
                    // The fourth: cut short.
                    assert!(PlainTokio::read(&mut stream, &mut buf).await.unwrap() > 0);
                    PlainTokio::write_all(&mut stream, b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nabc")
                        .await
                        .unwrap();
                };
                let client = async move {
                    let mut client = Client::<PlainTokio>::new(PlainTokio.connect(addr).await.unwrap(), "/x");
                    // Two requests out before either response is read.
                    PlainTokio::write_all(&mut client.stream, &client.request.clone()).await.unwrap();
                    assert_eq!(client.get().await.unwrap(), Head { status: 200, content_length: 5 });
                    // The second answer: no request goes out for it.
                    let request = std::mem::take(&mut client.request);
                    assert_eq!(client.get().await.unwrap(), Head { status: 200, content_length: 5 });
                    client.request = request;
                    assert_eq!(client.get().await.unwrap(), Head { status: 201, content_length: 3 });
                    assert_eq!(client.get().await.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
                };
                futures::join!(server, client);
            })
            .await
        };
        tokio.block_on(bounded).expect("the client test took over 10 s");
    }
}
