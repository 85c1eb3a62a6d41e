//! `timeout = "..."`: a wall-clock watchdog outside the runtime. The hanging tests below are
//! ignored and do nothing unless the parent test runs them in a child process with the gate set,
//! so a blanket `--ignored` run cannot hang.

use std::process::Command;
use std::time::Duration;

const GATE: &str = "RUNTIME_TIMEOUT_TEST_CHILD";

fn gated() -> bool {
    std::env::var_os(GATE).is_some()
}

#[runtime::test(runtime::native::Native, runtime_tokio::Tokio, timeout = "250ms")]
#[ignore = "hangs on purpose; run by `a_hanging_test_fails_with_the_timeout_message`"]
async fn blocks_its_thread() {
    if gated() {
        // Blocks the runtime's own thread: only a watchdog outside the runtime can see it.
        std::thread::sleep(Duration::from_secs(30));
    }
}

#[runtime::test(runtime::native::Native, runtime_tokio::TokioCurrentThread, timeout = "250ms")]
#[ignore = "hangs on purpose; run by `a_hanging_test_fails_with_the_timeout_message`"]
async fn never_finishes() {
    if gated() {
        futures::future::pending::<()>().await;
    }
}

#[test]
fn a_hanging_test_fails_with_the_timeout_message() {
    for name in [
        "blocks_its_thread::native",
        "blocks_its_thread::tokio",
        "never_finishes::native",
        "never_finishes::tokio_current_thread",
    ] {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", name, "--test-threads", "1"])
            .env(GATE, "1")
            .output()
            .expect("run own test binary");
        let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name} should fail: {text}");
        assert!(text.contains("test timed out after 250ms"), "{name}: {text}");
        assert!(text.contains("1 failed"), "{name} ran: {text}");
    }
}

#[runtime::test(runtime::native::Native, runtime_tokio::Tokio, runtime_tokio::TokioCurrentThread, timeout = "30s")]
async fn a_quick_test_passes_under_a_timeout() -> Result<(), String> {
    runtime::time::Delay::new(Duration::from_millis(1)).await;
    Ok(())
}
