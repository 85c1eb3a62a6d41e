#[runtime::test(runtime_tokio::Tokio, shutdown_timeout = "5 s")]
async fn spaced() {}

#[runtime::test(shutdown_timeout = "0s")]
async fn zero() {}

#[runtime::test(shutdown_timeout = 5)]
async fn not_a_string() {}

#[runtime::test(runtime_tokio::Tokio, shutdown_timeout = "1s", shutdown_timeout = "2s")]
async fn twice() {}

fn main() {}
