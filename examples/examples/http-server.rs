//! An HTTP/1.1 file server: hyper 1.x on the facade, files read through `runtime::fs`.
//!
//! Usage: `cargo run --release --example http-server -- [ROOT] [ADDR]` (ROOT defaults to the
//! current directory, ADDR to 127.0.0.1:8080; port 0 picks a free one). It prints the address
//! it bound, then serves `GET` and `HEAD` for the files under ROOT: 200 with Content-Length and
//! a content type by extension, `index.html` for a directory, 404 for what is not there, 403
//! for what may not be read, 405 for other methods. No path leaves ROOT: `..`, and symbolic
//! links that point outside it, get 403. Try it with `curl -v http://127.0.0.1:8080/`.
//!
//! hyper is wired exactly as with Tokio: the `tokio-io` feature gives `runtime::net::TcpStream`
//! Tokio's I/O traits, and hyper-util's `TokioIo` adapts them to hyper's. The backend is the
//! attribute's argument: `#[runtime::main(runtime_tokio::Tokio)]` serves the same files on
//! Tokio.

use std::convert::Infallible;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use runtime::net::TcpListener;

#[runtime::main]
async fn main() -> io::Result<()> {
    let args = runtime_examples::Args::parse();
    let root = runtime::fs::canonicalize(args.positional(0).unwrap_or(".")).await?;
    if !runtime::fs::metadata(&root).await?.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a directory", root.display())));
    }
    let addr = args.positional(1).unwrap_or("127.0.0.1:8080");
    let listener = TcpListener::bind(addr)?;
    println!("listening on {}, serving {}", listener.local_addr()?, root.display());
    let root = Arc::new(root);
    let mut incoming = listener.incoming();
    while let Some(stream) = incoming.next().await {
        let stream = match stream {
            Ok(stream) => stream,
            // Out of descriptors, a connection reset before it was accepted: the server goes on.
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let root = root.clone();
        runtime::spawn(async move {
            let service = service_fn(move |request| serve(root.clone(), request));
            if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                eprintln!("connection: {e}");
            }
        })
        .detach();
    }
    Ok(())
}

/// Answers one request; every failure is a response, so the connection stays usable.
async fn serve(root: Arc<PathBuf>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let head = match *request.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
            response.headers_mut().insert(ALLOW, "GET, HEAD".parse().expect("a valid header value"));
            return Ok(response);
        }
    };
    let path = match resolve(&root, request.uri().path()).await {
        Ok(path) => path,
        Err(code) => return Ok(status(code)),
    };
    let contents = match runtime::fs::read(&path).await {
        Ok(contents) => contents,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Ok(status(StatusCode::FORBIDDEN)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(status(StatusCode::NOT_FOUND)),
        Err(e) => {
            eprintln!("read: {e}");
            return Ok(status(StatusCode::INTERNAL_SERVER_ERROR));
        }
    };
    let length = contents.len();
    let body = if head { Bytes::new() } else { Bytes::from(contents) };
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(CONTENT_LENGTH, length.into());
    response.headers_mut().insert(CONTENT_TYPE, content_type(&path).parse().expect("a valid header value"));
    Ok(response)
}

/// The file under `root` that `uri_path` names (a directory's `index.html`): 404 when it is
/// not there, 403 when the path would leave `root` (`..`, or a symbolic link pointing out).
async fn resolve(root: &Path, uri_path: &str) -> Result<PathBuf, StatusCode> {
    let decoded = percent_decode(uri_path).ok_or(StatusCode::BAD_REQUEST)?;
    let mut path = root.to_path_buf();
    for component in Path::new(&decoded).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::RootDir | Component::CurDir => {}
            // `..` (escaped or not) never climbs, not even back into the root.
            Component::ParentDir | Component::Prefix(_) => return Err(StatusCode::FORBIDDEN),
        }
    }
    let under_root = |real: PathBuf| if real.starts_with(root) { Ok(real) } else { Err(StatusCode::FORBIDDEN) };
    // Symbolic links are followed, so the real path must still be under the root.
    let real = under_root(runtime::fs::canonicalize(&path).await.map_err(|_| StatusCode::NOT_FOUND)?)?;
    if runtime::fs::metadata(&real).await.map_err(|_| StatusCode::NOT_FOUND)?.is_dir() {
        let index = runtime::fs::canonicalize(real.join("index.html")).await.map_err(|_| StatusCode::NOT_FOUND)?;
        return under_root(index);
    }
    Ok(real)
}

/// `%XX` escapes decoded; `None` for a malformed escape, invalid UTF-8 or a NUL byte.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return None;
    }
    String::from_utf8(out).ok()
}

/// The content type for a file name's extension; bytes when it is not one we know.
fn content_type(path: &Path) -> &'static str {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("txt" | "md" | "rs" | "toml") => "text/plain; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("wasm") => "application/wasm",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// An empty response with `code`, its reason as the body.
fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let reason = format!("{code}\n");
    let mut response = Response::new(Full::new(Bytes::from(reason)));
    *response.status_mut() = code;
    response.headers_mut().insert(CONTENT_TYPE, "text/plain; charset=utf-8".parse().expect("a valid header value"));
    response
}
