//! Nothing leaks descriptors: the count is back to its baseline after 10,000 connect/close
//! cycles. Its own test target: it counts the whole process's descriptors.
#![cfg(target_os = "linux")]

use runtime::net::{TcpListener, TcpStream};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

#[test]
fn ten_thousand_connect_close_cycles_leak_no_fd() {
    let rt = runtime::native::Native::builder().worker_threads(2).build();
    runtime::raw::enter(rt, async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let baseline = open_fds();
        let server = runtime::spawn(async move {
            for _ in 0..10_000 {
                let (stream, _) = listener.accept().await.unwrap();
                drop(stream);
            }
            listener
        });
        for _ in 0..10_000 {
            let stream = TcpStream::connect(addr).await.unwrap();
            drop(stream);
        }
        let listener = server.await;
        assert_eq!(open_fds(), baseline, "descriptors after 10,000 connect/close cycles");
        drop(listener);
    });
}
