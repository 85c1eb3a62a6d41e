//! The names `#[runtime::test]` generates, read from this test binary's own `--list` (not from
//! cargo), and the test options on every backend.

use std::process::Command;

#[runtime::test(runtime::native::Native, runtime_tokio::Tokio, runtime_tokio::TokioCurrentThread)]
async fn matrix() {
    runtime::task::yield_now().await;
}

#[runtime::test(small = runtime::native::Native::builder().worker_threads(1).build(), runtime_tokio::Tokio)]
async fn named_and_path() -> std::io::Result<()> {
    Ok(())
}

#[runtime::test(runtime::native::Native, runtime_tokio::Tokio, timeout = "5s")]
#[should_panic(expected = "boom")]
async fn matrix_should_panic() {
    panic!("boom");
}

#[runtime::test(runtime::native::Native, runtime_tokio::TokioCurrentThread)]
#[ignore = "listed as ignored"]
async fn matrix_ignored() {}

#[runtime::test]
async fn default_backend() {}

#[runtime::test(timeout = "5s")]
async fn default_backend_with_timeout() {}

#[runtime::test(runtime_tokio::Tokio)]
async fn single_backend() {}

fn list(ignored: bool) -> Vec<String> {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.arg("--list");
    if ignored {
        command.arg("--ignored");
    }
    let output = command.output().expect("run own test binary");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(String::from)
        .collect()
}

#[test]
fn generated_names() {
    let names = list(false);
    for expected in [
        "matrix::native",
        "matrix::tokio",
        "matrix::tokio_current_thread",
        "named_and_path::small",
        "named_and_path::tokio",
        "matrix_should_panic::native",
        "matrix_should_panic::tokio",
        "default_backend",
        "default_backend_with_timeout",
        "single_backend",
    ] {
        assert!(names.iter().any(|n| n == expected), "no test named {expected} in {names:?}");
    }
    let ignored = list(true);
    assert!(ignored.iter().any(|n| n == "matrix_ignored::native"), "{ignored:?}");
    assert!(ignored.iter().any(|n| n == "matrix_ignored::tokio_current_thread"), "{ignored:?}");
}
