//! Concurrent reads and writes across 1,000 connections, every byte in order. Its own test
//! target: it raises the process's descriptor limit.
#![cfg(target_os = "linux")]

use std::io;
use std::sync::Arc;

use futures::prelude::*;
use runtime::net::{TcpListener, TcpStream};

const CONNECTIONS: usize = 1_000;
const BYTES: usize = 64 * 1024;

/// Raises the soft descriptor limit towards `want`; returns the limit in force.
fn raise_fd_limit(want: u64) -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 0;
    }
    if limit.rlim_cur < want {
        let raised = libc::rlimit { rlim_cur: want.min(limit.rlim_max), rlim_max: limit.rlim_max };
        // SAFETY: `raised` is a valid rlimit; the soft limit stays within the hard one.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    limit.rlim_cur
}

fn pattern(connection: usize, i: usize) -> u8 {
    (connection.wrapping_mul(31).wrapping_add(i) % 251) as u8
}

#[test]
fn thousand_connections_read_and_write_at_once() {
    let limit = raise_fd_limit(4 * CONNECTIONS as u64 + 64);
    // Each connection costs two descriptors here (both ends live in this process).
    let connections = CONNECTIONS.min(((limit.saturating_sub(64)) / 2) as usize);
    assert!(connections >= 100, "descriptor limit {limit} too low for this test");
    let rt = runtime::native::Native::builder().worker_threads(2).build();
    runtime::raw::enter(rt, async move {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // The server echoes each connection with a reader task and a writer task at once.
        let server = runtime::spawn(async move {
            let mut echoes = Vec::new();
            for _ in 0..connections {
                let (stream, _) = listener.accept().await?;
                let stream = Arc::new(stream);
                echoes.push(runtime::spawn(async move {
                    let (mut reader, mut writer) = (&*stream, &*stream);
                    futures::io::copy(&mut reader, &mut writer).await?;
                    stream.shutdown(std::net::Shutdown::Write)
                }));
            }
            for echo in echoes {
                echo.await?;
            }
            io::Result::Ok(())
        });
        let clients: Vec<_> = (0..connections)
            .map(|c| {
                runtime::spawn(async move {
                    let stream = Arc::new(TcpStream::connect(addr).await?);
                    let writer = {
                        let stream = stream.clone();
                        runtime::spawn(async move {
                            let data: Vec<u8> = (0..BYTES).map(|i| pattern(c, i)).collect();
                            for chunk in data.chunks(4096) {
                                (&*stream).write_all(chunk).await?;
                            }
                            stream.shutdown(std::net::Shutdown::Write)
                        })
                    };
                    let mut back = Vec::with_capacity(BYTES);
                    (&*stream).read_to_end(&mut back).await?;
                    writer.await?;
                    assert_eq!(back.len(), BYTES, "connection {c} lost bytes");
                    assert!(
                        back.iter().enumerate().all(|(i, b)| *b == pattern(c, i)),
                        "connection {c} reordered bytes"
                    );
                    io::Result::Ok(())
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        server.await.unwrap();
    });
}
