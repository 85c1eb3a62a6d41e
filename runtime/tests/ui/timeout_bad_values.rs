#[runtime::test(runtime_tokio::Tokio, timeout = "5 s")]
async fn spaced() {}

#[runtime::test(runtime_tokio::Tokio, timeout = "0s")]
async fn zero() {}

#[runtime::test(runtime_tokio::Tokio, timeout = "5h")]
async fn hours() {}

#[runtime::test(runtime_tokio::Tokio, timeout = 5)]
async fn not_a_string() {}

fn main() {}
