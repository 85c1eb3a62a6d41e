//! No descriptor leaks on any backend: the count is back to its baseline after 10,000
//! connect/close cycles and after 1,000 cancelled connects. Its own test target: it counts the
//! whole process's descriptors.
#![cfg(target_os = "linux")]

#[macro_use]
mod common;

use std::time::Duration;

use runtime::net::{TcpListener, TcpStream};
use runtime::prelude::*;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

/// One test, so that the two measurements never run at the same time.
#[test]
fn no_descriptor_leaks() {
    connect_close_cycles_leak_no_fd();
    cancelled_connects_leak_no_fd();
}

fn connect_close_cycles_leak_no_fd() {
    for_every_backend!(|rt| {
        runtime::raw::enter(rt, async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let baseline = open_fds();
            let server = runtime::spawn(async move {
                for _ in 0..10_000 {
                    drop(listener.accept().await.unwrap());
                }
                listener
            });
            for _ in 0..10_000 {
                drop(TcpStream::connect(addr).await.unwrap());
            }
            let listener = server.await;
            assert_eq!(open_fds(), baseline, "descriptors after 10,000 connect/close cycles");
            drop(listener);
        });
    });
}

fn cancelled_connects_leak_no_fd() {
    for_every_backend!(|rt| {
        runtime::raw::enter(rt, async {
            // A listener that never accepts, with the smallest backlog: once it is full, new
            // connects stay pending (their SYNs are dropped) until cancelled.
            let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
            socket.listen(0).unwrap();
            let addr = socket.local_addr().unwrap().as_socket().unwrap();
            let baseline = open_fds();
            let mut completed = Vec::new();
            for _ in 0..1_000 {
                // Whatever happens first: the connect completes (kept, to fill the backlog) or
                // the timeout cancels it (its socket must be closed).
                if let Ok(Ok(stream)) = TcpStream::connect(addr).timeout(Duration::from_millis(1)).await {
                    completed.push(stream);
                }
            }
            let kept = completed.len();
            drop(completed);
            assert_eq!(open_fds(), baseline, "descriptors after 1,000 cancelled connects ({kept} completed)");
            drop(socket);
        });
    });
}
